// The Python module ratesim._core: the same engine, driven from Python. Weights and the
// state vector come back as numpy views of the network's memory (no copies); a
// plasticity rule can be a Python class (python/ratesim/__init__.py: ratesim.Rule).

#include <ratesim/checkpoint.hpp>
#include <ratesim/data.hpp>
#include <ratesim/error.hpp>
#include <ratesim/experiment.hpp>
#include <ratesim/fit.hpp>
#include <ratesim/hdf5_recorder.hpp>
#include <ratesim/network.hpp>
#include <ratesim/plugin.hpp>
#include <ratesim/signals.hpp>
#include <ratesim/simulation.hpp>
#include <ratesim/version.hpp>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <fmt/format.h>

#include <cmath>

#include "interrupt.hpp"

namespace py = pybind11;
using namespace ratesim;

namespace {

// Named parameters from Python keyword arguments (numbers and strings).
parameters to_parameters(const py::kwargs& kwargs) {
  parameters out;
  for (const auto& [key, value] : kwargs) {
    const std::string k = py::str(key);
    if (py::isinstance<py::str>(value))
      out.set(k, value.cast<std::string>());
    else if (py::isinstance<py::bool_>(value) || !(py::isinstance<py::float_>(value) || py::isinstance<py::int_>(value)))
      throw parameter_error(fmt::format("parameter {} must be a number or a string", k));
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
    throw input_error(fmt::format("patterns must be a 2-D array (N patterns, D values), got {} "
                                  "dimensions",
                                  a.ndim()));
  return Eigen::Map<const matrix>(a.data(), a.shape(1), a.shape(0));
}

// A plasticity rule whose dW/dt comes from a Python object with derivative(W, pre, post).
class python_rule : public plasticity_rule {
 public:
  explicit python_rule(py::object rule) : rule_(std::move(rule)) {
    name_ = py::hasattr(rule_, "name") ? py::str(rule_.attr("name")).cast<std::string>()
                                       : py::str(py::type::of(rule_).attr("__name__")).cast<std::string>();
    constrained_ = py::hasattr(rule_, "constrain") && !rule_.attr("constrain").is_none();
  }
  std::string_view name() const override { return name_; }
  void derivative(matrix_view W, vector_view pre, vector_view post,
                  matrix_span dWdt) const override {
    py::gil_scoped_acquire gil;
    // Views without copies; read-only so that the rule cannot change the state by accident.
    auto view = [](const double* p, py::ssize_t rows, py::ssize_t cols, py::ssize_t outer) {
      py::array a(py::dtype::of<double>(), {rows, cols},
                  {py::ssize_t(sizeof(double)), py::ssize_t(sizeof(double)) * outer}, p, py::none());
      py::detail::array_proxy(a.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
      return a;
    };
    py::array w = view(W.data(), W.rows(), W.cols(), W.outerStride());
    py::array x = view(pre.data(), pre.size(), 1, pre.size()).attr("reshape")(pre.size());
    py::array y = view(post.data(), post.size(), 1, post.size()).attr("reshape")(post.size());
    py::object result = rule_.attr("derivative")(w, x, y);
    auto d = py::array_t<double, py::array::forcecast>::ensure(result);
    if (!d || d.ndim() != 2 || d.shape(0) != W.rows() || d.shape(1) != W.cols())
      throw input_error(fmt::format("rule \"{}\": derivative must return an array of shape ({}, {})",
                                    name_, W.rows(), W.cols()));
    for (Eigen::Index c = 0; c < W.rows(); ++c)
      for (Eigen::Index dd = 0; dd < W.cols(); ++dd) dWdt(c, dd) = d.at(c, dd);
  }
  bool has_constraint() const override { return constrained_; }
  void constrain(matrix_span W) const override {
    py::gil_scoped_acquire gil;
    rule_.attr("constrain")(matrix_view_of(W.data(), W.rows(), W.cols(), py::none()));
  }

 private:
  py::object rule_;
  std::string name_;
  bool constrained_ = false;
};

schedule make_schedule(double every, step_count every_steps, double start, double stop) {
  return schedule{every, every_steps, start, stop};
}

// Binds a recorder method that records something of a projection on a schedule.
auto projection_recording(void (hdf5_recorder::*what)(std::string, schedule)) {
  return [what](hdf5_recorder& r, const std::string& projection, double every,
                step_count every_steps, double start, double stop) {
    (r.*what)(projection, make_schedule(every, every_steps, start, stop));
  };
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "ratesim: rate-based neural circuits with plastic synapses";
  m.attr("__version__") = version;

  // Errors: one hierarchy, as in C++.
  static py::exception<error> base(m, "Error", PyExc_RuntimeError);
  static py::exception<parameter_error> parameter(m, "ParameterError", base.ptr());
  static py::exception<input_error> input(m, "InputError", base.ptr());
  static py::exception<lookup_error> lookup(m, "NameError", base.ptr());
  static py::exception<usage_error> usage(m, "UsageError", base.ptr());
  static py::exception<config_error> config(m, "ConfigError", usage.ptr());
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const config_error& e) {
      config(e.what());
    } catch (const parameter_error& e) {
      parameter(e.what());
    } catch (const input_error& e) {
      input(e.what());
    } catch (const lookup_error& e) {
      lookup(e.what());
    } catch (const usage_error& e) {
      usage(e.what());
    } catch (const error& e) {
      base(e.what());
    }
  });

