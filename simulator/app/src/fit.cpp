#include <ratesim/clock.hpp>
#include <ratesim/comm.hpp>
#include <ratesim/error.hpp>
#include <ratesim/fit.hpp>
#include <ratesim/mixture/classifier.hpp>
#include <ratesim/mixture/kernels.hpp>
#include <ratesim/mixture/poisson_mixture.hpp>
#include <ratesim/models/feedforward_inhibition.hpp>
#include <ratesim/models/poisson_input.hpp>
#include <ratesim/models/softmax_competition.hpp>
#include <ratesim/models/stochastic_wta.hpp>
#include <ratesim/network.hpp>
#include <ratesim/observer.hpp>
#include <ratesim/output_file.hpp>
#include <ratesim/projection.hpp>
#include <ratesim/regimes/ode.hpp>
#include <ratesim/regimes/quasi_static.hpp>
#include <ratesim/regimes/spiking.hpp>
#include <ratesim/version.hpp>

#include "detail/hdf5.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>

namespace ratesim {
namespace {

constexpr const char* component = "fit";

// The factor on the first epoch's learning rate in epoch e.
double schedule_factor(const fit_options& o, int e) {
  if (o.schedule == "constant") return 1.0;
  if (o.schedule == "exponential") return std::pow(o.decay, e);
  return 1.0 / (1.0 + e / o.decay);  // "inverse"
}

}  // namespace

void check_fit_options(const fit_options& o) {
  if (o.method != "em" && o.method != "online" && o.method != "ode" && o.method != "spiking")
    throw lookup_error(
        fmt::format("fit: unknown method \"{}\"; known: em, online, ode, spiking", o.method));
  if (o.components < 1) throw_parameter_error(component, "components (C)", ">= 1", o.components);
  if (o.priors != "uniform" && o.priors != "learned")
    throw lookup_error(fmt::format("fit: unknown priors \"{}\"; known: uniform, learned", o.priors),
                       {component, "priors", o.priors});
  // Which methods learn priors: EM's M-step; the circuit's output layer with intrinsic rule
  // "priors" (its biases are ln π).
  if (o.priors == "learned" && o.method != "em")
    throw parameter_error(
        fmt::format("fit: priors = learned is for em; the circuit (method {}) learns its priors "
                    "with intrinsic = priors",
                    o.method),
        {component, "priors", o.priors});
  if (!(std::isfinite(o.init_noise) && o.init_noise >= 0.0))
    throw_parameter_error(component, "init_noise", "finite and >= 0", o.init_noise);
  if (o.iterations < 0) throw_parameter_error(component, "iterations", ">= 0", o.iterations);
  if (!(std::isfinite(o.tolerance) && o.tolerance >= 0.0))
    throw_parameter_error(component, "tolerance", "finite and >= 0 [nats per point]", o.tolerance);
  if (o.anneal_iterations < 0)
    throw_parameter_error(component, "anneal_iterations", ">= 0", o.anneal_iterations);
  if (!(o.anneal_start > 0.0 && o.anneal_start <= 1.0))
    throw_parameter_error(component, "anneal_start", "in (0, 1]", o.anneal_start);
  if (o.epochs < 0) throw_parameter_error(component, "epochs", ">= 0", o.epochs);
  if (!(o.learning_rate > 0.0 && o.learning_rate <= 1.0))
    throw_parameter_error(component, "learning_rate", "in (0, 1]", o.learning_rate);
  if (o.schedule != "constant" && o.schedule != "exponential" && o.schedule != "inverse")
    throw lookup_error(fmt::format(
        "fit: unknown schedule \"{}\"; known: constant, exponential, inverse", o.schedule));
  if (o.schedule == "exponential" && !(o.decay > 0.0 && o.decay <= 1.0))
    throw_parameter_error(component, "decay", "in (0, 1] for the exponential schedule", o.decay);
  if (o.schedule == "inverse") require_positive(component, "decay", o.decay);
  if (o.batch_size < 1) throw_parameter_error(component, "batch_size", ">= 1", o.batch_size);
  // A mini-batch adds up to batch_size steps of ε (y − W); beyond 1 in sum W can turn negative.
  if (o.method == "online" && o.learning_rate * static_cast<double>(o.batch_size) > 1.0)
    throw parameter_error(fmt::format(
        "fit: learning_rate · batch_size must be <= 1 (weights stay positive), got {} · {}",
        o.learning_rate, o.batch_size));
  if (!o.intrinsic.empty() && o.intrinsic != "none" && o.intrinsic != "homeostasis" &&
      o.intrinsic != "priors")
    throw lookup_error(
        fmt::format("fit: unknown intrinsic rule \"{}\"; known: none, homeostasis, priors",
                    o.intrinsic),
        {component, "intrinsic", o.intrinsic});
  if (intrinsic_rule_of(o) != "none" && o.method == "em")
    throw parameter_error(
        fmt::format("fit: intrinsic = {} is for the circuit (method online or ode); em learns "
                    "priors with priors = learned",
                    o.intrinsic),
        {component, "intrinsic", o.intrinsic});
  if (!(o.intrinsic_rate >= 0.0 && o.intrinsic_rate <= 1.0))
    throw_parameter_error(component, "intrinsic_rate", "in (0, 1] (0: the rule's default)",
                          o.intrinsic_rate);
  // The learned-priors circuit divides each unit's weight step ε s_c by its relative prior
  // C π_c, and steps π first, so that π_c >= η s_c bounds the step by ε / (C η): it needs
  // η >= ε / C, and one presentation per step (a mini-batch reads π at its start).
  if (o.method == "online" && intrinsic_rule_of(o) == "priors") {
    const double least = o.learning_rate / o.components;
    if (intrinsic_rate_of(o) < least)
      throw parameter_error(
          fmt::format("fit: intrinsic_rate must be >= learning_rate / C = {} for learned priors "
                      "(each unit's weight step, divided by its prior, then stays <= 1), got {}",
                      least, intrinsic_rate_of(o)),
          {component, "intrinsic_rate", fmt::format("{}", intrinsic_rate_of(o))});
    if (o.batch_size != 1)
      throw parameter_error(
          fmt::format("fit: learned priors (intrinsic = priors) step one presentation at a "
                      "time: batch_size must be 1, got {}",
                      o.batch_size),
          {component, "batch_size", fmt::format("{}", o.batch_size)});
  }
  if (o.prior_warmup < -1)
    throw_parameter_error(component, "prior_warmup", ">= 0 epochs (-1: the default)",
                          o.prior_warmup);
  if (o.prior_warmup > 0 && intrinsic_rule_of(o) != "priors")
    throw parameter_error(
        fmt::format("fit: prior_warmup ({} epochs of homeostasis before the priors are learned) "
                    "is for intrinsic = priors, not {}",
                    o.prior_warmup, intrinsic_rule_of(o)),
        {component, "prior_warmup", fmt::format("{}", o.prior_warmup)});
  if (o.method == "spiking" && intrinsic_rule_of(o) == "priors")
    throw parameter_error(
        "fit: learned priors (intrinsic = priors) are for methods online and ode; spiking "
        "takes none or homeostasis",
        {component, "intrinsic", o.intrinsic});
  if (!(std::isfinite(o.presentation) && o.presentation >= 0.0))
    throw_parameter_error(component, "presentation", "finite and > 0 [ms] (0: the method's own)",
                          o.presentation);
  require_positive(component, "nu", o.nu);
  require_positive(component, "output_rate", o.output_rate);
  require_positive(component, "tau_x", o.tau_x);
  if (!(o.eta > 0.0 && o.eta < 1.0)) throw_parameter_error(component, "eta", "in (0, 1)", o.eta);
  require_positive(component, "dt", o.dt);
  // A presentation is a whole number of steps (the stimulus refuses it otherwise, later).
  if ((o.method == "ode" || o.method == "spiking") && !exact_steps(presentation_of(o), o.dt))
    throw parameter_error(
        fmt::format("fit: a presentation of {} ms is not a whole number of steps dt = {} ms",
                    presentation_of(o), o.dt),
        {component, "dt", fmt::format("{}", o.dt)});
  require_positive(component, "tau", o.tau);
  // The output file keeps the seed as a double.
  if (o.seed > (std::uint64_t{1} << 53))
    throw_parameter_error(component, "seed", "a whole number from 0 to 2^53", o.seed);
}

namespace {

// Calls the caller's on_pause() when it asked for a pause (fit_options::pause).
void pause_if_asked(const fit_options& o) {
  if (o.pause && o.pause->load() != 0 && o.on_pause) o.on_pause();
}

// K = 1 + the largest training label of any rank.
int class_count(const labeled_data& train, const labeled_data* test, communicator& comm) {
  if (static_cast<Eigen::Index>(train.labels.size()) != train.images.cols())
    throw input_error(fmt::format("fit: {} training images but {} labels", train.images.cols(),
                                  train.labels.size()));
  const int local = train.labels.empty()
                        ? -1
                        : *std::max_element(train.labels.begin(), train.labels.end());
  const auto K = static_cast<int>(1 + comm.max(local));
  if (K == 0) throw input_error("fit: no training data");
  if (test) {
    if (static_cast<Eigen::Index>(test->labels.size()) != test->images.cols())
      throw input_error(fmt::format("fit: {} test images but {} labels", test->images.cols(),
                                    test->labels.size()));
    if (test->images.rows() != train.images.rows())
      throw input_error(fmt::format("fit: test images have {} pixels, training images {}",
                                    test->images.rows(), train.images.rows()));
    for (int label : test->labels)
      if (label < 0 || label >= K)
        throw input_error(fmt::format(
            "fit: test label {} is not among the training labels 0 to {}", label, K - 1));
  }
  return K;
}

data_part part_of(const labeled_data& data, communicator& comm) {
  return {&comm, data.first, data.total < 0 ? data.images.cols() : data.total};
}

// This rank's groups of the whole data set `all` (split_data), as read_labeled would read
// them.
labeled_data groups_of(const labeled_data& all, communicator& comm) {
  if (all.first != 0 || (all.total >= 0 && all.total != all.images.cols()))
    throw usage_error(fmt::format("fit: method online under {} ranks needs every training "
                                  "example on every rank, got [{}, {}) of {}",
                                  comm.size(), all.first, all.first + all.images.cols(),
                                  all.total));
  const data_slice slice = split_data(comm, all.images.cols(), default_chunk);
  labeled_data part;
  part.images = all.images.middleCols(slice.part.first, slice.count);
  const auto first = all.labels.begin() + slice.part.first;
  part.labels.assign(first, first + slice.count);
  part.first = slice.part.first;
  part.total = slice.part.total;
  return part;
}

// The mean of the data's columns over all ranks (summed exactly, ratesim/comm.hpp).
vector data_mean(const matrix& Y, const data_part& part) {
  const std::vector<double> sum = sum_over_groups(
      part, Y.cols(), default_chunk, static_cast<std::size_t>(Y.rows()),
      [&](Eigen::Index first, Eigen::Index n, std::span<double> out) {
        Eigen::Map<vector> total(out.data(), Y.rows());
        for (Eigen::Index j = first; j < first + n; ++j) total += Y.col(j);
      });
  return Eigen::Map<const vector>(sum.data(), Y.rows()) / static_cast<double>(part.total);
}

// The classifier of the training data's posteriors, summed exactly over all ranks.
mixture_classifier classify(const matrix& posterior, const std::vector<int>& labels, int K,
                            const data_part& part) {
  const Eigen::Index C = posterior.rows();
  const std::vector<double> sums = sum_over_groups(
      part, posterior.cols(), default_chunk, static_cast<std::size_t>(K * (C + 1)),
      [&](Eigen::Index first, Eigen::Index n, std::span<double> out) {
        Eigen::Map<matrix> B(out.data(), K, C);
        for (Eigen::Index j = first; j < first + n; ++j) {
          B.row(labels[j]) += posterior.col(j).transpose();
          out[K * C + labels[j]] += 1.0;
        }
      });
  return mixture_classifier::from_class_sums(Eigen::Map<const matrix>(sums.data(), K, C),
                                             Eigen::Map<const vector>(sums.data() + K * C, K));
}

double error_rate(const mixture_classifier& classifier, const matrix& posterior,
                  const std::vector<int>& labels, const data_part& part) {
  const auto wrong = static_cast<std::int64_t>(classifier.mistakes(posterior, labels));
  return static_cast<double>(part.comm->sum(wrong)) / static_cast<double>(part.total);
}

// The seed's circuit with the projection "ff" starting at W0, presenting each pattern for
// T ms, and the output layer's intrinsic rule. With learned priors each unit's weight step
// is divided by its prior, as online EM divides by the unit's share of the data, so that a
// unit that wins rarely still moves to the patterns it wins.
void build_circuit(network& net, const fit_options& o, const matrix& W0, double T,
                   const std::string& rule) {
  const double tau_W = T / o.learning_rate;
  const auto D = static_cast<std::size_t>(W0.cols());
  net.add<feedforward_inhibition>("input", {.size = D, .A = o.A, .tau_y = o.tau, .tau_h = o.tau});
  net.add<softmax_competition>("output", {.size = static_cast<std::size_t>(o.components),
                                          .tau_u = o.tau});
  parameters scaling{{"tau", tau_W}};
  if (rule == "priors") scaling.set("divide_by", std::string("prior"));
  net.connect("input", "output",
              {.name = "ff", .weights = W0, .rule = make_rule("synaptic_scaling", scaling)});
  if (rule != "none")
    net.adapt("output", make_intrinsic_rule(rule, {{"tau", T / intrinsic_rate_of(o, rule)}}));
}

// Keeps the spikes of every population after clock step `from` (the last presentation).
class last_spikes : public spike_observer {
 public:
  last_spikes(const network& net, step_count from, double dt) : from_(from), dt_(dt) {
    for (std::size_t i = 0; i < net.population_count(); ++i)
      trains.push_back({net.get_population(i).name(), {}, {}});
  }
  void spikes(step_count step, std::size_t population,
              std::span<const std::uint32_t> units) override {
    if (step <= from_) return;
    auto& train = trains[population];
    for (std::uint32_t c : units) {
      train.times.push_back(static_cast<double>(step) * dt_);
      train.units.push_back(c);
    }
  }
  std::vector<fit_result::spike_train> trains;

