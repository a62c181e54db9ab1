#pragma once
// What a network and simulation built from Python are, said as an experiment file says
// it, so that a Recorder's file can be rerun (`ratesim rerun FILE --output NEW`,
// docs/python.md, "Rerunning").
//
// The binding tells this file about every building call (add_population, connect, adapt,
// stimulate_*), every simulation it makes and every run. When a Recorder is attached, its
// file gets the description as its `config` (TOML), the arrays Python gave (each
// projection's weights as they are then, each pattern set) as /inputs/<name>, and
// whether it can be rerun (attribute rerunnable: "yes", or "no: " and why: a rule written
// in Python, runs before the recorder was attached, ...). Each run then adds a row to
// /inputs/runs with the network's fingerprint at both ends, so that `ratesim rerun` can
// tell whether anything was changed from Python between runs.

#include <ratesim/hdf5_recorder.hpp>
#include <ratesim/network.hpp>
#include <ratesim/simulation.hpp>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <optional>
#include <string>
#include <vector>

namespace ratesim::python {

namespace py = pybind11;

// The HDF5 recorder as Python sees it: it also keeps the names of what it records (the
// groups of the file, e.g. "output/rate") for its repr, and the same as [[record]]
// tables of an experiment file, for the file's description.
class recorder : public hdf5_recorder {
 public:
  recorder(const std::string& path, const options& o) : hdf5_recorder(path, o), made_with(o) {}
  options made_with;
  bool keep_inputs = true;  // what a rerun needs (false: a Monitor's scratch file)
  std::vector<std::string> recorded;
  std::vector<std::string> record_tables;  // the body of each [[record]]
};

// The body of a [[record]] table for a schedule (every, every_steps, start, stop).
std::string schedule_toml(double every, step_count every_steps, double start, double stop);
// `key = value` lines of keyword arguments (numbers, strings, flags).
std::string keyword_toml(const py::dict& kw);

// ---- Building calls (each after the call succeeded) ---------------------------------
void new_network(const network& net);
void added_population(const network& net, const std::string& model, const std::string& name,
                      const py::kwargs& kw);
// `rule` empty: a rule written in Python.
void adapted(const network& net, const std::string& population, const std::string& rule,
             const py::kwargs& kw);
// `rule` empty: fixed weights; `python_rule`: a rule written in Python.
void connected(const network& net, const std::string& name, const std::string& pre,
               const std::string& post, const std::string& current, const std::string& rule,
               bool python_rule, const py::kwargs& kw);
void stimulated_with_patterns(const network& net, const std::string& target, double duration,
                              bool shuffle, std::uint64_t seed);
void stimulated(const network& net, const std::string& target, const std::string& source,
                std::uint64_t rng, const py::kwargs& kw);
void stimulated_constant(const network& net, const std::string& target,
                         const py::array_t<double, py::array::forcecast>& value);

// ---- Simulations ----------------------------------------------------------------------
// A simulation in `regime`, with [run]'s other lines `lines` (TOML) and, for the ode
// regime, whether it settles first (`settle`; settled() turns it on).
void new_simulation(const simulation& sim, const std::string& regime, std::string lines,
                    std::optional<bool> settle = std::nullopt);
// OdeSimulation.settle() was called (before any run: the description says settle = true).
void settled(const simulation& sim);

// Attaches `r` to `sim`: a recorder made without `config` gets the description, the
// inputs and the run log (above). Then every run of `sim` is logged in its file.
void attach(simulation& sim, recorder& r);

// Logs a run of `sim` from Python in the files of its recorders: make one before the run,
// call done() after it, however it ended.
class run_log {
 public:
  explicit run_log(simulation& sim);
  void done();

 private:
  simulation& sim_;
  std::vector<recorder*> recorders_;
  step_count first_ = 0;
  std::uint64_t before_ = 0;
};

// The stimuli's identities (stimulus_slot::generation): a stimulus replaced between runs
// is a change no description holds.
std::vector<std::uint64_t> stimulus_generations(const network& net);

}  // namespace ratesim::python
