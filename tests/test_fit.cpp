// Fitting labelled data by EM (with uniform or learned priors), by the circuit in the
// quasi-static regime and by the full ODE circuit, and the units each uses; and
// `ratesim fit` as a program: its JSON, its output file, its exit codes.

#include "scratch.hpp"

#include "detail/hdf5.hpp"

#include <ratesim/data.hpp>
#include <ratesim/error.hpp>
#include <ratesim/fit.hpp>
#include <ratesim/mixture/bars.hpp>
#include <ratesim/mixture/kernels.hpp>
#include <ratesim/mixture/poisson_mixture.hpp>
#include <ratesim/random.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace ratesim {
namespace {

namespace fs = std::filesystem;

// Bars images labelled with the bar that generated them.
labeled_data bars_data(std::size_t n, std::uint64_t seed) {
  random_stream rng(seed, 0);
  const mixture_sample s = sample_poisson_mixture(bars_components(5, 10.0, 1.0), n, rng);
  return {s.data, s.labels};
}

TEST(Fit, OnlineCircuitReachesEmOnTheBars) {
  const labeled_data train = bars_data(2000, 1), test = bars_data(500, 2);
  fit_options o{.components = 10, .A = 40.0, .iterations = 300};
  const fit_result em = fit(train, &test, o);
  o.method = "online";
  o.epochs = 15;
  o.learning_rate = 0.05;
  const fit_result online = fit(train, &test, o);

  EXPECT_EQ(em.W.rows(), 10);
  EXPECT_EQ(em.B.rows(), 10);
  EXPECT_LT(em.error, 0.02);
  EXPECT_NEAR(online.loglik_train, em.loglik_train, 0.002 * std::abs(em.loglik_train));
  EXPECT_LT(online.error, em.error + 0.02);
  ASSERT_EQ(online.curve_train.size(), 16u);
  EXPECT_GT(online.curve_train.back(), online.curve_train.front());
  EXPECT_EQ(online.curve_test.size(), online.curve_train.size());
  EXPECT_DOUBLE_EQ(em.curve_train.back(), em.loglik_train);
  for (Eigen::Index k = 0; k < online.B.rows(); ++k)
    EXPECT_NEAR(online.B.row(k).sum(), 1.0, 1e-12);
  // Every bar has a unit of its own; neither method learned priors.
  EXPECT_EQ(em.units_used, 10);
  EXPECT_EQ(online.units_used, 10);
  EXPECT_TRUE(em.log_priors == uniform_log_priors(10));
  EXPECT_TRUE(online.log_priors == uniform_log_priors(10));
}

// 28 × 28 images of ten classes of "digits": each class two to four strokes of a pen three
// pixels wide, each image its class's strokes moved by up to two pixels, with intensities
// from 100 to 255 (MNIST-like: a dark background, about a fifth of the pixels on).
labeled_data strokes_data(std::size_t n, std::uint64_t seed) {
  random_stream shapes(99, 0), rng(seed, 0);
  struct stroke {
    double r, c, dr, dc;
  };
  std::vector<std::vector<stroke>> classes(10);
  for (auto& strokes : classes)
    for (int k = 0, count = 2 + static_cast<int>(uniform(shapes, 0.0, 3.0)); k < count; ++k)
      strokes.push_back({uniform(shapes, 5.0, 23.0), uniform(shapes, 5.0, 23.0),
                         uniform(shapes, -1.0, 1.0), uniform(shapes, -1.0, 1.0)});
  labeled_data data{matrix::Zero(784, static_cast<Eigen::Index>(n)), {}};
  for (std::size_t i = 0; i < n; ++i) {
    const int label = static_cast<int>(uniform(rng, 0.0, 10.0));
    data.labels.push_back(label);
    const double shift_r = uniform(rng, -2.0, 2.0), shift_c = uniform(rng, -2.0, 2.0);
    for (const stroke& s : classes[static_cast<std::size_t>(label)])
      for (int t = 0; t < 10; ++t)
        for (int a = -1; a <= 1; ++a)
          for (int b = -1; b <= 1; ++b) {
            const int r = static_cast<int>(s.r + t * s.dr + shift_r) + a,
                      c = static_cast<int>(s.c + t * s.dc + shift_c) + b;
            if (r >= 0 && r < 28 && c >= 0 && c < 28)
              data.images(r * 28 + c, static_cast<Eigen::Index>(i)) = uniform(rng, 100.0, 255.0);
          }
  }
  return data;
}

// The quasi-static circuit with its ln W cache following each step (the default) and with
// ln W computed anew after each (exact_log) learns the same mixture: the log-likelihoods
// agree to 1e-9 and the test errors exactly, over 12,000 presentations (12 exact
// recomputations of the cache) at D = 784, A = 900, as in the demo.
TEST(Fit, TheIncrementalLnWCacheLearnsWhatExactLogarithmsLearn) {
  const labeled_data train = strokes_data(3000, 1), test = strokes_data(1000, 2);
  fit_options o{.method = "online", .components = 20, .A = 900.0, .epochs = 4,
                .learning_rate = 0.05};
  const fit_result fast = fit(train, &test, o);
  o.exact_log = true;
  const fit_result exact = fit(train, &test, o);
  EXPECT_NEAR(fast.loglik_train, exact.loglik_train, 1e-9 * std::abs(exact.loglik_train));
  EXPECT_NEAR(fast.loglik_test, exact.loglik_test, 1e-9 * std::abs(exact.loglik_test));
  EXPECT_EQ(fast.error, exact.error);
  EXPECT_EQ(fast.units_used, exact.units_used);
  EXPECT_LT(exact.error, 0.2);  // it learned the classes
  const double differ = ((fast.W - exact.W).array().abs() / exact.W.array()).maxCoeff();
  EXPECT_GT(differ, 0.0);  // the two ways did differ (in the last bits)
  EXPECT_LT(differ, 1e-9);
  std::printf("log-likelihood %.17g against %.17g; error %.4f; W within %.2e relative\n",
              fast.loglik_train, exact.loglik_train, exact.error, differ);
}

TEST(Fit, LearnedPriorsLetSurplusUnitsShrink) {
  // 15 components for the 10 bars: with uniform priors EM splits bars between the surplus
  // components and uses all 15; with learned priors the surplus ones shrink, 10 units
  // carry the data, and the model is better on the training and the test data.
  const labeled_data train = bars_data(2000, 1), test = bars_data(500, 2);
  fit_options o{.components = 15, .A = 40.0, .iterations = 300};
  const fit_result uniform = fit(train, &test, o);
  o.priors = "learned";
  const fit_result learned = fit(train, &test, o);
  EXPECT_EQ(uniform.units_used, 15);
  EXPECT_EQ(learned.units_used, 10);
  EXPECT_GT(learned.loglik_train, uniform.loglik_train + 0.01);
  EXPECT_GT(learned.loglik_test, uniform.loglik_test + 0.01);
  ASSERT_EQ(learned.log_priors.size(), 15);
  EXPECT_NEAR(learned.log_priors.array().exp().sum(), 1.0, 1e-12);
  EXPECT_LT(learned.log_priors.minCoeff(), std::log(0.1 / 15));  // some unit shrank
  // The curves and the scores are of the same (W, π).
  EXPECT_DOUBLE_EQ(learned.curve_train.back(), learned.loglik_train);
  EXPECT_DOUBLE_EQ(learned.curve_test.back(), learned.loglik_test);
  std::printf("C = 15: log-likelihood train %.4f (uniform) %.4f (learned), test %.4f %.4f\n",
              uniform.loglik_train, learned.loglik_train, uniform.loglik_test, learned.loglik_test);
}

TEST(Fit, TheCircuitsIntrinsicRules) {
  // Homeostasis on the 10 bars with 10 units: every unit takes a bar, and the model is
  // EM's. With 15 units, learned priors let the 5 surplus ones shrink as EM's do, and the
  // circuit's priors (its biases) are the model's.
  const labeled_data train = bars_data(2000, 1), test = bars_data(500, 2);
  fit_options o{.method = "online", .components = 10, .A = 40.0, .epochs = 15,
                .learning_rate = 0.05, .intrinsic = "homeostasis"};
  const fit_result homeostasis = fit(train, &test, o);
  const fit_result em10 = fit(train, &test, {.components = 10, .A = 40.0, .iterations = 300});
  EXPECT_EQ(homeostasis.units_used, 10);
  EXPECT_TRUE(homeostasis.log_priors == uniform_log_priors(10));
  EXPECT_NEAR(homeostasis.loglik_train, em10.loglik_train, 0.002 * std::abs(em10.loglik_train));
  o.components = 15;
  o.intrinsic = "priors";  // at its default rate, ε / (10 C)
  const fit_result priors = fit(train, &test, o);
  fit_options em_options{.components = 15, .A = 40.0, .priors = "learned", .iterations = 300};
  const fit_result em = fit(train, &test, em_options);
  EXPECT_NEAR(priors.log_priors.array().exp().sum(), 1.0, 1e-12);
  EXPECT_LT(priors.units_used, 15);
  EXPECT_NEAR(priors.loglik_train, em.loglik_train, 0.002 * std::abs(em.loglik_train));
  EXPECT_DOUBLE_EQ(priors.curve_train.back(), priors.loglik_train);
  // The priors are learned after 3 epochs of homeostasis (prior_warmup_of): those epochs
  // are the homeostasis circuit's, bit for bit; a warm-up of every epoch leaves the priors
  // uniform and W the homeostasis circuit's.
  o.intrinsic = "homeostasis";
  const fit_result homeostasis15 = fit(train, &test, o);
  ASSERT_EQ(prior_warmup_of({.method = "online", .intrinsic = "priors"}), 3);
  for (int e = 0; e <= 3; ++e)
    EXPECT_EQ(priors.curve_train[static_cast<std::size_t>(e)],
              homeostasis15.curve_train[static_cast<std::size_t>(e)]) << e;
  EXPECT_NE(priors.curve_train[4], homeostasis15.curve_train[4]);
  o.intrinsic = "priors";
  o.prior_warmup = o.epochs;
  const fit_result all_warmup = fit(train, &test, o);
  EXPECT_TRUE(all_warmup.W == homeostasis15.W);
  EXPECT_TRUE(all_warmup.log_priors == uniform_log_priors(15));
  EXPECT_FALSE(learns_priors(o));  // nothing was left to learn them
  o.prior_warmup = o.epochs - 1;
  EXPECT_TRUE(learns_priors(o));
  std::printf("bars: C = 10, homeostasis: %d units used, log-likelihood %.4f (EM %.4f); "
              "C = 15, learned priors: %d units used by the circuit, %d by EM, log-likelihood "
              "%.4f (EM %.4f)\n",
              homeostasis.units_used, homeostasis.loglik_train, em10.loglik_train,
              priors.units_used, em.units_used, priors.loglik_train, em.loglik_train);
}

TEST(Fit, OdeCircuitLearnsToo) {
  const labeled_data train = bars_data(300, 3);
  const fit_options o{.method = "ode", .components = 10, .A = 40.0, .epochs = 2,
                      .learning_rate = 0.05, .presentation = 5.0, .tau = 0.5, .dt = 0.25};
  const fit_result r = fit(train, nullptr, o);
  EXPECT_GT(r.loglik_train, r.curve_train.front() + 0.1);
  EXPECT_TRUE(std::isnan(r.error));
  // Raw patterns differ in total, so Σ_d y_d leaves A while the pool h catches up after
  // each change, and the weight sums follow it a little.
  const vector sums = r.W.rowwise().sum();
  EXPECT_LT((sums.array() - 40.0).abs().maxCoeff(), 1e-3 * 40.0);
}

TEST(Fit, SpikingCircuitLearnsTheBarsAndKeepsItsLastSpikes) {
  const labeled_data train = bars_data(1000, 3);
  const labeled_data test = bars_data(500, 4);
  fit_options o{.method = "spiking", .components = 10, .A = 40.0, .epochs = 6, .decay = 0.6, .nu = 5.0,
                .output_rate = 0.5, .tau_x = 5.0, .eta = 0.05};
  const fit_result r = fit(train, &test, o);
  const fit_result em = fit(train, &test, {.components = 10, .A = 40.0, .iterations = 300});
  EXPECT_NEAR(r.loglik_train, em.loglik_train, 0.005 * std::abs(em.loglik_train));
  EXPECT_LT(r.error, em.error + 0.03);
  EXPECT_EQ(r.units_used, 10);
  // spike_scaling keeps the row sums at A.
  EXPECT_LT((r.W.rowwise().sum().array() - 40.0).abs().maxCoeff(), 1e-9);
  // The spikes of the last presentation (T = 50 ms), in time order, at about A ν and R.
  ASSERT_EQ(r.last_spikes.size(), 2u);
  const double end = 6 * 1000 * 50.0;
  for (const auto& train_ : r.last_spikes) {
    ASSERT_FALSE(train_.times.empty()) << train_.population;
    EXPECT_TRUE(std::is_sorted(train_.times.begin(), train_.times.end()));
    EXPECT_GT(train_.times.front(), end - 50.0);
    EXPECT_LE(train_.times.back(), end);
  }
  EXPECT_EQ(r.last_spikes[0].population, "input");
  const double expected = 40.0 * o.nu * 50.0;  // A ν T
  EXPECT_NEAR(static_cast<double>(r.last_spikes[0].times.size()), expected, 4 * std::sqrt(expected));
  // The same seed, the same bits; the fit refuses learned priors in spikes.
  EXPECT_EQ(fit(train, &test, o).W, r.W);
  o.intrinsic = "priors";
  EXPECT_THROW(fit(train, nullptr, o), parameter_error);
  o.intrinsic = "";
  o.nu = 0.0;
  EXPECT_THROW(fit(train, nullptr, o), parameter_error);
}

TEST(Fit, BadOptionsAreRefused) {
  const labeled_data train = bars_data(50, 4);
  EXPECT_THROW(fit(train, nullptr, {.method = "gradient"}), lookup_error);
  EXPECT_THROW(fit(train, nullptr, {.components = 0, .A = 40.0}), parameter_error);
  EXPECT_THROW(fit(train, nullptr, {.components = 2, .A = 20.0}), parameter_error);  // A ≤ D
  EXPECT_THROW(fit(train, nullptr, {.method = "online", .components = 2, .A = 40.0,
                                    .learning_rate = 0.5, .batch_size = 4}),
               parameter_error);
  EXPECT_THROW(fit(train, nullptr, {.components = 2, .A = 40.0, .schedule = "cosine"}),
               lookup_error);
  EXPECT_THROW(fit(train, nullptr, {.components = 2, .A = 40.0, .priors = "dirichlet"}),
               lookup_error);
  for (const char* method : {"online", "ode"}) {
    try {
      fit(train, nullptr, {.method = method, .components = 2, .A = 40.0, .priors = "learned"});
      ADD_FAILURE() << method << " learned priors";
    } catch (const parameter_error& e) {  // the circuit's are intrinsic = priors
      EXPECT_EQ(e.component(), "fit");
      EXPECT_EQ(e.parameter(), "priors");
      EXPECT_EQ(e.value(), "learned");
      EXPECT_NE(std::string(e.what()).find(method), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("intrinsic = priors"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(fit(train, nullptr, {.method = "online", .components = 2, .A = 40.0,
                                    .intrinsic = "bcm"}),
               lookup_error);
  EXPECT_THROW(fit(train, nullptr, {.method = "em", .components = 2, .A = 40.0,
                                    .intrinsic = "homeostasis"}),
               parameter_error);
  for (double rate : {-0.1, 1.5, std::nan("")})
    EXPECT_THROW(fit(train, nullptr, {.method = "online", .components = 2, .A = 40.0,
                                      .intrinsic = "priors", .intrinsic_rate = rate}),
                 parameter_error);
  // Learned priors need η >= ε / C (the weight step divided by the prior stays <= 1) and
  // one presentation per step.
  for (const auto& [rate, batch] : {std::pair{0.01, std::size_t{1}}, std::pair{0.0, std::size_t{2}}}) {
    try {
      fit(train, nullptr, {.method = "online", .components = 2, .A = 40.0, .learning_rate = 0.05,
                           .batch_size = batch, .intrinsic = "priors", .intrinsic_rate = rate});
      ADD_FAILURE() << rate << " " << batch;
    } catch (const parameter_error& e) {
      EXPECT_EQ(e.parameter(), batch == 1 ? "intrinsic_rate" : "batch_size") << e.what();
    }
  }
  // A warm-up is for learned priors, and counts epochs.
  for (const auto& [intrinsic, warmup] : {std::pair{"homeostasis", 2}, std::pair{"priors", -2}}) {
    try {
      fit(train, nullptr, {.method = "online", .components = 2, .A = 40.0,
                           .intrinsic = intrinsic, .prior_warmup = warmup});
      ADD_FAILURE() << intrinsic << " " << warmup;
    } catch (const parameter_error& e) {
      EXPECT_EQ(e.parameter(), "prior_warmup") << e.what();
    }
  }
  EXPECT_EQ(prior_warmup_of({.method = "online", .epochs = 2, .intrinsic = "priors"}), 2);
  EXPECT_EQ(prior_warmup_of({.method = "online", .intrinsic = "homeostasis"}), 0);
  labeled_data test = bars_data(10, 5);
  test.labels[0] = 42;
  EXPECT_THROW(fit(train, &test, {.components = 2, .A = 40.0}), input_error);
}

// ---- The command-line tool --------------------------------------------------------------

class Cli : public testing::scratch_test {
 protected:
  void SetUp() override {
    scratch_test::SetUp();
    const labeled_data train = bars_data(600, 6), test = bars_data(200, 7);
    write_idx_images(path("train-images.gz"), train.images, 5, 5);
    write_idx_labels(path("train-labels.gz"), train.labels);
    write_idx_images(path("test-images.gz"), test.images, 5, 5);
    write_idx_labels(path("test-labels.gz"), test.labels);
  }
  std::string path(const std::string& name) const { return file(name); }
  std::string data_args() const {
    return fmt::format("--train-images {} --train-labels {} --test-images {} --test-labels {}",
                       path("train-images.gz"), path("train-labels.gz"), path("test-images.gz"),
                       path("test-labels.gz"));
  }
  // Runs the CLI; returns its exit code and fills `out` with its standard output.
  int run(const std::string& args, std::string* out = nullptr) const {
    const std::string command = fmt::format("{} {} 2>{}", RATESIM_CLI, args, path("stderr"));
    std::FILE* pipe = ::popen(command.c_str(), "r");
    std::string text;
    char buffer[4096];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) text.append(buffer, n);
    const int status = ::pclose(pipe);
    if (out) *out = text;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
};

double json_number(const std::string& json, const std::string& key) {
  std::smatch m;
  const std::regex pattern("\"" + key + "\": (-?[0-9.eE+-]+)");
  if (!std::regex_search(json, m, pattern)) ADD_FAILURE() << "no " << key << " in " << json;
  return std::stod(m[1]);
}

std::vector<double> json_numbers(const std::string& json, const std::string& key) {
  std::smatch m;
  if (!std::regex_search(json, m, std::regex("\"" + key + "\": \\[([^\\]]*)\\]"))) {
    ADD_FAILURE() << "no " << key << " in " << json;
    return {};
  }
  std::vector<double> out;
  std::stringstream list(m[1]);
  for (std::string item; std::getline(list, item, ',');) out.push_back(std::stod(item));
  return out;
}

// A fit output's model/priors and its units_used attribute.
std::pair<std::vector<double>, std::uint64_t> priors_in_file(const std::string& path) {
  namespace h5 = detail::hdf5;
  h5::handle f = h5::open_file_for_reading(path, "test");
  h5::handle d = h5::open_dataset(f.get(), "model/priors", "test");
  EXPECT_EQ(h5::read_string_attribute(d.get(), "units", "test"), "1");
  std::uint64_t units = 0;
  h5::handle a(H5Aopen(f.get(), "units_used", H5P_DEFAULT));
  EXPECT_TRUE(a && H5Aread(a.get(), H5T_NATIVE_UINT64, &units) >= 0);
  return {h5::read_all(d.get(), "test"), units};
}

TEST_F(Cli, VersionNamesTheKernelsAndABadOverrideIsAnError) {
  std::string out;
  ASSERT_EQ(run("--version", &out), 0);
  const kernel_report k = kernels();
  EXPECT_NE(out.find(fmt::format("logarithm {}; matrix products {} (OpenBLAS core {})", k.log,
                                 k.gemm, k.blas_core)),
            std::string::npos)
      << out;
  for (const char* variable : {"RATESIM_GEMM", "RATESIM_LOG"})
    for (const std::string& args : {std::string("--version"),
                                    "fit " + data_args() + " -C 4 -A 40 --method em -q"}) {
      ::setenv(variable, "avx1024", 1);
      const int status = run(args, &out);
      ::unsetenv(variable);
      EXPECT_EQ(status, 2) << args;
      std::ifstream err(path("stderr"));
      const std::string message((std::istreambuf_iterator<char>(err)),
                                std::istreambuf_iterator<char>());
      EXPECT_NE(message.find(fmt::format("{}=avx1024 is unknown; known: ", variable)),
                std::string::npos)
          << args << ": " << message;
    }
}

TEST_F(Cli, FitPrintsJsonAndWritesItsResults) {
  std::string out;
  ASSERT_EQ(run(fmt::format("fit {} -C 10 -A 40 --method em --json -q -o {}", data_args(),
                            path("fit.h5")),
                &out),
            0);
  const double train = json_number(out, "loglik_train"), test = json_number(out, "loglik_test");
  const double error = json_number(out, "error"), seconds = json_number(out, "seconds");
  EXPECT_LT(train, 0.0);
  EXPECT_LT(test, 0.0);
  EXPECT_GE(error, 0.0);
  EXPECT_LT(error, 0.2);  // 600 training images, C = 10: EM may merge two bars
  EXPECT_GE(seconds, 0.0);
  // Which kernels ran: {"log": "avx512", "gemm": "openblas", ...}
  EXPECT_NE(out.find("\"kernel\": " + to_json(kernels())), std::string::npos) << out;
  EXPECT_TRUE(fs::exists(path("fit.h5")));
  EXPECT_FALSE(fs::exists(path("fit.h5.partial")));
  // The same numbers from the library directly.
  const auto data = read_labeled(path("train-images.gz"), path("train-labels.gz"));
  const auto held = read_labeled(path("test-images.gz"), path("test-labels.gz"));
  const fit_result r = fit(data, &held, {.components = 10, .A = 40.0});
  EXPECT_NEAR(train, r.loglik_train, 1e-9 * std::abs(train));
  EXPECT_NEAR(error, r.error, 1e-12);
  // Uniform priors, in the JSON and the file, and the units used.
  const std::vector<double> priors = json_numbers(out, "priors");
  EXPECT_EQ(priors, std::vector<double>(10, std::exp(-std::log(10.0))));
  EXPECT_EQ(json_number(out, "units_used"), r.units_used);
  const auto [in_file, units] = priors_in_file(path("fit.h5"));
  EXPECT_EQ(in_file, priors);
  EXPECT_EQ(units, static_cast<std::uint64_t>(r.units_used));
}

TEST_F(Cli, LearnedPriorsReachTheJsonAndTheFile) {
  std::string out;
  ASSERT_EQ(run(fmt::format("fit {} -C 12 -A 40 --priors learned --json -q -o {}", data_args(),
                            path("learned.h5")),
                &out),
            0);
  const std::vector<double> priors = json_numbers(out, "priors");
  ASSERT_EQ(priors.size(), 12u);
  double sum = 0.0;
  for (double p : priors) sum += p;
  EXPECT_NEAR(sum, 1.0, 1e-12);
  EXPECT_GT(*std::max_element(priors.begin(), priors.end()),
            *std::min_element(priors.begin(), priors.end()) + 0.01);
  const auto [in_file, units] = priors_in_file(path("learned.h5"));
  EXPECT_EQ(in_file, priors);  // 17 digits in the JSON: the same doubles
  EXPECT_EQ(static_cast<double>(units), json_number(out, "units_used"));
  EXPECT_EQ(run(fmt::format("fit {} -C 5 -A 40 --priors learned --method online -q", data_args())),
            2);
  EXPECT_EQ(run(fmt::format("fit {} -C 5 -A 40 --priors flat -q", data_args())), 2);
  EXPECT_NE(out.find("\"intrinsic\": \"none\", \"learned_priors\": true"), std::string::npos) << out;
  // The circuit: homeostasis by default, learned priors through its intrinsic rule.
  ASSERT_EQ(run(fmt::format("fit {} -C 5 -A 40 --method online --epochs 1 --json -q", data_args()),
                &out),
            0);
  EXPECT_NE(out.find("\"intrinsic\": \"homeostasis\", \"learned_priors\": false"), std::string::npos) << out;
  ASSERT_EQ(run(fmt::format("fit {} -C 5 -A 40 --method online --epochs 1 --intrinsic priors "
                            "--intrinsic-rate 0.05 --prior-warmup 0 --json -q",
                            data_args()),
                &out),
            0);
  EXPECT_NE(out.find("\"intrinsic\": \"priors\", \"learned_priors\": true, \"prior_warmup\": 0"),
            std::string::npos)
      << out;
  // By default 3 epochs of homeostasis come first: one epoch is all warm-up.
  ASSERT_EQ(run(fmt::format("fit {} -C 5 -A 40 --method online --epochs 1 --intrinsic priors "
                            "--json -q",
                            data_args()),
                &out),
            0);
  EXPECT_NE(out.find("\"intrinsic\": \"priors\", \"learned_priors\": false, \"prior_warmup\": 1"),
            std::string::npos)
      << out;
  EXPECT_EQ(run(fmt::format("fit {} -C 5 -A 40 --intrinsic homeostasis -q", data_args())), 2);  // em
  EXPECT_EQ(run(fmt::format("fit {} -C 5 -A 40 --method online --intrinsic bcm -q", data_args())), 2);
}

TEST_F(Cli, ExitCodesSeparateUsageInputAndSuccess) {
  EXPECT_EQ(run("fit --help"), 0);
  EXPECT_EQ(run("--help"), 0);
  EXPECT_EQ(run(""), 2);                                         // no command
  EXPECT_EQ(run("fit --nonsense"), 2);                           // unknown flag
  EXPECT_EQ(run("fit -C 10"), 2);                                // no data
  EXPECT_EQ(run(fmt::format("fit {} -C 0 -A 40", data_args())), 2);
  EXPECT_EQ(run(fmt::format("fit {} -C 5 -A 40 --method sgd", data_args())), 2);
  EXPECT_EQ(run(fmt::format("fit --train-images {0} --train-labels {0} -A 40",
                            path("train-labels.gz"))),
            3);  // labels given as images
  ASSERT_EQ(run(fmt::format("fit {} -C 5 -A 40 -q -o {}", data_args(), path("twice.h5"))), 0);
  EXPECT_EQ(run(fmt::format("fit {} -C 5 -A 40 -q -o {}", data_args(), path("twice.h5"))), 2);
  EXPECT_EQ(run(fmt::format("fit {} -C 5 -A 40 -q --overwrite -o {}", data_args(),
                            path("twice.h5"))),
            0);
}

// An output that cannot be written fails before the data is read and the work done.
TEST_F(Cli, ABadOutputPathFailsBeforeTheWork) {
  const std::string pipe = path("pipe");
  ASSERT_EQ(::mkfifo(pipe.c_str(), 0600), 0);
  for (const std::string& out : {path("missing/x.h5"), pipe, path("")})
    EXPECT_EQ(run(fmt::format("fit {} -C 5 -A 40 --overwrite -o {}", data_args(), out)), 2) << out;
  EXPECT_TRUE(fs::is_fifo(pipe));
  // Refused before the data is read: a missing training file is not what it reports.
  EXPECT_EQ(run(fmt::format("fit --train-images {0} --train-labels {0} -o {1}",
                            path("no-such-file"), path("missing/x.h5"))),
            2);
  EXPECT_EQ(run(fmt::format("fit {} -C 5 -A 40 --seed -1", data_args())), 2);
  EXPECT_EQ(run(fmt::format("fit {} -C 5 -A 40 --tolerance nan", data_args())), 2);
}

}  // namespace
}  // namespace ratesim