  py::class_<network>(m, "Network", "Populations, projections, stimuli and one flat state vector.")
      .def(py::init<>())
      .def(
          "add_population",
          [](network& net, const std::string& model, const std::string& name, py::kwargs kw) {
            net.add(population_models().get(model)(name, to_parameters(kw)));
          },
          py::arg("model"), py::arg("name"),
          "add_population(model, name, **parameters), e.g. ('softmax_competition', 'out', size=10)")
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
            if (py::isinstance<py::str>(rule))
              c.rule = make_rule(rule.cast<std::string>(), to_parameters(kw));
            else if (!rule.is_none())
              c.rule = std::make_unique<python_rule>(rule);
            net.connect(pre, post, std::move(c));
          },
          py::arg("pre"), py::arg("post"), py::arg("name"), py::arg("weights"),
          py::arg("current") = "log_weight", py::arg("rule") = py::none(),
          "connect(pre, post, name, weights (n_post, n_pre), current='log_weight', rule=None, "
          "**rule_parameters); rule is a registered name or a ratesim.Rule")
      .def(
          "stimulate_patterns",
          [](network& net, const std::string& target,
             const py::array_t<double, py::array::c_style | py::array::forcecast>& patterns,
             double duration, bool shuffle, std::uint64_t seed) {
            net.stimulate(target, std::make_unique<pattern_set>(
                                      patterns_from(patterns),
                                      pattern_set::params{.duration = duration,
                                                          .ordering = shuffle ? pattern_set::order::shuffled
                                                                              : pattern_set::order::sequential,
                                                          .seed = seed}));
          },
          py::arg("target"), py::arg("patterns"), py::arg("duration") = 1.0,
          py::arg("shuffle") = false, py::arg("seed") = 0,
          "present the rows of `patterns` (N, D) to `target`, each for `duration` ms")
      .def(
          "stimulate_constant",
          [](network& net, const std::string& target, const py::array_t<double, py::array::forcecast>& value) {
            vector v = Eigen::Map<const vector>(value.data(), value.size());
            net.stimulate(target, std::make_unique<constant_input>(v));
          },
          py::arg("target"), py::arg("value"))
      .def(
          "state", [](py::object self) {
            network& net = self.cast<network&>();
            vector& x = net.state();
            return vector_view_of(x.data(), x.size(), self);
          },
          "the flat state vector: a numpy view, no copy")
      .def(
          "weights",
          [](py::object self, const std::string& name) {
            network& net = self.cast<network&>();
            auto W = net.weights(name);
            return matrix_view_of(W.data(), W.rows(), W.cols(), self);
          },
          py::arg("projection"), "W (n_post, n_pre) of a projection: a numpy view, no copy")
      .def(
          "variable",
          [](py::object self, const std::string& pop, const std::string& var) {
            network& net = self.cast<network&>();
            auto v = net.variable(pop, var);
            return vector_view_of(v.data(), v.size(), self);
          },
          py::arg("population"), py::arg("variable"))
      .def(
          "rates",
          [](network& net, const std::string& pop) {
            const vector r = net.rates(pop);
            py::array_t<double> out(r.size());
            std::copy(r.data(), r.data() + r.size(), out.mutable_data());
            return out;
          },
          py::arg("population"), "the output rates (a copy)")
      .def("set_learning_rate_scale", &network::set_learning_rate_scale);

  py::class_<simulation>(m, "Simulation")
      .def(
          "run",
          [](simulation& sim, double duration) {
            const step_count start = sim.steps();
            python::run_interruptibly(
                sim, [&] { sim.run(duration); },
                [&] { sim.run_steps(start + std::llround(duration / sim.dt()) - sim.steps()); });
          },
          py::arg("duration"),
          "run(duration): advance by `duration` ms (a whole number of steps dt). Ctrl-C "
          "raises KeyboardInterrupt within a presentation (or a few hundred ODE steps) and "
          "leaves the simulation where it stopped: calling run again goes on from there")
      .def(
          "run_steps",
          [](simulation& sim, step_count n) {
            const step_count end = sim.steps() + n;
            python::run_interruptibly(
                sim, [&] { sim.run_steps(n); }, [&] { sim.run_steps(end - sim.steps()); });
          },
          py::arg("steps"), "run_steps(steps): advance by `steps` clock steps (as run)")
      .def("attach", &simulation::attach, py::arg("observer"), py::keep_alive<1, 2>())
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
      .def_property_readonly("time", &simulation::time)
      .def_property_readonly("steps", &simulation::steps)
      .def_property_readonly("dt", &simulation::dt);

  py::class_<ode_simulation, simulation>(m, "OdeSimulation")
      .def(py::init([](network& net, const std::string& stepper, double dt, double abs_tol,
                       double rel_tol) {
             return std::make_unique<ode_simulation>(
                 net, ode_options{.stepper = stepper, .dt = dt, .abs_tol = abs_tol, .rel_tol = rel_tol});
           }),
           py::arg("network"), py::arg("stepper") = "rk4", py::arg("dt") = 0.1,
           py::arg("abs_tol") = 1e-8, py::arg("rel_tol") = 1e-8, py::keep_alive<1, 2>())
      .def("settle", &ode_simulation::settle);

  py::class_<quasi_static_simulation, simulation>(m, "QuasiStaticSimulation")
      .def(py::init([](network& net, double dt, std::size_t batch_size) {
             return std::make_unique<quasi_static_simulation>(
                 net, quasi_static_options{.dt = dt, .batch_size = batch_size});
           }),
           py::arg("network"), py::arg("dt") = 1.0, py::arg("batch_size") = 1,
           py::keep_alive<1, 2>())
      .def(
          "run_presentations",
          [](quasi_static_simulation& sim, step_count n) {
            const step_count end = sim.presentations() + n;
            python::run_interruptibly(
                sim, [&] { sim.run_presentations(n); },
                [&] { sim.run_presentations(end - sim.presentations()); });
          },
          py::arg("n"),
          "run_presentations(n): present n patterns, one weight step each (summed over "
          "mini-batches). Ctrl-C raises KeyboardInterrupt after the current presentation; "
          "an open mini-batch stays open, so that calling run_presentations again goes on "
          "bit for bit as if nothing had happened")
      .def_property_readonly("presentations", &quasi_static_simulation::presentations);

  py::class_<observer>(m, "Observer");
  py::class_<hdf5_recorder, observer>(m, "Recorder", "Streams traces to an HDF5 file")
      .def(py::init([](const std::string& path, const std::string& mode, std::size_t flush_every,
                       int compression, const std::string& config, std::uint64_t seed) {
             hdf5_recorder::options o{.flush_every = flush_every, .compression = compression,
                                      .config = config, .seed = seed};
             if (mode == "overwrite")
               o.mode = hdf5_recorder::file_mode::overwrite;
             else if (mode == "append")
               o.mode = hdf5_recorder::file_mode::append;
             else if (mode != "create")
               throw parameter_error(fmt::format("Recorder: mode must be create, overwrite or append, got \"{}\"", mode));
             return std::make_unique<hdf5_recorder>(path, o);
           }),
           py::arg("path"), py::arg("mode") = "create", py::arg("flush_every") = 256,
           py::arg("compression") = 1, py::arg("config") = "", py::arg("seed") = 0)
      .def(
          "record",
          [](hdf5_recorder& r, const std::string& pop, const std::string& var, double every,
             step_count every_steps, double start, double stop,
             std::optional<std::vector<std::size_t>> units) {
            r.record(pop, var, make_schedule(every, every_steps, start, stop), std::move(units));
          },
          py::arg("population"), py::arg("variable") = "rate", py::arg("every") = 0.0,
          py::arg("every_steps") = 0, py::arg("start") = 0.0,
          py::arg("stop") = std::numeric_limits<double>::infinity(), py::arg("units") = py::none())
      .def("record_weights", projection_recording(&hdf5_recorder::record_weights),
           py::arg("projection"), py::arg("every") = 0.0, py::arg("every_steps") = 0,
           py::arg("start") = 0.0, py::arg("stop") = std::numeric_limits<double>::infinity())
      .def("record_weight_sums", projection_recording(&hdf5_recorder::record_weight_sums),
           py::arg("projection"), py::arg("every") = 0.0, py::arg("every_steps") = 0,
           py::arg("start") = 0.0, py::arg("stop") = std::numeric_limits<double>::infinity())
      .def("flush", &hdf5_recorder::flush)
      .def(
          "close", [](hdf5_recorder& r) { r.flush(); }, "write what is buffered")
      .def_property_readonly("path", &hdf5_recorder::path);

  m.def("load_plugin", &load_plugin, py::arg("path"),
        "load a plug-in (shared library) that registers components");
  m.def("rules", [] { return plasticity_rules().names(); }, "registered plasticity rules");
  m.def("population_models", [] { return population_models().names(); });
  m.def(
      "run_experiment",
      [](const std::string& path, const std::vector<std::string>& overrides,
         const std::string& resume, bool force, const std::string& checkpoint_file,
         double checkpoint_every, double stop_at) {
        if (path.empty() && resume.empty())
          throw usage_error("run_experiment: give a path, or resume=CHECKPOINT");
        auto e = resume.empty()
                     ? experiment::load(path, overrides)
                     : experiment::resume(read_checkpoint(resume), path, overrides, force);
        for (const auto& w : e->warnings())
          PyErr_WarnEx(PyExc_UserWarning, ("resuming although " + w).c_str(), 1);
        run_control control{.checkpoint = checkpoint_file.empty() ? resume : checkpoint_file,
                            .checkpoint_every = checkpoint_every,
                            .stop_at = stop_at};
        stop_signals signals;  // Ctrl-C pauses the run, writes the checkpoint, then raises
        control.stop = &signals.flag();
        {
          py::gil_scoped_release release;  // nothing in a TOML experiment calls Python
          e->run(nullptr, control);
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
      "run a TOML experiment (docs/config.md), or go on from a checkpoint (resume=FILE; "
      "path then defaults to the checkpoint's configuration); writes checkpoints to "
      "`checkpoint` (default: the file resumed from) every `checkpoint_every` ms and when "
      "stopped by stop_at [ms] or Ctrl-C. Returns the simulated time reached [ms]");
  m.def(
      "read_images",
      [](const std::string& spec) {
        matrix X = read_images(spec);  // D × N column-major = (N, D) row-major
        py::array_t<double> out({X.cols(), X.rows()});
        std::copy(X.data(), X.data() + X.size(), out.mutable_data());
        return out;
      },
      py::arg("spec"), "images (N, D) from an IDX file or FILE.h5:/dataset");
  m.def("read_labels", &read_labels, py::arg("spec"));
}
