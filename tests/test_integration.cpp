// The ODE regime: convergence orders of the fixed steppers, dopri5's error control,
// piecewise integration across input changes, the synaptic-scaling invariant along ODE
// trajectories, agreement between the ODE and quasi-static regimes, the same bits on
// any number of threads, a quasi-static mini-batch the same bits however its presentations
// are shared between ranks, and a forked child that still runs.

#include "circuit.hpp"
#include "thread_communicator.hpp"

#include <ratesim/checkpoint.hpp>
#include <ratesim/clock.hpp>
#include <ratesim/comm.hpp>
#include <ratesim/intrinsic.hpp>
#include <ratesim/mixture/poisson_mixture.hpp>
#include <ratesim/models/rate_population.hpp>
#include <ratesim/random.hpp>
#include <ratesim/regimes/ode.hpp>
#include <ratesim/regimes/quasi_static.hpp>

#include <gtest/gtest.h>

#include <cmath>

#include <omp.h>
#include <sys/wait.h>
#include <unistd.h>

namespace ratesim {
namespace {

// Linear chain: τ_a da/dt = −a + I,  τ_b db/dt = −b + w a,  a(0) = b(0) = 0.
constexpr double tau_a = 1.0, tau_b = 0.4, w = 1.5, I0 = 2.0;

double chain_b(double t) {
  return w * I0 *
         (1.0 - (tau_a * std::exp(-t / tau_a) - tau_b * std::exp(-t / tau_b)) / (tau_a - tau_b));
}

void build_chain(network& net) {
  net.add<rate_population>("a", {.size = 1, .tau = tau_a});
  net.add<rate_population>("b", {.size = 1, .tau = tau_b});
  net.connect("a", "b", {.name = "ab", .weights = matrix::Constant(1, 1, w), .current = "linear"});
  net.stimulate("a", std::make_unique<constant_input>(vector::Constant(1, I0)));
}

// |b(t_end) − analytic| after integrating the chain with `options`.
double chain_error(const ode_options& options, double t_end = 2.0) {
  network net;
  build_chain(net);
  ode_simulation sim(net, options);
  sim.run(t_end);
  return std::abs(net.state_of("b")[0] - chain_b(t_end));
}

struct order_case {
  std::string stepper;
  double order;
  friend void PrintTo(const order_case& c, std::ostream* os) { *os << c.stepper; }
};

class FixedStepper : public ::testing::TestWithParam<order_case> {};

TEST_P(FixedStepper, ShowsItsConvergenceOrder) {
  const auto [stepper, order] = GetParam();
  double previous = 0;
  for (int halvings = 0; halvings < 4; ++halvings) {
    const double dt = 0.05 / std::pow(2.0, halvings);  // asymptotic range
    const double err = chain_error({.stepper = stepper, .dt = dt});
    if (halvings > 0) {
      const double observed = std::log2(previous / err);
      EXPECT_NEAR(observed, order, 0.15) << stepper << " dt = " << dt;
    }
    previous = err;
  }
}

INSTANTIATE_TEST_SUITE_P(Steppers, FixedStepper,
                         ::testing::Values(order_case{"euler", 1.0}, order_case{"rk4", 4.0}),
                         [](const auto& info) { return info.param.stepper; });

TEST(Dopri5, MeetsTheRequestedToleranceAgainstTheAnalyticSolution) {
  for (double tol : {1e-4, 1e-7, 1e-10}) {
    // dt = 1 ms: the clock is coarse, dopri5 chooses its own steps inside each interval.
    const double err = chain_error({.stepper = "dopri5", .dt = 1.0, .abs_tol = tol, .rel_tol = tol},
                                   5.0);
    EXPECT_LE(err, 10.0 * tol) << "tolerance " << tol;
  }
}

TEST(Piecewise, NoStepStraddlesAnInputChange) {
  // One linear unit driven by a new value every T = 0.7 ms; the exact solution relaxes
  // towards each value in turn. A step across a change would cost O(dt) accuracy.
  vector values(5);
  values << 1.0, -2.0, 0.5, 3.0, 0.0;
  const double tau = 0.5, T = 0.7;
  for (const std::string stepper : {"rk4", "dopri5"}) {
    network net;
    net.add<rate_population>("u", {.size = 1, .tau = tau});
    net.stimulate("u", std::make_unique<pattern_set>(matrix(values.transpose()),
                                                     pattern_set::params{.duration = T}));
    ode_simulation sim(net, {.stepper = stepper, .dt = 0.01, .abs_tol = 1e-12, .rel_tol = 1e-12});
    double exact = 0.0;
    for (int k = 0; k < 12; ++k) {
      sim.run(T);
      const double target = values[k % 5];
      exact = target + (exact - target) * std::exp(-T / tau);
      EXPECT_NEAR(net.state_of("u")[0], exact, 1e-8) << stepper << " presentation " << k;
    }
  }
}

TEST(Piecewise, DurationThatIsNotAMultipleOfDtIsRejected) {
  network net;
  net.add<rate_population>("u", {.size = 1});
  net.stimulate("u", std::make_unique<pattern_set>(matrix::Ones(1, 3),
                                                   pattern_set::params{.duration = 0.25}));
  ode_simulation sim(net, {.dt = 0.1});
  EXPECT_THROW(sim.run(1.0), parameter_error);
  EXPECT_THROW(sim.run(0.05), parameter_error);
}


// The clock's two roundings: a length is an exact number of steps or nothing; a moment is
// taken at the first step at or after it, forgiving a rounding error of 1e-9 step.
TEST(Clock, LengthsAreExactNumbersOfSteps) {
  EXPECT_EQ(exact_steps(0.0, 0.1), 0);
  EXPECT_EQ(exact_steps(1.0, 0.1), 10);       // 1.0 / 0.1 = 9.999999999999998
  EXPECT_EQ(exact_steps(0.3, 0.1), 3);        // 0.3 / 0.1 = 2.9999999999999996
  EXPECT_EQ(exact_steps(1e6, 0.01), 100000000);
  EXPECT_EQ(exact_steps(0.25, 0.1), std::nullopt);  // 2.5 steps
  EXPECT_EQ(exact_steps(1.0 + 1e-6, 1.0), std::nullopt);
  EXPECT_EQ(exact_steps(-1.0, 0.1), std::nullopt);
  EXPECT_EQ(exact_steps(std::nan(""), 0.1), std::nullopt);
  EXPECT_EQ(exact_steps(INFINITY, 0.1), std::nullopt);
  EXPECT_EQ(exact_steps(1e300, 1.0), std::nullopt);  // more than the clock counts
}

TEST(Clock, MomentsFallOnTheFirstStepAtOrAfterThem) {
  EXPECT_EQ(first_step_at(0.0, 0.1), 0);
  EXPECT_EQ(first_step_at(0.3, 0.1), 3);   // not 4: 0.3 / 0.1 is a rounding error below 3
  EXPECT_EQ(first_step_at(0.25, 0.1), 3);  // between steps 2 and 3: step 3
  EXPECT_EQ(first_step_at(0.2 + 1e-12, 0.1), 2);  // a rounding error past step 2
  EXPECT_EQ(first_step_at(0.2 + 1e-6, 0.1), 3);
  EXPECT_EQ(first_step_at(INFINITY, 0.1), never);
  EXPECT_EQ(first_step_at(1e300, 1.0), never);
}

TEST(Clock, ASchedulesDueStepsAndNextDueAgree) {
  const step_schedule s{.first = 3, .every = 4, .stop = 20};
  for (step_count from = 0; from < 25; ++from) {
    step_count next = from;
    while (next < 25 && !s.due(next)) ++next;
    EXPECT_EQ(s.next_due(from), next < 25 ? next : never) << "from " << from;
  }
}

class OdeInvariant : public ::testing::TestWithParam<std::string> {};

TEST_P(OdeInvariant, WeightSumsStayAtAAlongTheTrajectory) {
  random_stream rng(9, 0);
  const testing::circuit_params p{.D = 16, .C = 4, .A = 48.0, .tau_W = 20.0, .tau = 1.0};
  network net;
  testing::build_circuit(net, p, rng);
  // Normalised input: every raw pattern has the same total, so h stays at its fixed point
  // and Σ_d y_d = A along the whole trajectory.
  net.stimulate("input", std::make_unique<pattern_set>(testing::random_patterns(p.D, 20, rng, 80.0),
                                                       pattern_set::params{.duration = 5.0}));
  ode_simulation sim(net, {.stepper = GetParam(), .dt = 0.05, .abs_tol = 1e-9, .rel_tol = 1e-9});
  sim.settle();
  const matrix W0 = net.weights("ff");
  for (int chunk = 0; chunk < 4; ++chunk) {
    sim.run(50.0);
    const vector sums = net.weights("ff").rowwise().sum();
    EXPECT_LE((sums.array() - p.A).abs().maxCoeff(), 1e-9 * p.A) << "chunk " << chunk;
  }
  EXPECT_GT((matrix(net.weights("ff")) - W0).norm(), 1.0);  // the weights did learn
}

INSTANTIATE_TEST_SUITE_P(Steppers, OdeInvariant, ::testing::Values("euler", "rk4", "dopri5"));

TEST(Regimes, OdeAgreesWithQuasiStaticWhenPopulationsAreFast) {
  // τ_y = τ_h = τ_u = 0.05 ms ≪ T = 5 ms ≪ τ_W = 500 ms.
  random_stream rng(10, 0);
  const testing::circuit_params p{.D = 16, .C = 4, .A = 48.0, .tau_W = 500.0, .tau = 0.05};
  const matrix patterns = testing::random_patterns(p.D, 30, rng);
  matrix W[2], W0;
  for (int regime = 0; regime < 2; ++regime) {
    random_stream init(11, 0);
    network net;
    testing::build_circuit(net, p, init);
    net.stimulate("input", std::make_unique<pattern_set>(patterns,
                                                         pattern_set::params{.duration = 5.0}));
    W0 = net.weights("ff");
    if (regime == 0) {
      ode_simulation sim(net, {.stepper = "rk4", .dt = 0.01});
      sim.settle();
      sim.run(300 * 5.0);
    } else {
      quasi_static_simulation sim(net, {.dt = 5.0});
      sim.run_presentations(300);
    }
    W[regime] = net.weights("ff");
  }
  const double learned = (W[1] - W0).norm();
  EXPECT_GT(learned, 1.0);
  EXPECT_LT((W[0] - W[1]).norm(), 0.05 * learned);
}

TEST(Regimes, ThreadsDoNotChangeABit) {
  // C · D = 39,200 weights at D = 784: large enough that the logarithms, dW/dt, odeint's
  // vector operations, the quasi-static update and the finiteness check are shared
  // between threads. One, two and three threads give the same state, bit for bit, with
  // every stepper and in the quasi-static regime.
  const testing::circuit_params p{.D = 784, .C = 50, .A = 900.0, .tau_W = 20.0};
  random_stream rng(12, 0);
  const matrix patterns = testing::random_patterns(p.D, 6, rng);
  auto run = [&](int threads, const std::string& stepper) {
    omp_set_num_threads(threads);
    random_stream init(13, 0);
    network net;
    testing::build_circuit(net, p, init);
    net.stimulate("input", std::make_unique<pattern_set>(patterns,
                                                         pattern_set::params{.duration = 1.0}));
    if (stepper.empty()) {
      quasi_static_simulation sim(net, {.dt = 1.0});
      sim.run_presentations(6);
    } else {
      ode_simulation sim(net, {.stepper = stepper, .dt = 0.1});
      sim.run(6.0);
    }
    return vector(net.state());
  };
  const int threads_before = omp_get_max_threads();
  for (const std::string stepper : {"euler", "rk4", "dopri5", ""}) {
    const vector one = run(1, stepper), two = run(2, stepper), three = run(3, stepper);
    EXPECT_TRUE(one == two && one == three) << (stepper.empty() ? "quasi-static" : stepper);
  }
  omp_set_num_threads(threads_before);
}

// The ODE regime's euler keeps a log-weight current's ln W as the quasi-static regime
// does: following each weight step by a series, computed anew every 1,000 steps. Against
// euler with ln W computed anew at every step (exact_log), over 2,500 steps (two exact
// recomputations and the drift between them) of a circuit that learns, with a weight
// changed between runs and a learning-rate scale: the same trajectory within 1e-12
// relative; runs split anywhere give the same bits; and the cache is checkpoint state.
struct ode_euler_case {
  testing::circuit_params p{.D = 100, .C = 20, .A = 150.0, .tau_W = 20.0};
  matrix patterns;
  ode_euler_case() {
    random_stream rng(21, 0);
    patterns = testing::random_patterns(p.D, 30, rng);
  }
  void build(network& net) const {
    random_stream init(22, 0);
    testing::build_circuit(net, p, init);
    net.adapt("output", make_intrinsic_rule("homeostasis", {{"tau", 50.0}}));
    net.stimulate("input", std::make_unique<pattern_set>(patterns,
                                                         pattern_set::params{.duration = 1.0}));
  }
  // Runs of the given lengths, with W(2, 3) doubled and the learning rate halved after the
  // first.
  vector run(bool exact_log, const std::vector<step_count>& runs) const {
    network net;
    build(net);
    ode_simulation sim(net, {.stepper = "euler", .dt = 0.1, .exact_log = exact_log});
    sim.settle();
    for (std::size_t i = 0; i < runs.size(); ++i) {
      sim.run_steps(runs[i]);
      if (i == 0) {
        net.weights("ff")(2, 3) *= 2.0;
        net.set_learning_rate_scale(0.5);
      }
    }
    return net.state();
  }
};

TEST(Regimes, OdeEulerFollowsLnWWithinRoundingOfExactLogarithms) {
  const ode_euler_case c;
  const vector exact = c.run(true, {1200, 1300});
  const vector cached = c.run(false, {1200, 1300});
  ASSERT_EQ(exact.size(), cached.size());
  const double worst = ((cached - exact).array().abs() /
                        exact.array().abs().max(1e-300)).maxCoeff();
  EXPECT_LE(worst, 1e-12);
  // The weights learned (so the series had steps to follow).
  network start;
  c.build(start);
  const auto W0 = start.weights("ff");
  const auto n = static_cast<Eigen::Index>(W0.size());
  EXPECT_GT((exact.tail(n) - Eigen::Map<const vector>(W0.data(), n)).cwiseAbs().maxCoeff(), 0.05);
  // Split anywhere (across the exact recomputations too): the same bits as unsplit.
  EXPECT_TRUE(cached == c.run(false, {1200, 1, 998, 2, 299}));
}

TEST(Regimes, OdeEulerLnWCacheIsCheckpointState) {
  const ode_euler_case c;
  network net;
  c.build(net);
  ode_simulation sim(net, {.stepper = "euler", .dt = 0.1});
  sim.settle();
  sim.run_steps(1234);  // 234 steps past an exact recomputation
  const checkpoint saved = sim.save();
  ASSERT_TRUE(saved.has("ode.current_cache.ff"));
  EXPECT_EQ(saved.numbers("ode.current_cache.ff").size(), 20u * 100u + 1u);
  EXPECT_EQ(saved.numbers("ode.current_cache.ff").back(), 234.0);
  // A damaged entry is refused by name, and the simulation is left as it was.
  checkpoint damaged = saved;
  damaged.set("ode.current_cache.ff", std::vector<double>{1.0, 2.0});
  const vector before = net.state();
  try {
    sim.restore(damaged);
    ADD_FAILURE() << "a damaged cache entry was accepted";
  } catch (const input_error& e) {
    EXPECT_NE(std::string(e.what()).find("ode.current_cache.ff"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(net.state() == before);
}

// A rule whose constraint changes one weight: to 0 (which a log-weight current refuses),
// or doubling it and then throwing (a Python constraint that raised).
class meddling_rule : public plasticity_rule {
 public:
  enum class act { zero, double_then_throw };
  explicit meddling_rule(act a) : act_(a) {}
  std::string_view name() const override { return "meddling"; }
  void derivative(matrix_view W, vector_view, vector_view, matrix_span dWdt) const override {
    dWdt.setConstant(1e-3);
    dWdt -= 1e-3 * W / W.row(0).sum();
  }
  bool has_constraint() const override { return true; }
  void constrain(matrix_span W) const override {
    if (!armed) return;
    if (act_ == act::zero) {
      W(0, 0) = 0.0;
      return;
    }
    W(0, 0) *= 2.0;
    armed = false;
    throw std::runtime_error("the constraint gave up");
  }
  mutable bool armed = false;

 private:
  act act_;
};

// What a weight constraint changes is no step's to follow: the weights are checked whole
// and the caches computed anew, even when the constraint threw half-way.
TEST(Regimes, OdeEulerCachesFollowWhatAConstraintChanged) {
  const ode_euler_case c;
  // The circuit with a meddling rule; returns the rule.
  auto build = [&](network& net, meddling_rule::act act) {
    net.add<feedforward_inhibition>("input", {.size = std::size_t(c.p.D), .A = c.p.A});
    net.add<softmax_competition>("output", {.size = std::size_t(c.p.C)});
    random_stream init(22, 0);
    const matrix W0 = matrix::NullaryExpr(c.p.C, c.p.D, [&] { return uniform(init, 1.0, 2.0); });
    auto rule = std::make_unique<meddling_rule>(act);
    meddling_rule* kept = rule.get();
    net.connect("input", "output", {.name = "ff", .weights = W0, .rule = std::move(rule)});
    net.stimulate("input", std::make_unique<pattern_set>(c.patterns,
                                                         pattern_set::params{.duration = 1.0}));
    return kept;
  };
  vector ends[2];
  for (const bool exact_log : {false, true}) {
    // A weight of 0 under a log-weight current, named.
    network zeroing;
    meddling_rule* zeroes = build(zeroing, meddling_rule::act::zero);
    ode_simulation first(zeroing, {.stepper = "euler", .dt = 0.1, .exact_log = exact_log});
    first.run_steps(5);
    zeroes->armed = true;
    try {
      first.run_steps(5);
      ADD_FAILURE() << "a weight of 0 under a log-weight current went unnoticed";
    } catch (const numerical_error& e) {
      EXPECT_NE(std::string(e.what()).find("W(0, 0)"), std::string::npos) << e.what();
    }
    // W(0, 0) doubled by a constraint that then throws: the checkpoint and the next run
    // take ln of the new W.
    network net;
    meddling_rule* meddles = build(net, meddling_rule::act::double_then_throw);
    ode_simulation sim(net, {.stepper = "euler", .dt = 0.1, .exact_log = exact_log});
    sim.run_steps(30);
    meddles->armed = true;
    EXPECT_THROW(sim.run_steps(10), std::runtime_error);
    const checkpoint saved = sim.save();
    if (saved.has("ode.current_cache.ff")) {  // what it holds is ln W, within the bound
      const auto& kept = saved.numbers("ode.current_cache.ff");
      const matrix W = net.weights("ff");
      for (Eigen::Index i = 0; i < W.size(); ++i) {
        const double exact = std::log(W.reshaped()[i]);
        ASSERT_NEAR(kept[static_cast<std::size_t>(i)], exact, 1e-12 * std::max(1.0, std::abs(exact)))
            << i;
      }
    }
    sim.run_steps(300);
    ends[exact_log ? 1 : 0] = net.state();
  }
  EXPECT_LE(((ends[0] - ends[1]).array().abs() / ends[1].array().abs().max(1e-300)).maxCoeff(),
            1e-12);
}

// The circuit with homeostasis on the output layer, presenting 40 patterns shuffled.
void build_shared_circuit(network& net) {
  const testing::circuit_params p{.D = 16, .C = 4, .A = 48.0, .tau_W = 100.0};
  random_stream rng(16, 0);
  testing::build_circuit(net, p, rng);
  net.adapt("output", make_intrinsic_rule("homeostasis", {{"tau", 20.0}}));
  net.stimulate("input", std::make_unique<pattern_set>(
                             testing::random_patterns(p.D, 40, rng),
                             pattern_set::params{.ordering = pattern_set::order::shuffled,
                                                 .seed = 17}));
}

// θ and W (the state's plastic tail) after runs of `runs` presentations, in mini-batches
// of 7 shared between `ranks` thread ranks (0: no communicator), on every rank; and the
// output layer's last settled rates.
struct shared_run {
  std::vector<vector> plastic, rates;
};
shared_run run_shared(int ranks, std::vector<step_count> runs) {
  shared_run out;
  auto job = [&](communicator* comm) {
    network net;
    build_shared_circuit(net);
    quasi_static_simulation sim(net, {.batch_size = 7, .ranks = comm});
    for (step_count n : runs) sim.run_presentations(n);
    const std::size_t r = comm ? static_cast<std::size_t>(comm->rank()) : 0;
    out.plastic[r] = net.state().tail(net.plastic_count());
    out.rates[r] = net.rates("output");
  };
  out.plastic.resize(static_cast<std::size_t>(std::max(ranks, 1)));
  out.rates.resize(out.plastic.size());
  if (ranks == 0)
    job(nullptr);
  else
    testing::on_thread_ranks(ranks, [&](communicator& comm) { job(&comm); });
  return out;
}

TEST(Regimes, AMiniBatchIsTheSameBitsHoweverItsPresentationsAreShared) {
  // Batches of 7 over runs of 30 and 12 presentations: 4 whole batches and one of 2
  // (zeros in the other 5 slots), then one whole and one of 5. 8 ranks: one holds no slot.
  const std::vector<step_count> runs{30, 12};
  const vector one = run_shared(0, runs).plastic[0];
  for (int ranks : {1, 2, 3, 4, 8}) {
    const shared_run shared = run_shared(ranks, runs);
    for (std::size_t r = 0; r < shared.plastic.size(); ++r)
      EXPECT_TRUE(shared.plastic[r] == one) << "rank " << r << " of " << ranks;
    // Each rank settled only its share: the last presentation it settled differs.
    if (ranks >= 2) EXPECT_FALSE(shared.rates[0] == shared.rates[1]) << ranks;
  }
  // (and they learned: the comparisons are not of untouched weights)
  network net;
  build_shared_circuit(net);
  EXPECT_GT((one - net.state().tail(net.plastic_count())).norm(), 1e-3);
}

TEST(Regimes, ASharedMiniBatchIsCheckpointedBetweenBatches) {
  // 14 presentations (two whole batches) under 2 ranks, saved, resumed under 3 ranks and in
  // one process for 16 more: the bits of 30 in one process.
  const vector whole = run_shared(0, {30}).plastic[0];
  checkpoint saved;
  testing::on_thread_ranks(2, [&](communicator& comm) {
    network net;
    build_shared_circuit(net);
    quasi_static_simulation sim(net, {.batch_size = 7, .ranks = &comm});
    sim.run_presentations(14);
    if (comm.rank() == 1) saved = sim.save();
    // Mid-batch a rank holds only its share of the open batch: no checkpoint then.
    sim.pause_at(sim.steps() + 3);
    sim.run_presentations(16);
    ASSERT_TRUE(sim.paused());
    EXPECT_THROW(sim.save(), usage_error);
    sim.pause_at(never);
    sim.run_presentations(13);
  });
  auto resume = [&](communicator* comm) {
    network net;
    build_shared_circuit(net);
    quasi_static_simulation sim(net, {.batch_size = 7, .ranks = comm});
    sim.restore(saved);
    sim.run_presentations(16);
    EXPECT_TRUE(vector(net.state().tail(net.plastic_count())) == whole)
        << (comm ? comm->size() : 0) << " ranks";
  };
  resume(nullptr);
  testing::on_thread_ranks(3, [&](communicator& comm) { resume(&comm); });

  // One process paused mid-batch resumes in one process only.
  network net;
  build_shared_circuit(net);
  quasi_static_simulation sim(net, {.batch_size = 7});
  sim.pause_at(10);
  sim.run_presentations(30);
  const checkpoint open = sim.save();
  testing::on_thread_ranks(2, [&](communicator& comm) {
    network other;
    build_shared_circuit(other);
    quasi_static_simulation shared(other, {.batch_size = 7, .ranks = &comm});
    EXPECT_THROW(shared.restore(open), usage_error);
  });
}

TEST(Regimes, AForkedChildRunsOnOneThread) {
  // OpenMP's threads do not survive fork(): after the parent has used them, a child must
  // still simulate and fit (on one thread) instead of hanging.
  const testing::circuit_params p{.D = 784, .C = 50, .A = 900.0, .tau_W = 20.0};
  random_stream rng(14, 0);
  const matrix patterns = testing::random_patterns(p.D, 4, rng);
  auto learn = [&] {
    random_stream init(15, 0);
    network net;
    testing::build_circuit(net, p, init);
    net.stimulate("input", std::make_unique<pattern_set>(patterns, pattern_set::params{}));
    quasi_static_simulation sim(net);
    sim.run_presentations(4);
    const matrix Y = feedforward_inhibition("y", {.size = 784, .A = 900.0}).normalize(patterns);
    fit_em(Y, net.weights("ff"), 900.0, {.iterations = 2, .chunk = 1});
    return vector(net.state());
  };
  const int threads_before = omp_get_max_threads();
  omp_set_num_threads(2);
  const vector parent = learn();
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    alarm(60);  // a hang ends the child with SIGALRM
    _exit(learn() == parent && omp_get_max_threads() == 1 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  omp_set_num_threads(threads_before);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
}

}  // namespace
}  // namespace ratesim
