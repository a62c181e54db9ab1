#include "recipe.hpp"

#include <ratesim/experiment.hpp>
#include <ratesim/regimes/quasi_static.hpp>
#include <ratesim/regimes/spiking.hpp>
#include <ratesim/stimulus.hpp>
#include <ratesim/version.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>
#include <unordered_map>

namespace ratesim::python {
namespace {

// One [population.NAME], [projection.NAME] or [stimulus.NAME] table.
struct table {
  std::string name;
  std::string lines;  // `key = value` lines
};

struct network_recipe {
  std::vector<table> populations, projections, stimuli;  // in the order made
  std::vector<std::string> pattern_targets;  // stimuli whose patterns go to /inputs/patterns/
  std::optional<std::uint64_t> seed;         // the rng of stimulate()
  std::string why_not;                       // the first reason it cannot be rerun
};

struct simulation_recipe {
  std::string regime, lines;   // [run]
  std::optional<bool> settle;  // ode: whether it settles before any run
  bool ran = false;
  std::vector<recorder*> recorders;  // attached with a run log (kept alive by the simulation)
  std::vector<std::uint64_t> stimuli;  // stimulus_generations when they were attached
};

// Keyed by the objects' addresses; an entry is made anew whenever an object is made
// (and so replaces one of an object that lived there before).
std::unordered_map<const network*, network_recipe>& networks() {
  static std::unordered_map<const network*, network_recipe> all;
  return all;
}
std::unordered_map<const simulation*, simulation_recipe>& simulations() {
  static std::unordered_map<const simulation*, simulation_recipe> all;
  return all;
}

network_recipe* recipe_of(const network& net) {
  auto it = networks().find(&net);
  return it == networks().end() ? nullptr : &it->second;
}

void cannot_rerun(network_recipe& r, std::string why) {
  if (r.why_not.empty()) r.why_not = std::move(why);
}

// A name an experiment file and its --set paths can hold: no '.', which splits the paths.
void check_name(network_recipe& r, const char* what, const std::string& name) {
  if (name.find('.') != std::string::npos)
    cannot_rerun(r, fmt::format("the {} \"{}\" has a '.' in its name, which splits an experiment "
                                "file's keys",
                                what, name));
}

// A seed an experiment file can hold (whole numbers up to 2^53).
void check_seed(network_recipe& r, std::uint64_t seed) {
  if (seed > (std::uint64_t{1} << 53))
    cannot_rerun(r, fmt::format("the seed {} is above 2^53, the largest an experiment file takes",
                                seed));
}

// A number as TOML reads it back to the same double.
std::string number_toml(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  return fmt::format("{}", x);
}

table* find(std::vector<table>& tables, const std::string& name) {
  auto it = std::find_if(tables.begin(), tables.end(), [&](const table& t) { return t.name == name; });
  return it == tables.end() ? nullptr : &*it;
}

// Why the order things were made in is not the one an experiment file builds them in (by
// name), or empty.
std::string order_problem(const std::vector<table>& tables, const char* what) {
  std::vector<std::string> made, sorted;
  for (const table& t : tables) made.push_back(t.name);
  sorted = made;
  std::sort(sorted.begin(), sorted.end());
  if (made == sorted) return {};
  return fmt::format("the {} were made in the order {}, and an experiment file makes them by "
                     "name ({}): make them in that order to rerun",
                     what, fmt::join(made, ", "), fmt::join(sorted, ", "));
}

std::string inline_table(const std::string& lines) {
  std::string out;
  std::size_t from = 0;
  while (from < lines.size()) {
    const auto end = lines.find('\n', from);
    if (!out.empty()) out += ", ";
    out += lines.substr(from, end - from);
    from = end + 1;
  }
  return "{ " + out + " }";
}

}  // namespace

std::string schedule_toml(double every, step_count every_steps, double start, double stop) {
  std::string out;
  if (every != 0.0) out += fmt::format("every = {}\n", number_toml(every));
  if (every_steps != 0) out += fmt::format("every_steps = {}\n", every_steps);
  if (start != 0.0) out += fmt::format("start = {}\n", number_toml(start));
  if (!std::isinf(stop)) out += fmt::format("stop = {}\n", number_toml(stop));
  return out;
}

std::string keyword_toml(const py::dict& kw) {
  std::string out;
  for (const auto& [key, value] : kw) {
    const std::string k = py::str(key);
    if (py::isinstance<py::str>(value))
      out += fmt::format("{} = {}\n", k, toml_quote(value.cast<std::string>()));
    else if (py::isinstance<py::bool_>(value))
      out += fmt::format("{} = {}\n", k, value.cast<bool>() ? "true" : "false");
    else
      out += fmt::format("{} = {}\n", k, number_toml(value.cast<double>()));
  }
  return out;
}

void new_network(const network& net) { networks()[&net] = {}; }

void added_population(const network& net, const std::string& model, const std::string& name,
                      const py::kwargs& kw) {
  if (auto* r = recipe_of(net)) {
    check_name(*r, "population", name);
    r->populations.push_back({name, fmt::format("model = {}\n{}", toml_quote(model), keyword_toml(kw))});
  }
}

void adapted(const network& net, const std::string& population, const std::string& rule,
             const py::kwargs& kw) {
  auto* r = recipe_of(net);
  if (!r) return;
  if (rule.empty())
    return cannot_rerun(*r, fmt::format("population \"{}\" adapts by an intrinsic rule written "
                                        "in Python (register it in a plug-in to rerun)",
                                        population));
  if (table* t = find(r->populations, population))
    t->lines += fmt::format("intrinsic = {}\n",
                            inline_table(fmt::format("name = {}\n{}", toml_quote(rule), keyword_toml(kw))));
}

void connected(const network& net, const std::string& name, const std::string& pre,
               const std::string& post, const std::string& current, const std::string& rule,
               bool python_rule, const py::kwargs& kw) {
  auto* r = recipe_of(net);
  if (!r) return;
  if (python_rule)
    cannot_rerun(*r, fmt::format("projection \"{}\" learns by a rule written in Python "
                                 "(register it in a plug-in to rerun)",
                                 name));
  check_name(*r, "projection", name);
  std::string lines = fmt::format("pre = {}\npost = {}\ncurrent = {}\n", toml_quote(pre),
                                  toml_quote(post), toml_quote(current));
  if (!rule.empty())
    lines += fmt::format("rule = {}\n",
                         inline_table(fmt::format("name = {}\n{}", toml_quote(rule), keyword_toml(kw))));
  r->projections.push_back({name, std::move(lines)});
}

namespace {

void set_stimulus(network_recipe& r, const std::string& target, std::string lines, bool patterns) {
  if (table* t = find(r.stimuli, target))
    t->lines = std::move(lines);
  else
    r.stimuli.push_back({target, std::move(lines)});
  std::erase(r.pattern_targets, target);
  if (patterns) r.pattern_targets.push_back(target);
}

}  // namespace

void stimulated_with_patterns(const network& net, const std::string& target, double duration,
                              bool shuffle, std::uint64_t seed) {
  if (auto* r = recipe_of(net)) {
    check_seed(*r, seed);
    set_stimulus(*r, target,
                 fmt::format("source = \"file\"\nduration = {}\norder = \"{}\"\nseed = {}\n",
                             number_toml(duration), shuffle ? "shuffled" : "sequential", seed),
                 true);
  }
}

void stimulated(const network& net, const std::string& target, const std::string& source,
                std::uint64_t rng, const py::kwargs& kw) {
  auto* r = recipe_of(net);
  if (!r) return;
  if (r->seed && *r->seed != rng)
    cannot_rerun(*r, fmt::format("stimuli were made with two seeds ({} and {}), and an experiment "
                                 "file has one",
                                 *r->seed, rng));
  r->seed = rng;
  check_seed(*r, rng);
  set_stimulus(*r, target, fmt::format("source = {}\n{}", toml_quote(source), keyword_toml(kw)),
               false);
}

void stimulated_constant(const network& net, const std::string& target,
                         const py::array_t<double, py::array::forcecast>& value) {
  auto* r = recipe_of(net);
  if (!r) return;
  std::string values;
  for (py::ssize_t i = 0; i < value.size(); ++i)
    values += (i > 0 ? ", " : "") + number_toml(value.data()[i]);
  set_stimulus(*r, target, fmt::format("source = \"constant\"\nvalue = [{}]\n", values), false);
}

void new_simulation(const simulation& sim, const std::string& regime, std::string lines,
                    std::optional<bool> settle) {
  simulation_recipe s{.regime = regime, .lines = std::move(lines), .settle = settle};
  // A regime that draws random numbers takes the experiment's seed unless [run] gives one;
  // Python's default is the regime's own.
  if (regime == "spiking" && s.lines.find("seed =") == std::string::npos)
    s.lines += fmt::format("seed = {}\n", spiking_options{}.seed);
  simulations()[&sim] = std::move(s);
}

void settled(const simulation& sim) {
  auto it = simulations().find(&sim);
  if (it != simulations().end() && it->second.settle && !it->second.ran) it->second.settle = true;
}

std::vector<std::uint64_t> stimulus_generations(const network& net) {
  std::vector<std::uint64_t> out;
  for (const auto& slot : net.stimuli()) out.push_back(slot.generation);
  return out;
}

void attach(simulation& sim, recorder& r) {
  if (!r.config().empty() && r.keep_inputs &&
      r.made_with.mode != hdf5_recorder::file_mode::append)  // the user's own description
    r.keep_for_rerun({{}, {{"rerunnable", "no: the Recorder was given its own config"}}});
  if (!r.config().empty() || !r.keep_inputs ||
      r.made_with.mode == hdf5_recorder::file_mode::append) {
    sim.attach(r);  // none wanted, or a file that has its own (append marks it)
    return;
  }
  auto s = simulations().find(&sim);
  network_recipe* n = recipe_of(sim.net());
  std::string why = n ? n->why_not : "the network was not built from Python";
  if (s == simulations().end() && why.empty())
    why = "the simulation was not made from Python";
  if (why.empty() && sim.steps() > 0)
    why = fmt::format("the simulation had run {} steps (t = {} ms) before the recorder was "
                      "attached",
                      sim.steps(), sim.time());
  if (why.empty()) why = order_problem(n->populations, "populations");
  if (why.empty()) why = order_problem(n->projections, "projections");

  const std::string file = std::filesystem::absolute(r.path()).lexically_normal().string();
  std::string shown = file;  // in a comment: one line
  std::replace_if(shown.begin(), shown.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; }, '?');
  std::string text = fmt::format(
      "# Built and run from Python (ratesim {}). Rerun it with\n"
      "#   ratesim rerun {} --output AGAIN.h5\n"
      "# (docs/python.md, \"Rerunning\"): the arrays Python gave are in the file, under /inputs.\n"
      "{}"
      "seed = {}\n",
      version, shown, why.empty() ? "" : fmt::format("# It cannot be rerun: {}.\n", why),
      n && n->seed ? *n->seed : 1);
  std::vector<hdf5_recorder::kept_array> arrays;
  std::vector<matrix> transposed;  // W as rows of the file (n_post × n_pre, row-major)
  std::string inputs;
  if (n) {
    for (const table& t : n->populations) text += fmt::format("\n[population.{}]\n{}", t.name, t.lines);
    for (const table& t : n->stimuli) {
      text += fmt::format("\n[stimulus.{}]\n{}", t.name, t.lines);
      if (std::find(n->pattern_targets.begin(), n->pattern_targets.end(), t.name) ==
          n->pattern_targets.end())
        continue;
      const std::string dataset = "/inputs/patterns/" + t.name;
      text += fmt::format("images = {}\n", toml_quote(file + ":" + dataset));
      inputs += fmt::format("stimulus.{}.images={}\n", t.name, dataset);
      for (const auto& slot : sim.net().stimuli())
        if (sim.net().get_population(slot.target).name() == t.name && slot.source->patterns()) {
          const matrix& p = *slot.source->patterns();  // D × N: row-major N × D
          arrays.push_back({"patterns/" + t.name, p.data(), static_cast<std::size_t>(p.cols()),
                            static_cast<std::size_t>(p.rows())});
        }
    }
    transposed.reserve(n->projections.size());
    for (const table& t : n->projections) {
      const std::string dataset = "/inputs/weights/" + t.name;
      text += fmt::format("\n[projection.{}]\n{}weights = {{ init = \"file\", path = {} }}\n",
                          t.name, t.lines, toml_quote(file + ":" + dataset));
      inputs += fmt::format("projection.{}.weights.path={}\n", t.name, dataset);
      const auto W = sim.net().weights(sim.net().projection_index(t.name));
      transposed.push_back(W.transpose());
      arrays.push_back({"weights/" + t.name, transposed.back().data(),
                        static_cast<std::size_t>(W.rows()), static_cast<std::size_t>(W.cols())});
    }
  }
  if (s != simulations().end()) {
    text += fmt::format("\n[run]\nregime = {}\n{}", toml_quote(s->second.regime), s->second.lines);
    if (s->second.settle) text += fmt::format("settle = {}\n", *s->second.settle);
    text += "duration = 0.0  # each run's length is in /inputs/runs, which ratesim rerun follows\n";
  }
  text += fmt::format("\n[output]\nfile = {}\nmode = \"create\"\nflush_every = {}\ncompression = {}\n",
                      toml_quote(file), r.made_with.flush_every, r.made_with.compression);
  for (const std::string& record : r.record_tables) text += "\n[[record]]\n" + record;

