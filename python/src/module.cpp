// The Python module ratesim._core: the same engine, driven from Python. Weights and the
// state vector come back as numpy views of the network's memory (no copies); a
// plasticity rule can be a Python class (python/ratesim/__init__.py: ratesim.Rule).

#include <ratesim/checkpoint_file.hpp>
#include <ratesim/data.hpp>
#include <ratesim/error.hpp>
#include <ratesim/experiment.hpp>
#include <ratesim/fit.hpp>
#include <ratesim/hdf5_recorder.hpp>
#include <ratesim/network.hpp>
#include <ratesim/plugin.hpp>
#include <ratesim/projection.hpp>
#include <ratesim/random.hpp>
#include <ratesim/signals.hpp>
#include <ratesim/stimulus.hpp>
#include <ratesim/regimes/ode.hpp>
#include <ratesim/regimes/quasi_static.hpp>
#include <ratesim/version.hpp>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <cmath>
#include <optional>
#include <type_traits>

#include "interrupt.hpp"
#include "recipe.hpp"

namespace py = pybind11;
using namespace ratesim;
using ratesim::python::recorder;

namespace {

// Named parameters from Python keyword arguments (numbers and strings).
parameters to_parameters(const py::kwargs& kwargs) {
  parameters out;
  for (const auto& [key, value] : kwargs) {
    const std::string k = py::str(key);
    if (py::isinstance<py::str>(value))
      out.set(k, value.cast<std::string>());
    else if (py::isinstance<py::bool_>(value))
      out.set(k, value.cast<bool>());
    else if (!(py::isinstance<py::float_>(value) || py::isinstance<py::int_>(value)))
      throw parameter_error(fmt::format("parameter {} must be a number, a string or a flag", k));
    else
      out.set(k, value.cast<double>());
  }
  return out;
}

// A read-write numpy view of column-major memory (rows × cols), kept alive by `owner`.
py::array matrix_view_of(double* data, Eigen::Index rows, Eigen::Index cols, py::handle owner) {
  return py::array(py::dtype::of<double>(), {rows, cols},
                   {sizeof(double), sizeof(double) * static_cast<std::size_t>(rows)}, data, owner);
}

py::array vector_view_of(double* data, Eigen::Index n, py::handle owner) {
  return py::array(py::dtype::of<double>(), {n}, {sizeof(double)}, data, owner);
}

// Patterns from Python as (N, D), one pattern per row: in memory that is the D × N
// column-major matrix ratesim uses.
matrix patterns_from(const py::array_t<double, py::array::c_style | py::array::forcecast>& a) {
  if (a.ndim() != 2)
    throw input_error(
        fmt::format("patterns must be a 2-D array (N patterns, D values), got {} "
                    "dimensions",
                    a.ndim()));
  return Eigen::Map<const matrix>(a.data(), a.shape(1), a.shape(0));
}

// What a rule written in Python is called in messages: its `name`, else its class's name.
std::string name_of(const py::object& rule) {
  return py::hasattr(rule, "name") ? py::str(rule.attr("name")).cast<std::string>()
                                   : py::str(py::type::of(rule).attr("__name__")).cast<std::string>();
}

// Whether a Python rule defines an optional method (the base classes set it to None).
bool has_optional(const py::object& rule, const char* method) {
  return py::hasattr(rule, method) && !rule.attr(method).is_none();
}

// A plasticity rule whose dW/dt comes from a Python object with derivative(W, pre, post),
// or derivative(W, pre, post, post_state) when it names a `post_variable`; with a
// post_spike(W, c, pre, scale) method it is spike-triggered too (the spiking regime).
class python_rule : public plasticity_rule {
 public:
  explicit python_rule(py::object rule) : rule_(std::move(rule)) {
    if (!py::hasattr(rule_, "derivative") || !PyCallable_Check(rule_.attr("derivative").ptr()))
      throw parameter_error(
          fmt::format("connect: rule must be a registered rule's name or an object with a "
                      "derivative(W, pre, post) method (a ratesim.Rule), got {}",
                      py::repr(rule_).cast<std::string>()),
          {"connect", "rule", py::repr(rule_).cast<std::string>()});
    name_ = name_of(rule_);
    constrained_ = has_optional(rule_, "constrain");
    spike_triggered_ = has_optional(rule_, "post_spike");
    if (has_optional(rule_, "post_variable"))
      post_variable_ = py::str(rule_.attr("post_variable")).cast<std::string>();
  }
  std::string_view name() const override { return name_; }
  std::string_view post_variable() const override { return post_variable_; }
  void derivative(matrix_view W, vector_view pre, vector_view post,
                  matrix_span dWdt) const override {
    call(W, pre, post, nullptr, dWdt);
  }
  void derivative_with_post(matrix_view W, vector_view pre, vector_view post,
                            vector_view post_state, matrix_span dWdt) const override {
    call(W, pre, post, post_variable_.empty() ? nullptr : &post_state, dWdt);
  }
  bool spike_triggered() const override { return spike_triggered_; }
  void post_spike(matrix_span W, Eigen::Index c, vector_view pre, double scale) const override {
    py::gil_scoped_acquire gil;
    py::array p = vector_view_of(const_cast<double*>(pre.data()), pre.size(), py::none());
    py::detail::array_proxy(p.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
    rule_.attr("post_spike")(matrix_view_of(W.data(), W.rows(), W.cols(), py::none()), c, p,
                             scale);
  }
  bool has_constraint() const override { return constrained_; }
  void constrain(matrix_span W) const override {
    py::gil_scoped_acquire gil;
    rule_.attr("constrain")(matrix_view_of(W.data(), W.rows(), W.cols(), py::none()));
  }

 private:
  void call(matrix_view W, vector_view pre, vector_view post, const vector_view* post_state,
            matrix_span dWdt) const {
    py::gil_scoped_acquire gil;
    // Views without copies; read-only so that the rule cannot change the state by accident.
    auto view = [](const double* p, py::ssize_t rows, py::ssize_t cols, py::ssize_t outer) {
      py::array a(py::dtype::of<double>(), {rows, cols},
                  {py::ssize_t(sizeof(double)), py::ssize_t(sizeof(double)) * outer}, p,
                  py::none());
      py::detail::array_proxy(a.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
      return a;
    };
    auto vector_of = [&](const vector_view& v) {
      return view(v.data(), v.size(), 1, v.size()).attr("reshape")(v.size());
    };
    py::array w = view(W.data(), W.rows(), W.cols(), W.outerStride());
    py::object result = post_state ? rule_.attr("derivative")(w, vector_of(pre), vector_of(post),
                                                              vector_of(*post_state))
                                   : rule_.attr("derivative")(w, vector_of(pre), vector_of(post));
    auto d = py::array_t<double, py::array::forcecast>::ensure(result);
    if (!d || d.ndim() != 2 || d.shape(0) != W.rows() || d.shape(1) != W.cols())
      throw input_error(
          fmt::format("rule \"{}\": derivative must return an array of shape ({}, {})", name_,
                      W.rows(), W.cols()));
    for (Eigen::Index c = 0; c < W.rows(); ++c)
      for (Eigen::Index dd = 0; dd < W.cols(); ++dd) dWdt(c, dd) = d.at(c, dd);
  }

  py::object rule_;
  std::string name_;
  std::string post_variable_;
  bool constrained_ = false;
  bool spike_triggered_ = false;
};

// An intrinsic rule whose θ, bias and dθ/dt come from a Python object (a
// ratesim.IntrinsicRule): initial_state(n), bias(theta), derivative(theta, rates) and
// optionally constrain(theta) in place.
class python_intrinsic_rule : public intrinsic_rule {
 public:
  explicit python_intrinsic_rule(py::object rule) : rule_(std::move(rule)) {
    for (const char* method : {"initial_state", "bias", "derivative"})
      if (!py::hasattr(rule_, method) || !PyCallable_Check(rule_.attr(method).ptr()))
        throw parameter_error(
            fmt::format("adapt: rule must be a registered intrinsic rule's name or an object "
                        "with initial_state(n), bias(theta) and derivative(theta, rates) "
                        "methods (a ratesim.IntrinsicRule), got {}",
                        py::repr(rule_).cast<std::string>()),
            {"adapt", "rule", py::repr(rule_).cast<std::string>()});
    name_ = name_of(rule_);
    variable_ = py::hasattr(rule_, "variable") ? py::str(rule_.attr("variable")).cast<std::string>()
                                               : std::string("theta");
    constrained_ = has_optional(rule_, "constrain");
  }
  std::string_view name() const override { return name_; }
  std::string_view variable() const override { return variable_; }
  void initial_state(vector_span theta) const override {
    py::gil_scoped_acquire gil;
    copy_out(rule_.attr("initial_state")(theta.size()), theta, "initial_state");
  }
  void bias(vector_view theta, vector_span b) const override {
    py::gil_scoped_acquire gil;
    copy_out(rule_.attr("bias")(read_only(theta)), b, "bias");
  }
  void derivative(vector_view theta, vector_view rates, vector_span dtheta) const override {
    py::gil_scoped_acquire gil;
    copy_out(rule_.attr("derivative")(read_only(theta), read_only(rates)), dtheta, "derivative");
  }
  bool has_constraint() const override { return constrained_; }
  void constrain(vector_span theta) const override {
    py::gil_scoped_acquire gil;
    rule_.attr("constrain")(vector_view_of(theta.data(), theta.size(), py::none()));
  }

 private:
  static py::array read_only(vector_view v) {
    py::array a = vector_view_of(const_cast<double*>(v.data()), v.size(), py::none());
    py::detail::array_proxy(a.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
    return a;
  }
  void copy_out(const py::object& result, vector_span out, const char* method) const {
    auto a = py::array_t<double, py::array::forcecast>::ensure(result);
    if (!a || a.ndim() != 1 || a.shape(0) != out.size())
      throw input_error(fmt::format("intrinsic rule \"{}\": {} must return an array of shape ({},)",
                                    name_, method, out.size()));
    for (Eigen::Index i = 0; i < out.size(); ++i) out[i] = a.at(i);
  }

  py::object rule_;
  std::string name_, variable_;
  bool constrained_ = false;
};

schedule make_schedule(double every, step_count every_steps, double start, double stop) {
  return schedule{every, every_steps, start, stop};
}

// An observer written in Python (a ratesim.Observer subclass). Runs go on without the GIL:
// each call takes it.
class python_observer : public observer {
 public:
  void start(const network&, double dt) override {
    py::gil_scoped_acquire gil;
    if (!py::get_override(this, "observe"))
      throw usage_error("a ratesim.Observer subclass must define observe(step, time)");
    dt_ = dt;
    custom_schedule_ = static_cast<bool>(py::get_override(this, "next_due"));
    const py::object self = py::cast(this);
    every_ = py::hasattr(self, "every_steps") ? self.attr("every_steps").cast<step_count>() : 1;
    if (every_ < 1) throw_parameter_error("Observer", "every_steps", ">= 1", every_);
    if (py::function f = py::get_override(this, "start")) f(dt);
  }
  step_count next_due(step_count from) const override {
    if (!custom_schedule_) return (from + every_ - 1) / every_ * every_;
    py::gil_scoped_acquire gil;
    return py::get_override(this, "next_due")(from).cast<step_count>();
  }
  void observe(step_count step, const network&) override {
    py::gil_scoped_acquire gil;
    py::get_override(this, "observe")(step, static_cast<double>(step) * dt_);
  }
  void flush() override {
    py::gil_scoped_acquire gil;
    if (py::function f = py::get_override(this, "flush")) f();
  }

 private:
  double dt_ = 0.0;
  bool custom_schedule_ = false;
  step_count every_ = 1;
};

// Binds a recorder method that records something of a projection on a schedule; `group`
// names the recording ({} is the projection).
auto projection_recording(void (hdf5_recorder::*what)(std::string, schedule),
                          std::string_view group, std::string_view kind) {
  return [what, group, kind](recorder& r, const std::string& projection, double every,
                             step_count every_steps, double start, double stop) {
    (r.*what)(projection, make_schedule(every, every_steps, start, stop));
    r.recorded.push_back(fmt::format(fmt::runtime(group), projection));
    r.record_tables.push_back(fmt::format("what = \"{}\"\nprojection = {}\n{}", kind,
                                          toml_quote(projection),
                                          python::schedule_toml(every, every_steps, start, stop)));
  };
}

// The `progress` argument of long calls: None or False (no report), True (a bar: tqdm when
// installed, ratesim/_progress.py) or a callable(done, total). `report` is None or a
// callable; a bar is closed however the run ends.
class progress_report {
 public:
  progress_report(const py::object& progress, step_count total, const char* unit)
      : report(progress) {
    if (py::isinstance<py::bool_>(progress))
      report = progress.cast<bool>()
                   ? py::module_::import("ratesim._progress").attr("bar")(total, unit)
                   : py::none();
    if (!report.is_none() && !PyCallable_Check(report.ptr()))
      throw py::type_error("progress must be None, True, False or a callable(done, total)");
  }
  progress_report(const progress_report&) = delete;
  progress_report& operator=(const progress_report&) = delete;
  ~progress_report() {
    if (report.is_none() || !py::hasattr(report, "close")) return;
    try {
      report.attr("close")();
    } catch (py::error_already_set& e) {
      e.discard_as_unraisable("closing the progress bar");
    }
  }

  py::object report;
};

// Reports an experiment's progress (run_experiment(progress=...)): sees the network every
// `every` steps, and at most every 0.2 s of wall-clock time (and at the end) calls
// report(steps done, total) with the GIL. An error raised there ends the run.
class progress_observer : public observer {
 public:
  progress_observer(py::object report, step_count start, step_count total)
      : report_(std::move(report)),
        start_(start),
        total_(total),
        every_(std::max<step_count>(1, total / 1000)) {}
  void start(const network&, double) override {}
  step_count next_due(step_count from) const override {
    const step_count end = start_ + total_;
    if (from > end) return never;
    const step_count next = start_ + (from - start_ + every_ - 1) / every_ * every_;
    return std::min(next, end);
  }
  void observe(step_count step, const network&) override {
    const auto now = std::chrono::steady_clock::now();
    if (step < start_ + total_ && now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    py::gil_scoped_acquire gil;
    report_(step - start_, total_);
  }
  void flush() override {}

 private:
  py::object report_;
  step_count start_, total_, every_;
  std::chrono::steady_clock::time_point last_{};
};

// A long call from Python (python/src/interrupt.hpp): `first()` starts the run, `go_on(left)`
// continues it after a pause until done() reaches `total` (in the call's own unit:
// presentations or steps), with `progress` reports.
void run_from_python(simulation& sim, const py::object& progress, step_count total,
                     const char* unit, const std::function<step_count()>& done,
                     const std::function<void()>& first,
                     const std::function<void(step_count)>& go_on) {
  const progress_report reporting(progress, total, unit);
  const py::object& report = reporting.report;
  // Each call is logged in the files of recorders that keep what a rerun needs; a call
  // refused because the simulation is running already is not.
  std::optional<python::run_log> log;
  if (!python::running(sim)) log.emplace(sim);
  try {
    python::run_interruptibly(
        sim, first, [&] { go_on(total - done()); },
        report.is_none() ? std::function<void()>{} : [&] { report(done(), total); });
  } catch (...) {
    if (log) log->done();  // the part that ran (a KeyboardInterrupt stops between steps)
    throw;
  }
  if (log) log->done();
}

// Binds a run of n `unit`s, as `run` does them and `count` counts them.
template <class Simulation>
auto counted_run(step_count (Simulation::*count)() const, void (Simulation::*run)(step_count),
                 const char* unit) {
  return [=](Simulation& sim, step_count n, const py::object& progress) {
    const step_count start = (sim.*count)();
    run_from_python(
        sim, progress, n, unit, [&] { return (sim.*count)() - start; }, [&] { (sim.*run)(n); },
        [&](step_count left) { (sim.*run)(left); });
  };
}

// Messages in the names a Python user knows: the engine's C++ spellings of classes and
// options replaced by the module's.
std::string python_spelling(std::string message) {
  static constexpr std::pair<std::string_view, std::string_view> names[] = {
      {"file_mode::create", "mode=\"create\""},
      {"file_mode::overwrite", "mode=\"overwrite\""},
      {"file_mode::append", "mode=\"append\""},
      {"hdf5_recorder \"", "Recorder \""},
      {"quasi_static_simulation", "QuasiStaticSimulation"},
      {"ode_simulation", "OdeSimulation"},
      // ratesim.fit's arguments (the messages of resolve_fit_files, claim_fit_output)
      {"--train-images", "train_images"},
      {"--train-labels", "train_labels"},
      {"--test-images", "test_images"},
      {"--test-labels", "test_labels"},
      {"--data", "data"},
      {"--overwrite", "overwrite=True"},
  };
  for (const auto& [cpp, python] : names)
    for (auto at = message.find(cpp); at != std::string::npos;
         at = message.find(cpp, at + python.size()))
      message.replace(at, cpp.size(), python);
  return message;
}

std::string repr(const network& net) {
  std::string out = "<ratesim.Network";
  for (std::size_t i = 0; i < net.population_count(); ++i) {
    const population& p = net.get_population(i);
    out += fmt::format("{} {} ({}, {} units)", i == 0 ? ": populations" : ",", p.name(), p.kind(),
                       p.size());
  }
  bool first = true;
  for (const projection& p : net.projections()) {
    out += fmt::format("{} {} {} -> {} ({} x {}, {}", first ? "; projections" : ",", p.name(),
                       net.get_population(p.pre()).name(), net.get_population(p.post()).name(),
                       p.rows(), p.cols(), p.current().name());
    out += p.plastic() ? fmt::format(", rule {})", p.rule()->name()) : ", static)";
    first = false;
  }
  if (net.population_count() == 0) out += ": empty";
  if (net.laid_out()) out += fmt::format("; {} state values", net.state().size());
  return out + ">";
}


// `kind` e.g. "OdeSimulation", `details` what the regime adds.
std::string repr(simulation& sim, std::string_view kind, const std::string& details) {
  return fmt::format(
      "<ratesim.{}: {}t = {} ms ({} steps of {} ms); {} populations, {} "
      "projections>",
      kind, details, sim.time(), sim.steps(), sim.dt(), sim.net().population_count(),
      sim.net().projections().size());
}


// ---- ratesim.fit ----------------------------------------------------------------------

// The Python keyword of a `ratesim fit` option: "-C,--components" is components,
// "--init-noise" init_noise, "-A" A.
std::string fit_keyword(std::string_view flags) {
  std::string_view last = flags.substr(flags.rfind(',') + 1);
  while (last.starts_with('-')) last.remove_prefix(1);
  std::string keyword(last);
  std::replace(keyword.begin(), keyword.end(), '-', '_');
  return keyword;
}

// A keyword argument of ratesim.fit as the type of the option's field; another type is a
// parameter_error naming the option.
template <class T>
T fit_value(const std::string& key, const py::handle& value) {
  const std::string given = py::repr(value).cast<std::string>();
  auto wrong = [&](const char* expected) {
    return parameter_error(fmt::format("fit: {} must be {}, got {}", key, expected, given),
                           {"fit", key, given});
  };
  if constexpr (std::is_same_v<T, bool>) {
    if (!py::isinstance<py::bool_>(value)) throw wrong("True or False");
    return value.cast<bool>();
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!py::isinstance<py::str>(value)) throw wrong("a string");
    return value.cast<std::string>();
  } else {
    const char* expected = !std::is_integral_v<T>     ? "a number"
                           : std::is_unsigned_v<T> ? "a whole number >= 0"
                                                   : "a whole number";
    if (py::isinstance<py::bool_>(value) || py::isinstance<py::str>(value)) throw wrong(expected);
    try {
      return value.cast<T>();
    } catch (const py::cast_error&) {
      throw wrong(expected);
    }
  }
}

// fit_options from ratesim.fit's keyword arguments, by the options' Python keywords; an
// unknown keyword is a parameter_error listing the known ones.
fit_options fit_options_from(const py::kwargs& kwargs) {
  fit_options o;
  std::vector<std::string> known;
  std::size_t used = 0;
  for_each_fit_option(o, [&](const char* flags, const char*, auto& field, bool) {
    known.push_back(fit_keyword(flags));
    if (!kwargs.contains(known.back())) return;
    field = fit_value<std::remove_reference_t<decltype(field)>>(known.back(),
                                                                 kwargs[known.back().c_str()]);
    ++used;
  });
  if (used == kwargs.size()) return o;
  std::vector<std::string> unknown;
  for (const auto& [key, value] : kwargs)
    if (std::find(known.begin(), known.end(), py::str(key).cast<std::string>()) == known.end())
      unknown.push_back(py::str(key));
  throw parameter_error(fmt::format("fit: unknown option(s) {}; known: {}",
                                    fmt::join(unknown, ", "), fmt::join(known, ", ")));
}

// ratesim.fit's docstring: the call, then every option with its default, from the options
// `ratesim fit` takes.
std::string fit_doc() {
  std::string doc =
      "Fits a Poisson mixture to labelled data by EM or learns it with the circuit, as "
      "`ratesim fit` does (docs/fitting.md), and returns what `ratesim fit --json` prints "
      "as a dict (loglik_train, loglik_test, error, train_error, units_used, priors, the "
      "learning curves, ...; None for NaN), with `priors` (π_c) and the learned `W` (C, D) "
      "and classifier `B` (K, C) as numpy arrays; method='spiking' adds `spikes`: for each "
      "population ('input', 'output'), the (timestamps [ms], node_ids) of the spikes of the "
      "last presentation.\n\n"
      "Data: train_images and train_labels (test_images and test_labels optional), each a "
      "file (IDX, FILE.h5:/dataset, .npy, FILE.npz:NAME, .csv: ratesim.read_images) or an "
      "array: images (N, D) or (N, rows, cols), labels (N) of integers >= 0; or "
      "data='mnist' or 'fashion-mnist' (data/, scripts/fetch-data). output='fit.h5' writes "
      "W, B and the curves (overwrite=True replaces an existing file). progress=True shows "
      "a bar, a callable(done, total) gets the EM steps or epochs done. Ctrl-C stops the "
      "fit (KeyboardInterrupt); the GIL is released meanwhile.\n\n"
      "Options (the command line's, '_' for '-'), with their defaults:\n";
  fit_options defaults;
  for_each_fit_option(defaults, [&](const char* flags, const char* help, auto& field,
                                    bool show_default) {
    using T = std::remove_reference_t<decltype(field)>;
    std::string value = show_default ? fmt::format("{}", field) : "the method's";
    if constexpr (std::is_same_v<T, bool>) value = field ? "True" : "False";
    if constexpr (std::is_same_v<T, std::string>)
      if (show_default) value = fmt::format("'{}'", field);
    doc += fmt::format("    {} = {}: {}\n", fit_keyword(flags), value, help);
  });
  return doc;
}

// One of ratesim.fit's data arguments: a path (a str or os.PathLike) kept as its data spec,
// or an array of numbers, whose spec only names it in messages.
struct fit_input {
  std::string spec;
  std::optional<py::array_t<double, py::array::c_style | py::array::forcecast>> array;

  fit_input(const py::object& value, const char* name) {
    if (value.is_none()) return;
    if (py::isinstance<py::str>(value) || py::hasattr(value, "__fspath__")) {
      spec = py::module_::import("os").attr("fspath")(value).cast<std::string>();
      return;
    }
    auto a = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(value);
    if (!a)
      throw input_error(fmt::format("fit: {} must be a path or an array of numbers, got {}", name,
                                    py::repr(py::type::of(value)).cast<std::string>()));
    spec = fmt::format("{} (an array)", name);
    array = std::move(a);
  }
  std::vector<std::size_t> shape() const {
    return std::vector<std::size_t>(array->shape(), array->shape() + array->ndim());
  }
};

// The images and labels of `images` and `labels` (files or arrays), checked as
// `ratesim fit` checks its files (fit() checks that their numbers agree).
labeled_data fit_data(const fit_input& images, const fit_input& labels) {
  py::gil_scoped_release release;  // the arrays are held: only their memory is read
  if (!images.array && !labels.array) return read_labeled(images.spec, labels.spec);
  return {images.array ? images_from(images.spec, images.shape(), images.array->data())
                       : read_images(images.spec),
          labels.array ? labels_from(labels.spec, labels.shape(), labels.array->data())
                       : read_labels(labels.spec)};
}

// A matrix as a new (rows, cols) numpy array.
py::array_t<double> array_of(const matrix& m) {
  py::array_t<double> out({m.rows(), m.cols()});
  for (Eigen::Index i = 0; i < m.rows(); ++i)
    for (Eigen::Index j = 0; j < m.cols(); ++j) out.mutable_at(i, j) = m(i, j);
  return out;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "ratesim: rate-based neural circuits with plastic synapses";
  m.attr("__version__") = version;

  // Errors: one hierarchy, as in C++ (simulator/core/include/ratesim/error.hpp), each class
  // also deriving from the Python exception a Python user would catch for it.
  auto error_class = [&m](const char* name, const char* doc,
                          std::initializer_list<PyObject*> bases) {
    py::tuple tuple(bases.size());
    std::size_t i = 0;
    for (PyObject* b : bases) tuple[i++] = py::reinterpret_borrow<py::object>(b);
    py::object type = py::reinterpret_steal<py::object>(PyErr_NewExceptionWithDoc(
        fmt::format("ratesim.{}", name).c_str(), doc, tuple.ptr(), nullptr));
    if (!type) throw py::error_already_set();
    m.attr(name) = type;
    return type.release().ptr();  // held by the module for the life of the interpreter
  };
  static PyObject* base =
      error_class("Error", "Base of every error ratesim raises on purpose (ratesim::error in C++).",
                  {PyExc_RuntimeError});
  static PyObject* parameter =
      error_class("ParameterError",
                  "A parameter outside its valid range; the message names the component, "
                  "the parameter and the value.",
                  {base, PyExc_ValueError});
  static PyObject* input =
      error_class("InputError",
                  "Data that cannot be used: a negative pixel, a NaN, a pattern of the wrong "
                  "size, a damaged file.",
                  {base, PyExc_ValueError});
  static PyObject* lookup =
      error_class("UnknownNameError",
                  "A name that is not registered (a model, a rule, a stepper) or not "
                  "part of the network (a population, a projection, a variable).",
                  {base, PyExc_LookupError});
  static PyObject* usage =
      error_class("UsageError",
                  "A call that is not allowed in the current state, e.g. adding a "
                  "population once a simulation has laid out the state.",
                  {base});
  static PyObject* numerical =
      error_class("NumericalError",
                  "The simulation produced a NaN or an infinity; the message names the "
                  "component, the variable and the simulated time.",
                  {base, PyExc_ArithmeticError});
  static PyObject* config =
      error_class("ConfigError",
                  "A mistake in an experiment file or an override; the message starts with "
                  "where it is (file:line:column).",
                  {usage});
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const config_error& e) {
      PyErr_SetString(config, python_spelling(e.what()).c_str());
    } catch (const parameter_error& e) {
      PyErr_SetString(parameter, python_spelling(e.what()).c_str());
    } catch (const input_error& e) {
      PyErr_SetString(input, python_spelling(e.what()).c_str());
    } catch (const lookup_error& e) {
      PyErr_SetString(lookup, python_spelling(e.what()).c_str());
    } catch (const usage_error& e) {
      PyErr_SetString(usage, python_spelling(e.what()).c_str());
    } catch (const numerical_error& e) {
      PyErr_SetString(numerical, python_spelling(e.what()).c_str());
    } catch (const error& e) {
      PyErr_SetString(base, python_spelling(e.what()).c_str());
    }
  });

