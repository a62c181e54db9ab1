#pragma once
// A progress bar on stderr for long runs: an observer, so it never changes the result.

#include <ratesim/clock.hpp>
#include <ratesim/observer.hpp>

#include <chrono>
#include <cstdio>

namespace ratesim::cli {

class progress_bar : public observer {
 public:
  // `total` clock steps in the run; redrawn about 200 times.
  explicit progress_bar(step_count total)
      : total_(total), when_{.every = std::max<step_count>(1, total / 200), .stop = total + 1} {}

  void start(const network&, double dt) override {
    dt_ = dt;
    begin_ = std::chrono::steady_clock::now();
  }
  step_count next_due(step_count from) const override { return when_.next_due(from); }
  void observe(step_count step, const network&) override {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - begin_).count();
    const double fraction = total_ > 0 ? double(step) / double(total_) : 1.0;
    const int filled = int(fraction * 30);
    const double rate = seconds > 0 ? double(step) * dt_ / seconds : 0.0;  // simulated ms per s
    const double eta = fraction > 0 ? seconds * (1.0 - fraction) / fraction : 0.0;
    std::fprintf(stderr, "\r[%-30.*s] %5.1f%%  %.3g ms simulated per s  ETA %02d:%02d ", filled,
                 "==============================", 100.0 * fraction, rate, int(eta) / 60,
                 int(eta) % 60);
    if (step >= total_) std::fprintf(stderr, "\n");
  }
  void flush() override { std::fflush(stderr); }

 private:
  step_count total_;
  step_schedule when_;  // steps 0, every, 2 every, … up to total
  double dt_ = 1.0;
  std::chrono::steady_clock::time_point begin_;
};

}  // namespace ratesim::cli
