// Experiments from TOML: the example runs, overrides change values, and every kind of
// mistake is a config_error naming the place, the key and what was expected.

#include <ratesim/error.hpp>
#include <ratesim/experiment.hpp>
#include <ratesim/hdf5_recorder.hpp>
#include <ratesim/projection.hpp>
#include <ratesim/stimulus.hpp>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

namespace ratesim {
namespace {

namespace fs = std::filesystem;

const std::string base = R"(
seed = 3
[population.input]
model = "feedforward_inhibition"
size = 16
A = 48.0

[population.output]
model = "softmax_competition"
size = 4

[stimulus.input]
source = "bars"
side = 4
samples = 200
duration = 1.0
order = "shuffled"

[projection.ff]
pre = "input"
post = "output"
weights = { init = "data_mean", noise = 0.5, row_sum = 48.0 }
rule = { name = "synaptic_scaling", tau = 100.0 }

[run]
regime = "quasi_static"
presentations = 500
)";

// The message of the config_error that parsing `text` with `overrides` throws.
std::string error_of(const std::string& text, const std::vector<std::string>& overrides = {}) {
  try {
    experiment::parse(text, "test.toml", {.set = overrides});
  } catch (const config_error& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("wrong exception type: ") + e.what();
  }
  return "no error";
}

void expect_contains(const std::string& message, const std::vector<std::string>& parts) {
  for (const auto& p : parts)
    EXPECT_NE(message.find(p), std::string::npos) << "\"" << message << "\" lacks \"" << p << "\"";
}

TEST(Config, ExperimentRunsAndKeepsTheInvariant) {
  auto e = experiment::parse(base, "test.toml");
  EXPECT_EQ(e->total_steps(), 500);
  e->run();
  EXPECT_DOUBLE_EQ(e->sim().time(), 500.0);
  const vector sums = e->net().weights("ff").rowwise().sum();
  EXPECT_LT((sums.array() - 48.0).abs().maxCoeff(), 1e-9 * 48.0);
}

// Each component draws from a stream of its own (the seed keyed by its table's path): a
// projection added before ff (tables are built in key order) changes neither the bars nor
// ff's initial weights; another seed changes both.
TEST(Config, EachComponentDrawsFromAStreamOfItsOwn) {
  auto draws = [](const std::unique_ptr<experiment>& e) {
    return std::pair{*e->net().stimuli().at(0).source->patterns(), matrix(e->net().weights("ff"))};
  };
  const auto one = draws(experiment::parse(base, "test.toml"));
  const auto two = draws(experiment::parse(base + R"(
[projection.aa]
pre = "input"
post = "output"
weights = { init = "uniform", low = 1.0, high = 2.0 }
)",
                                           "test.toml"));
  EXPECT_EQ(one.first, two.first);
  EXPECT_EQ(one.second, two.second);
  const auto other = draws(experiment::parse(base, "test.toml", {.set = {"seed=4"}}));
  EXPECT_NE(one.first, other.first);
  EXPECT_NE(one.second, other.second);
}

TEST(Config, OverridesChangeValuesAndAddKeys) {
  auto e = experiment::parse(base, "test.toml",
                             {.set = {"run.presentations=20", "run.regime=ode", "run.dt=0.5"}});
  EXPECT_EQ(e->total_steps(), 40);  // 20 patterns of 1 ms at dt = 0.5 ms
  EXPECT_NE(e->effective_config().find("regime = 'ode'"), std::string::npos)
      << e->effective_config();
  e->run();
  EXPECT_DOUBLE_EQ(e->sim().time(), 20.0);
}

// --unset removes a value or a whole table before the --set values: a file that gives the
// run's length as presentations takes a duration instead, a projection loses its rule.
TEST(Config, UnsetRemovesKeysAndTablesBeforeTheSetValues) {
  auto e = experiment::parse(base, "test.toml",
                             {.unset = {"run.presentations"}, .set = {"run.duration=20"}});
  EXPECT_EQ(e->total_steps(), 20);  // 20 ms at dt = 1 ms
  EXPECT_EQ(e->effective_config().find("presentations"), std::string::npos)
      << e->effective_config();
  // Removed then set again: the table starts empty (tau = 100 is gone).
  auto oja = experiment::parse(base, "test.toml",
                               {.unset = {"projection.ff.rule"}, .set = {"projection.ff.rule.name=oja"}});
  EXPECT_EQ(oja->effective_config().find("tau"), std::string::npos) << oja->effective_config();
  auto fixed = experiment::parse(base, "test.toml", {.unset = {"projection.ff.rule"}});
  const matrix before = fixed->net().weights("ff");
  fixed->run();
  EXPECT_EQ(matrix(fixed->net().weights("ff")), before);  // no rule: the weights stay
  const std::string with_record = base + "\n[output]\nfile = \"unused.h5\"\n[[record]]\n"
                                         "population = \"output\"\nevery = 10.0\n";
  auto unrecorded = experiment::parse(with_record, "test.toml", {.unset = {"record", "output"}});
  EXPECT_EQ(unrecorded->recorder(), nullptr);
}