  py::class_<network>(m, "Network",
                      "Populations, projections and stimuli, and one flat state vector that "
                      "holds every population's variables and every plastic weight. Build it "
                      "(add_population, connect, stimulate_*), then hand it to a simulation, "
                      "which fixes its structure.")
      .def(py::init([] {
             auto net = std::make_unique<network>();
             python::new_network(*net);
             return net;
           }),
           "an empty network")
      .def("__repr__", [](const network& net) { return repr(net); })
      .def(
          "add_population",
          [](network& net, const std::string& model, const std::string& name, py::kwargs kw) {
            net.add(population_models().get(model)(name, to_parameters(kw)));
            python::added_population(net, model, name, kw);
          },
          py::arg("model"), py::arg("name"),
          "Adds a population of a registered model (ratesim.population_models()) with its "
          "named parameters, e.g. add_population('softmax_competition', 'out', size=10, "
          "tau_u=1.0); time constants in ms. A misspelt parameter is a ParameterError.")
      .def(
          "connect",
          [](network& net, const std::string& pre, const std::string& post, const std::string& name,
             const py::array_t<double, py::array::c_style | py::array::forcecast>& weights,
             const std::string& current, py::object rule, py::kwargs kw) {
            if (weights.ndim() != 2)
              throw parameter_error(fmt::format("projection \"{}\": weights must be 2-D", name));
            matrix W(weights.shape(0), weights.shape(1));
            for (py::ssize_t i = 0; i < weights.shape(0); ++i)
              for (py::ssize_t j = 0; j < weights.shape(1); ++j) W(i, j) = weights.at(i, j);
            connection c{.name = name, .weights = std::move(W), .current = current};
            const bool named = py::isinstance<py::str>(rule);
            if (named)
              c.rule = make_rule(rule.cast<std::string>(), to_parameters(kw));
            else if (!rule.is_none())
              c.rule = std::make_unique<python_rule>(rule);
            net.connect(pre, post, std::move(c));
            python::connected(net, name, pre, post, current,
                              named ? rule.cast<std::string>() : std::string(),
                              !named && !rule.is_none(), kw);
          },
          py::arg("pre"), py::arg("post"), py::arg("name"), py::arg("weights"),
          py::arg("current") = "log_weight", py::arg("rule") = py::none(),
          "Connects population `pre` to `post` through a projection `name` with initial "
          "weights W of shape (n_post, n_pre) (copied). `current` is 'log_weight' (I = ln(W) r) "
          "or 'linear' (I = W r). `rule` makes the weights plastic: a registered name "
          "(ratesim.rules(), with its parameters as keywords, e.g. tau=500.0 [ms]) or a "
          "ratesim.Rule instance; None keeps them fixed.")
      .def(
          "adapt",
          [](network& net, const std::string& population, py::object rule, py::kwargs kw) {
            if (py::isinstance<py::str>(rule)) {
              net.adapt(population, make_intrinsic_rule(rule.cast<std::string>(), to_parameters(kw)));
              python::adapted(net, population, rule.cast<std::string>(), kw);
            } else {
              if (!kw.empty())
                throw parameter_error(
                    "adapt: keyword parameters are for a registered rule's name; a "
                    "ratesim.IntrinsicRule takes its parameters in its constructor",
                    {"adapt", py::str(kw.begin()->first).cast<std::string>(), ""});
              net.adapt(population, std::make_unique<python_intrinsic_rule>(rule));
              python::adapted(net, population, "", kw);
            }
          },
          py::arg("population"), py::arg("rule"),
          "Makes the excitability of `population` plastic: each unit gets a bias on its input "
          "from the rule's variable, which learns (intrinsic plasticity). `rule` is a "
          "registered name (ratesim.intrinsic_rules(): 'homeostasis', 'priors'; parameters "
          "as keywords, e.g. tau=20.0 [ms]) or a ratesim.IntrinsicRule instance. The "
          "variable is read and recorded as variable(population, rule's variable), e.g. "
          "'bias' or 'prior'.")
      .def(
          "stimulate_patterns",
          [](network& net, const std::string& target,
             const py::array_t<double, py::array::c_style | py::array::forcecast>& patterns,
             double duration, bool shuffle, std::uint64_t seed) {
            net.stimulate(target, std::make_unique<pattern_set>(
                                      patterns_from(patterns),
                                      pattern_set::params{
                                          .duration = duration,
                                          .ordering = shuffle ? pattern_set::order::shuffled
                                                              : pattern_set::order::sequential,
                                          .seed = seed}));
            python::stimulated_with_patterns(net, target, duration, shuffle, seed);
          },
          py::arg("target"), py::arg("patterns"), py::arg("duration") = 1.0,
          py::arg("shuffle") = false, py::arg("seed") = 0,
          "Presents the rows of `patterns` (N, D) to population `target` one after the "
          "other, each for `duration` ms, in order or shuffled anew every epoch from `seed`.")
      .def(
          "stimulate",
          [](network& net, const std::string& target, const std::string& source,
             std::uint64_t rng, py::kwargs kw) {
            const parameters values = to_parameters(kw);
            random_stream generator(rng, stream_id("stimulus." + target));
            net.stimulate(target, stimulus_sources().get(source)(
                                      {net.get_population(target), generator}, values));
            python::stimulated(net, target, source, rng, kw);
          },
          py::arg("target"), py::arg("source"), py::kw_only(), py::arg("rng") = 1,
          "Drives population `target` with a registered stimulus source "
          "(ratesim.stimulus_sources(): 'file', 'bars', 'constant' or a plug-in's) and its "
          "named parameters, as [stimulus.TARGET] in an experiment file; `rng` is the seed of "
          "made-up data (the file's top-level seed: the same seed gives the same data).")
      .def(
          "stimulate_constant",
          [](network& net, const std::string& target,
             const py::array_t<double, py::array::forcecast>& value) {
            vector v = Eigen::Map<const vector>(value.data(), value.size());
            net.stimulate(target, std::make_unique<constant_input>(v));
            python::stimulated_constant(net, target, value);
          },
          py::arg("target"), py::arg("value"),
          "Drives population `target` with a constant external input (one value per unit).")
      .def(
          "state",
          [](py::object self) {
            network& net = self.cast<network&>();
            vector& x = net.state();
            return vector_view_of(x.data(), x.size(), self);
          },
          "The flat state vector: a numpy view of the network's memory (no copy). Lays out "
          "the state, after which no population or projection can be added.")
      .def(
          "weights",
          [](py::object self, const std::string& name) {
            network& net = self.cast<network&>();
            auto W = net.weights(name);
            return matrix_view_of(W.data(), W.rows(), W.cols(), self);
          },
          py::arg("projection"),
          "W (n_post, n_pre) of a projection: a numpy view of the live weights (no copy); "
          "writing into it changes the network.")
      .def(
          "variable",
          [](py::object self, const std::string& pop, const std::string& var) {
            network& net = self.cast<network&>();
            auto v = net.variable(pop, var);
            return vector_view_of(v.data(), v.size(), self);
          },
          py::arg("population"), py::arg("variable"),
          "One state variable of a population (e.g. 'u', 'h', 'y'), or its intrinsic rule's "
          "variable ('bias', 'prior'): a numpy view, no copy.")
      .def(
          "rates",
          [](network& net, const std::string& pop) {
            const vector r = net.rates(pop);
            py::array_t<double> out(r.size());
            std::copy(r.data(), r.data() + r.size(), out.mutable_data());
            return out;
          },
          py::arg("population"), "The output rates of a population (a copy).")
      .def("fingerprint", &network::fingerprint,
           "A hash (below 2^53) of everything that can change between runs: the state, every "
           "projection's weights and the learning-rate scale. A Recorder's file keeps it at "
           "both ends of every run, for `ratesim rerun` (docs/python.md, \"Rerunning\").")
      .def("set_learning_rate_scale", &network::set_learning_rate_scale, py::arg("scale"),
           "Multiplies every plastic projection's dW/dt by `scale` from now on (a learning-rate "
           "schedule).");

