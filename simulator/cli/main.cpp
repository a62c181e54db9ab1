// The ratesim command-line tool.
//
//   ratesim run experiment.toml [--unset key.path ...] [--set key.path=value ...] [--quiet]
//               [--checkpoint FILE [--checkpoint-every MS]] [--stop-at MS]
//   ratesim run --resume FILE [experiment.toml] [--force] [...]
//   ratesim sweep experiment.toml --grid KEY=v1,v2 [--grid ...] [--out DIR] [-j N]
//   ratesim fit --train-images X --train-labels Y [--test-images X --test-labels Y]
//               -C 100 -A 900 --method em|online|ode [--priors uniform|learned] [...]
//               [--output fit.h5] [--json]
//
// Exit codes: 0 success (also a run stopped by --stop-at); 2 a usage error (bad command
// line, configuration, parameter or name); 3 bad input data; 1 any other failure (the run
// itself); 128 + the signal for a run stopped by SIGINT (130) or SIGTERM (143), after
// writing its checkpoint and recordings.

#include <ratesim/comm.hpp>
#include <ratesim/error.hpp>
#include <ratesim/experiment.hpp>
#include <ratesim/fit.hpp>
#include <ratesim/mixture/kernels.hpp>
#include <ratesim/mixture/poisson_mixture.hpp>
#include <ratesim/output_file.hpp>
#include <ratesim/plugin.hpp>
#include <ratesim/rerun.hpp>
#include <ratesim/signals.hpp>
#include <ratesim/version.hpp>

#include "progress.hpp"
#include "sweep.hpp"

#include <CLI/CLI.hpp>
#include <unistd.h>
#include <fmt/format.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>

