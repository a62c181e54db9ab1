#include <ratesim/rerun.hpp>

#include <ratesim/error.hpp>

#include "detail/hdf5.hpp"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <sstream>

namespace ratesim {
namespace h5 = detail::hdf5;

rerun_plan::rerun_plan(const std::string& file)
    : file_(std::filesystem::absolute(file).lexically_normal().string()) {
  const std::string context = fmt::format("rerun \"{}\"", file);
  const error::fields fields{"rerun", "file", file};
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
                                  context),
                      fields);
  const std::string rerunnable = text("rerunnable");
  if (!rerunnable.empty() && rerunnable != "yes")
    throw usage_error(fmt::format("{}: the file cannot be rerun: {}", context,
                                  rerunnable.starts_with("no: ") ? rerunnable.substr(4) : rerunnable),
                      fields);
  config_ = text("config");
  if (config_.empty())
    throw usage_error(fmt::format("{}: the file holds no experiment to rerun (a Recorder made with "
                                  "keep_inputs=False or by an older ratesim)",
                                  context),
                      fields);
  if (H5Aexists(root, "dt") > 0) {
    h5::handle a = h5::checked(H5Aopen(root, "dt", H5P_DEFAULT), context, "opening dt");
    h5::check(H5Aread(a.get(), H5T_NATIVE_DOUBLE, &dt_), context, "reading dt");
  }
  std::istringstream lines(text("rerun_inputs"));
  for (std::string line; std::getline(lines, line);) {
    const auto eq = line.find('=');
    if (eq == std::string::npos)
      throw input_error(fmt::format("{}: the attribute rerun_inputs is damaged: \"{}\"", context,
                                    line),
                        {"rerun", "rerun_inputs", line});
    inputs_.emplace_back(line.substr(0, eq), line.substr(eq + 1));
  }
  if (rerunnable.empty()) return;  // a file of `ratesim run`: one run
  if (!(dt_ > 0))
    throw input_error(fmt::format("{}: the attribute dt is missing or {}", context, dt_),
                      {"rerun", "dt", fmt::format("{}", dt_)});
  if (!h5::exists(root, "inputs/runs"))
    throw input_error(fmt::format("{}: /inputs/runs is missing", context), fields);
  h5::handle runs = h5::open_dataset(root, "inputs/runs", context);
  const auto shape = h5::shape(runs.get(), context);
  if (shape.size() != 2 || shape[1] != 5)
    throw input_error(fmt::format("{}: /inputs/runs is not [n, 5]", context), fields);
  const std::vector<double> rows = h5::read_all(runs.get(), context);
  for (std::size_t i = 0; i < shape[0]; ++i) {
    const double* r = &rows[5 * i];
    for (int j = 0; j < 5; ++j)
      if (!(r[j] >= 0 && r[j] < 9007199254740992.0 && r[j] == std::floor(r[j])) ||
          (j == 4 && r[j] > 2))
        throw input_error(fmt::format("{}: /inputs/runs row {} is damaged (column {} is {})",
                                      context, i, j, r[j]),
                          {"rerun", "/inputs/runs", fmt::format("{}", r[j])});
    calls_.push_back({static_cast<step_count>(r[0]), static_cast<step_count>(r[1]),
                      static_cast<std::uint64_t>(r[2]), static_cast<std::uint64_t>(r[3]),
                      static_cast<ending>(r[4])});
  }
  step_count expected = 0;
  std::uint64_t state = calls_.empty() ? 0 : calls_.front().before;
  for (std::size_t i = 0; i < calls_.size(); ++i) {
    const call& c = calls_[i];
    if (c.end < c.first)
      throw input_error(fmt::format("{}: /inputs/runs row {} ends (step {}) before it starts "
                                    "(step {})",
                                    context, i, c.end, c.first),
                        fields);
    if (c.first != expected || c.before != state)
      throw usage_error(fmt::format(
          "{}: the file cannot be rerun: between the run calls that ended at step {} and "
          "started at step {}, the network was changed from Python (its weights, state, "
          "learning-rate scale or stimuli, or a checkpoint restored), which the file's "
          "description does not say",
          context, expected, c.first),
          fields);
    if (c.how == ending::paused_in_a_mini_batch)
      throw usage_error(fmt::format("{}: the file cannot be rerun: a run call stopped (Ctrl-C) at "
                                    "step {} with a mini-batch open, and a rerun ends its runs "
                                    "with their mini-batches applied",
                                    context, c.end),
                        fields);
    expected = c.end;
    state = c.after;
  }
}

std::unique_ptr<experiment> rerun_plan::build(const std::string& output, bool overwrite) const {
  const std::string context = fmt::format("rerun \"{}\"", file_);
  if (output.empty())
    throw usage_error(context + ": give the file to write (--output)", {"rerun", "output", ""});
  std::error_code ec;
  if (std::filesystem::absolute(output).lexically_normal().string() == file_ ||
      std::filesystem::equivalent(output, file_, ec))
    throw usage_error(fmt::format("{}: the output must be another file than the one rerun",
                                  context),
                      {"rerun", "output", output});
  config_overrides overrides;
  overrides.set.push_back("output.file=" + toml_quote(output));
  overrides.set.push_back(fmt::format("output.mode=\"{}\"", overwrite ? "overwrite" : "create"));
  for (const auto& [key, dataset] : inputs_)
    overrides.set.push_back(fmt::format("{}={}", key, toml_quote(file_ + ":" + dataset)));
  // The length, from the calls (the description says duration = 0).
  if (!calls_.empty())
    overrides.set.push_back(
        fmt::format("run.duration={}", static_cast<double>(calls_.back().end) * dt_));
  auto e = experiment::parse(config_, context + "'s config", overrides);
  if (!calls_.empty() && e->sim().net().fingerprint() != calls_.front().before)
    throw usage_error(fmt::format(
        "{}: the file cannot be rerun: the network its description builds is not the one that "
        "ran (changed from Python before the recorder was attached, or made with a plug-in "
        "that is not loaded now, or that changed)",
        context),
        {"rerun", "file", file_});
  // Its own output replays the calls only through this file.
  if (!calls_.empty() && e->recorder())
    e->recorder()->keep_for_rerun(
        {{}, {{"rerunnable", fmt::format("no: it is a rerun of {}; rerun that file", file_)}}});
  return e;
}

bool rerun_plan::run(experiment& e, observer* progress, const std::atomic<int>* stop) const {
  if (calls_.empty()) {
    run_control control;
    control.stop = stop;
    return e.run(progress, control);
  }
  for (const call& c : calls_) {
    if (!e.run_steps(c.end - e.sim().steps(), progress, stop)) return false;
    progress = nullptr;  // attached for good by the first call
    if (e.sim().net().fingerprint() != c.after)
      throw error(fmt::format("rerun \"{}\": the rerun differs from the run at step {} (t = {} "
                              "ms): not the same bits",
                              file_, c.end, static_cast<double>(c.end) * e.sim().dt()),
                  {"rerun", "step", fmt::format("{}", c.end)});
  }
  return true;
}

}  // namespace ratesim