  py::class_<observer, python_observer>(
      m, "Observer",
      "Something that sees the network on a schedule while a simulation runs: "
      "ratesim.Recorder, ratesim.Monitor, or a subclass written in Python that defines "
      "observe(step, time) [time in ms] and may set every_steps (default 1) or define "
      "next_due(step) (the first step >= step it wants to see), start(dt) and flush() (at "
      "the end of every run). It reads the network it was given, never changes it; an "
      "error it raises ends the run after the current presentation or step.")
      .def(py::init<>(), "an observer; a subclass calls this from its own __init__");

  py::class_<simulation>(m, "Simulation",
                         "A regime that advances a network in time: OdeSimulation or "
                         "QuasiStaticSimulation. Time is a whole number of steps of dt.")
      .def("__repr__", [](simulation& sim) { return repr(sim, "Simulation", ""); })
      .def(
          "run",
          [](simulation& sim, double duration, const py::object& progress) {
            const step_count start = sim.steps();
            const step_count total =
                std::isfinite(duration / sim.dt()) ? std::llround(duration / sim.dt()) : 0;
            run_from_python(
                sim, progress, total, "steps", [&] { return sim.steps() - start; },
                [&] { sim.run(duration); }, [&](step_count left) { sim.run_steps(left); });
          },
          py::arg("duration"), py::arg("progress") = py::none(),
          "Advances by `duration` ms (a whole number of steps dt). progress=True shows a "
          "progress bar (tqdm when installed), a callable(done, total) gets the steps done "
          "about every 0.2 s. Ctrl-C raises KeyboardInterrupt within a presentation (or "
          "about 20 ms of ODE steps) and leaves the simulation where it stopped: calling run "
          "again goes on from there.")
      .def("run_steps", counted_run(&simulation::steps, &simulation::run_steps, "steps"),
           py::arg("steps"), py::arg("progress") = py::none(),
           "Advances by `steps` clock steps (otherwise as run).")
      .def(
          "attach",
          [](simulation& sim, observer& o) {
            if (auto* r = dynamic_cast<recorder*>(&o))
              python::attach(sim, *r);
            else
              sim.attach(o);
          },
          py::arg("observer"), py::keep_alive<1, 2>(),
          "Lets an observer (a ratesim.Recorder) see the network on its schedule from now on, "
          "the current state included. A Recorder made without `config` keeps what `ratesim "
          "rerun` needs to run it again: the network as an experiment file says it, the arrays "
          "Python gave, and each run (docs/python.md, \"Rerunning\"). Attach it before the "
          "first run.")
      .def(
          "save_checkpoint",
          [](const simulation& sim, const std::string& path) {
            write_checkpoint(path, sim.save());
          },
          py::arg("path"),
          "write everything the rest of the run depends on to an HDF5 file (atomically)")
      .def(
          "restore_checkpoint",
          [](simulation& sim, const std::string& path, bool force) {
            const checkpoint c = read_checkpoint(path);
            check_resumable(c, nullptr, force);
            sim.restore(c);
          },
          py::arg("path"), py::arg("force") = false,
          "go on from a checkpoint of a simulation of the same network and regime (another "
          "ratesim version only with force=True)")
      .def_property_readonly("time", &simulation::time, "simulated time [ms]: steps x dt")
      .def_property_readonly("steps", &simulation::steps, "clock steps done so far")
      .def_property_readonly("dt", &simulation::dt, "the clock step [ms]");

