// HDF5 recording: values, layout, schedules, bit-identical results with and without
// recorders, file modes, errors, and a run killed with SIGKILL; spikes in SONATA's layout
// (the same, and a checkpointed run resumed).

#include "circuit.hpp"
#include "scratch.hpp"

#include <ratesim/hdf5_recorder.hpp>
#include <ratesim/models/poisson_input.hpp>
#include <ratesim/models/rate_population.hpp>
#include <ratesim/models/stochastic_wta.hpp>
#include <ratesim/random.hpp>
#include <ratesim/regimes/ode.hpp>
#include <ratesim/regimes/quasi_static.hpp>
#include <ratesim/regimes/spiking.hpp>

#include "detail/hdf5.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace ratesim {
namespace {

namespace fs = std::filesystem;
namespace h5 = detail::hdf5;

using Recording = testing::scratch_test;

struct dataset {
  std::vector<hsize_t> shape;
  std::vector<double> values;
};

dataset read(const std::string& path, const std::string& name) {
  h5::handle f = h5::open_file_for_reading(path, "test");
  h5::handle d = h5::open_dataset(f.get(), name, "test");
  return {h5::shape(d.get(), "test"), h5::read_all(d.get(), "test")};
}

// The seed's circuit on 20 random patterns, 5 ms each.
void build(network& net, std::uint64_t seed = 1) {
  random_stream rng(seed, 0);
  testing::build_circuit(net, {.D = 16, .C = 4, .A = 48.0, .tau_W = 20.0}, rng);
  net.stimulate("input", std::make_unique<pattern_set>(testing::random_patterns(16, 20, rng),
                                                       pattern_set::params{.duration = 5.0}));
}

// The spiking circuit: 12 Poisson inputs (A = 24, ν = 0.5: 12 spikes/ms in all) into a
// stochastic WTA of 3 units (R = 0.5/ms) learning with spike_scaling, on 10 random
// patterns of 20 ms each.
void build_spiking(network& net) {
  random_stream rng(3, 0);
  net.add<poisson_input>("input", {.size = 12, .A = 24.0, .nu = 0.5});
  net.add<stochastic_wta>("output", {.size = 3, .R = 0.5});
  matrix W = uniform_weights(3, 12, 1.0, 2.0, rng);
  normalize_rows(W, 24.0);
  net.connect("input", "output",
              {.name = "ff", .weights = W, .rule = make_rule("spike_scaling", {{"eta", 0.02}})});
  net.stimulate("input", std::make_unique<pattern_set>(testing::random_patterns(12, 10, rng),
                                                       pattern_set::params{.duration = 20.0}));
}

TEST_F(Recording, SamplesEqualTheStateAtTheirSteps) {
  // Reference: the same run stepped by hand, state read every 5 steps.
  std::vector<vector> expected_rates, expected_y;
  std::vector<double> expected_h;
  {
    network net;
    build(net);
    ode_simulation sim(net, {.stepper = "rk4", .dt = 0.1});
    for (int k = 0; k <= 200; k += 5) {
      if (k > 0) sim.run_steps(5);
      expected_rates.push_back(net.rates("output"));
      expected_y.push_back(net.variable("input", "y"));
      expected_h.push_back(net.variable("input", "h")[0]);
    }
  }
  network net;
  build(net);
  ode_simulation sim(net, {.stepper = "rk4", .dt = 0.1});
  const std::string path = file("run.h5");
  {
    hdf5_recorder out(path, {.flush_every = 7, .seed = 99});
    out.record("output", "rate", {.every = 0.5});
    out.record("input", "y", {.every_steps = 5}, std::vector<std::size_t>{3, 0});
    out.record("input", "h", {.every_steps = 10, .start = 1.0, .stop = 10.0});
    sim.attach(out);
    sim.run(12.0);  // two runs: the boundary must neither lose nor repeat a sample
    sim.run(8.0);
  }
  const auto rate = read(path, "output/rate/data");
  const auto time = read(path, "output/rate/time");
  ASSERT_EQ(rate.shape, (std::vector<hsize_t>{41, 4}));
  ASSERT_EQ(time.shape, (std::vector<hsize_t>{41}));
  for (std::size_t i = 0; i < 41; ++i) {
    EXPECT_NEAR(time.values[i], 0.5 * double(i), 1e-12);
    for (std::size_t c = 0; c < 4; ++c)
      EXPECT_EQ(rate.values[i * 4 + c], expected_rates[i][Eigen::Index(c)]) << i << ", " << c;
  }
  const auto y = read(path, "input/y/data");
  ASSERT_EQ(y.shape, (std::vector<hsize_t>{41, 2}));
  for (std::size_t i = 0; i < 41; ++i) {
    EXPECT_EQ(y.values[2 * i], expected_y[i][3]);
    EXPECT_EQ(y.values[2 * i + 1], expected_y[i][0]);
  }
  // h every 10 steps from t = 1 ms up to, not including, 10 ms: t = 1, 2, …, 9.
  const auto h = read(path, "input/h/data");
  const auto h_time = read(path, "input/h/time");
  ASSERT_EQ(h.shape, (std::vector<hsize_t>{9, 1}));
  for (std::size_t i = 0; i < 9; ++i) {
    EXPECT_NEAR(h_time.values[i], 1.0 + double(i), 1e-12);
    EXPECT_EQ(h.values[i], expected_h[2 * (i + 1)]);
  }
}

TEST_F(Recording, WeightsAndMetricsAreRecorded) {
  network net;
  build(net);
  quasi_static_simulation sim(net, {.dt = 5.0});
  const std::string path = file("weights.h5");
  std::vector<matrix> expected;
  {
    hdf5_recorder out(path, {});
    out.record_weights("ff", {.every = 50.0});
    out.record_weight_sums("ff", {.every = 25.0});
    out.record_metric("max_rate", 1, "1",
                      [](const network& n, vector_span v) { v[0] = n.state_of(1).maxCoeff(); },
                      {.every = 50.0});
    sim.attach(out);
    for (int i = 0; i < 4; ++i) {
      expected.push_back(net.weights("ff"));
      sim.run_presentations(10);
    }
    expected.push_back(net.weights("ff"));
  }
  const auto W = read(path, "ff/weights/data");
  ASSERT_EQ(W.shape, (std::vector<hsize_t>{5, 4, 16}));
  for (std::size_t s = 0; s < 5; ++s)
    for (std::size_t c = 0; c < 4; ++c)
      for (std::size_t d = 0; d < 16; ++d)
        EXPECT_EQ(W.values[(s * 4 + c) * 16 + d], expected[s](Eigen::Index(c), Eigen::Index(d)));
  const auto sums = read(path, "metrics/weight_sum_ff/data");
  ASSERT_EQ(sums.shape, (std::vector<hsize_t>{9, 4}));
  for (double v : sums.values) EXPECT_NEAR(v, 48.0, 1e-9 * 48.0);
  EXPECT_EQ(read(path, "metrics/max_rate/data").shape, (std::vector<hsize_t>{5, 1}));
}

// The final state of a run, with or without an hdf5_recorder attached.
vector final_state(const std::string& regime, const std::string& path) {
  network net;
  build(net);
  std::unique_ptr<hdf5_recorder> out;
  if (!path.empty()) {
    out = std::make_unique<hdf5_recorder>(path, hdf5_recorder::options{.flush_every = 3});
    out->record("output", "rate", {.every_steps = 1});
    out->record("output", "input", {.every_steps = 3});
    out->record("input", "h", {.every_steps = 7});
    out->record_weights("ff", {.every_steps = 10});
  }
  if (regime == "quasi_static") {
    quasi_static_simulation sim(net, {.dt = 5.0, .batch_size = 3});
    if (out) sim.attach(*out);
    sim.run_presentations(50);
  } else {
    ode_simulation sim(net, {.stepper = regime, .dt = 0.1, .abs_tol = 1e-6, .rel_tol = 1e-6});
    if (out) sim.attach(*out);
    sim.run(60.0);
  }
  return net.state();
}

TEST_F(Recording, RecordingNeverChangesTheResult) {
  for (const std::string regime : {"euler", "rk4", "dopri5", "quasi_static"}) {
    const vector without = final_state(regime, "");
    const vector with = final_state(regime, file(regime + ".h5"));
    EXPECT_TRUE((with.array() == without.array()).all()) << regime << ": not bit-identical";
  }
}

TEST_F(Recording, RootAttributesDescribeTheRun) {
  network net;
  build(net);
  ode_simulation sim(net, {.dt = 0.1});
  const std::string path = file("attrs.h5");
  {
    hdf5_recorder out(path, {.config = "[run]\nseed = 5\n", .seed = 5});
    out.record("output", "rate");
    sim.attach(out);
    sim.run(1.0);
  }
  h5::handle f = h5::open_file_for_reading(path, "test");
  EXPECT_EQ(h5::read_string_attribute(f.get(), "format", "test"), "ratesim");
  EXPECT_EQ(h5::read_string_attribute(f.get(), "config", "test"), "[run]\nseed = 5\n");
  EXPECT_EQ(h5::read_string_attribute(f.get(), "created", "test").size(), 20u);
  EXPECT_EQ(h5::read_string_attribute(f.get(), "structure", "test"), net.describe_structure());
  h5::handle d = h5::open_dataset(f.get(), "output/rate/data", "test");
  EXPECT_EQ(h5::read_string_attribute(d.get(), "units", "test"), "1");
}

TEST_F(Recording, FileModes) {
  const std::string path = file("modes.h5");
  auto run = [&](hdf5_recorder::file_mode mode, double duration) {
    network net;
    build(net);
    ode_simulation sim(net, {.dt = 0.1});
    hdf5_recorder out(path, {.mode = mode});
    out.record("output", "rate");
    sim.attach(out);
    sim.run(duration);
  };
  run(hdf5_recorder::file_mode::create, 1.0);
  EXPECT_EQ(read(path, "output/rate/time").shape[0], 11u);
  EXPECT_THROW(run(hdf5_recorder::file_mode::create, 1.0), usage_error);  // refuses
  EXPECT_EQ(read(path, "output/rate/time").shape[0], 11u);                // untouched
  run(hdf5_recorder::file_mode::append, 1.0);
  EXPECT_EQ(read(path, "output/rate/data").shape[0], 22u);
  run(hdf5_recorder::file_mode::overwrite, 0.5);
  EXPECT_EQ(read(path, "output/rate/data").shape[0], 6u);
  EXPECT_THROW(hdf5_recorder(file("none.h5"), {.mode = hdf5_recorder::file_mode::append}),
               usage_error);
}

// Attaching a recorder with `setup` fails with E naming `part`, and leaves no file. The
// network is the seed's circuit in the ODE regime, or with `spiking` the spiking circuit.
template <class E>
void expect_refused(const std::string& path, const std::function<void(hdf5_recorder&)>& setup,
                    const std::string& part, bool spiking = false) {
  network net;
  std::unique_ptr<simulation> sim;
  if (spiking) {
    build_spiking(net);
    sim = std::make_unique<spiking_simulation>(net);
  } else {
    build(net);
    sim = std::make_unique<ode_simulation>(net, ode_options{.dt = 0.1});
  }
  try {
    hdf5_recorder out(path, {});
    setup(out);
    sim->attach(out);
    ADD_FAILURE() << "no exception for " << part;
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(path)) << "a file was left behind for " << part;
}

TEST_F(Recording, BadRequestsAreRefusedBeforeAnyFileIsWritten) {
  const std::string path = file("bad.h5");
  expect_refused<lookup_error>(path, [](auto& o) { o.record("outptu", "rate"); },
                               "no population named \"outptu\"");
  expect_refused<lookup_error>(path, [](auto& o) { o.record("input", "v"); },
                               "has no variable \"v\"; known: rate, input, h, y");
  expect_refused<parameter_error>(
      path, [](auto& o) { o.record("output", "rate", {}, std::vector<std::size_t>{}); },
      "unit subset is empty");
  expect_refused<parameter_error>(
      path, [](auto& o) { o.record("output", "rate", {}, std::vector<std::size_t>{1, 4}); },
      "unit index 4 is out of range (the variable has 4 units)");
  expect_refused<parameter_error>(path, [](auto& o) { o.record("output", "u", {.every = 0.25}); },
                                  "every = 0.25 ms must be a positive multiple of dt = 0.1 ms");
  expect_refused<parameter_error>(path, [](auto& o) { o.record("output", "u", {.every = -1.0}); },
                                  "positive multiple");
  expect_refused<lookup_error>(path, [](auto& o) { o.record_weights("fb", {}); },
                               "no projection named \"fb\"");
  expect_refused<usage_error>(path,
                              [](auto& o) {
                                o.record("output", "rate");
                                o.record("output", "rate", {.every = 1.0});
                              },
                              "recorded twice");
}

TEST_F(Recording, UnwritablePathsAreRefused) {
  EXPECT_THROW(hdf5_recorder((dir_ / "missing" / "x.h5").string(), {}), error);
  // /proc refuses new files even to root: the failure comes when the file is made.
  network net;
  build(net);
  ode_simulation sim(net, {.dt = 0.1});
  try {
    hdf5_recorder out("/proc/ratesim-test.h5", {});
    out.record("output", "rate");
    sim.attach(out);
    ADD_FAILURE() << "no exception";
  } catch (const error& e) {
    EXPECT_NE(std::string(e.what()).find("/proc/ratesim-test.h5"), std::string::npos);
  }
}

// Two writers of one file: the second is refused, naming who holds it; a file that is not
// a regular HDF5 file (a pipe, a folder, the experiment's own text) is never replaced; a
// refused recorder leaves the file as it was.
TEST_F(Recording, OutputsAreClaimedLockedAndNeverReplaceWhatIsNotTheirs) {
  const std::string path = file("out.h5");
  network net;
  build(net);
  ode_simulation sim(net, {.dt = 0.1});
  hdf5_recorder first(path, {});
  first.record("output", "rate");
  sim.attach(first);
  sim.run_steps(10);
  const auto size = fs::file_size(path);
  try {
    hdf5_recorder second(path, {.mode = hdf5_recorder::file_mode::overwrite});
    ADD_FAILURE() << "a second writer was let in";
  } catch (const usage_error& e) {
    EXPECT_NE(std::string(e.what()).find("is being written by this process"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(fs::file_size(path), size);

  const std::string pipe = file("pipe");
  ASSERT_EQ(::mkfifo(pipe.c_str(), 0600), 0);
  EXPECT_THROW(hdf5_recorder(pipe, {.mode = hdf5_recorder::file_mode::overwrite}), usage_error);
  EXPECT_TRUE(fs::is_fifo(pipe));
  EXPECT_THROW(hdf5_recorder(dir_.string(), {.mode = hdf5_recorder::file_mode::overwrite}),
               usage_error);
  const std::string text = file("e.toml");
  std::ofstream(text) << "seed = 1\n";
  EXPECT_THROW(hdf5_recorder(text, {.mode = hdf5_recorder::file_mode::overwrite}), usage_error);
  EXPECT_EQ(fs::file_size(text), 9u);
}

// A write that fails (here EFBIG under a file-size limit, as ENOSPC on a full disk) is an
// error saying so; the file keeps every sample up to its last flush and stays readable,
// and nothing crashes when the recorder and HDF5 close.
TEST_F(Recording, AFailedWriteKeepsTheFlushedSamples) {
  const std::string path = file("big.h5");
  const auto handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit old {};
  ::getrlimit(RLIMIT_FSIZE, &old);
  struct rlimit small = old;
  small.rlim_cur = 3 << 20;  // 3 MiB
  {
    network net;
    net.add<rate_population>("u", {.size = 2000, .tau = 1.0});
    net.stimulate("u", std::make_unique<constant_input>(vector::Constant(2000, 2.0)));
    ode_simulation sim(net, {.stepper = "euler", .dt = 0.1});
    hdf5_recorder out(path, {.flush_every = 8, .compression = 0});
    out.record("u", "u");
    sim.attach(out);
    ::setrlimit(RLIMIT_FSIZE, &small);
    try {
      sim.run_steps(1000);  // 16 kB a sample: 16 MB in all
      ADD_FAILURE() << "no error";
    } catch (const error& e) {
      EXPECT_NE(std::string(e.what()).find("File too large"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("keeps every sample up to its last flush"),
                std::string::npos)
          << e.what();
    }
  }
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, handler);
  namespace h5 = detail::hdf5;
  h5::handle f = h5::open_file_for_reading(path, "test");
  h5::handle time = h5::open_dataset(f.get(), "u/u/time", "test");
  const auto t = h5::read_all(time.get(), "test");
  ASSERT_GT(t.size(), 8u);
  EXPECT_EQ(t.size() % 8, 0u);  // whole flushes
  for (std::size_t i = 0; i < t.size(); ++i) EXPECT_DOUBLE_EQ(t[i], 0.1 * static_cast<double>(i));
}

// A linear unit under constant input I, integrated by euler: u_k = I (1 − (1 − dt/τ)^k).
double euler_solution(step_count k) { return 2.0 * (1.0 - std::pow(1.0 - 0.1 / 1.0, double(k))); }

[[noreturn]] void record_forever(const std::string& path) {
  network net;
  net.add<rate_population>("u", {.size = 3, .tau = 1.0});
  net.stimulate("u", std::make_unique<constant_input>(vector::Constant(3, 2.0)));
  ode_simulation sim(net, {.stepper = "euler", .dt = 0.1});
  hdf5_recorder out(path, {.flush_every = 16});
  out.record("u", "u");
  sim.attach(out);
  while (true) sim.run_steps(1000);
}

// Runs `write(path)` in a child process, reads `path` while the child writes it until its
// dataset `counted` holds `minimum` rows (or 5 s have passed), lets the child go on for
// `attempt` ms more and kills it with SIGKILL. Returns the rows seen before the kill (0:
// none was readable), or 0 with a failure when the child was not killed by the signal.
std::size_t kill_while_writing(const std::string& path, void (*write)(const std::string&),
                               const std::string& counted, std::size_t minimum, int attempt) {
  const pid_t child = ::fork();
  if (child < 0) return 0;
  if (child == 0) {
    try {
      write(path);
    } catch (...) {
      ::_exit(3);
    }
  }
  std::size_t seen = 0;
  for (int poll = 0; poll < 500 && seen < minimum; ++poll) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (!fs::exists(path)) continue;
    h5::quiet_errors quiet;
    try {
      seen = read(path, counted).shape[0];
    } catch (const error&) {
    }
  }
  std::this_thread::sleep_for(std::chrono::microseconds(997 * attempt));
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  if (!WIFSIGNALED(status)) {
    ADD_FAILURE() << "the child was not killed: status " << status;
    return 0;
  }
  return seen;
}

TEST_F(Recording, RunKilledWithSigkillLeavesEveryFlushedSample) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    const std::string path = file(fmt::format("killed{}.h5", attempt));
    const std::size_t seen =
        kill_while_writing(path, record_forever, "u/u/time", 2000u * (attempt + 1), attempt);
    ASSERT_GT(seen, 0u) << "the child wrote nothing readable";

    const auto data = read(path, "u/u/data");
    const auto time = read(path, "u/u/time");
    ASSERT_EQ(data.shape[0], time.shape[0]) << "data and time lengths differ";
    ASSERT_GE(time.shape[0], seen);
    for (std::size_t i = 0; i < time.shape[0]; ++i) {
      ASSERT_NEAR(time.values[i], 0.1 * double(i), 1e-9);
      for (std::size_t j = 0; j < 3; ++j)
        ASSERT_NEAR(data.values[3 * i + j], euler_solution(step_count(i)), 1e-12) << i;
    }
  }
}

// ---- Spikes -----------------------------------------------------------------------------

// (time [ms], unit) of every spike of one population.
using spike_list = std::vector<std::pair<double, std::uint64_t>>;

// Every spike the regime reports to its observers, per population.
struct spike_log : spike_observer {
  std::vector<spike_list> seen;
  double dt = 0.0;
  void start(const network& net, double step) override {
    seen.resize(net.population_count());
    dt = step;
  }
  void spikes(step_count step, std::size_t population,
              std::span<const std::uint32_t> units) override {
    for (std::uint32_t u : units) seen[population].emplace_back(static_cast<double>(step) * dt, u);
  }
};

// The spikes of /spikes/<population> as the file holds them (read as a SONATA reader
// would: timestamps as doubles, node_ids as uint64), checking that both have the same
// length and the types SONATA asks for.
spike_list read_spikes(const std::string& path, const std::string& population) {
  h5::handle f = h5::open_file_for_reading(path, "test");
  const std::string group = fmt::format("spikes/{}", population);
  h5::handle times = h5::open_dataset(f.get(), group + "/timestamps", "test");
  h5::handle ids = h5::open_dataset(f.get(), group + "/node_ids", "test");
  h5::handle time_type(H5Dget_type(times.get())), id_type(H5Dget_type(ids.get()));
  EXPECT_GT(H5Tequal(time_type.get(), H5T_IEEE_F64LE), 0);
  EXPECT_GT(H5Tequal(id_type.get(), H5T_STD_U64LE), 0);
  const auto n = h5::shape(times.get(), "test");
  EXPECT_EQ(n, h5::shape(ids.get(), "test"));
  std::vector<double> t(n.at(0));
  std::vector<std::uint64_t> u(n.at(0));
  if (!t.empty()) {
    EXPECT_GE(H5Dread(times.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data()), 0);
    EXPECT_GE(H5Dread(ids.get(), H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, u.data()), 0);
  }
  spike_list spikes;
  for (std::size_t i = 0; i < t.size(); ++i) spikes.emplace_back(t[i], u[i]);
  return spikes;
}

// The name of the member an enumerated attribute holds.
std::string enum_attribute(hid_t loc, const char* name) {
  h5::handle a(H5Aopen(loc, name, H5P_DEFAULT));
  h5::handle type(H5Aget_type(a.get()));
  if (H5Tget_class(type.get()) != H5T_ENUM) return "(not an enum)";
  std::int8_t value = -1;
  h5::handle memory(H5Tenum_create(H5T_NATIVE_INT8));
  for (std::int8_t v = 0; v < 3; ++v) {
    char member[16] = {};
    H5Tenum_nameof(type.get(), &v, member, sizeof member);
    H5Tenum_insert(memory.get(), member, &v);
  }
  H5Aread(a.get(), memory.get(), &value);
  char member[16] = {};
  H5Tenum_nameof(memory.get(), &value, member, sizeof member);
  return member;
}

std::vector<std::uint32_t> uint32_attribute(hid_t loc, const char* name) {
  h5::handle a(H5Aopen(loc, name, H5P_DEFAULT));
  h5::handle space(H5Aget_space(a.get()));
  const auto n = H5Sget_simple_extent_npoints(space.get());
  std::vector<std::uint32_t> values(static_cast<std::size_t>(n));
  H5Aread(a.get(), H5T_NATIVE_UINT32, values.data());
  return values;
}

TEST_F(Recording, SpikesAreTheRegimesInSonatasLayout) {
  network net;
  build_spiking(net);
  spiking_simulation sim(net, {.dt = 0.5, .seed = 11});
  spike_log log;
  const std::string path = file("spikes.h5"), window = file("window.h5");
  {
    hdf5_recorder out(path, {.flush_every = 7});
    out.record_spikes("input");
    out.record_spikes("output");
    out.record("output", "trace", {.every = 5.0});  // traces and spikes in one file
    hdf5_recorder part(window, {.flush_every = 7});
    part.record_spikes("output", {.start = 100.0, .stop = 250.0});
    sim.attach(log);
    sim.attach(out);
    sim.attach(part);
    sim.run(300.0);
    sim.run(200.0);  // a run boundary neither loses nor repeats a spike
  }
  for (const char* name : {"input", "output"}) {
    const std::size_t i = net.population_index(name);
    const spike_list spikes = read_spikes(path, name);
    EXPECT_EQ(spikes.size(), sim.spike_count(i)) << name;
    EXPECT_EQ(spikes, log.seen[i]) << name;
    EXPECT_TRUE(std::is_sorted(spikes.begin(), spikes.end(),
                               [](const auto& a, const auto& b) { return a.first < b.first; }));
  }
  // 500 ms at 12 and 0.5 spikes/ms: about 6000 and 250.
  EXPECT_GT(sim.spike_count(net.population_index("input")), 5000u);
  EXPECT_GT(sim.spike_count(net.population_index("output")), 150u);
  EXPECT_LE(read_spikes(path, "output").back().second, 2u);
  EXPECT_EQ(read(path, "output/trace/time").shape[0], 101u);

  spike_list expected;
  for (const auto& s : log.seen[net.population_index("output")])
    if (s.first >= 100.0 && s.first < 250.0) expected.push_back(s);
  EXPECT_EQ(read_spikes(window, "output"), expected);

  // The attributes and storage SONATA and the traces' layout ask for.
  h5::handle f = h5::open_file_for_reading(path, "test");
  EXPECT_EQ(uint32_attribute(f.get(), "magic"), std::vector<std::uint32_t>{0x0A7A});
  EXPECT_EQ(uint32_attribute(f.get(), "version"), (std::vector<std::uint32_t>{0, 1}));
  h5::handle group(H5Gopen2(f.get(), "spikes/output", H5P_DEFAULT));
  EXPECT_EQ(enum_attribute(group.get(), "sorting"), "by_time");
  h5::handle times = h5::open_dataset(f.get(), "spikes/output/timestamps", "test");
  EXPECT_EQ(h5::read_string_attribute(times.get(), "units", "test"), "ms");
  h5::handle space(H5Dget_space(times.get()));
  hsize_t dims = 0, max_dims = 0;
  H5Sget_simple_extent_dims(space.get(), &dims, &max_dims);
  EXPECT_EQ(max_dims, H5S_UNLIMITED);
  h5::handle samples = h5::open_dataset(f.get(), "spikes/output/samples", "test");
  h5::handle plist(H5Dget_create_plist(samples.get()));
  EXPECT_EQ(H5Pget_layout(plist.get()), H5D_CHUNKED);
  EXPECT_GE(H5Pget_nfilters(plist.get()), 2);  // shuffle and gzip
}

TEST_F(Recording, SpikesOfWhatDoesNotSpikeOrOnAScheduleAreRefused) {
  const std::string path = file("bad.h5");
  constexpr bool spiking = true;
  expect_refused<parameter_error>(
      path, [](auto& o) { o.record_spikes("output", {.every = 1.0}); },
      "spikes are recorded as they come, not sampled", spiking);
  expect_refused<lookup_error>(path, [](auto& o) { o.record_spikes("outptu"); }, "outptu",
                               spiking);
  expect_refused<lookup_error>(path, [](auto& o) { o.record("output", "spikes"); },
                               "what = \"spikes\"", spiking);
  expect_refused<usage_error>(path, [](auto& o) { o.record_spikes("output"); },
                              "does not spike");  // the rate circuit
  network named;
  named.add<poisson_input>("spikes", {.size = 3, .A = 6.0});
  spiking_simulation sim(named);
  hdf5_recorder out(path, {});
  out.record_spikes("spikes");
  try {
    sim.attach(out);
    ADD_FAILURE() << "no exception";
  } catch (const usage_error& e) {
    EXPECT_NE(std::string(e.what()).find("would share its HDF5 group"), std::string::npos)
        << e.what();
  }
}

// The spiking circuit in its regime (seed 4), recording its output's spikes to `path`.
struct spiking_run {
  network net;
  std::unique_ptr<spiking_simulation> sim;
  hdf5_recorder out;
  spiking_run(const std::string& path, hdf5_recorder::file_mode mode)
      : out(path, {.mode = mode, .flush_every = 5}) {
    build_spiking(net);
    sim = std::make_unique<spiking_simulation>(net, spiking_options{.dt = 0.5, .seed = 4});
    out.record_spikes("output");
  }
};

// A run stopped at a checkpoint and resumed, its recorder cut back to the checkpoint's
// counts (as `ratesim run --resume` does), leaves the spikes of a run that went straight
// through.
TEST_F(Recording, ResumedRunAppendsTheSameSpikes) {
  const std::string straight = file("straight.h5"), resumed = file("resumed.h5");
  {
    spiking_run r(straight, hdf5_recorder::file_mode::create);
    r.sim->attach(r.out);
    r.sim->run(400.0);
  }
  checkpoint saved;
  std::vector<std::pair<std::string, std::uint64_t>> counts;
  std::string run_id;
  {
    spiking_run r(resumed, hdf5_recorder::file_mode::create);
    r.sim->attach(r.out);
    r.sim->run(150.0);
    counts = r.out.sample_counts();
    saved = r.sim->save();
    run_id = r.out.run_id();
    r.sim->run(100.0);  // written, then dropped by the resumed run
  }
  ASSERT_EQ(counts.size(), 1u);
  EXPECT_EQ(counts[0].first, "spikes/output");
  EXPECT_GT(read_spikes(resumed, "output").size(), counts[0].second);
  {
    spiking_run r(resumed, hdf5_recorder::file_mode::append);
    r.sim->restore(saved);
    r.out.resume(counts, run_id);
    r.sim->attach(r.out);
    r.sim->run(250.0);
  }
  EXPECT_EQ(read_spikes(resumed, "output"), read_spikes(straight, "output"));
}

[[noreturn]] void spike_forever(const std::string& path) {
  network net;
  build_spiking(net);
  spiking_simulation sim(net, {.dt = 0.5, .seed = 9});
  hdf5_recorder out(path, {.flush_every = 16});
  out.record_spikes("input");
  sim.attach(out);
  while (true) sim.run_steps(1000);
}

TEST_F(Recording, RunKilledWithSigkillLeavesEveryFlushedSpike) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    const std::string path = file(fmt::format("killed_spikes{}.h5", attempt));
    const std::size_t seen = kill_while_writing(path, spike_forever, "spikes/input/timestamps",
                                                5000u * (attempt + 1), attempt);
    ASSERT_GT(seen, 0u) << "the child wrote nothing readable";

    // Every spike up to the last flush, exactly: the same run again, in this process.
    const spike_list kept = read_spikes(path, "input");
    ASSERT_GE(kept.size(), seen);
    network net;
    build_spiking(net);
    spiking_simulation sim(net, {.dt = 0.5, .seed = 9});
    spike_log log;
    sim.attach(log);
    sim.run_steps(static_cast<step_count>(kept.back().first / 0.5) + 1);
    const spike_list& all = log.seen[net.population_index("input")];
    ASSERT_GE(all.size(), kept.size());
    EXPECT_TRUE(std::equal(kept.begin(), kept.end(), all.begin()));
  }
}

}  // namespace
}  // namespace ratesim
