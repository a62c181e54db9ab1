#pragma once
// Fitting a Poisson mixture to labelled data four ways, the experiment of Keck, Savin &
// Lücke (2012): batch EM ("em"), the circuit in the quasi-static regime ("online"), the
// circuit integrated as an ODE ("ode"), and the circuit in spikes ("spiking": Poisson
// input and a stochastic winner-take-all, Nessler et al. 2013). All four start from the same initial W (the
// data's mean plus noise), are scored the same way (log-likelihood per data point of the
// normalised data, and the classification error of DESIGN.md section 1), and can write
// their results to HDF5. `ratesim fit` is the command-line face of this, Python's
// ratesim.fit the other; both take the options of for_each_fit_option.

#include <ratesim/data.hpp>
#include <ratesim/output_file.hpp>
#include <ratesim/types.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ratesim {

struct fit_options {
  std::string method = "em";  // "em", "online", "ode" or "spiking"
  int components = 100;       // C
  double A = 900.0;           // Σ_d y_d of the normalised input and Σ_d W_cd; > D
  std::uint64_t seed = 1;     // initial weights and presentation order
  double init_noise = 0.5;    // W_cd ∝ mean_d + noise · mean · U(0, 1)
  // The mixture's priors π_c: "uniform" (1/C) or "learned" (em: π_c = N_c / N in the
  // M-step, docs/fitting.md).
  std::string priors = "uniform";

  // em
  int iterations = 200;       // at most
  double tolerance = 1e-6;    // stop when the log-likelihood gains less per step
  double anneal_start = 1.0;  // deterministic annealing: β at the first step
  int anneal_iterations = 0;
  bool single_precision = false;  // the matrix products in float32 (em_options)

  // online, ode and spiking: passes over the training data, the learning rate ε = T/τ_W
  // of the first epoch (spiking: η, the step per output spike, below), and its schedule:
  // "constant", "exponential" (ε_e = ε decay^e) or "inverse" (ε_e = ε / (1 + e / decay)).
  int epochs = 20;
  double learning_rate = 0.1;
  std::string schedule = "exponential";
  double decay = 0.8;
  std::size_t batch_size = 1;  // online: presentations per weight update
  // online and ode (euler): ln W computed anew after every weight step
  // (quasi_static_options::exact_log, ode_options::exact_log)
  bool exact_log = false;
  // online and ode: intrinsic plasticity of the output layer (ratesim/intrinsic.hpp):
  // "none", "homeostasis" (every unit driven toward 1/C of the patterns) or "priors" (the
  // mixture's priors learned, b_c = ln π_c), with a step of `intrinsic_rate` per
  // presentation (τ = T / intrinsic_rate), times the learning-rate schedule. Empty: the
  // method's default (intrinsic_rule_of). A rate of 0: the rule's default
  // (intrinsic_rate_of).
  std::string intrinsic;
  double intrinsic_rate = 0.0;
  // online and ode with intrinsic = "priors": epochs of homeostasis before the priors are
  // learned, so that every unit finds data before a small prior can starve it. −1: the
  // default (prior_warmup_of).
  int prior_warmup = -1;

  // ode and spiking: the presentation time T [ms]; 0: the method's own (presentation_of)
  double presentation = 0.0;
  // ode: the circuit's time constants and stepping
  double tau = 1.0;            // τ_y = τ_h = τ_u [ms]
  double dt = 0.5;             // [ms] (spiking too)
  std::string stepper = "euler";

  // spiking (ratesim/regimes/spiking.hpp): input units fire at ν y_d, their traces (τ_x)
  // drive the output layer, which fires R spikes per ms in all, each spike of unit c moving
  // W_c by η (x̂ − W_c) (rule spike_scaling), η times the schedule.
  double nu = 0.5;           // [spikes/ms per unit of y]
  double output_rate = 0.2;  // R [spikes/ms]
  // [ms]: a fifth of the presentation, so that little of the last pattern is left in the
  // traces when most of a presentation's output spikes come
  double tau_x = 10.0;
  double eta = 0.02;

  // Called after every EM step or epoch: (step, log-likelihood per training point).
  std::function<void(int, double)> progress;
  // Pausing for the caller (Python's Ctrl-C, python/src/interrupt.hpp): when `*pause` is
  // non-zero after an EM step or a presentation, the fit calls on_pause(), which clears
  // the flag and returns (the fit goes on as if nothing had happened) or throws (the fit
  // is abandoned).
  const std::atomic<int>* pause = nullptr;
  std::function<void()> on_pause;
};