  py::class_<ode_simulation, simulation>(
      m, "OdeSimulation",
      "The whole state (populations and plastic weights) integrated as one ODE by an odeint "
      "stepper: 'euler' or 'rk4' with step dt [ms], or 'dopri5' with error control (abs_tol, "
      "rel_tol) and dt as its largest step. No step straddles a change of the input.")
      .def("__repr__",
           [](ode_simulation& sim) {
             return repr(sim, "OdeSimulation",
                         fmt::format("{}, {}", sim.options().stepper,
                                     sim.options().exact_log ? "exact_log, " : ""));
           })
      .def(py::init([](network& net, const std::string& stepper, double dt, double abs_tol,
                       double rel_tol, bool exact_log) {
             auto sim = std::make_unique<ode_simulation>(
                 net, ode_options{.stepper = stepper,
                                  .dt = dt,
                                  .abs_tol = abs_tol,
                                  .rel_tol = rel_tol,
                                  .exact_log = exact_log});
             python::new_simulation(
                 *sim, "ode",
                 fmt::format("stepper = {}\ndt = {}\nabs_tol = {}\nrel_tol = {}\nexact_log = {}\n",
                             toml_quote(stepper), dt, abs_tol, rel_tol, exact_log),
                 false);
             return sim;
           }),
           py::arg("network"), py::arg("stepper") = "rk4", py::arg("dt") = 0.1,
           py::arg("abs_tol") = 1e-8, py::arg("rel_tol") = 1e-8, py::arg("exact_log") = false,
           py::keep_alive<1, 2>(),
           "a simulation of `network`, whose structure is fixed from now on; exact_log "
           "(euler): compute ln W of log-weight currents anew at every step instead of "
           "following each step by a series (within 1e-12 of ln W, recomputed every 1,000 "
           "steps)")
      .def(
          "settle",
          [](ode_simulation& sim) {
            sim.settle();
            python::settled(sim);
          },
           "Moves every population to its fixed point for the present input (a clean start); "
           "the network must be feedforward.");