 private:
  step_count from_;
  double dt_;
};

// The seed's circuit in spikes: Poisson input (ν, τ_x), a stochastic winner-take-all at
// R spikes/ms, synaptic scaling by output spikes (η), and the output layer's intrinsic rule.
void build_spiking_circuit(network& net, const fit_options& o, const matrix& W0, double T) {
  const auto D = static_cast<std::size_t>(W0.cols());
  net.add<poisson_input>("input", {.size = D, .A = o.A, .nu = o.nu, .tau_x = o.tau_x});
  net.add<stochastic_wta>("output", {.size = static_cast<std::size_t>(o.components),
                                     .R = o.output_rate});
  net.connect("input", "output",
              {.name = "ff", .weights = W0, .rule = make_rule("spike_scaling", {{"eta", o.eta}})});
  if (const std::string rule = intrinsic_rule_of(o); rule != "none")
    net.adapt("output", make_intrinsic_rule(rule, {{"tau", T / intrinsic_rate_of(o, rule)}}));
}

}  // namespace

std::string intrinsic_rule_of(const fit_options& o) {
  if (!o.intrinsic.empty()) return o.intrinsic;
  return o.method == "em" ? "none" : "homeostasis";
}

double intrinsic_rate_of(const fit_options& o) { return intrinsic_rate_of(o, intrinsic_rule_of(o)); }

double intrinsic_rate_of(const fit_options& o, const std::string& rule) {
  // options.intrinsic_rate is the rate of options.intrinsic, not of a warm-up's homeostasis
  if (o.intrinsic_rate > 0.0 && rule == intrinsic_rule_of(o)) return o.intrinsic_rate;
  const double C = o.components;
  // Priors: the weights' step is ε s_c / (C π_c) (synaptic scaling divided by the relative
  // prior), and π_c is updated first, so it is at least η s_c: η >= ε / C keeps that step
  // <= 1 (weights stay positive). 10 ε / C tracks the priors over about C/(10 ε)
  // presentations, long before the units' weights settle.
  return rule == "priors" ? std::min(1.0, 10.0 * o.learning_rate / C) : std::min(1.0, C / 2000.0);
}

double presentation_of(const fit_options& o) {
  if (o.method == "online") return 1.0;
  if (o.presentation > 0.0) return o.presentation;
  return o.method == "spiking" ? 50.0 : 10.0;
}

int prior_warmup_of(const fit_options& o) {
  if (intrinsic_rule_of(o) != "priors") return 0;
  return std::min(o.prior_warmup < 0 ? 3 : o.prior_warmup, std::max(o.epochs, 0));
}

bool learns_priors(const fit_options& o) {
  return o.priors == "learned" ||
         (intrinsic_rule_of(o) == "priors" && (o.epochs == 0 || prior_warmup_of(o) < o.epochs));
}

fit_result fit(const labeled_data& train, const labeled_data* test, const fit_options& o,
               communicator* processes) {
  check_fit_options(o);
  communicator& comm = processes ? *processes : serial();
  if ((o.method == "ode" || o.method == "spiking") && comm.size() > 1)
    throw usage_error(fmt::format(
        "fit: method \"{}\" runs in one process; em and online share their work between {} "
        "ranks",
        o.method, comm.size()));
  const int K = class_count(train, test, comm);
  // online under ranks: the circuit may present any training pattern on any rank (each
  // takes its share of every mini-batch), so every rank has them all; the scores go over
  // this rank's groups of them, as em's do.
  const bool whole = o.method == "online" && comm.size() > 1;
  const labeled_data own = whole ? groups_of(train, comm) : labeled_data{};
  const labeled_data& local = whole ? own : train;
  const data_part train_part = part_of(local, comm);
  const data_part test_part = test ? part_of(*test, comm) : data_part{};
  const feedforward_inhibition input("input", {.size = static_cast<std::size_t>(train.images.rows()),
                                               .A = o.A});
  const matrix Y = input.normalize(local.images);
  const matrix Y_test = test ? input.normalize(test->images) : matrix();
  random_stream rng(o.seed, stream_id("fit.initial_weights"));
  const matrix W0 = mean_weights(data_mean(Y, train_part), o.components, o.init_noise, o.A, rng);

  fit_result r;
  const auto start = std::chrono::steady_clock::now();
  const vector uniform = uniform_log_priors(o.components);
  auto score = [&](const matrix& W, const vector& log_priors, int step) {
    const poisson_mixture model(W, log_priors);
    r.curve_train.push_back(model.log_likelihood(Y, train_part));
    if (test) r.curve_test.push_back(model.log_likelihood(Y_test, test_part));
    if (o.progress) o.progress(step, r.curve_train.back());
  };

  if (o.method == "em") {
    score(W0, uniform, 0);
    em_options em;
    em.iterations = o.iterations;
    em.tolerance = o.tolerance;
    em.anneal_start = o.anneal_start;
    em.anneal_iterations = o.anneal_iterations;
    em.single_precision = o.single_precision;
    em.part = train_part;
    em.learn_priors = o.priors == "learned";
    em.on_iteration = [&](int it, const matrix& W, const vector& log_priors, double ll) {
      r.curve_train.push_back(ll);
      if (test)
        r.curve_test.push_back(poisson_mixture(W, log_priors).log_likelihood(Y_test, test_part));
      if (o.progress) o.progress(it, ll);
      pause_if_asked(o);
    };
    em_result fitted = fit_em(Y, W0, o.A, em);
    r.W = std::move(fitted.W);
    r.log_priors = std::move(fitted.log_priors);
  } else {
    // ε = T/τ_W: the quasi-static regime presents each pattern for T = 1 ms.
    const double T = presentation_of(o);
    const auto N = static_cast<step_count>(train.images.cols());
    // (check_fit_options: T is a whole number of steps of dt, so an epoch is too)
    const step_count epoch_steps = o.method == "online" ? N : N * *exact_steps(T, o.dt);
    if (o.epochs > 0 && epoch_steps > max_steps / o.epochs)
      throw parameter_error(
          fmt::format("fit: {} epochs of {} steps are more than a run may take ({})", o.epochs,
                      epoch_steps, max_steps),
          {component, "epochs", fmt::format("{}", o.epochs)});
    // Learned priors after a warm-up: the first prior_warmup epochs run the circuit with
    // homeostasis, so that every unit finds its share of the data before the priors can
    // starve it; then a circuit with uniform priors π = 1/C goes on from the warm-up's W.
    const std::string rule = intrinsic_rule_of(o);
    const int warmup = prior_warmup_of(o);
    score(W0, uniform, 0);
    r.W = W0;
    r.log_priors = uniform;
    // Epochs [first, last) of a circuit with intrinsic rule `phase_rule` starting at r.W.
    auto run_circuit = [&](const std::string& phase_rule, int first, int last) {
      network net;
      if (o.method == "spiking")
        build_spiking_circuit(net, o, r.W, T);
      else
        build_circuit(net, o, r.W, T, phase_rule);
      // The circuit's ln π_c: learned by the output layer's "priors" rule, else uniform
      // (the homeostatic biases help learning but are not a prior of the model).
      auto circuit_log_priors = [&]() -> vector {
        if (phase_rule != "priors") return uniform;
        return net.intrinsic_state(net.population_index("output")).array().log().matrix();
      };
      // A phase after the first shuffles the patterns by a seed of its own.
      const std::uint64_t order_seed =
          first == 0 ? o.seed : random_stream(o.seed, stream_id("fit.phase"), first).next();
      net.stimulate("input", std::make_unique<pattern_set>(
                                 train.images, pattern_set::params{
                                                   .duration = T,
                                                   .ordering = pattern_set::order::shuffled,
                                                   .seed = order_seed}));
      std::unique_ptr<simulation> owned;
      quasi_static_simulation* quasi = nullptr;
      if (o.method == "online") {
        owned = std::make_unique<quasi_static_simulation>(
            net, quasi_static_options{
                     .dt = T, .batch_size = o.batch_size, .exact_log = o.exact_log, .ranks = &comm});
        quasi = static_cast<quasi_static_simulation*>(owned.get());
      } else if (o.method == "ode") {
        auto ode = std::make_unique<ode_simulation>(
            net, ode_options{.stepper = o.stepper, .dt = o.dt, .exact_log = o.exact_log});
        ode->settle();
        owned = std::move(ode);
      } else {
        owned = std::make_unique<spiking_simulation>(net, spiking_options{.dt = o.dt, .seed = o.seed});
      }
      simulation& sim = *owned;
      sim.pause_on(o.pause);
      std::optional<last_spikes> spikes;
      if (o.method == "spiking") {
        const step_count total = epoch_steps * (last - first);
        spikes.emplace(net, total - *exact_steps(T, o.dt), o.dt);
        sim.attach(*spikes);
      }
      for (int e = first; e < last; ++e) {
        net.set_learning_rate_scale(schedule_factor(o, e));
        const step_count start = sim.steps();
        if (quasi)
          quasi->run_presentations(N);
        else
          sim.run_steps(epoch_steps);
        // Paused for the caller: then on to the epoch's end, the same bits as without a pause.
        while (sim.paused()) {
          pause_if_asked(o);
          sim.run_steps(start + epoch_steps - sim.steps());
        }
        score(net.weights("ff"), circuit_log_priors(), e + 1);
      }
      r.W = net.weights("ff");
      r.log_priors = circuit_log_priors();
      if (spikes) r.last_spikes = std::move(spikes->trains);
    };
    if (warmup > 0) run_circuit("homeostasis", 0, warmup);
    if (warmup == 0 || warmup < o.epochs) run_circuit(rule, warmup, o.epochs);
  }

  const poisson_mixture model(r.W, r.log_priors);
  const matrix posterior_train = model.posterior(Y);
  const auto classifier = classify(posterior_train, local.labels, K, train_part);
  r.B = classifier.B();
  r.units_used = units_used(posterior_train, train_part);
  r.loglik_train = model.log_likelihood(Y, train_part);
  r.train_error = error_rate(classifier, posterior_train, local.labels, train_part);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  r.loglik_test = test ? model.log_likelihood(Y_test, test_part) : nan;
  r.error = test ? error_rate(classifier, model.posterior(Y_test), test->labels, test_part) : nan;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

// ---- Output ---------------------------------------------------------------------------

namespace {

std::string json_number(double v) { return std::isfinite(v) ? fmt::format("{:.17g}", v) : "null"; }

std::string json_array(const std::vector<double>& values) {
  std::vector<std::string> parts;
  for (double v : values) parts.push_back(json_number(v));
  return fmt::format("[{}]", fmt::join(parts, ", "));
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "\"";
}

// π_c from the result's ln π_c.
std::vector<double> priors_of(const fit_result& r) {
  std::vector<double> out;
  for (double log_prior : r.log_priors) out.push_back(std::exp(log_prior));
  return out;
}

}  // namespace

void resolve_fit_files(fit_files& files, const std::string& data) {
  if (!data.empty()) {
    std::string dir;
    if (data == "mnist")
      dir = "data/mnist/";
    else if (data == "fashion-mnist")
      dir = "data/fashion-mnist/";
    else
      throw lookup_error(
          fmt::format("--data: unknown data set \"{}\"; known: mnist, fashion-mnist", data));
    if (!files.train_images.empty() || !files.train_labels.empty())
      throw usage_error("--data and --train-images/--train-labels exclude each other");
    files.train_images = dir + "train-images-idx3-ubyte.gz";
    files.train_labels = dir + "train-labels-idx1-ubyte.gz";
    if (files.test_images.empty() && files.test_labels.empty()) {
      files.test_images = dir + "t10k-images-idx3-ubyte.gz";
      files.test_labels = dir + "t10k-labels-idx1-ubyte.gz";
    }
  }
  if (files.train_images.empty() || files.train_labels.empty())
    throw usage_error("fit: give --train-images and --train-labels, or --data");
  if (files.test_images.empty() != files.test_labels.empty())
    throw usage_error("fit: give both --test-images and --test-labels, or neither");
}

std::unique_ptr<output_file> claim_fit_output(const std::string& path, bool overwrite) {
  if (path.empty()) return nullptr;
  std::error_code ec;
  if (!overwrite && std::filesystem::file_size(path, ec) > 0 && !ec)
    throw usage_error(fmt::format("fit: output \"{}\" exists; add --overwrite to replace it", path));
  return std::make_unique<output_file>(
      path, overwrite ? output_file::existing::replace : output_file::existing::refuse,
      fmt::format("fit: output \"{}\"", path));
}

std::string fit_description(const std::string& call, const fit_files& files) {
  return fmt::format("{}\n# ratesim {}; train {} / {}; test {} / {}\n", call, version,
                     files.train_images, files.train_labels, files.test_images, files.test_labels);
}

std::string to_json(const fit_result& r, const fit_options& o) {
  return fmt::format(
      "{{\"method\": {}, \"C\": {}, \"A\": {}, \"loglik_train\": {}, \"loglik_test\": {}, "
      "\"error\": {}, \"train_error\": {}, \"seconds\": {}, \"curve_train\": {}, "
      "\"curve_test\": {}, \"priors\": {}, \"units_used\": {}, \"intrinsic\": {}, "
      "\"learned_priors\": {}, \"prior_warmup\": {}, \"kernel\": {}}}",
      json_string(o.method), o.components, json_number(o.A), json_number(r.loglik_train),
      json_number(r.loglik_test), json_number(r.error), json_number(r.train_error),
      json_number(r.seconds), json_array(r.curve_train), json_array(r.curve_test),
      json_array(priors_of(r)), r.units_used, json_string(intrinsic_rule_of(o)),
      learns_priors(o) ? "true" : "false", prior_warmup_of(o), to_json(kernels()));
}

namespace {
void write_fit_content(hid_t root, const fit_result& r, const fit_options& o,
                       const std::string& config, const std::string& context);
}

void write_fit(output_file& out, const fit_result& r, const fit_options& o,
               const std::string& config) {
  const std::string context = fmt::format("fit output \"{}\"", out.path());
  {
    detail::hdf5::quiet_errors quiet;
    detail::hdf5::write_new_file(
        out.temporary(), [&](hid_t root) { write_fit_content(root, r, o, config, context); },
        context);
  }
  out.commit();
}

namespace {

void write_fit_content(hid_t root, const fit_result& r, const fit_options& o,
                       const std::string& config, const std::string& context) {
  namespace h5 = detail::hdf5;
  h5::write_root_attributes(root, o.seed, config, context);
  h5::write_attribute(root, "content", std::string("fit"), context);
  h5::create_groups(root, "model", context);
  h5::create_groups(root, "curves", context);
  using row_major = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const row_major W = r.W, B = r.B;
  h5::handle w = h5::write_array(root, "model/W",
                                 {static_cast<hsize_t>(W.rows()), static_cast<hsize_t>(W.cols())},
                                 W.data(), context);
  h5::write_attribute(w.get(), "units", std::string("1"), context);
  h5::write_attribute(w.get(), "description",
                      std::string("Poisson means W[c, d]; every row sums to A"), context);
  h5::handle b = h5::write_array(root, "model/B",
                                 {static_cast<hsize_t>(B.rows()), static_cast<hsize_t>(B.cols())},
                                 B.data(), context);
  h5::write_attribute(b.get(), "description",
                      std::string("B[k, c]: mean posterior of component c over class k"),
                      context);
  const std::vector<double> priors = priors_of(r);
  h5::handle p = h5::write_array(root, "model/priors", {static_cast<hsize_t>(priors.size())},
                                 priors.data(), context);
  h5::write_attribute(p.get(), "units", std::string("1"), context);
  h5::write_attribute(
      p.get(), "description",
      std::string("priors p(c) = pi[c] of the mixture; they sum to 1 (uniform 1/C unless learned)"),
      context);
  const std::string step = o.method == "em" ? "iteration" : "epoch";
  for (const auto& [name, curve] : {std::pair{"curves/log_likelihood_train", &r.curve_train},
                                    std::pair{"curves/log_likelihood_test", &r.curve_test}}) {
    h5::handle c = h5::write_array(root, name, {static_cast<hsize_t>(curve->size())},
                                   curve->data(), context);
    h5::write_attribute(c.get(), "units", std::string("nats per data point"), context);
    h5::write_attribute(c.get(), "step", step, context);
  }
  if (!r.last_spikes.empty()) h5::write_sonata_attributes(root, context);
  for (const auto& train : r.last_spikes) {  // SONATA's spike layout
    const std::string group = "spikes/" + train.population;
    h5::create_groups(root, group, context);
    const hsize_t n = train.times.size();
    h5::handle t = h5::write_array(root, group + "/timestamps", {n}, train.times.data(), context);
    h5::write_attribute(t.get(), "units", std::string("ms"), context);
    h5::write_dataset(root, group + "/node_ids", {n}, H5T_STD_U64LE, H5T_NATIVE_UINT64,
                      train.units.data(), context);
    h5::handle g = h5::checked(H5Gopen2(root, group.c_str(), H5P_DEFAULT), context, "H5Gopen");
    h5::write_enum_attribute(g.get(), "sorting", {"none", "by_id", "by_time"}, 2, context);
    h5::write_attribute(g.get(), "description",
                        std::string("the spikes of the last presentation of the fit"), context);
  }
  h5::write_attribute(root, "method", o.method, context);
  h5::write_attribute(root, "intrinsic", intrinsic_rule_of(o), context);
  h5::write_attribute(root, "learned_priors", learns_priors(o) ? 1.0 : 0.0, context);
  h5::write_attribute(root, "prior_warmup", static_cast<double>(prior_warmup_of(o)), context);
  h5::write_attribute(root, "C", static_cast<double>(o.components), context);
  h5::write_attribute(root, "A", o.A, context);
  h5::write_attribute(root, "loglik_train", r.loglik_train, context);
  h5::write_attribute(root, "loglik_test", r.loglik_test, context);
  h5::write_attribute(root, "error", r.error, context);
  h5::write_attribute(root, "train_error", r.train_error, context);
  h5::write_attribute(root, "units_used", static_cast<std::uint64_t>(r.units_used), context);
  h5::write_attribute(root, "seconds", r.seconds, context);
}

}  // namespace

}  // namespace ratesim