TEST(Config, UnsettingAKeyThatIsNotThereIsAnErrorNamingIt) {
  auto error_of_unset = [](const std::string& text, std::vector<std::string> keys) {
    try {
      experiment::parse(text, "test.toml", {.unset = std::move(keys)});
    } catch (const config_error& e) {
      return std::string(e.what());
    }
    return std::string("no config_error");
  };
  expect_contains(error_of_unset(base, {"run.presentatons"}),
                  {"--unset run.presentatons: there is no key \"run.presentatons\" to remove; "
                   "run holds presentations, regime"});
  expect_contains(error_of_unset(base, {"projection.gg.rule"}),
                  {"--unset projection.gg.rule: there is no key \"projection.gg\""});
  expect_contains(error_of_unset(base, {"sede"}), {"the top level holds ", "seed"});
  expect_contains(error_of_unset(base, {"run.presentations.x"}), {"\"run.presentations\" is not a table"});
  expect_contains(error_of_unset(base, {"run.presentations=5"}),
                  {"--unset run.presentations=5: expected KEY.PATH, without a value"});
  expect_contains(error_of_unset(base, {""}), {"expected KEY.PATH"});
  expect_contains(error_of_unset(base, {"run..regime"}), {"empty part in the key"});
  // Removed twice: the second finds nothing.
  expect_contains(error_of_unset(base, {"seed", "seed"}), {"no key \"seed\" to remove"});
  const std::string with_record = base + "\n[output]\nfile = \"unused.h5\"\n[[record]]\n"
                                         "population = \"output\"\n";
  expect_contains(error_of_unset(with_record, {"record.0"}),
                  {"only the whole array (--unset record)"});
  expect_contains(error_of_unset(with_record, {"record.1.every"}),
                  {"\"record\" has no table number 1"});
}

TEST(Config, MistakesNameThePlaceTheKeyAndWhatWasExpected) {
  expect_contains(error_of(base + "\n[run2]\nx = 1\n"), {"test.toml:29:1", "unknown key \"run2\""});
  std::string misspelt = base;
  misspelt.replace(misspelt.find("size = 4"), 8, "size = 4\ntua_u = 2.0");
  expect_contains(error_of(misspelt), {"test.toml:11:", "softmax_competition \"output\"",
                                       "unknown parameter(s) tua_u"});
  expect_contains(error_of(base, {"projection.ff.rule.tau=-5"}),
                  {"--set projection.ff.rule.tau=-5", "projection \"ff\"",
                   "rule \"synaptic_scaling\": tau must be finite and > 0, got -5"});
  expect_contains(error_of(base, {"projection.ff.rule.taw=5"}), {"unknown parameter(s) taw"});
  // A rule reading a variable the postsynaptic population lacks: placed at the rule.
  expect_contains(error_of(base, {"projection.ff.rule.divide_by=\"prior\""}),
                  {"test.toml:23:", "rule: projection \"ff\"", "reads the variable \"prior\"",
                   "intrinsic rule"});
  expect_contains(error_of(base, {"run.regime=fast"}),
                  {"run.regime: unknown regime \"fast\"; known: ode, quasi_static"});
  // The regime's parameters are checked by the regime.
  expect_contains(error_of(base, {"run.stepr=rk4"}),
                  {"--set run.stepr=rk4", "regime \"quasi_static\": unknown parameter(s) stepr",
                   "known: batch_size, dt, exact_log, exact_sparse",
                   "[run] itself takes regime, duration, presentations, epochs"});
  expect_contains(error_of(base, {"run.regime=ode", "run.settle=maybe"}),
                  {"parameter settle must be true or false, got \"maybe\""});
  expect_contains(error_of(base, {"run.presentations=\"many\""}),
                  {"run.presentations: expected a number, got a string"});
  expect_contains(error_of(base, {"population.input.A=10"}),
                  {"population \"input\"", "A must be > D = 16, got 10"});
  expect_contains(error_of(base, {"population.input.model=lif"}),
                  {"unknown population model \"lif\"", "feedforward_inhibition"});
  expect_contains(error_of(base, {"stimulus.input.order=random"}),
                  {"expected sequential or shuffled"});
  expect_contains(error_of(base, {"run.duration=5"}), {"exactly one of duration"});
  expect_contains(error_of("seed = \n"), {"test.toml:1:"});
  expect_contains(error_of("seed = 1\n"), {"no [population.NAME] table"});
  expect_contains(error_of(base + "\n[[record]]\npopulation = \"output\"\n"),
                  {"[[record]] needs an [output] file"});
}