  py::class_<quasi_static_simulation, simulation>(
      m, "QuasiStaticSimulation",
      "Fast populations at their fixed points, and one weight step dW = T dW/dt per pattern "
      "presented for T ms (epsilon = T / tau), optionally summed over mini-batches of "
      "batch_size presentations computed with the same weights. The network must be "
      "feedforward and stimulated with patterns.")
      .def("__repr__",
           [](quasi_static_simulation& sim) {
             return repr(sim, "QuasiStaticSimulation",
                         fmt::format("{} presentations, batch_size {}, {}", sim.presentations(),
                                     sim.options().batch_size,
                                     sim.options().exact_log ? "exact_log, " : ""));
           })
      .def(py::init([](network& net, double dt, std::size_t batch_size, bool exact_log) {
             auto sim = std::make_unique<quasi_static_simulation>(
                 net, quasi_static_options{
                          .dt = dt, .batch_size = batch_size, .exact_log = exact_log});
             python::new_simulation(*sim, "quasi_static",
                                    fmt::format("dt = {}\nbatch_size = {}\nexact_log = {}\n", dt,
                                                batch_size, exact_log));
             return sim;
           }),
           py::arg("network"), py::arg("dt") = 1.0, py::arg("batch_size") = 1,
           py::arg("exact_log") = false, py::keep_alive<1, 2>(),
           "a simulation of `network`, whose structure is fixed from now on; exact_log: "
           "compute ln W of log-weight currents anew after every step instead of following "
           "each step by a series (within 1e-12 of ln W, recomputed every 1,000 steps)")
      .def("run_presentations",
           counted_run(&quasi_static_simulation::presentations,
                       &quasi_static_simulation::run_presentations, "presentations"),
           py::arg("n"), py::arg("progress") = py::none(),
           "Presents n patterns, one weight step each (summed over mini-batches). "
           "progress=True shows a progress bar (tqdm when installed), a callable(done, total) "
           "gets the presentations done about every 0.2 s. Ctrl-C raises KeyboardInterrupt "
           "after the current presentation; an open mini-batch stays open, so that calling "
           "run_presentations again goes on bit for bit as if nothing had happened.")
      .def_property_readonly("presentations", &quasi_static_simulation::presentations,
                             "patterns presented so far");

