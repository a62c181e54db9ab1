// The soak test (label soak, not part of scripts/test): 10^7 quasi-static updates of the
// seed's circuit at C = 100, D = 784, checking after every 10^5 that every weight sum is
// still A to 1e-9·A and that the process has not grown. The data: samples of a Poisson
// mixture of 100 blobs on 784 pixels, so the posterior is sharp, as on digits.
//   ctest -L soak   (RATESIM_SOAK_PRESENTATIONS=N for a shorter run)

#include <ratesim/mixture/poisson_mixture.hpp>
#include <ratesim/models/feedforward_inhibition.hpp>
#include <ratesim/models/softmax_competition.hpp>
#include <ratesim/network.hpp>
#include <ratesim/random.hpp>
#include <ratesim/regimes/quasi_static.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace ratesim {
namespace {

// Resident memory of this process [bytes].
long resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * 4096;
}

TEST(Soak, TenMillionUpdatesKeepTheWeightSumsAndTheMemory) {
  const char* env = std::getenv("RATESIM_SOAK_PRESENTATIONS");
  const step_count total = env ? std::atoll(env) : 10'000'000;
  const step_count chunk = std::min<step_count>(100'000, total);
  constexpr Eigen::Index D = 784, C = 100;
  constexpr double A = 900.0;

  random_stream rng(2024, 0);
  matrix blobs = matrix::Constant(C, D, 0.5);  // component means: a background and 60 bright pixels
  for (Eigen::Index c = 0; c < C; ++c)
    for (int k = 0; k < 60; ++k)
      blobs(c, Eigen::Index(uniform_index(rng, std::uint64_t(D)))) = 12.0;
  matrix data = sample_poisson_mixture(blobs, 5000, rng).data;
  for (Eigen::Index n = 0; n < data.cols(); ++n) data(0, n) += 1.0;  // no all-zero pattern

  network net;
  net.add<feedforward_inhibition>("input", {.size = std::size_t(D), .A = A});
  net.add<softmax_competition>("output", {.size = std::size_t(C)});
  net.connect("input", "output",
              {.name = "ff",
               .weights = data_mean_weights(data, C, 0.5, A, rng),
               .rule = make_rule("synaptic_scaling", {{"tau", 1000.0}})});
  net.stimulate("input", std::make_unique<pattern_set>(
                             data, pattern_set::params{.duration = 1.0,
                                                       .ordering = pattern_set::order::shuffled,
                                                       .seed = 3}));
  quasi_static_simulation sim(net);
  const auto W = net.weights(net.projection_index("ff"));

  long first_rss = 0;
  double worst_drift = 0.0;
  const auto start = std::chrono::steady_clock::now();
  for (step_count done = 0; done < total; done += chunk) {
    sim.run_presentations(std::min(chunk, total - done));
    const double drift = ((W.rowwise().sum().array() - A).abs() / A).maxCoeff();
    worst_drift = std::max(worst_drift, drift);
    ASSERT_LT(drift, 1e-9) << "after " << sim.presentations() << " updates";
    const long rss = resident_bytes();
    if (first_rss == 0) first_rss = rss;
    ASSERT_LE(rss - first_rss, 1 << 20) << "the process grew after " << sim.presentations()
                                        << " updates: " << first_rss << " -> " << rss << " bytes";
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%lld updates in %.0f s (%.1f µs each); worst |ΣW − A|/A = %.2g; resident %ld MiB\n",
              static_cast<long long>(sim.presentations()), seconds,
              1e6 * seconds / static_cast<double>(sim.presentations()), worst_drift,
              resident_bytes() >> 20);
  EXPECT_EQ(sim.presentations(), total);
}

}  // namespace
}  // namespace ratesim
