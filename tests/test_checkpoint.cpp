// Checkpoints: the file keeps every entry bit for bit; a run paused, saved, read back into
// a freshly built network and resumed ends bit-identical to the run that never stopped,
// in both regimes, with every stepper and with a mini-batch left open; a checkpoint of
// another network, regime, version or configuration is refused; damaged files are
// input errors. (The same across processes, with the CLI and SIGTERM: tests/checkpoint.)

#include "circuit.hpp"
#include "scratch.hpp"

#include <ratesim/checkpoint_file.hpp>
#include <ratesim/error.hpp>
#include <ratesim/random.hpp>
#include <ratesim/regimes/ode.hpp>
#include <ratesim/regimes/quasi_static.hpp>
#include <ratesim/version.hpp>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <csignal>
#include <sys/resource.h>
#include <unistd.h>

namespace ratesim {
namespace {

namespace fs = std::filesystem;

using Checkpoint = testing::scratch_test;

// The seed's circuit on 30 random patterns of 2 ms, shuffled every epoch.
void build(network& net) {
  random_stream rng(7, 0);
  testing::build_circuit(net, {.D = 16, .C = 5, .A = 48.0, .tau_W = 10.0}, rng);
  net.stimulate("input", std::make_unique<pattern_set>(
                             testing::random_patterns(16, 30, rng),
                             pattern_set::params{.duration = 2.0,
                                                 .ordering = pattern_set::order::shuffled,
                                                 .seed = 11}));
}

std::unique_ptr<simulation> make(network& net, const std::string& regime) {
  if (regime == "quasi_static")
    return std::make_unique<quasi_static_simulation>(net, quasi_static_options{.dt = 1.0});
  if (regime == "quasi_static_batch")
    return std::make_unique<quasi_static_simulation>(
        net, quasi_static_options{.dt = 1.0, .batch_size = 4});
  return std::make_unique<ode_simulation>(
      net, ode_options{.stepper = regime, .dt = 0.05, .abs_tol = 1e-7, .rel_tol = 1e-7});
}

TEST_F(Checkpoint, EntriesSurviveTheFileBitForBit) {
  checkpoint c;
  const std::vector<double> numbers{0.1, -0.0, std::numeric_limits<double>::denorm_min(),
                                    1e308, -3.5, std::nextafter(1.0, 2.0)};
  c.set("a.numbers", numbers);
  c.set("b_integers", std::vector<std::int64_t>{-1, 0, std::numeric_limits<std::int64_t>::max()});
  c.set("empty", std::vector<double>{});
  c.set("config", std::string("[run]\nregime = \"ode\" # ünïcode\n"));
  write_checkpoint(file("c.h5"), c);
  const checkpoint r = read_checkpoint(file("c.h5"));
  ASSERT_EQ(r.numbers("a.numbers").size(), numbers.size());
  for (std::size_t i = 0; i < numbers.size(); ++i)
    EXPECT_EQ(std::memcmp(&r.numbers("a.numbers")[i], &numbers[i], sizeof(double)), 0) << i;
  EXPECT_EQ(r.integers("b_integers"), c.integers("b_integers"));
  EXPECT_TRUE(r.numbers("empty").empty());
  EXPECT_EQ(r.text("config"), c.text("config"));
  EXPECT_EQ(r.text("ratesim_version"), version);
  EXPECT_FALSE(fs::exists(file("c.h5.tmp")));
  EXPECT_THROW(r.integer("a.numbers"), input_error);  // another kind
  EXPECT_THROW(r.number("missing"), input_error);
  EXPECT_THROW(c.set("no/slash", std::string()), parameter_error);
}

TEST_F(Checkpoint, AFailedWriteLeavesThePreviousCheckpoint) {
  checkpoint c;
  c.set_integer("step", 1);
  write_checkpoint(file("c.h5"), c);
  // A file-size limit below the new checkpoint makes its write fail (EFBIG), as a full
  // disk would (ENOSPC): an error, the previous checkpoint kept, no temporary left over.
  c.set_integer("step", 2);
  c.set("big", std::vector<double>(1 << 17, 1.0));  // 1 MiB
  const auto handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit old {};
  ::getrlimit(RLIMIT_FSIZE, &old);
  struct rlimit small = old;
  small.rlim_cur = 256 * 1024;
  ::setrlimit(RLIMIT_FSIZE, &small);
  EXPECT_THROW(write_checkpoint(file("c.h5"), c), error);
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, handler);
  EXPECT_EQ(read_checkpoint(file("c.h5")).integer("step"), 1);
  int files = 0;
  for ([[maybe_unused]] const auto& f : fs::directory_iterator(file(""))) ++files;
  EXPECT_EQ(files, 1);
}

class Resume : public Checkpoint, public ::testing::WithParamInterface<std::string> {};

TEST_P(Resume, ResumedRunIsBitIdenticalToTheRunThatNeverStopped) {
  const std::string regime = GetParam();
  const bool ode = regime.rfind("quasi", 0) != 0;
  const step_count total = ode ? 400 : 2 * 30 * 2 + 10;  // QS: past an epoch, in a batch
  network straight;
  build(straight);
  make(straight, regime)->run_steps(total);

  // Paused in the middle (at step 190 the ODE is inside a presentation, the QS regime
  // inside a mini-batch), saved, read back into a new network.
  const std::string path = file("c.h5");
  {
    network first;
    build(first);
    auto sim = make(first, regime);
    sim->pause_at(ode ? 190 : 46);
    sim->run_steps(total);
    ASSERT_TRUE(sim->paused());
    ASSERT_LT(sim->steps(), total);
    write_checkpoint(path, sim->save());
  }
  network resumed;
  build(resumed);
  auto sim = make(resumed, regime);
  sim->restore(read_checkpoint(path));
  sim->run_steps(total - sim->steps());
  EXPECT_FALSE(sim->paused());
  ASSERT_EQ(sim->steps(), total);
  const vector& a = straight.state();
  const vector& b = resumed.state();
  ASSERT_EQ(a.size(), b.size());
  Eigen::Index differ = 0;
  for (Eigen::Index i = 0; i < a.size(); ++i) differ += a[i] != b[i];
  EXPECT_EQ(differ, 0) << "of " << a.size() << " entries; max |Δ| = "
                       << (a - b).cwiseAbs().maxCoeff();
}

INSTANTIATE_TEST_SUITE_P(Regimes, Resume,
                         ::testing::Values("euler", "rk4", "dopri5", "quasi_static",
                                           "quasi_static_batch"));

TEST_F(Checkpoint, QuasiStaticRunSplitAnywhereGivesTheSameBits) {
  network one, split;
  build(one);
  build(split);
  quasi_static_simulation a(one), b(split);
  a.run_presentations(97);
  for (step_count n : {1, 13, 40, 2, 41}) b.run_presentations(n);
  EXPECT_TRUE(one.state() == split.state());
}

// The quasi-static regime's ln W cache follows each weight step by a series (not the same
// bits as ln W), so it is state: a weight changed between runs makes it computed anew,
// whether the run goes on in the same simulation or from a checkpoint taken after the
// change; and a damaged cache entry in a checkpoint is an input error naming it.
TEST_F(Checkpoint, TheLnWCacheFollowsAWeightChangedBetweenRuns) {
  auto change = [](network& net) { net.weights(0)(2, 3) *= 1.5; };
  network same;
  build(same);
  quasi_static_simulation a(same);
  a.run_presentations(20);
  change(same);
  a.run_presentations(5);

  const std::string path = file("c.h5");
  {
    network first;
    build(first);
    quasi_static_simulation b(first);
    b.run_presentations(20);
    change(first);
    write_checkpoint(path, b.save());
  }
  network resumed;
  build(resumed);
  quasi_static_simulation c(resumed);
  c.restore(read_checkpoint(path));
  c.run_presentations(5);
  EXPECT_TRUE(same.state() == resumed.state());

  checkpoint damaged = c.save();
  const std::string key = "quasi_static.current_cache.ff";
  ASSERT_TRUE(damaged.has(key));  // 25 steps since the cache was computed anew
  std::vector<double> values = damaged.numbers(key);
  values.pop_back();
  damaged.set(key, values);
  // Refused, into a simulation that has run: it stays as it was (the network had already
  // taken the checkpoint's state when the cache's entry was found damaged), and goes on
  // with the bits it would have had.
  damaged.set_integer("simulation.steps", 10);
  damaged.set("network.state", std::vector<double>(static_cast<std::size_t>(resumed.state().size()), 1.0));
  const vector state = resumed.state();
  const step_count steps = c.steps();
  try {
    c.restore(damaged);
    ADD_FAILURE() << "a damaged cache was taken";
  } catch (const input_error& e) {
    EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
  }
  EXPECT_TRUE(resumed.state() == state);
  EXPECT_EQ(c.steps(), steps);
  a.run_presentations(7);
  c.run_presentations(7);
  EXPECT_TRUE(same.state() == resumed.state());
}

// network::fingerprint, which `ratesim rerun` compares: the same for the same state, and
// changed by any change a user can make, even changes that cancel under a weak hash.
TEST_F(Checkpoint, TheFingerprintSeesEveryChange) {
  auto fresh = [] {
    auto net = std::make_unique<network>();
    build(*net);
    net->state();
    return net;
  };
  auto a = fresh(), b = fresh();
  const std::uint64_t same = a->fingerprint();
  EXPECT_EQ(b->fingerprint(), same);
  EXPECT_LT(same, std::uint64_t{1} << 53);
  b->weights("ff")(1, 2) *= 2.0;  // an exponent bit
  EXPECT_NE(b->fingerprint(), same);
  b = fresh();
  {
    vector& x = b->state();  // two sign flips, which xor-and-multiply hashes cancel
    x[0] = -x[0];
    x[1] = -x[1];
  }
  EXPECT_NE(b->fingerprint(), same);
  b = fresh();
  {
    vector& x = b->state();
    x[x.size() - 1] = std::nextafter(x[x.size() - 1], 10.0);  // the last bit
  }
  EXPECT_NE(b->fingerprint(), same);
  b = fresh();
  b->set_learning_rate_scale(0.5);
  EXPECT_NE(b->fingerprint(), same);
}

TEST_F(Checkpoint, AnotherNetworkOrRegimeIsRefused) {
  network net;
  build(net);
  quasi_static_simulation qs(net);
  qs.run_presentations(3);
  const checkpoint c = qs.save();

  network bigger;
  random_stream rng(7, 0);
  testing::build_circuit(bigger, {.D = 16, .C = 6, .A = 48.0}, rng);
  bigger.stimulate("input", std::make_unique<pattern_set>(testing::random_patterns(16, 30, rng),
                                                          pattern_set::params{.duration = 2.0}));
  quasi_static_simulation other(bigger);
  try {
    other.restore(c);
    FAIL() << "restored into another network";
  } catch (const usage_error& e) {
    EXPECT_NE(std::string(e.what()).find("5 units"), std::string::npos) << e.what();
  }
  network same;
  build(same);
  ode_simulation ode(same);
  EXPECT_THROW(ode.restore(c), usage_error);
  quasi_static_simulation batched(same, {.batch_size = 2});
  EXPECT_THROW(batched.restore(c), usage_error);
}

TEST_F(Checkpoint, AnotherVersionOrConfigurationNeedsForce) {
  checkpoint c;
  c.set("config", std::string("a = 1\nb = 2\n"));
  write_checkpoint(file("c.h5"), c);
  checkpoint r = read_checkpoint(file("c.h5"));
  const std::string same = "a = 1\nb = 2\n", other = "a = 1\nb = 3\n";
  EXPECT_TRUE(check_resumable(r, &same, false).empty());
  EXPECT_TRUE(check_resumable(r, nullptr, false).empty());
  try {
    check_resumable(r, &other, false);
    FAIL() << "another configuration was accepted";
  } catch (const usage_error& e) {
    EXPECT_NE(std::string(e.what()).find("line 2: \"b = 2\""), std::string::npos) << e.what();
  }
  EXPECT_EQ(check_resumable(r, &other, true).size(), 1u);
  r.set("ratesim_version", std::string("0.0.1"));
  EXPECT_THROW(check_resumable(r, &same, false), usage_error);
  EXPECT_EQ(check_resumable(r, &same, true).size(), 1u);
}

TEST_F(Checkpoint, DamagedFilesAreInputErrors) {
  EXPECT_THROW(read_checkpoint(file("absent.h5")), input_error);
  std::ofstream(file("text.h5")) << "not hdf5";
  EXPECT_THROW(read_checkpoint(file("text.h5")), input_error);
  // A state vector that does not fit the network.
  network net;
  build(net);
  quasi_static_simulation qs(net);
  checkpoint c = qs.save();
  c.set("network.state", std::vector<double>(3, 1.0));
  EXPECT_THROW(qs.restore(c), input_error);
  c = qs.save();
  c.set("network.state", std::vector<double>(net.state().size(),
                                             std::numeric_limits<double>::quiet_NaN()));
  EXPECT_THROW(qs.restore(c), numerical_error);
}

}  // namespace
}  // namespace ratesim