namespace {

constexpr int exit_usage = 2;
constexpr int exit_input = 3;
constexpr int exit_failure = 1;

struct fit_command {
  ratesim::fit_files files;
  std::string data, output;
  bool overwrite = false, json = false, quiet = false;
  ratesim::fit_options options;
};

void add_fit(CLI::App& app, fit_command& c) {
  auto* fit = app.add_subcommand(
      "fit", "Fit a Poisson mixture by EM or learn it with the circuit; report log-likelihood "
             "and classification error");
  fit->add_option("--train-images", c.files.train_images,
                  "IDX file (.gz or plain), FILE.h5:/dataset, .npy, FILE.npz:NAME or .csv");
  fit->add_option("--train-labels", c.files.train_labels, "as --train-images, 1-D");
  fit->add_option("--test-images", c.files.test_images, "test images, as --train-images");
  fit->add_option("--test-labels", c.files.test_labels, "test labels, as --train-labels");
  fit->add_option("--data", c.data, "a bundled data set instead: mnist or fashion-mnist");
  ratesim::for_each_fit_option(
      c.options, [&](const char* flags, const char* help, auto& field, bool show_default) {
        using T = std::remove_reference_t<decltype(field)>;
        if constexpr (std::is_same_v<T, bool>) {
          fit->add_flag(flags, field, help);
        } else {
          auto* option = fit->add_option(flags, field, help);
          if (show_default) option->capture_default_str();
          if constexpr (std::is_unsigned_v<T>)  // CLI11 would take -1 as 2^64 - 1
            option->check(CLI::Validator(
                [](const std::string& s) {
                  const auto first = s.find_first_not_of(" \t");
                  return first != std::string::npos && s[first] == '-' ? "must be >= 0, got " + s
                                                                       : std::string();
                },
                ""));
        }
      });
  fit->add_option("-o,--output", c.output, "write W, B and the learning curves to this HDF5 file");
  fit->add_flag("--overwrite", c.overwrite, "replace an existing output file");
  fit->add_flag("--json", c.json, "print the results as one JSON object on stdout");
  fit->add_flag("-q,--quiet", c.quiet, "no progress on stderr");
}

std::string command_line(int argc, char** argv) {
  std::string line = "ratesim";
  for (int i = 1; i < argc; ++i) line += fmt::format(" {}", argv[i]);
  return line;
}

// The examples of a data set this rank holds: all of them in one process or when `whole`,
// else its groups (ratesim/comm.hpp), read from the file by offset or hyperslab.
ratesim::labeled_data read_part(const std::string& images, const std::string& labels,
                                ratesim::communicator& comm, bool whole = false) {
  if (comm.size() == 1 || whole) return ratesim::read_labeled(images, labels);
  const auto total = static_cast<Eigen::Index>(ratesim::count_examples(images));
  const ratesim::data_slice slice = ratesim::split_data(comm, total, ratesim::default_chunk);
  return ratesim::read_labeled(images, labels, static_cast<std::size_t>(slice.part.first),
                               static_cast<std::size_t>(slice.count));
}

int run_fit(fit_command& c, int argc, char** argv) {
  ratesim::resolve_fit_files(c.files, c.data);
  ratesim::check_fit_options(c.options);
  // Under mpirun or srun the ranks share the data; only rank 0 prints and writes.
  ratesim::communicator& comm = ratesim::world();
  const bool lead = comm.rank() == 0;
  // The output is claimed (checked, locked) before the data is read and the work done.
  const auto output = lead ? ratesim::claim_fit_output(c.output, c.overwrite) : nullptr;
  // The circuit (online) may present any training pattern on any rank.
  const auto train = read_part(c.files.train_images, c.files.train_labels, comm,
                               c.options.method == "online");
  std::optional<ratesim::labeled_data> test;
  if (!c.files.test_images.empty())
    test = read_part(c.files.test_images, c.files.test_labels, comm);
  if (!c.quiet && lead)
    c.options.progress = [&](int step, double ll) {
      std::fprintf(stderr, "%s %d: log-likelihood %.6f\n",
                   c.options.method == "em" ? "iteration" : "epoch", step, ll);
    };
  const auto result = ratesim::fit(train, test ? &*test : nullptr, c.options, &comm);
  if (!lead) return 0;
  if (output)
    ratesim::write_fit(*output, result, c.options,
                       ratesim::fit_description(command_line(argc, argv), c.files));
  if (c.json) {
    std::printf("%s\n", ratesim::to_json(result, c.options).c_str());
  } else {
    const std::string intrinsic = ratesim::intrinsic_rule_of(c.options);
    std::printf("method %s%s, C = %d, A = %g: log-likelihood train %.6f, test %.6f; "
                "test error %.4f; %d units used; %.1f s\n",
                c.options.method.c_str(),
                intrinsic == "none" ? "" : fmt::format(" (intrinsic {})", intrinsic).c_str(),
                c.options.components, c.options.A, result.loglik_train, result.loglik_test,
                result.error, result.units_used, result.seconds);
  }
  return 0;
}

struct run_command {
  std::string config;
  ratesim::config_overrides overrides;
  std::vector<std::string> plugins;
  std::string resume;
  bool force = false, quiet = false;
  ratesim::run_control control;
};

void add_run(CLI::App& app, run_command& c) {
  auto* run = app.add_subcommand("run", "Run an experiment described in a TOML file");
  run->add_option("config", c.config,
                  "the experiment (docs/config.md); with --resume, the checkpoint's by default");
  // One value per --set, --unset and --plugin, so that the experiment file after them
  // stays the positional argument.
  run->add_option("--set", c.overrides.set,
                  "override a value: --set projection.ff.rule.tau=500 (repeatable)")
      ->allow_extra_args(false);
  run->add_option("--unset", c.overrides.unset,
                  "remove a key or a whole table before the --set values: --unset "
                  "run.presentations (repeatable; a key that is not there is an error)")
      ->allow_extra_args(false);
  run->add_option("--plugin", c.plugins,
                  "load a plug-in (a shared library) that registers components (repeatable)")
      ->allow_extra_args(false);
  run->add_option("--checkpoint", c.control.checkpoint,
                  "write checkpoints to this HDF5 file (on SIGINT/SIGTERM, at --stop-at and "
                  "every --checkpoint-every ms); default: the file resumed from, else "
                  "CONFIG-NAME.ckpt.h5 here");
  run->add_option("--checkpoint-every", c.control.checkpoint_every,
                  "simulated time between checkpoints [ms]");
  run->add_option("--stop-at", c.control.stop_at,
                  "stop at this simulated time [ms] (or the end of its presentation), after "
                  "writing the checkpoint");
  run->add_option("--resume", c.resume, "go on from this checkpoint");
  run->add_flag("--force", c.force,
                "resume even from a checkpoint of another ratesim version or configuration");
  run->add_flag("-q,--quiet", c.quiet, "no progress bar");
}

// `ratesim run` and `rerun` are one process: under mpirun each rank would run the whole
// experiment into the same files.
void one_process(const char* command) {
  if (ratesim::world().size() > 1)
    throw ratesim::usage_error(fmt::format(
        "{}: an experiment runs in one process, not under mpirun or srun ({} ranks): share "
        "runs out with `ratesim sweep`, or fit data-parallel with `ratesim fit` (docs/mpi.md)",
        command, ratesim::world().size()));
}

int run_experiment(run_command& c) {
  one_process("run");
  for (const auto& p : c.plugins) ratesim::load_plugin(p);
  if (c.config.empty() && c.resume.empty())
    throw ratesim::usage_error("run: give an experiment file, or --resume CHECKPOINT");
  if (c.force && c.resume.empty()) throw ratesim::usage_error("run: --force goes with --resume");
  std::unique_ptr<ratesim::experiment> e;
  if (c.resume.empty()) {
    e = ratesim::experiment::load(c.config, c.overrides);
  } else {
    e = ratesim::experiment::resume(ratesim::read_checkpoint(c.resume), c.config, c.overrides,
                                    c.force);
    for (const auto& w : e->warnings())
      std::fprintf(stderr, "ratesim: warning: resuming although %s\n", w.c_str());
    if (c.control.checkpoint.empty()) c.control.checkpoint = c.resume;
  }
  if (c.control.checkpoint.empty()) {  // a stopped run is never lost: next to the config
    const std::string stem = std::filesystem::path(c.config).stem().string();
    c.control.checkpoint = stem + ".ckpt.h5";
  }
  const std::string name = c.config.empty() ? c.resume : c.config;
  ratesim::stop_signals signals;
  c.control.stop = &signals.flag();
  std::optional<ratesim::cli::progress_bar> bar;
  if (!c.quiet && ::isatty(STDERR_FILENO)) bar.emplace(e->total_steps());
  const bool complete = e->run(bar ? &*bar : nullptr, c.control);
  if (!complete) {
    const int signal = signals.caught();
    std::fprintf(stderr, "ratesim: stopped at t = %g ms%s, checkpoint written%s%s\n", e->sim().time(),
                 signal == SIGINT ? " by SIGINT" : signal == SIGTERM ? " by SIGTERM" : "",
                 "; go on with: ratesim run --resume ", c.control.checkpoint.c_str());
    return signal != 0 ? 128 + signal : 0;
  }
  std::printf("ran %s: %lld steps, t = %g ms%s%s\n", name.c_str(),
              static_cast<long long>(e->total_steps()), e->sim().time(),
              e->recorder() ? ", recorded to " : "",
              e->recorder() ? e->recorder()->path().c_str() : "");
  return 0;
}

struct rerun_command {
  std::string file, output;
  std::vector<std::string> plugins;
  bool overwrite = false, quiet = false;
};

void add_rerun(CLI::App& app, rerun_command& c) {
  auto* rerun = app.add_subcommand(
      "rerun", "Run again what an output file says ran (of ratesim run, or of a Recorder from "
               "Python), to the same bits; docs/python.md");
  rerun->add_option("file", c.file, "the output file to rerun")->required();
  rerun->add_option("-o,--output", c.output, "the file to write the rerun's traces to")
      ->required();
  rerun->add_flag("--overwrite", c.overwrite, "replace --output if it exists");
  rerun->add_option("--plugin", c.plugins,
                    "load a plug-in the run used (repeatable)")
      ->allow_extra_args(false);
  rerun->add_flag("-q,--quiet", c.quiet, "no progress bar");
}

int rerun_file(const rerun_command& c) {
  one_process("rerun");
  for (const auto& p : c.plugins) ratesim::load_plugin(p);
  const ratesim::rerun_plan plan(c.file);
  auto e = plan.build(c.output, c.overwrite);
  ratesim::stop_signals signals;
  std::optional<ratesim::cli::progress_bar> bar;
  if (!c.quiet && ::isatty(STDERR_FILENO)) bar.emplace(e->total_steps());
  if (!plan.run(*e, bar ? &*bar : nullptr, &signals.flag())) {
    const int signal = signals.caught();
    std::fprintf(stderr, "ratesim: rerun stopped at t = %g ms; %s keeps what was recorded\n",
                 e->sim().time(), c.output.c_str());
    return 128 + signal;
  }
  std::printf("reran %s: %lld steps, t = %g ms%s%s%s\n", c.file.c_str(),
              static_cast<long long>(e->sim().steps()), e->sim().time(),
              plan.calls().empty() ? "" : ", the same bits at the end of every run",
              e->recorder() ? "; recorded to " : "",
              e->recorder() ? e->recorder()->path().c_str() : "");
  return 0;
}

// Reports an error and gives the exit code. Under MPI a rank that fails cannot simply
// return (the others would wait for it for ever): it names itself and ends the whole job
// with that code (MPI_Abort).
int fail(int code, const std::exception& e) {
  ratesim::communicator& comm = ratesim::world();
  if (comm.size() == 1) {
    std::fprintf(stderr, "ratesim: %s\n", e.what());
    return code;
  }
  std::fprintf(stderr, "ratesim: rank %d of %d: %s\n", comm.rank(), comm.size(), e.what());
  comm.abort(code);
  return code;  // (abort does not return)
}

void add_sweep(CLI::App& app, ratesim::cli::sweep_command& c) {
  auto* sweep = app.add_subcommand(
      "sweep", "Run an experiment over a grid of --set values, one process per run "
               "(over MPI ranks under mpirun or srun); docs/mpi.md");
  sweep->add_option("config", c.config, "the experiment (docs/config.md)")->required();
  sweep->add_option("--grid", c.grid,
                    "a key and its values: --grid projection.ff.rule.tau=250,500 (repeatable; "
                    "every combination runs)")
      ->allow_extra_args(false);
  sweep->add_option("--set", c.overrides.set, "override a value in every run (repeatable)")
      ->allow_extra_args(false);
  sweep->add_option("--unset", c.overrides.unset,
                    "remove a key or a whole table in every run, before the --set values "
                    "(repeatable)")
      ->allow_extra_args(false);
  sweep->add_option("--plugin", c.plugins, "load a plug-in in every run (repeatable)")
      ->allow_extra_args(false);
  sweep->add_option("--out", c.out, "folder of the runs' files and the summary")
      ->capture_default_str();
  sweep->add_option("-j,--jobs", c.jobs, "runs at a time, one thread each (without MPI)")
      ->capture_default_str();
  sweep->add_option("--checkpoint-every", c.checkpoint_every,
                    "simulated time between each run's checkpoints [ms] (0: only when stopped)");
  sweep->add_option("--metric", c.metrics,
                    "a recording whose last sample, averaged, goes into the summary, e.g. "
                    "metrics/weight_sum_ff (repeatable)")
      ->allow_extra_args(false);
  sweep->add_flag("-q,--quiet", c.quiet, "no line per run");
}

std::string this_program(const char* argv0) {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(argv0) : self.string();
}

}  // namespace