// Stimulus sources, weight initialisers and record kinds come from registries: an unknown
// name is an error at its key that lists the known ones, and a misspelt parameter of a
// component is an error at that parameter that names it and lists what the component takes.
TEST(Config, UnknownComponentsAreErrorsListingTheKnownOnes) {
  EXPECT_THROW(stimulus_sources().get("ramp"), lookup_error);
  try {
    weight_initializers().get("zeros");
    ADD_FAILURE() << "no error";
  } catch (const lookup_error& e) {
    EXPECT_STREQ(e.what(),
                 "unknown weight initialiser \"zeros\"; known: constant, data_mean, file, uniform");
  }
  const std::string with_record =
      base + "\n[output]\nfile = \"unused.h5\"\n[[record]]\nwhat = \"rate\"\npopulation = \"output\"\n";
  expect_contains(error_of(base, {"stimulus.input.source=ramp"}),
                  {"--set stimulus.input.source=ramp", "stimulus.input.source",
                   "unknown stimulus source \"ramp\"; known: bars, constant, file"});
  std::string zeros = base;
  zeros.replace(zeros.find("init = \"data_mean\""), 18, "init = \"zeros\"");
  expect_contains(error_of(zeros),
                  {"test.toml:22:", "projection.ff.weights.init",
                   "unknown weight initialiser \"zeros\"; known: constant, data_mean, file, uniform"});
  expect_contains(error_of(with_record),
                  {"test.toml:32:", "record[0].what",
                   "unknown record kind \"rate\"; known: spikes, variable, weight_sums, weights"});
  expect_contains(error_of(base, {"stimulus.input.sied=5"}),
                  {"--set stimulus.input.sied=5", "stimulus of \"input\"", "bars",
                   "unknown parameter(s) sied; known: ", "side"});
  // Generated in memory: bounded before anything is generated (the fuzzer found 24 GB).
  expect_contains(error_of(base, {"stimulus.input.side=1000"}),
                  {"stimulus.input.side", "bars", "side", "1000"});
  expect_contains(error_of(base, {"stimulus.input.side=200", "stimulus.input.samples=5000"}),
                  {"bars: samples × side² = 200000000 values is too many (at most 10^8)"});
  expect_contains(error_of(base, {"projection.ff.weights.nosie=1"}),
                  {"projection \"ff\"", "data_mean", "unknown parameter(s) nosie; known: noise, row_sum"});
  expect_contains(error_of(base, {"projection.ff.weights.init=constant"}),
                  {"constant: value is required (a number)"});
}

// A stimulus source's data read from a file is bad data (exit 3), its other mistakes are
// mistakes in the file (exit 2).
TEST(Config, BadDataFromAStimulusFileIsAnInputError) {
  const std::string file = base.substr(0, base.find("[stimulus.input]")) +
                           "[stimulus.input]\nsource = \"file\"\nimages = \"/nonexistent.idx\"\n" +
                           base.substr(base.find("[projection.ff]"));
  try {
    experiment::parse(file, "test.toml");
    ADD_FAILURE() << "no error";
  } catch (const config_error& e) {
    ADD_FAILURE() << "a config_error: " << e.what();
  } catch (const data_error& e) {
    expect_contains(e.what(), {"test.toml:", "stimulus of \"input\"", "/nonexistent.idx"});
  }
}

TEST(Config, TheFileInitialiserReadsOneRowPerPostsynapticUnit) {
  // A CSV file of 4 rows (post) of 16 values (pre), written here with known values.
  const fs::path csv = fs::temp_directory_path() / fmt::format("ratesim-w0-{}.csv", ::getpid());
  matrix expected(4, 16);
  {
    std::ofstream out(csv);
    for (int c = 0; c < 4; ++c)
      for (int d = 0; d < 16; ++d) {
        expected(c, d) = 1.0 + 0.25 * c + d / 64.0;
        out << fmt::format("{}{}", expected(c, d), d == 15 ? "\n" : ",");
      }
  }
  auto with = [&](const std::string& weights) {
    std::string text = base;
    text.replace(text.find("{ init = \"data_mean\", noise = 0.5, row_sum = 48.0 }"), 51, weights);
    return text;
  };
  auto e = experiment::parse(with(fmt::format("{{ init = \"file\", path = \"{}\" }}", csv.string())),
                             "test.toml");
  EXPECT_EQ(matrix(e->net().weights("ff")), expected);
  // row_sum rescales each row, as for the other initialisers.
  e = experiment::parse(
      with(fmt::format("{{ init = \"file\", path = \"{}\", row_sum = 48.0 }}", csv.string())),
      "test.toml");
  EXPECT_NEAR(e->net().weights("ff").row(2).sum(), 48.0, 1e-12);
  // Another shape is bad data, naming both shapes.
  std::string wrong = with(fmt::format("{{ init = \"file\", path = \"{}\" }}", csv.string()));
  wrong.replace(wrong.find("size = 4"), 8, "size = 5");
  try {
    experiment::parse(wrong, "test.toml");
    ADD_FAILURE() << "no error";
  } catch (const data_error& e) {
    expect_contains(e.what(), {"file", "4 x 16 weights, the projection needs 5 x 16"});
  }
  expect_contains(error_of(with("{ init = \"file\" }")), {"file", "path is required"});
  fs::remove(csv);
}

