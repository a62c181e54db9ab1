#include <ratesim/rerun.hpp>

#include <ratesim/error.hpp>

#include "detail/hdf5.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <sstream>

namespace ratesim {
namespace h5 = detail::hdf5;


rerun_plan::rerun_plan(std::string file) : file_(std::move(file)) {
  const std::string context = fmt::format("rerun \"{}\"", file_);
  h5::quiet_errors quiet;
  h5::handle f = h5::open_file_for_reading(file_, context);
  const hid_t root = f.get();
  auto text = [&](const char* name) {
    return H5Aexists(root, name) > 0 ? h5::read_string_attribute(root, name, context)
                                     : std::string();
  };
  if (text("format") != "ratesim" || text("content") == "fit")
    throw usage_error(fmt::format("{}: not the traces of a ratesim run (a file of ratesim run or "
                                  "of a Recorder)",
                                  context));
  const std::string rerunnable = text("rerunnable");
  if (!rerunnable.empty() && rerunnable != "yes")
    throw usage_error(fmt::format("{}: the file cannot be rerun: {}", context,
                                  rerunnable.starts_with("no: ") ? rerunnable.substr(4) : rerunnable));
  config_ = text("config");
  if (config_.empty() || (rerunnable.empty() && config_.starts_with("# Run from Python")))
    throw usage_error(fmt::format("{}: the file holds no experiment to rerun (written by a "
                                  "Recorder of an older ratesim, or given config = \"\")",
                                  context));
  std::istringstream lines(text("rerun_inputs"));
  for (std::string line; std::getline(lines, line);) {
    const auto eq = line.find('=');
    if (eq == std::string::npos)
      throw input_error(fmt::format("{}: a damaged rerun_inputs line \"{}\"", context, line));
    inputs_.emplace_back(line.substr(0, eq), line.substr(eq + 1));
  }
  if (rerunnable.empty()) return;  // a file of `ratesim run`: one run
  if (!h5::exists(root, "inputs/runs"))
    throw input_error(fmt::format("{}: /inputs/runs is missing", context));
  h5::handle runs = h5::open_dataset(root, "inputs/runs", context);
  const auto shape = h5::shape(runs.get(), context);
  if (shape.size() != 2 || shape[1] != 4)
    throw input_error(fmt::format("{}: /inputs/runs is not [n, 4]", context));
  const std::vector<double> rows = h5::read_all(runs.get(), context);
  for (std::size_t i = 0; i < shape[0]; ++i) {
    const double* r = &rows[4 * i];
    for (int j = 0; j < 4; ++j)
      if (!(r[j] >= 0 && r[j] < 9007199254740992.0 && r[j] == std::floor(r[j])))
        throw input_error(fmt::format("{}: /inputs/runs row {} is damaged", context, i));
    calls_.push_back({static_cast<step_count>(r[0]), static_cast<step_count>(r[1]),
                      static_cast<std::uint64_t>(r[2]), static_cast<std::uint64_t>(r[3])});
  }
  step_count expected = 0;
  std::uint64_t state = calls_.empty() ? 0 : calls_.front().before;
  for (std::size_t i = 0; i < calls_.size(); ++i) {
    const call& c = calls_[i];
    if (c.first != expected || c.end < c.first)
      throw input_error(fmt::format("{}: /inputs/runs row {} does not go on from the run before "
                                    "it (steps {} to {})",
                                    context, i, c.first, c.end));
    if (c.before != state)
      throw usage_error(fmt::format(
          "{}: the file cannot be rerun: between the runs that ended and started at step {}, "
          "the network was changed from Python (its weights, state or learning-rate scale), "
          "which the file's description does not say",
          context, c.first));
    expected = c.end;
    state = c.after;
  }
}

std::unique_ptr<experiment> rerun_plan::build(const std::string& output, bool overwrite) const {
  const std::string context = fmt::format("rerun \"{}\"", file_);
  if (output.empty()) throw usage_error(context + ": give the file to write (--output)");
  std::error_code ec;
  if (output == file_ || std::filesystem::equivalent(output, file_, ec))
    throw usage_error(fmt::format("{}: the output must be another file than the one rerun",
                                  context));
  config_overrides overrides;
  overrides.set.push_back("output.file=" + toml_quote(output));
  overrides.set.push_back(fmt::format("output.mode=\"{}\"", overwrite ? "overwrite" : "create"));
  for (const auto& [key, dataset] : inputs_)
    overrides.set.push_back(fmt::format("{}={}", key, toml_quote(file_ + ":" + dataset)));
  if (!calls_.empty()) {
    // The length, from the calls (the description says duration = 0).
    auto e = experiment::parse(config_, context + "'s config", overrides);
    overrides.set.push_back(fmt::format(
        "run.duration={}", static_cast<double>(calls_.back().end) * e->sim().dt()));
  }
  auto e = experiment::parse(config_, context + "'s config", overrides);
  if (!calls_.empty() && e->sim().net().fingerprint() != calls_.front().before)
    throw usage_error(fmt::format(
        "{}: the file cannot be rerun: the network its description builds is not the one that "
        "ran (was it changed from Python before the recorder was attached, or made with a "
        "plug-in not loaded now?)",
        context));
  return e;
}

bool rerun_plan::run(experiment& e, observer* progress, const std::atomic<int>* stop) const {
  run_control control;
  control.stop = stop;
  if (calls_.empty()) return e.run(progress, control);
  for (const call& c : calls_) {
    const double end = static_cast<double>(c.end) * e.sim().dt();
    while (e.sim().steps() < c.end) {
      control.stop_at = end;
      const bool complete = e.run(progress, control);
      progress = nullptr;  // attached for good by the first run
      if (!complete && stop && stop->load() != 0) return false;
    }
    if (e.sim().net().fingerprint() != c.after)
      throw error(fmt::format("rerun \"{}\": the rerun differs from the run at step {} (t = {} "
                              "ms): not the same bits",
                              file_, c.end, end));
  }
  return true;
}

}  // namespace ratesim