// Calls add(flags, help, field) for each option `ratesim fit` and ratesim.fit take, in the
// order of `ratesim fit --help`: `flags` for the command line ("-C,--components"; the
// Python keyword is the last flag without its dashes and with '_' for '-': components,
// init_noise, A), `field` the member of `o` it sets, and whether its default (fit_options's)
// is worth showing (not where it means "the method's own").
template <class Add>
void for_each_fit_option(fit_options& o, Add&& add) {
  const bool shown = true, methods_own = false;  // whether --help shows the default
  add("-C,--components", "number of mixture components C", o.components, shown);
  add("-A", "Σ_d y_d after normalisation and Σ_d W_cd; > D", o.A, shown);
  add("--method", "em, online (quasi-static circuit), ode (full circuit) or spiking (in spikes)",
      o.method, shown);
  add("--iterations", "em: at most this many steps", o.iterations, shown);
  add("--tolerance", "em: stop when a step gains less (nats per point)", o.tolerance, shown);
  add("--anneal-start", "em: inverse temperature of the first step", o.anneal_start, shown);
  add("--anneal-iterations", "em: steps to anneal to 1", o.anneal_iterations, shown);
  add("--priors", "uniform (p(c) = 1/C) or learned (em: the M-step sets p(c) = N_c/N)", o.priors, shown);
  add("--float32", "em: the matrix products in single precision (about twice as fast)",
      o.single_precision, shown);
  add("--epochs", "online/ode/spiking: passes over the training data", o.epochs, shown);
  add("--learning-rate", "online/ode: ε = T/τ_W of the first epoch", o.learning_rate, shown);
  add("--schedule", "of the learning rate (or η): constant, exponential (ε decay^e), inverse "
      "(ε/(1+e/decay))", o.schedule, shown);
  add("--decay", "parameter of the schedule", o.decay, shown);
  add("--batch-size", "online: presentations per weight update (shared between MPI ranks)",
      o.batch_size, shown);
  add("--exact-log",
      "online/ode (euler): compute ln W anew after every step (the same bits as a fresh computation) "
      "instead of following each step by a series, within 1e-12 (about half as fast)",
      o.exact_log, shown);
  add("--intrinsic",
      "online/ode/spiking: intrinsic plasticity of the output layer: none, homeostasis (the "
      "default) or priors (learned priors; not spiking)",
      o.intrinsic, methods_own);
  add("--intrinsic-rate",
      "online/ode/spiking: the intrinsic rule's step per presentation (T/τ), times the schedule; "
      "default C/2000 for homeostasis, 10 learning-rate / C for priors (at least learning-rate / C)",
      o.intrinsic_rate, methods_own);
  add("--prior-warmup",
      "online/ode with intrinsic priors: epochs of homeostasis before the priors are learned; "
      "default 3",
      o.prior_warmup, methods_own);
  add("--init-noise", "initial W: data mean plus this much noise", o.init_noise, shown);
  add("--presentation", "ode/spiking: presentation time T [ms]; default 10 (ode), 50 (spiking)",
      o.presentation, methods_own);
  add("--tau", "ode: time constants τ_y = τ_h = τ_u [ms]", o.tau, shown);
  add("--dt", "ode/spiking: step [ms]", o.dt, shown);
  add("--stepper", "ode: euler, rk4 or dopri5", o.stepper, shown);
  add("--nu", "spiking: input spikes per ms per unit of normalised input y", o.nu, shown);
  add("--output-rate", "spiking: R, the output layer's spikes per ms in all", o.output_rate, shown);
  add("--tau-x", "spiking: time constant of the input traces [ms]", o.tau_x, shown);
  add("--eta", "spiking: weight step per output spike, W_c += η (x̂ − W_c), times the schedule",
      o.eta, shown);
  add("--seed", "initial weights and presentation order (0 to 2^53)", o.seed, shown);
}

