#pragma once
// Records neural traces, weight snapshots, metrics and spikes of a run into one HDF5 file
// that h5py and h5dump read without ratesim (layout: docs/hdf5-layout.md).
//
//   hdf5_recorder out("run.h5", {.mode = hdf5_recorder::file_mode::overwrite});
//   out.record("output", "rate", {.every = 1.0});
//   out.record("input", "y", {.every_steps = 10, .start = 100.0}, {{0, 5, 7}});
//   out.record_weights("ff", {.every = 1000.0});
//   out.record_weight_sums("ff", {.every = 100.0});
//   out.record_spikes("output");  // the spiking regime: SONATA's /spikes/output
//   sim.attach(out);
//   sim.run(5000.0);
//
// Samples (and spikes) are buffered and written every `flush_every` samples (spikes) and
// at the end of every run. The file is written in HDF5's single-writer/multiple-reader
// (SWMR) mode: other processes can read it while the simulation runs (h5py: File(path,
// "r", swmr=True)), and a run killed at any moment leaves every sample up to the last
// flush. Such a file opens with swmr=True, or anywhere after `h5clear -s file`.

#include <ratesim/clock.hpp>
#include <ratesim/observer.hpp>
#include <ratesim/parameters.hpp>
#include <ratesim/registry.hpp>
#include <ratesim/types.hpp>

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace ratesim {

class output_file;

class hdf5_recorder : public observer {
 public:
  enum class file_mode {
    create,     // a new file; an existing one is an error
    overwrite,  // replace an existing file
    append,     // add samples to an existing ratesim file (new datasets where needed)
  };
  struct options {
    file_mode mode = file_mode::create;
    std::size_t flush_every = 256;  // samples (spikes) buffered per recording between writes (>= 1)
    int compression = 1;            // gzip level 0–9 with the shuffle filter (0: none)
    std::string config;             // full text of the run's configuration, kept at /
    std::uint64_t seed = 0;         // the run's seed, kept at /
  };

  // Claims the file (an output_file: the path is checked and locked against other
  // writers); the file itself is made when a simulation attaches the recorder, under a
  // temporary name that replaces an existing file only once the new one is complete.
  hdf5_recorder(std::string path, options opts);
  ~hdf5_recorder() override;  // writes what is buffered and closes the file

  // What to record; all of it must be given before the recorder is attached. Names are
  // checked against the network when it is attached.
  //
  // A population's variable: one of its state variables (e.g. "u", "h", "y"), "rate"
  // (its output rates) or "input" (its summed input current). `units` picks a subset of
  // unit indices; all units when absent.
  void record(std::string population, std::string variable, schedule when = {},
              std::optional<std::vector<std::size_t>> units = std::nullopt);
  // Snapshots W of a projection, [n_snapshots, n_post, n_pre].
  void record_weights(std::string projection, schedule when);
  // A metric computed from the network: `size` numbers per sample, in `units`.
  using metric = std::function<void(const network& net, vector_span out)>;
  void record_metric(std::string name, std::size_t size, std::string units, metric compute,
                     schedule when);
  // The metric "weight_sum_<projection>": Σ_d W_cd for every postsynaptic unit c.
  void record_weight_sums(std::string projection, schedule when);
  // The spikes of a spiking population (observer::spikes), in SONATA's spike layout:
  // /spikes/<population>/timestamps [ms] and node_ids (unit indices), in time order. Only
  // `start` and `stop` of `when` apply (spikes are not sampled: every and every_steps
  // stay 0).
  void record_spikes(std::string population, schedule when = {});

  const std::string& path() const { return path_; }
  // The text kept as config at / (options.config): set it before the recorder is attached
  // (Python describes a run built in Python this way).
  const std::string& config() const { return options_.config; }
  void set_config(std::string text) { options_.config = std::move(text); }
  void set_seed(std::uint64_t seed) { options_.seed = seed; }

  // What a rerun of a run built in Python needs (`ratesim rerun`, docs/python.md,
  // "Rerunning"), kept in the file this recorder makes: `arrays` as /inputs/<name>
  // (row-major `rows` x `cols` doubles, compressed like the samples; the memory must live
  // until the recorder is attached), `attributes` as text attributes at /, and the
  // dataset /inputs/runs that log_run fills. Give it before the recorder is attached. A
  // recorder appending to an existing file (but for a resumed run) keeps none of it, and
  // marks the file as no longer rerunnable (attribute rerunnable).
  struct kept_array {
    std::string name;
    const double* data;
    std::size_t rows, cols;
  };
  struct rerun_record {
    std::vector<kept_array> arrays;
    std::vector<std::pair<std::string, std::string>> attributes;
  };
  void keep_for_rerun(rerun_record r) { rerun_ = std::move(r); }
  void forget_rerun() { rerun_.reset(); }
  // Appends the row [first step, end step, fingerprint at first, fingerprint at end,
  // how the run ended] (network::fingerprint; 0 completed, 1 paused, 2 paused with a
  // mini-batch open) to /inputs/runs, at once; nothing without keep_for_rerun, or once
  // writing the file has failed (the failure was reported then).
  void log_run(step_count first, step_count end, std::uint64_t before, std::uint64_t after,
               int ending);

  // Resuming from a checkpoint: the recorder will append to its existing file, and first
  // cut every recording back to the samples it had when the checkpoint was taken
  // (`rows`: recording group, e.g. "output/rate", to sample count), dropping those a
  // stopped run wrote after it, which the resumed run writes again. Call before attaching.
  // `run_id`, when not empty, must be the file's (run_id() of the checkpointed run):
  // another run's file of the same name is refused, untouched.
  void resume(std::vector<std::pair<std::string, std::uint64_t>> rows, std::string run_id = {});
  // A random identity the file gets when it is made (attribute run_id at /), kept by
  // checkpoints so that a resumed run appends to the very file it wrote. Known once the
  // recorder is attached.
  const std::string& run_id() const { return run_id_; }
  // The samples written so far, per recording group (after writing what is buffered).
  std::vector<std::pair<std::string, std::uint64_t>> sample_counts();

  // Checks everything asked for against the network and clock (names, unit subsets,
  // schedules), as start() does, without touching any file: an experiment checks its
  // recorder when it is built, and makes the file only when it runs.
  void check(const network& net, double dt);

  // observer
  void start(const network& net, double dt) override;
  step_count next_due(step_count from) const override;
  void observe(step_count step, const network& net) override;
  void spikes(step_count step, std::size_t population,
              std::span<const std::uint32_t> units) override;
  void flush() override;

 private:
  struct entry;
  struct file;
  void add(entry e);
  void write_out(entry& e, std::size_t rows);
  void make_file(const network& net, double dt);

  std::string path_;
  options options_;
  std::unique_ptr<output_file> claim_;
  std::vector<entry> entries_;
  std::unique_ptr<file> file_;
  const network* net_ = nullptr;
  double dt_ = 0.0;
  std::vector<double> scratch_;  // a population's full rate vector, sized at start
  vector metric_;                // a metric's sample, computed here, sized at start
  std::optional<std::vector<std::pair<std::string, std::uint64_t>>> resume_rows_;
  std::string failure_;  // why writing failed; nothing is written after a failure
  std::string run_id_, resume_run_id_;
  std::optional<rerun_record> rerun_;
  void check_existing(const std::string& context) const;
};

// Record kinds by name, for experiment files ([[record]] what = "..."): a factory adds
// to `recorder` what its named parameters ask for, on the schedule `when`, and checks them
// (parameters::require_all_used). The built-in kinds (variable, weights, weight_sums,
// spikes) are one file each in simulator/io/src/records/, registered in
// simulator/io/src/records/kinds.cpp; a user adds one with record_kinds().add("my_kind",
// factory).
struct record_context {
  hdf5_recorder& recorder;
  const network& net;  // built, so that sizes are known (not yet laid out)
  schedule when;
};
using record_factory = std::function<void(const record_context& context, const parameters& values)>;
registry<record_factory>& record_kinds();

}  // namespace ratesim