  py::class_<recorder, observer>(
      m, "Recorder",
      "Streams traces (and the spiking regime's spikes, record_spikes) to an HDF5 file "
      "(layout: docs/hdf5-layout.md; read it with ratesim.traces). mode is 'create' (an existing file is an error), 'overwrite' or "
      "'append'; samples are written every flush_every samples, gzip level `compression`; "
      "`config` and `seed` are kept at / to describe the run. Without `config`, the file keeps "
      "what `ratesim rerun` needs to run it again (docs/python.md, \"Rerunning\"): the network "
      "as an experiment file says it, the arrays Python gave (weights, patterns; "
      "keep_inputs=False leaves them out, and the file then cannot be rerun) and each run.")
      .def("__repr__",
           [](const recorder& r) {
             return fmt::format("<ratesim.Recorder \"{}\": {}>", r.path(),
                                r.recorded.empty()
                                    ? "nothing recorded yet"
                                    : fmt::format("{}", fmt::join(r.recorded, ", ")));
           })
      .def(py::init([](const std::string& path, const std::string& mode, std::size_t flush_every,
                       int compression, const std::string& config, std::uint64_t seed,
                       bool keep_inputs) {
             hdf5_recorder::options o{.flush_every = flush_every,
                                      .compression = compression,
                                      .config = config,
                                      .seed = seed};
             if (mode == "overwrite")
               o.mode = hdf5_recorder::file_mode::overwrite;
             else if (mode == "append")
               o.mode = hdf5_recorder::file_mode::append;
             else if (mode != "create")
               throw parameter_error(fmt::format(
                   "Recorder: mode must be create, overwrite or append, got \"{}\"", mode));
             auto r = std::make_unique<recorder>(path, o);
             r->keep_inputs = keep_inputs;
             return r;
           }),
           py::arg("path"), py::arg("mode") = "create", py::arg("flush_every") = 256,
           py::arg("compression") = 1, py::arg("config") = "", py::arg("seed") = 0,
           py::arg("keep_inputs") = true,
           "a recorder writing to `path`; the file is made when a simulation attaches it")
      .def(
          "record",
          [](recorder& r, const std::string& pop, const std::string& var, double every,
             step_count every_steps, double start, double stop,
             std::optional<std::vector<std::size_t>> units) {
            std::string table = fmt::format("what = \"variable\"\npopulation = {}\nvariable = {}\n{}",
                                            toml_quote(pop), toml_quote(var),
                                            python::schedule_toml(every, every_steps, start, stop));
            if (units) table += fmt::format("units = [{}]\n", fmt::join(*units, ", "));
            r.record(pop, var, make_schedule(every, every_steps, start, stop), std::move(units));
            r.recorded.push_back(pop + "/" + var);
            r.record_tables.push_back(std::move(table));
          },
          py::arg("population"), py::arg("variable") = "rate", py::arg("every") = 0.0,
          py::arg("every_steps") = 0, py::arg("start") = 0.0,
          py::arg("stop") = std::numeric_limits<double>::infinity(), py::arg("units") = py::none(),
          "Records a population's variable ('rate', 'input', a state variable such as 'u', or "
          "an intrinsic rule's such as 'bias') "
          "every `every` ms or every `every_steps` steps, from `start` to `stop` [ms], for the "
          "unit indices `units` (all when None). Give everything before attaching.")
      .def("record_weights", projection_recording(&hdf5_recorder::record_weights, "{}/weights", "weights"),
           py::arg("projection"), py::arg("every") = 0.0, py::arg("every_steps") = 0,
           py::arg("start") = 0.0, py::arg("stop") = std::numeric_limits<double>::infinity(),
           "Records snapshots of a projection's W, [n, n_post, n_pre], on a schedule (as record).")
      .def("record_weight_sums",
           projection_recording(&hdf5_recorder::record_weight_sums, "metrics/weight_sum_{}",
                                "weight_sums"),
           py::arg("projection"), py::arg("every") = 0.0, py::arg("every_steps") = 0,
           py::arg("start") = 0.0, py::arg("stop") = std::numeric_limits<double>::infinity(),
           "Records sum_d W_cd for every postsynaptic unit c (the metric weight_sum_<projection>).")
      .def(
          "record_spikes",
          [](recorder& r, const std::string& pop, double start, double stop) {
            r.record_spikes(pop, make_schedule(0.0, 0, start, stop));
            r.recorded.push_back("spikes/" + pop);
            r.record_tables.push_back(fmt::format("what = \"spikes\"\npopulation = {}\n{}",
                                                  toml_quote(pop),
                                                  python::schedule_toml(0.0, 0, start, stop)));
          },
          py::arg("population"), py::arg("start") = 0.0,
          py::arg("stop") = std::numeric_limits<double>::infinity(),
          "Records the spikes of a spiking population (the spiking regime) from `start` to "
          "`stop` [ms] in SONATA's layout: /spikes/<population>/timestamps [ms] and node_ids "
          "(unit indices), in time order; ratesim.traces.spikes reads them.")
      .def(
          "record_kind",
          [](recorder& r, const network& net, const std::string& what, double every,
             step_count every_steps, double start, double stop, py::kwargs kw) {
            const parameters values = to_parameters(kw);
            record_kinds().get(what)({r, net, make_schedule(every, every_steps, start, stop)},
                                     values);
            r.recorded.push_back(what);
            r.record_tables.push_back(
                fmt::format("what = {}\n{}{}", toml_quote(what), python::keyword_toml(kw),
                            python::schedule_toml(every, every_steps, start, stop)));
          },
          py::arg("network"), py::arg("what"), py::arg("every") = 0.0, py::arg("every_steps") = 0,
          py::arg("start") = 0.0, py::arg("stop") = std::numeric_limits<double>::infinity(),
          "Records a registered record kind (ratesim.record_kinds(): 'variable', 'weights', "
          "'weight_sums', 'spikes' or a plug-in's) of `network` with its named parameters on a "
          "schedule, as a [[record]] table with what = ... in an experiment file.")
      .def("flush", &hdf5_recorder::flush, "Writes what is buffered to the file.")
      .def(
          "close", [](recorder& r) { r.flush(); },
          "Writes what is buffered; the file is closed when the recorder is deleted.")
      .def_property_readonly("path", &hdf5_recorder::path, "the file written");