int main(int argc, char** argv) {
  // A file-size limit (ulimit -f) makes a write fail with EFBIG, reported like any other
  // write error, instead of killing the process.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{fmt::format("ratesim {}: rate-based neural circuits with plastic synapses",
                           ratesim::version)};
  app.require_subcommand(1);
  // The version, and the kernels this machine runs (RATESIM_LOG and RATESIM_GEMM force one).
  app.set_version_flag("--version", [] {
    const ratesim::kernel_report k = ratesim::kernels();
    return fmt::format("ratesim {}\nkernels: logarithm {}; matrix products {} (OpenBLAS core {}); "
                       "CPU: {}",
                       ratesim::version, k.log, k.gemm, k.blas_core, k.cpu.empty() ? "-" : k.cpu);
  });
  fit_command fit;
  add_fit(app, fit);
  run_command run;
  add_run(app, run);
  ratesim::cli::sweep_command sweep;
  add_sweep(app, sweep);
  rerun_command rerun;
  add_rerun(app, rerun);
  if (argc > 1 && argv[1][0] != '-' && std::string_view(argv[1]) != "fit" &&
      std::string_view(argv[1]) != "run" && std::string_view(argv[1]) != "sweep" &&
      std::string_view(argv[1]) != "rerun") {
    std::fprintf(stderr,
                 "ratesim: unknown command \"%s\"; known: fit, run, rerun, sweep (see --help)\n",
                 argv[1]);
    return exit_usage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return exit_usage;
  } catch (const ratesim::parameter_error& e) {  // --version with a bad RATESIM_LOG or RATESIM_GEMM
    std::fprintf(stderr, "ratesim: %s\n", e.what());
    return exit_usage;
  }
  try {
    ratesim::kernels();  // a bad RATESIM_LOG or RATESIM_GEMM is a usage error before any work
    if (app.got_subcommand("fit")) return run_fit(fit, argc, argv);
    if (app.got_subcommand("run")) return run_experiment(run);
    if (app.got_subcommand("sweep")) return ratesim::cli::run_sweep(sweep, this_program(argv[0]));
    if (app.got_subcommand("rerun")) return rerun_file(rerun);
  } catch (const ratesim::input_error& e) {
    return fail(exit_input, e);
  } catch (const ratesim::parameter_error& e) {
    return fail(exit_usage, e);
  } catch (const ratesim::lookup_error& e) {
    return fail(exit_usage, e);
  } catch (const ratesim::usage_error& e) {
    return fail(exit_usage, e);
  } catch (const std::exception& e) {
    return fail(exit_failure, e);
  }
  return exit_failure;
}