TEST(Config, RecordsGoToTheOutputFile) {
  const fs::path path = fs::temp_directory_path() / ("ratesim-config-" + std::to_string(::getpid()) + ".h5");
  {
    auto e = experiment::parse(base + "\n[output]\nfile = \"" + path.string() +
                                   "\"\nmode = \"overwrite\"\n[[record]]\npopulation = \"output\"\n"
                                   "variable = \"rate\"\nevery = 10.0\n",
                               "test.toml");
    ASSERT_NE(e->recorder(), nullptr);
    e->run();
  }
  EXPECT_TRUE(fs::exists(path));
  fs::remove(path);
}

TEST(Config, RunCommandExitCodes) {
  const fs::path dir = fs::temp_directory_path() / ("ratesim-run-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "good.toml") << base;
  std::ofstream(dir / "bad.toml") << base << "\nbogus = 1\n";
  auto run = [&](const std::string& args) {
    const int status = std::system(fmt::format("{} {} >/dev/null 2>&1", RATESIM_CLI, args).c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  EXPECT_EQ(run(fmt::format("run {} -q", (dir / "good.toml").string())), 0);
  EXPECT_EQ(run(fmt::format("run {} -q --set run.presentations=10", (dir / "good.toml").string())), 0);
  // Options before the file: each --set takes one value, the file stays positional.
  EXPECT_EQ(run(fmt::format("run --set run.presentations=10 --set seed=2 {} -q", (dir / "good.toml").string())), 0);
  // --unset before --set, whatever their order on the line; a key that is not there: exit 2.
  EXPECT_EQ(run(fmt::format("run {} -q --set run.duration=10 --unset run.presentations",
                            (dir / "good.toml").string())),
            0);
  EXPECT_EQ(run(fmt::format("run {} -q --set run.duration=10", (dir / "good.toml").string())), 2);
  EXPECT_EQ(run(fmt::format("run --unset run.presentatons {} -q", (dir / "good.toml").string())), 2);
  EXPECT_EQ(run(fmt::format("run {}", (dir / "bad.toml").string())), 2);
  EXPECT_EQ(run(fmt::format("run {}", (dir / "missing.toml").string())), 2);
  EXPECT_EQ(run("run --help"), 0);
  fs::remove_all(dir);
}

// A run refused for any reason leaves the previous output as it was (and creates none).
TEST(Config, ARefusedRunKeepsThePreviousOutput) {
  const fs::path dir = fs::temp_directory_path() / ("ratesim-keep-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string out = (dir / "out.h5").string();
  std::ofstream(dir / "e.toml") << base << "\n[output]\nfile = \"" << out
                                << "\"\nmode = \"overwrite\"\n[[record]]\npopulation = \"output\"\n";
  auto run = [&](const std::string& args) {
    const int status = std::system(
        fmt::format("{} run {} -q {} >/dev/null 2>&1", RATESIM_CLI, (dir / "e.toml").string(), args).c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  auto bytes = [&](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  ASSERT_EQ(run(""), 0);
  const std::string before = bytes(out);
  ASSERT_FALSE(before.empty());
  EXPECT_EQ(run("--set bogus=1"), 2);
  EXPECT_EQ(run("--set output.mode=create"), 2);
  EXPECT_EQ(run("--set run.regime=fast"), 2);
  EXPECT_EQ(bytes(out), before);
  fs::remove(out);
  EXPECT_EQ(run("--set output.mode=create --set bogus=1"), 2);
  EXPECT_FALSE(fs::exists(out));  // nothing made: the corrected run may create it
  EXPECT_EQ(run("--set output.mode=create"), 0);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator{}), 2);  // no temporaries
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ratesim