struct fit_result {
  matrix W;                         // C × D, rows sum to A
  vector log_priors;                // ln π_c (C): −ln C unless learned
  matrix B;                         // K × C classifier, rows sum to 1
  std::vector<double> curve_train;  // log-likelihood per point: initial, then every step
  std::vector<double> curve_test;   // the same on the test data (empty without it)
  double loglik_train = 0.0;
  double loglik_test = 0.0;  // NaN without test data
  double error = 0.0;        // test classification error in [0, 1] (NaN without test data)
  double train_error = 0.0;  // classification error on the training data
  // Units that are the most probable component for at least 0.1/C of the training data
  // (units_used in ratesim/mixture/poisson_mixture.hpp), of C.
  int units_used = 0;
  double seconds = 0.0;      // wall-clock time of the fit itself (not of loading data)
  // spiking: the spikes of the last presentation of each population ("input", "output"),
  // in time order (written in the SONATA layout, docs/hdf5-layout.md).
  struct spike_train {
    std::string population;
    std::vector<double> times;         // [ms]
    std::vector<std::uint64_t> units;  // node ids
  };
  std::vector<spike_train> last_spikes;
};

// The intrinsic rule a fit with these options uses: options.intrinsic, or by default
// "homeostasis" for the circuit (online, ode) and "none" for em.
std::string intrinsic_rule_of(const fit_options& options);
// The intrinsic rule's step per presentation: options.intrinsic_rate, or by default
// C / 2000 for homeostasis (a losing unit's bias gains η/C per presentation, so the drive
// over a run stays the same for every C) and 10 learning_rate / C for priors (the weights'
// step is divided by the relative prior C π_c, as online EM's; at least learning_rate / C
// keeps it <= 1).
double intrinsic_rate_of(const fit_options& options);
// The same for intrinsic rule `rule` of a fit with these options (a warm-up's homeostasis
// before learned priors takes its default rate).
double intrinsic_rate_of(const fit_options& options, const std::string& rule);
// The presentation time T [ms]: options.presentation, or by default 10 ms for ode and
// 50 ms for spiking (1 ms for online, which takes one step per presentation).
double presentation_of(const fit_options& options);
// The epochs of homeostasis before the circuit learns its priors: options.prior_warmup, or
// by default 3 with intrinsic rule "priors" (then the circuit at C = 400 uses every unit;
// without, 61 of 400, docs/fitting.md), at most the epochs; 0 without learned priors.
int prior_warmup_of(const fit_options& options);
// Whether the model's priors are learned (em with priors = learned, or the circuit with
// the intrinsic rule "priors", unless its warm-up takes every epoch) rather than uniform.
bool learns_priors(const fit_options& options);

// Checks the options as fit() does first (a parameter_error or a lookup_error naming the
// option), for callers that refuse bad options before they read the data.
void check_fit_options(const fit_options& options);

class communicator;

// `test` may be absent. Labels must lie in [0, K) with K = 1 + the largest training label.
// With `processes` (ratesim/comm.hpp: the ranks of an MPI job), `test` is this rank's part
// of data split between them (split_data with default_chunk: its `first` and `total`), and
// so is `train` for method em; for method online `train` is the whole training set on
// every rank (each rank presents its share of every mini-batch, docs/mpi.md). Method ode
// runs in one process. Every rank calls fit, takes the same steps and returns the same
// result, the same bits as one process with all the data.
fit_result fit(const labeled_data& train, const labeled_data* test, const fit_options& options,
               communicator* processes = nullptr);

// Writes a fit's results (layout: docs/hdf5-layout.md, "Fit results") to a file claimed
// before the fit started (so a bad path fails before the work); the file appears whole
// or not at all.
void write_fit(output_file& out, const fit_result& result, const fit_options& options,
               const std::string& config);

// The result as one JSON object: loglik_train, loglik_test, error, train_error, seconds,
// method, C, A, priors (π_c, not logs), units_used, and the learning curves.
std::string to_json(const fit_result& result, const fit_options& options);

// The data of a fit as `ratesim fit` and ratesim.fit are given it: data specs
// (ratesim/data.hpp); the test data may be absent (both empty).
struct fit_files {
  std::string train_images, train_labels, test_images, test_labels;
};

// Fills in the files of the bundled data set `data` (mnist, fashion-mnist: under data/, as
// scripts/fetch-data puts them; empty: none), then checks that the training images and
// labels are given and the test images and labels both or neither: a lookup_error or a
// usage_error naming the command line's options.
void resolve_fit_files(fit_files& files, const std::string& data);

// Claims the output file `path` (checked, locked: ratesim/output_file.hpp) before the data is
// read and the work done; an existing file is an error unless `overwrite`.
std::unique_ptr<output_file> claim_fit_output(const std::string& path, bool overwrite);

// What write_fit keeps as the file's configuration: `call` (the command line), the ratesim
// version and the data files.
std::string fit_description(const std::string& call, const fit_files& files);

}  // namespace ratesim