  m.def("load_plugin", &load_plugin, py::arg("path"),
        "Loads a plug-in (a shared library built against ratesim) that registers "
        "components, e.g. a plasticity rule. Loading the same file again does nothing; "
        "another file registering a name already taken is a UsageError.");
  m.def(
      "rules", [] { return plasticity_rules().names(); },
      "The names of the registered plasticity rules (for connect(rule=...)).");
  m.def(
      "intrinsic_rules", [] { return intrinsic_rules().names(); },
      "The names of the registered intrinsic rules (for Network.adapt).");
  m.def(
      "population_models", [] { return population_models().names(); },
      "The names of the registered population models (for add_population).");
  m.def(
      "describe",
      [](const std::string& kind, const std::string& name) {
        // Every registry, by the name an experiment file gives its kind.
        using lookup = std::function<const std::vector<parameter_doc>&(const std::string&)>;
        static const std::vector<std::pair<std::string, lookup>> kinds{
            {"population", [](const std::string& n) -> const auto& { return population_models().docs(n); }},
            {"rule", [](const std::string& n) -> const auto& { return plasticity_rules().docs(n); }},
            {"intrinsic", [](const std::string& n) -> const auto& { return intrinsic_rules().docs(n); }},
            {"regime", [](const std::string& n) -> const auto& { return regimes().docs(n); }},
            {"stimulus", [](const std::string& n) -> const auto& { return stimulus_sources().docs(n); }},
            {"weights", [](const std::string& n) -> const auto& { return weight_initializers().docs(n); }},
            {"record", [](const std::string& n) -> const auto& { return record_kinds().docs(n); }},
            {"stepper", [](const std::string& n) -> const auto& { return steppers().docs(n); }},
            {"current", [](const std::string& n) -> const auto& { return synaptic_currents().docs(n); }},
        };
        auto it = std::find_if(kinds.begin(), kinds.end(), [&](const auto& k) { return k.first == kind; });
        if (it == kinds.end()) {
          std::vector<std::string> known;
          for (const auto& k : kinds) known.push_back(k.first);
          throw parameter_error(fmt::format("describe: unknown kind \"{}\"; known: {}", kind,
                                            fmt::join(known, ", ")),
                                {"describe", "kind", kind});
        }
        const std::vector<parameter_doc>* docs = &it->second(name);
        py::list out;
        for (const parameter_doc& d : *docs)
          out.append(py::dict(py::arg("name") = d.name,
                              py::arg("default") = d.default_value.empty()
                                                       ? py::object(py::none())
                                                       : py::object(py::str(d.default_value)),
                              py::arg("units") = d.units, py::arg("meaning") = d.meaning));
        return out;
      },
      py::arg("kind"), py::arg("name"),
      "The parameters of a registered component, as registered beside its factory: kind "
      "'population', 'rule', 'intrinsic', 'regime', 'stimulus' (a stimulus source), "
      "'weights' (a weight initialiser), 'record' (a record kind), 'stepper' or 'current' "
      "(these two take none), and its name, e.g. describe('stimulus', 'bars'). A list of dicts "
      "with name, default (as text; None: required), units ('ms', '1' for dimensionless, '' "
      "for a name) and meaning. Empty for a component registered without them.");
  m.def(
      "regimes", [] { return regimes().names(); },
      "The names of the registered regimes (for ratesim.simulation).");
  m.def(
      "stimulus_sources", [] { return stimulus_sources().names(); },
      "The names of the registered stimulus sources (for Network.stimulate).");
  m.def(
      "weight_initializers", [] { return weight_initializers().names(); },
      "The names of the registered weight initialisers (for ratesim.initial_weights).");
  m.def(
      "record_kinds", [] { return record_kinds().names(); },
      "The names of the registered record kinds (for Recorder.record_kind).");
  m.def(
      "simulation",
      [](network& net, const std::string& regime, py::kwargs kw) {
        const parameters values = to_parameters(kw);
        auto sim = regimes().get(regime)(net, values);
        // The ode regime settles unless told not to; the description says which.
        py::dict rest(kw);
        std::optional<bool> settle;
        if (regime == "ode") settle = rest.attr("pop")("settle", true).cast<bool>();
        python::new_simulation(*sim, regime, python::keyword_toml(rest), settle);
        return sim;
      },
      py::arg("network"), py::arg("regime"), py::keep_alive<0, 1>(),
      "A simulation of `network` in a registered regime (ratesim.regimes(): 'ode', "
      "'quasi_static' or a plug-in's) with its named parameters, as [run] in an experiment "
      "file, e.g. simulation(net, 'ode', stepper='euler', dt=0.1, settle=False). The "
      "network's structure is fixed from now on.");
  m.def(
      "initial_weights",
      [](network& net, const std::string& pre, const std::string& post, const std::string& init,
         std::uint64_t rng, const std::string& projection, py::kwargs kw) {
        const parameters values = to_parameters(kw);
        random_stream generator(rng, stream_id("projection." + projection));
        const std::size_t from = net.population_index(pre);
        const matrix* patterns = nullptr;
        for (const auto& slot : net.stimuli())
          if (slot.target == from) patterns = slot.source->patterns();
        return array_of(weight_initializers().get(init)(
            {net, net.get_population(from), net.get_population(post), patterns, generator},
            values));
      },
      py::arg("network"), py::arg("pre"), py::arg("post"), py::arg("init"), py::kw_only(),
      py::arg("rng") = 1, py::arg("projection") = "",
      "Initial weights (n_post, n_pre) for a projection from `pre` to `post` made by a "
      "registered initialiser (ratesim.weight_initializers(): 'uniform', 'constant', "
      "'data_mean' or a plug-in's) with its named parameters, as `weights = {init = ...}` "
      "in an experiment file; pass them to Network.connect. `rng` is the seed and "
      "`projection` the projection's name: the file's seed and [projection.NAME] give the "
      "same weights as the file.");
  m.def(
      "run_experiment",
      [](const std::string& path, const std::vector<std::string>& set,
         const std::string& resume, bool force, const std::string& checkpoint_file,
         double checkpoint_every, double stop_at, const py::object& progress,
         const std::vector<std::string>& unset) {
        if (path.empty() && resume.empty())
          throw usage_error("run_experiment: give a path, or resume=CHECKPOINT");
        const config_overrides overrides{.unset = unset, .set = set};
        auto e = resume.empty()
                     ? experiment::load(path, overrides)
                     : experiment::resume(read_checkpoint(resume), path, overrides, force);
        for (const auto& w : e->warnings())
          PyErr_WarnEx(PyExc_UserWarning, ("resuming although " + w).c_str(), 1);
        run_control control{.checkpoint = checkpoint_file.empty() ? resume : checkpoint_file,
                            .checkpoint_every = checkpoint_every,
                            .stop_at = stop_at};
        const step_count start = e->sim().steps();
        const progress_report reporting(progress, e->total_steps() - start, "steps");
        std::optional<progress_observer> reporter;
        if (!reporting.report.is_none())
          reporter.emplace(reporting.report, start, e->total_steps() - start);
        stop_signals signals;  // Ctrl-C pauses the run, writes the checkpoint, then raises
        control.stop = &signals.flag();
        {
          py::gil_scoped_release release;  // only a progress report calls Python
          e->run(reporter ? &*reporter : nullptr, control);
        }
        if (signals.caught() == SIGINT) {
          PyErr_SetNone(PyExc_KeyboardInterrupt);
          throw py::error_already_set();
        }
        if (signals.caught() != 0) {
          PyErr_SetObject(PyExc_SystemExit, py::int_(128 + signals.caught()).ptr());
          throw py::error_already_set();
        }
        return e->sim().time();
      },
      py::arg("path") = "", py::arg("overrides") = std::vector<std::string>{},
      py::arg("resume") = "", py::arg("force") = false, py::arg("checkpoint") = "",
      py::arg("checkpoint_every") = 0.0,
      py::arg("stop_at") = std::numeric_limits<double>::infinity(),
      py::arg("progress") = py::none(), py::arg("unset") = std::vector<std::string>{},
      "Runs a TOML experiment (docs/config.md), or goes on from a checkpoint (resume=FILE; "
      "path then defaults to the checkpoint's configuration). `overrides` are --set values "
      "(['run.presentations=100']), `unset` the keys --unset removes first "
      "(['run.presentations'], or a whole table: ['projection.ff.rule']). Writes checkpoints to "
      "`checkpoint` (default: the file resumed from) every `checkpoint_every` ms and when "
      "stopped by stop_at [ms] or Ctrl-C (then KeyboardInterrupt). progress=True shows a "
      "bar, a callable(done, total) gets the steps done. Returns the simulated time "
      "reached [ms].");
  m.def(
      "fit",
      [](const py::object& train_images, const py::object& train_labels,
         const py::object& test_images, const py::object& test_labels, const std::string& data,
         const std::string& output, bool overwrite, const py::object& progress,
         const py::kwargs& kwargs) {
        fit_options o = fit_options_from(kwargs);
        check_fit_options(o);
        const fit_input inputs[] = {{train_images, "train_images"},
                                    {train_labels, "train_labels"},
                                    {test_images, "test_images"},
                                    {test_labels, "test_labels"}};
        fit_files files{inputs[0].spec, inputs[1].spec, inputs[2].spec, inputs[3].spec};
        resolve_fit_files(files, data);
        const std::unique_ptr<output_file> out = claim_fit_output(output, overwrite);
        auto source = [&](int i, const std::string& spec) {
          return inputs[i].array ? inputs[i] : fit_input(py::str(spec), "");
        };
        const labeled_data train = fit_data(source(0, files.train_images),
                                            source(1, files.train_labels));
        std::optional<labeled_data> test;
        if (!files.test_images.empty())
          test = fit_data(source(2, files.test_images), source(3, files.test_labels));
        const int total = o.method == "em" ? o.iterations : o.epochs;
        const progress_report reporting(progress, total, o.method == "em" ? "steps" : "epochs");
        if (!reporting.report.is_none())
          o.progress = [&](int step, double) {
            py::gil_scoped_acquire gil;
            reporting.report(step, total);
          };
        python::sigint_deferral sigint;  // Ctrl-C: KeyboardInterrupt after a step or a presentation
        o.pause = sigint.flag();
        o.on_pause = [&] {
          py::gil_scoped_acquire gil;
          if (sigint.deliver()) throw py::error_already_set();
        };
        std::vector<std::string> call;  // kept in the output file
        for (const auto& [key, value] : kwargs)
          call.push_back(fmt::format("{}={}", py::str(key).cast<std::string>(),
                                     py::repr(value).cast<std::string>()));
        const std::string description =
            fit_description(fmt::format("ratesim.fit({})", fmt::join(call, ", ")), files);
        fit_result r;
        {
          py::gil_scoped_release release;
          r = fit(train, test ? &*test : nullptr, o);
          if (out) write_fit(*out, r, o, description);
        }
        // The same keys and values as `ratesim fit --json`.
        py::dict result = py::module_::import("json").attr("loads")(to_json(r, o));
        result["priors"] = py::module_::import("numpy").attr("array")(result["priors"]);
        result["W"] = array_of(r.W);
        result["B"] = array_of(r.B);
        if (!r.last_spikes.empty()) {
          py::dict spikes;
          for (const auto& train_ : r.last_spikes)
            spikes[py::str(train_.population)] = py::make_tuple(
                py::array_t<double>(static_cast<py::ssize_t>(train_.times.size()), train_.times.data()),
                py::array_t<std::uint64_t>(static_cast<py::ssize_t>(train_.units.size()),
                                           train_.units.data()));
          result["spikes"] = spikes;
        }
        return result;
      },
      py::arg("train_images") = py::none(), py::arg("train_labels") = py::none(),
      py::arg("test_images") = py::none(), py::arg("test_labels") = py::none(), py::kw_only(),
      py::arg("data") = "", py::arg("output") = "", py::arg("overwrite") = false,
      py::arg("progress") = py::none(), fit_doc().c_str());
  m.def(
      "read_images",
      [](const std::string& spec) {
        matrix X = read_images(spec);  // D × N column-major = (N, D) row-major
        py::array_t<double> out({X.cols(), X.rows()});
        std::copy(X.data(), X.data() + X.size(), out.mutable_data());
        return out;
      },
      py::arg("spec"),
      "Images (N, D) as float64 from an IDX file (plain or gzip), an HDF5 dataset "
      "('FILE.h5:/dataset'), an .npy file, an array of an .npz archive ('FILE.npz:NAME'; "
      "'FILE.npz' if it holds one) or a CSV file (one image per line).");
  m.def("read_labels", &read_labels, py::arg("spec"),
        "Labels (a list of N integers) from an IDX file, an HDF5 dataset ('FILE.h5:/dataset'), "
        "an .npy file, an array of an .npz archive ('FILE.npz:NAME') or a one-column CSV file.");
}
