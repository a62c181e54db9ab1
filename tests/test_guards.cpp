// Numerical guards: a NaN or an infinity stops the run with an error that names the
// component, the variable, the unit and the time, and what was recorded stays readable.

#include <ratesim/hdf5_recorder.hpp>
#include <ratesim/models/rate_population.hpp>
#include <ratesim/regimes/ode.hpp>
#include <ratesim/regimes/quasi_static.hpp>

#include "detail/hdf5.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <filesystem>
#include <regex>
#include <unistd.h>

namespace ratesim {
namespace {

// Unit 1 of "u" excites itself with weight 2: du/dt = (u + I)/τ grows like e^(t/τ) and
// overflows to infinity near t = 709 τ.
void build_runaway(network& net) {
  net.add<rate_population>("u", {.size = 2, .tau = 1.0});
  matrix W = matrix::Zero(2, 2);
  W(1, 1) = 2.0;
  net.connect("u", "u", {.name = "self", .weights = W, .current = "linear"});
  net.stimulate("u", std::make_unique<constant_input>(vector::Constant(2, 1.0)));
}

TEST(Guards, OverflowInTheOdeRegimeNamesUnitAndTime) {
  const auto path = std::filesystem::temp_directory_path() / ("ratesim-guard-" + std::to_string(::getpid()) + ".h5");
  network net;
  build_runaway(net);
  ode_simulation sim(net, {.stepper = "rk4", .dt = 0.01});
  try {
    hdf5_recorder out(path.string(), {.mode = hdf5_recorder::file_mode::overwrite});
    out.record("u", "u", {.every = 1.0});
    sim.attach(out);
    sim.run(2000.0);
    ADD_FAILURE() << "no error";
  } catch (const numerical_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("rate_population \"u\": variable u, unit 1 became inf"), std::string::npos)
        << message;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(message, m, std::regex("at t = ([0-9.]+) ms")));
    EXPECT_NEAR(std::stod(m[1]), 709.0, 5.0);
  }
  // Everything up to the failure is in the file, data and time alike.
  namespace h5 = detail::hdf5;
  h5::handle f = h5::open_file_for_reading(path.string(), "test");
  h5::handle d = h5::open_dataset(f.get(), "u/u/time", "test");
  const auto time = h5::read_all(d.get(), "test");
  EXPECT_GE(time.size(), 700u);
  EXPECT_LE(time.back(), 715.0);
  std::filesystem::remove(path);
}

// A rule whose derivative turns NaN when the presynaptic rate exceeds 2.
class fragile_rule : public plasticity_rule {
 public:
  std::string_view name() const override { return "fragile"; }
  void derivative(matrix_view, vector_view pre, vector_view, matrix_span dW) const override {
    dW.setZero();
    if (pre[1] > 2.0) dW(0, 1) = std::nan("");
  }
};

TEST(Guards, NanWeightInTheQuasiStaticRegimeNamesTheWeight) {
  network net;
  net.add<rate_population>("x", {.size = 2, .tau = 1.0});
  net.add<rate_population>("y", {.size = 1, .tau = 1.0});
  net.connect("x", "y", {.name = "xy", .weights = matrix::Ones(1, 2), .current = "linear",
                         .rule = std::make_unique<fragile_rule>()});
  matrix patterns(2, 4);
  patterns << 1, 1, 1, 1,  //
      0, 1, 2, 3;          // pattern 3 has x_1 = 3
  net.stimulate("x", std::make_unique<pattern_set>(patterns, pattern_set::params{.duration = 5.0}));
  quasi_static_simulation sim(net, {.dt = 5.0});
  try {
    sim.run_presentations(10);
    ADD_FAILURE() << "no error";
  } catch (const numerical_error& e) {
    EXPECT_NE(std::string(e.what()).find("projection \"xy\": weight W(0, 1) became nan at t = 20 ms"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(sim.presentations(), 3);
}

// A log-weight current takes ln W: a weight <= 0 from any source (written by hand, driven
// there by a rule, read from a checkpoint) stops the run with a numerical error naming
// the projection, the weight and the time, instead of a current of ln(floor).
class sinking_rule : public plasticity_rule {
 public:
  std::string_view name() const override { return "sinking"; }
  void derivative(matrix_view, vector_view, vector_view, matrix_span dW) const override {
    dW.setZero();
    dW(0, 1) = -0.25;  // W(0, 1) = 1 − 0.25 t/ms: 0 at t = 4 ms
  }
};

void build_log_weight(network& net, std::unique_ptr<plasticity_rule> rule) {
  net.add<rate_population>("x", {.size = 2, .tau = 1.0});
  net.add<rate_population>("y", {.size = 1, .tau = 1.0});
  net.connect("x", "y", {.name = "xy", .weights = matrix::Ones(1, 2), .current = "log_weight",
                         .rule = std::move(rule)});
  matrix patterns = matrix::Ones(2, 3);
  net.stimulate("x", std::make_unique<pattern_set>(patterns, pattern_set::params{.duration = 1.0}));
}

template <class E>
void expect_message(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no error";
  } catch (const E& e) {
    for (const auto& part : parts)
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what() << " lacks " << part;
  }
}

TEST(Guards, AWeightDrivenToZeroUnderALogWeightCurrentNamesTheWeight) {
  network net;
  build_log_weight(net, std::make_unique<sinking_rule>());
  quasi_static_simulation sim(net, {.dt = 1.0});
  expect_message<numerical_error>([&] { sim.run_presentations(10); },
                                  {"projection \"xy\": weight W(0, 1) became 0 at t = 4 ms",
                                   "log_weight current needs weights > 0"});
  EXPECT_EQ(sim.presentations(), 3);
}

TEST(Guards, AWeightWrittenBelowZeroIsRefusedWhenTheRunStarts) {
  network plastic;
  build_log_weight(plastic, std::make_unique<sinking_rule>());
  quasi_static_simulation qs(plastic, {.dt = 1.0});
  plastic.weights("xy")(0, 0) = -3.0;
  expect_message<numerical_error>([&] { qs.run_presentations(1); },
                                  {"weight W(0, 0) became -3 at t = 0 ms"});
  network fixed;  // static weights: checked as when they were connected
  build_log_weight(fixed, nullptr);
  ode_simulation ode(fixed, {.dt = 0.1});
  fixed.weights("xy")(0, 1) = 0.0;
  expect_message<parameter_error>([&] { ode.run(1.0); }, {"W(0, 1) = 0"});
  expect_message<parameter_error>([&] { ode.settle(); }, {"W(0, 1) = 0"});
}

}  // namespace
}  // namespace ratesim

namespace ratesim {
namespace {

TEST(Guards, Dopri5ReportsAToleranceItCannotMeetInsteadOfStalling) {
  network net;
  net.add<rate_population>("u", {.size = 1, .tau = 1.0});
  net.stimulate("u", std::make_unique<constant_input>(vector::Constant(1, 1.0)));
  // A relative and absolute tolerance of 1e-300 is below what any double step can meet.
  ode_simulation sim(net, {.stepper = "dopri5", .dt = 1.0, .abs_tol = 1e-300, .rel_tol = 1e-300});
  try {
    sim.run(1.0);
    ADD_FAILURE() << "no error";
  } catch (const error& e) {
    EXPECT_NE(std::string(e.what()).find("dopri5 cannot meet abs_tol = 1e-300"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace ratesim