  if (!why.empty()) arrays.clear();  // no use without a rerun
  r.keep_for_rerun({std::move(arrays),
                    {{"rerunnable", why.empty() ? std::string("yes") : "no: " + why},
                     {"rerun_inputs", why.empty() ? inputs : std::string()}}});
  r.set_config(std::move(text));
  const std::uint64_t seed = r.made_with.seed;
  if (seed == 0 && n) r.set_seed(n->seed ? *n->seed : 1);
  try {
    sim.attach(r);
  } catch (...) {  // refused: the next attach starts afresh (the arrays' memory is gone then)
    r.forget_rerun();
    r.set_config("");
    r.set_seed(seed);
    throw;
  }
  if (s != simulations().end() && why.empty()) {
    s->second.recorders.push_back(&r);
    s->second.stimuli = stimulus_generations(sim.net());
  }
}

run_log::run_log(simulation& sim) : sim_(sim) {
  auto s = simulations().find(&sim);
  if (s == simulations().end()) return;
  s->second.ran = true;
  recorders_ = s->second.recorders;
  if (recorders_.empty()) return;
  first_ = sim.steps();
  before_ = sim.net().fingerprint();
  // A stimulus replaced since the recorders came: a start that cannot follow any end.
  if (stimulus_generations(sim.net()) != s->second.stimuli)
    before_ = (before_ + 1) & ((std::uint64_t{1} << 53) - 1);
}

void run_log::done() {
  if (recorders_.empty()) return;
  const std::uint64_t after = sim_.net().fingerprint();
  int ending = 0;  // completed
  if (sim_.paused()) {
    const auto* q = dynamic_cast<const quasi_static_simulation*>(&sim_);
    ending = q && q->pending() > 0 ? 2 : 1;
  }
  const auto rs = std::move(recorders_);
  recorders_.clear();
  for (recorder* r : rs) {
    try {
      r->log_run(first_, sim_.steps(), before_, after, ending);
    } catch (const std::exception& e) {  // the file keeps its traces; only a rerun is lost
      if (PyErr_WarnEx(PyExc_RuntimeWarning,
                       fmt::format("ratesim: {} (the file cannot be rerun)", e.what()).c_str(),
                       1) < 0)
        PyErr_Clear();  // warnings as errors: the run's own outcome comes first
    }
  }
}

}  // namespace ratesim::python
