// Numerical guards: a NaN or an infinity stops the run with an error that names the
// component, the variable, the unit and the time, and what was recorded stays readable.

#include <ratesim/hdf5_recorder.hpp>
#include <ratesim/models/rate_population.hpp>
#include <ratesim/simulation.hpp>

#include "detail/hdf5.hpp"

#include <gtest/gtest.h>

#include <cmath>
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

TEST(Guards, LogWeightCurrentFloorsWeightsAtZero) {
  network net;
  net.add<rate_population>("x", {.size = 2, .tau = 1.0});
  net.add<rate_population>("y", {.size = 1, .tau = 1.0});
  net.connect("x", "y", {.name = "xy", .weights = matrix::Ones(1, 2), .current = "log_weight"});
  net.weights("xy")(0, 0) = 0.0;  // as if learning had driven it there
  net.stimulate("x", std::make_unique<constant_input>(vector::Constant(2, 1.0)));
  ode_simulation sim(net);
  sim.settle();
  EXPECT_NEAR(net.rates("y")[0], std::log(std::numeric_limits<double>::min()), 1e-9);
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
