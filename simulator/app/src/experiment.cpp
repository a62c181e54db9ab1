#include <ratesim/clock.hpp>
#include <ratesim/error.hpp>
#include <ratesim/experiment.hpp>
#include <ratesim/output_file.hpp>
#include <ratesim/random.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

namespace ratesim {
namespace {

constexpr double max_exact = 9007199254740992.0;  // 2^53: whole numbers a double holds

std::string where(const toml::node& node, const std::string& fallback) {
  const auto& src = node.source();
  if (!src.path || src.begin.line == 0) return fallback;
  if (src.path->rfind("--set ", 0) == 0) return *src.path;  // an override has no line
  return fmt::format("{}:{}:{}", *src.path, src.begin.line, src.begin.column);
}

// Reads one TOML table: typed values, remembered as used; finish() rejects the rest.
class table_reader {
 public:
  table_reader(const toml::table& t, std::string path, std::string source)
      : t_(t), path_(std::move(path)), source_(std::move(source)) {}

  const toml::table& table() const { return t_; }
  const std::string& path() const { return path_; }
  std::string here() const { return where(t_, source_); }
  std::string at(std::string_view key) const {
    const toml::node* n = t_.get(key);
    return n ? where(*n, here()) : here();
  }
  [[noreturn]] void fail(std::string_view key, const std::string& what) const {
    throw config_error(fmt::format("{}: {}{}{}: {}", at(key), path_, path_.empty() ? "" : ".",
                                   key, what));
  }

  bool has(std::string_view key) const { return t_.contains(key); }
  // The node under `key`, read as it is (nullptr when absent).
  const toml::node* raw(std::string_view key) { return node(key); }

  double number(std::string_view key, double fallback) {
    const toml::node* n = node(key);
    if (!n) return fallback;
    if (auto v = n->value<double>()) return *v;
    fail(key, fmt::format("expected a number, got {}", type_name(*n)));
  }
  // A whole number in [low, high] (at most 2^53, which a double holds exactly).
  double whole(std::string_view key, double fallback, double low, double high) {
    const double v = number(key, fallback);
    if (!(v >= low && v <= high && v == std::floor(v)))
      fail(key, fmt::format("must be a whole number >= {} and at most {}, got {}", low, high, v));
    return v;
  }
  double number(std::string_view key) {
    if (!has(key)) fail(key, "is required (a number)");
    return number(key, 0.0);
  }
  std::string string(std::string_view key, const std::string& fallback) {
    const toml::node* n = node(key);
    if (!n) return fallback;
    if (auto v = n->value<std::string>()) return *v;
    fail(key, fmt::format("expected a string, got {}", type_name(*n)));
  }
  std::string string(std::string_view key) {
    if (!has(key)) fail(key, "is required (a string)");
    return string(key, "");
  }
  bool boolean(std::string_view key, bool fallback) {
    const toml::node* n = node(key);
    if (!n) return fallback;
    if (n->is_boolean()) return n->as_boolean()->get();
    fail(key, fmt::format("expected true or false, got {}", type_name(*n)));
  }
  const toml::table* subtable(std::string_view key) {
    const toml::node* n = node(key);
    if (!n) return nullptr;
    if (!n->is_table()) fail(key, fmt::format("expected a table, got {}", type_name(*n)));
    return n->as_table();
  }
  std::vector<double> numbers(std::string_view key) {
    const toml::node* n = node(key);
    std::vector<double> out;
    if (!n) return out;
    if (auto v = n->value<double>()) return {*v};
    if (!n->is_array()) fail(key, "expected a number or an array of numbers");
    for (const auto& item : *n->as_array()) {
      auto v = item.value<double>();
      if (!v) fail(key, "expected an array of numbers");
      out.push_back(*v);
    }
    return out;
  }
  // Every value not yet read, as named parameters (numbers, strings, arrays of numbers).
  parameters rest(const std::set<std::string>& skip = {}) {
    parameters out;
    for (const auto& [k, n] : t_) {
      const std::string key(k.str());
      if (used_.count(key) || skip.count(key)) continue;
      used_.insert(key);
      if (n.is_boolean())
        out.set(key, n.as_boolean()->get());
      else if (auto v = n.value<double>())
        out.set(key, *v);
      else if (auto s = n.value<std::string>())
        out.set(key, *s);
      else if (n.is_array())
        out.set(key, numbers(key));
      else if (n.is_integer())
        fail(key, fmt::format("{} is too large", n.as_integer()->get()));
      else
        fail(key, fmt::format("expected a number, a string or a flag, got {}", type_name(n)));
    }
    return out;
  }
  // Throws for the first key nobody read.
  void finish(std::string_view expected) {
    for (const auto& [k, n] : t_) {
      const std::string key(k.str());
      if (!used_.count(key))
        throw config_error(fmt::format("{}: {}: unknown key \"{}\"; expected {}", where(n, here()),
                                       path_.empty() ? "top level" : path_, key, expected));
    }
  }

 private:
  const toml::node* node(std::string_view key) {
    const toml::node* n = t_.get(key);
    if (n) used_.insert(std::string(key));
    return n;
  }
  static std::string_view type_name(const toml::node& n) {
    if (n.is_integer()) return "an integer too large for a number here";
    switch (n.type()) {
      case toml::node_type::table: return "a table";
      case toml::node_type::array: return "an array";
      case toml::node_type::string: return "a string";
      case toml::node_type::boolean: return "a boolean";
      default: return "a number or date";
    }
  }

  const toml::table& t_;
  std::string path_, source_;
  std::set<std::string> used_;
};

// Runs `build`; a ratesim error it throws gets the place in the file it is about, found
// from the error's parameter field (else the first unknown parameter, else the table),
// and `what` it was building. A mistake in the description becomes a config_error (exit
// 2); bad data read from a file (a data_error) stays one (exit 3); a failure of the system
// (a full disk) stays what it was (exit 1).
template <class F>
auto building(table_reader& r, const parameters& values, const std::string& what, F&& build) {
  try {
    return build();
  } catch (const config_error&) {
    throw;
  } catch (const error& e) {
    const auto unknown = values.unused();
    std::string place = r.here();
    if (!e.parameter().empty() && r.has(e.parameter()))
      place = r.at(e.parameter());
    else if (!unknown.empty())
      place = r.at(unknown.front());
    const std::string message = fmt::format("{}: {}: {}", place, what, e.what());
    const error::fields fields{e.component(), e.parameter(), e.value()};
    if (dynamic_cast<const data_error*>(&e)) throw data_error(message, fields);
    if (dynamic_cast<const parameter_error*>(&e) || dynamic_cast<const lookup_error*>(&e) ||
        dynamic_cast<const usage_error*>(&e) || dynamic_cast<const input_error*>(&e))
      throw config_error(message, fields);
    if (dynamic_cast<const numerical_error*>(&e)) throw numerical_error(message, fields);
    throw error(message, fields);
  }
}

// The factory `name` names in `table`, read from `key`; an unknown name is an error at the
// key, listing the known ones.
template <class Factory>
const Factory& factory(table_reader& r, const registry<Factory>& table, std::string_view key,
                       const std::string& name) {
  try {
    return table.get(name);
  } catch (const lookup_error& e) {
    r.fail(key, e.what());
  }
}

// The table that holds the last part of the dotted `key`, and that part. The walk goes
// through tables and arrays of tables (a whole-number part picks one: record.0.every); a
// table that is not there is created when `create` (--set), else an error (--unset).
std::pair<toml::table*, std::string> holder(toml::table& root, const std::string& key,
                                            const std::string& source, bool create) {
  toml::table* t = &root;
  std::size_t start = 0;
  while (true) {
    const auto dot = key.find('.', start);
    const std::string part = key.substr(start, dot == std::string::npos ? dot : dot - start);
    if (part.empty()) throw config_error(fmt::format("{}: empty part in the key", source));
    if (dot == std::string::npos) return {t, part};
    toml::node* next = t->get(part);
    if (!next && !create)
      throw config_error(fmt::format("{}: there is no key \"{}\"", source, key.substr(0, dot)));
    if (!next) next = &t->insert_or_assign(part, toml::table{}).first->second;
    if (next->is_array()) {
      const auto close = key.find('.', dot + 1);
      const std::string index = key.substr(dot + 1, close == std::string::npos ? close : close - dot - 1);
      toml::array& array = *next->as_array();
      if (close == std::string::npos && !create)
        throw config_error(fmt::format("{}: one table of an array cannot be removed, only the "
                                       "whole array (--unset {})",
                                       source, key.substr(0, dot)));
      std::size_t i = 0;
      try {
        i = std::stoul(index);
      } catch (const std::exception&) {
        i = array.size();
      }
      if (i >= array.size() || !array[i].is_table() || close == std::string::npos)
        throw config_error(fmt::format("{}: \"{}\" has no table number {}", source, part, index));
      next = &array[i];
      start = close + 1;
      t = next->as_table();
      continue;
    }
    if (!next->is_table())
      throw config_error(fmt::format("{}: \"{}\" is not a table", source, key.substr(0, dot)));
    t = next->as_table();
    start = dot + 1;
  }
}

void apply_override(toml::table& root, const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw config_error(fmt::format("--set {}: expected KEY.PATH=VALUE", text));
  const std::string key = text.substr(0, eq), value = text.substr(eq + 1);
  const std::string source = fmt::format("--set {}", text);
  toml::table parsed;
  try {
    parsed = toml::parse("v = " + value, source);
  } catch (const toml::parse_error&) {
    std::string quoted;  // a bare word: a string
    for (char ch : value) {
      if (ch == '"' || ch == '\\') quoted += '\\';
      quoted += ch;
    }
    parsed = toml::parse("v = \"" + quoted + "\"", source);
  }
  if (parsed.size() != 1 || !parsed.contains("v"))
    throw config_error(fmt::format("{}: the value must be one TOML value (quote a string that "
                                   "holds a newline or '=')",
                                   source));
  const auto [t, part] = holder(root, key, source, true);
  t->insert_or_assign(part, std::move(*parsed.get("v")));
}

// Removes the dotted `key`, a value or a whole table; a key that is not there is an error
// naming it and listing what its table holds.
void apply_unset(toml::table& root, const std::string& key) {
  const std::string source = fmt::format("--unset {}", key);
  if (key.empty() || key.find('=') != std::string::npos)
    throw config_error(fmt::format("{}: expected KEY.PATH, without a value", source));
  const auto [t, part] = holder(root, key, source, false);
  if (t->erase(part) > 0) return;
  std::vector<std::string> known;
  for (const auto& entry : *t) known.emplace_back(entry.first.str());
  if (known.empty()) known.emplace_back("nothing");
  const std::string table =
      part.size() == key.size() ? "the top level" : key.substr(0, key.size() - part.size() - 1);
  throw config_error(fmt::format("{}: there is no key \"{}\" to remove; {} holds {}", source,
                                 key, table, fmt::join(known, ", ")));
}

}  // namespace

class experiment_builder {
 public:
  experiment_builder(toml::table root, std::string source, const checkpoint* resume = nullptr,
                     bool force = false)
      : root_(std::move(root)), source_(std::move(source)), resume_(resume), force_(force) {}

  std::unique_ptr<experiment> build() {
    auto e = std::unique_ptr<experiment>(new experiment());
    std::ostringstream text;
    text << root_;
    e->effective_ = text.str();
    if (resume_) e->warnings_ = check_resumable(*resume_, &e->effective_, force_);
    e->net_ = std::make_unique<network>();
    table_reader top(root_, "", source_);
    const auto seed = static_cast<std::uint64_t>(top.whole("seed", 1.0, 0, max_exact));
    seed_ = seed;
    populations(top, *e->net_);
    stimuli(top, *e->net_);
    projections(top, *e->net_);
    run(top, *e);
    if (resume_) {
      e->sim_->restore(*resume_);
      if (e->sim_->steps() > e->total_steps_)
        throw input_error(fmt::format("checkpoint: it is at step {}, past the end of this run "
                                      "({} steps)",
                                      e->sim_->steps(), e->total_steps_));
    }
    output(top, *e, seed);
    top.finish("seed, population, stimulus, projection, run, output, record");
    // The recorder is checked against the network now, and makes its file only when the
    // run starts (experiment::run), after everything else is checked: a refused
    // experiment or run keeps the old file (the recorder claimed it above, touching nothing).
    if (e->recorder_) {
      table_reader r(*top.table().get("output")->as_table(), "output", source_);
      building(r, parameters{}, "output", [&] {
        e->recorder_->check(*e->net_, e->sim_->dt());
        return 0;
      });
    }
    return e;
  }

 private:
  void populations(table_reader& top, network& net) {
    const toml::table* pops = top.subtable("population");
    if (!pops || pops->empty())
      throw config_error(fmt::format("{}: no [population.NAME] table", source_));
    for (const auto& [k, n] : *pops) {
      const std::string name(k.str());
      if (!n.is_table())
        throw config_error(fmt::format("{}: population.{}: expected a table", where(n, source_), name));
      table_reader r(*n.as_table(), "population." + name, source_);
      const std::string model = r.string("model");
      const toml::table* intrinsic = r.subtable("intrinsic");
      const parameters values = r.rest();
      const std::string what = fmt::format("population \"{}\"", name);
      building(r, values, what, [&] {
        net.add(population_models().get(model)(name, values));
        return 0;
      });
      if (intrinsic) {
        table_reader ir(*intrinsic, r.path() + ".intrinsic", source_);
        const auto& make = factory(ir, intrinsic_rules(), "name", ir.string("name"));
        const parameters rule_values = ir.rest();
        building(ir, rule_values, what, [&] {
          net.adapt(name, make(rule_values));
          return 0;
        });
      }
    }
  }

  void stimuli(table_reader& top, network& net) {
    const toml::table* stims = top.subtable("stimulus");
    if (!stims) return;
    for (const auto& [k, n] : *stims) {
      const std::string target(k.str());
      if (!n.is_table())
        throw config_error(fmt::format("{}: stimulus.{}: expected a table", where(n, source_), target));
      table_reader r(*n.as_table(), "stimulus." + target, source_);
      const auto& make = factory(r, stimulus_sources(), "source", r.string("source"));
      const parameters values = r.rest();
      building(r, values, fmt::format("stimulus of \"{}\"", target), [&] {
        random_stream rng = stream_of(r);
        net.stimulate(target, make({net.get_population(target), rng}, values));
        return 0;
      });
    }
  }

  // The patterns of the stimulus of population number `population`, if it presents a set.
  static const matrix* patterns_of(network& net, std::size_t population) {
    for (const auto& slot : net.stimuli())
      if (slot.target == population) return slot.source->patterns();
    return nullptr;
  }

  // The initial weights of a projection from its `weights` table.
  matrix initial_weights(table_reader& parent, const toml::table& t, network& net,
                         const std::string& pre, const std::string& post, const std::string& what) {
    table_reader r(t, parent.path() + ".weights", source_);
    const auto& make = factory(r, weight_initializers(), "init", r.string("init"));
    const parameters values = r.rest();
    return building(r, values, what, [&] {
      const std::size_t from = net.population_index(pre);
      random_stream rng = stream_of(parent);
      return make({net, net.get_population(from), net.get_population(post),
                   patterns_of(net, from), rng},
                  values);
    });
  }

  void projections(table_reader& top, network& net) {
    const toml::table* projs = top.subtable("projection");
    if (!projs) return;
    for (const auto& [k, n] : *projs) {
      const std::string name(k.str());
      if (!n.is_table())
        throw config_error(fmt::format("{}: projection.{}: expected a table", where(n, source_), name));
      table_reader r(*n.as_table(), "projection." + name, source_);
      const std::string what = fmt::format("projection \"{}\"", name);
      const std::string pre = r.string("pre"), post = r.string("post");
      const std::string current = r.string("current", "log_weight");
      const parameters none;
      building(r, none, what, [&] {  // both exist
        return net.get_population(post).size() + net.get_population(pre).size();
      });
      const toml::table* w = r.subtable("weights");
      if (!w)
        r.fail("weights", fmt::format("is required: a table with init = one of {}",
                                      fmt::join(weight_initializers().names(), ", ")));
      connection c{.name = name,
                   .weights = initial_weights(r, *w, net, pre, post, what),
                   .current = current,
                   .rule = nullptr};
      if (const toml::table* rule = r.subtable("rule")) {
        table_reader rr(*rule, r.path() + ".rule", source_);
        const std::string rule_name = rr.string("name");
        const parameters values = rr.rest();
        c.rule = building(rr, values, what, [&] { return make_rule(rule_name, values); });
      }
      r.finish("pre, post, current, weights, rule");
      building(r, none, what, [&] {
        net.connect(pre, post, std::move(c));
        return 0;
      });
      building(r, none, "rule", [&] {  // placed at the rule; the message names the projection
        net.check_post_variable(net.projection_index(name));
        return 0;
      });
    }
  }

  void run(table_reader& top, experiment& e) {
    const toml::table* t = top.subtable("run");
    if (!t) throw config_error(fmt::format("{}: no [run] table", source_));
    table_reader r(*t, "run", source_);
    const std::string regime = r.string("regime");
    const std::string what = "run";
    double T = 0.0;  // the presentation duration shared by the stimuli, if any
    for (auto& slot : e.net_->stimuli())
      if (std::isfinite(slot.source->duration())) T = slot.source->duration();
    const auto& make = factory(r, regimes(), "regime", regime);
    parameters values = r.rest({"duration", "presentations", "epochs"});
    // A regime that draws random numbers (one with a "seed" parameter) takes the
    // experiment's seed unless [run] gives its own.
    const auto& docs = regimes().docs(regime);
    if (!values.contains("seed") &&
        std::any_of(docs.begin(), docs.end(), [](const auto& d) { return d.name == "seed"; }))
      values.set("seed", static_cast<double>(seed_));
    e.sim_ = building(r, values, what, [&] {
      try {
        return make(*e.net_, values);
      } catch (const parameter_error& error) {
        if (values.unused().empty()) throw;
        // A key the regime does not know may be one of [run]'s own, misspelt.
        throw parameter_error(
            fmt::format("{}; [run] itself takes regime, duration, presentations, epochs",
                        error.what()),
            {error.component(), error.parameter(), error.value()});
      }
    });
    // The length: duration [ms], presentations, or epochs of the first pattern set.
    const int given = r.has("duration") + r.has("presentations") + r.has("epochs");
    if (given != 1) r.fail("duration", "give exactly one of duration [ms], presentations, epochs");
    double duration = 0.0;
    if (r.has("duration")) {
      duration = r.number("duration");
    } else {
      const char* key = r.has("presentations") ? "presentations" : "epochs";
      double count = r.whole(key, 0, 0, max_exact);
      if (!(T > 0)) r.fail(key, "needs a stimulus of patterns with a duration");
      if (r.has("epochs")) {
        const matrix* first = nullptr;  // the first stimulus that presents a set of patterns
        for (auto& slot : e.net_->stimuli())
          if (!first) first = slot.source->patterns();
        if (!first) r.fail("epochs", "needs a stimulus of patterns");
        count *= double(first->cols());
      }
      duration = count * T;
    }
    const double steps = duration / e.sim_->dt();
    const auto exact = exact_steps(duration, e.sim_->dt());
    const char* length = r.has("duration") ? "duration" : r.has("presentations") ? "presentations" : "epochs";
    if (!exact && !(std::isfinite(steps) && steps > double(max_steps)))
      r.fail(length, fmt::format("{} ms is not a whole number of steps dt = {} ms", duration,
                                 e.sim_->dt()));
    if (!exact || *exact > step_count(1e15))
      r.fail(length, fmt::format("{} ms is {} steps of dt = {} ms, more than a run may take "
                                 "(10^15)",
                                 duration, steps, e.sim_->dt()));
    e.total_steps_ = *exact;
    r.finish("regime, the regime's parameters, duration, presentations, epochs");
  }

  void output(table_reader& top, experiment& e, std::uint64_t seed) {
    const toml::table* out = top.subtable("output");
    const toml::node* records = top.raw("record");  // an array of tables, checked below
    if (!out) {
      if (records) throw config_error(fmt::format("{}: [[record]] needs an [output] file", where(*records, source_)));
      return;
    }
    table_reader r(*out, "output", source_);
    hdf5_recorder::options o;
    const std::string mode = r.string("mode", "create");
    if (mode == "overwrite")
      o.mode = hdf5_recorder::file_mode::overwrite;
    else if (mode == "append")
      o.mode = hdf5_recorder::file_mode::append;
    else if (mode != "create")
      r.fail("mode", fmt::format("expected create, overwrite or append, got \"{}\"", mode));
    const double flush = r.whole("flush_every", double(o.flush_every), 1, 1e9);
    o.flush_every = std::size_t(flush);
    o.compression = int(r.number("compression", o.compression));
    o.config = e.effective_;
    o.seed = seed;
    const std::string file = r.string("file");
    r.finish("file, mode, flush_every, compression");
    if (resume_) o.mode = hdf5_recorder::file_mode::append;  // the stopped run's file
    const parameters none;
    e.recorder_ = building(r, none, "output",
                           [&] { return std::make_unique<hdf5_recorder>(file, o); });
    if (resume_)
      e.recorder_->resume(recorded_rows(*resume_), resume_->has("recorder.run_id")
                                                       ? resume_->text("recorder.run_id")
                                                       : std::string());
    if (records) {
      if (!records->is_array_of_tables())
        throw config_error(fmt::format("{}: record: expected [[record]] tables", where(*records, source_)));
      int i = 0;
      for (const auto& n : *records->as_array()) record(*n.as_table(), *e.recorder_, *e.net_, i++);
    }
  }

  void record(const toml::table& t, hdf5_recorder& out, const network& net, int index) {
    table_reader r(t, fmt::format("record[{}]", index), source_);
    schedule s;
    s.every = r.number("every", 0.0);
    if (r.has("every") && !(s.every > 0 && std::isfinite(s.every)))
      r.fail("every", fmt::format("must be a finite interval > 0 [ms], got {}", s.every));
    s.every_steps = step_count(r.whole("every_steps", 0.0, r.has("every_steps") ? 1 : 0, 1e15));
    s.start = r.number("start", s.start);
    s.stop = r.number("stop", s.stop);
    // The kind: `what`, else a population's variable or a projection's weights.
    if (!r.has("what") && !r.has("population") && !r.has("projection"))
      r.fail("population", "a record needs population (and variable) or projection");
    const std::string kind = r.string("what", r.has("population") ? "variable" : "weights");
    const auto& make = factory(r, record_kinds(), "what", kind);
    const parameters values = r.rest();
    building(r, values, r.path(), [&] {
      make({out, net, s}, values);
      return 0;
    });
  }

  // The sample counts experiment::save() kept.
  static std::vector<std::pair<std::string, std::uint64_t>> recorded_rows(const checkpoint& c) {
    std::vector<std::pair<std::string, std::uint64_t>> rows;
    if (!c.has("recorder.groups")) return rows;
    std::istringstream groups(c.text("recorder.groups"));
    const auto& counts = c.integers("recorder.rows");
    std::string group;
    for (std::size_t i = 0; std::getline(groups, group); ++i) {
      if (i >= counts.size() || counts[i] < 0)
        throw input_error("checkpoint: recorder.groups and recorder.rows do not match");
      rows.emplace_back(group, static_cast<std::uint64_t>(counts[i]));
    }
    return rows;
  }

  toml::table root_;
  std::string source_;
  const checkpoint* resume_;
  bool force_;
  // Each component draws from a stream of its own, keyed by the seed and its table's path
  // ("stimulus.input", "projection.ff"): what one draws does not depend on the others, nor
  // on the order they are built in.
  random_stream stream_of(const table_reader& r) const {
    return random_stream(seed_, stream_id(r.path()));
  }

  std::uint64_t seed_ = 0;
};

namespace {

toml::table parse_config(std::string_view text, const std::string& source,
                         const config_overrides& overrides) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    throw config_error(fmt::format("{}:{}:{}: {}", source, b.line, b.column, e.description()));
  }
  for (const auto& key : overrides.unset) apply_unset(root, key);
  for (const auto& o : overrides.set) apply_override(root, o);
  return root;
}

std::string read_text(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw config_error(fmt::format("{}: is a folder, not an experiment file", path));
  std::ifstream in(path);
  if (!in) throw config_error(fmt::format("{}: cannot read the file", path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::string toml_quote(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\')
      out += fmt::format("\\{}", c);
    else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
    else
      out += c;
  }
  return out + "\"";
}

std::unique_ptr<experiment> experiment::parse(std::string_view text, const std::string& source,
                                              const config_overrides& overrides) {
  return experiment_builder(parse_config(text, source, overrides), source).build();
}

std::unique_ptr<experiment> experiment::load(const std::string& path,
                                             const config_overrides& overrides) {
  return parse(read_text(path), path, overrides);
}

std::unique_ptr<experiment> experiment::resume(const checkpoint& from,
                                               const std::string& config_path,
                                               const config_overrides& overrides,
                                               bool force) {
  const bool own = config_path.empty();
  const std::string source = own ? "the checkpoint's configuration" : config_path;
  toml::table root = parse_config(own ? from.text("config") : read_text(config_path), source,
                                  overrides);
  return experiment_builder(std::move(root), source, &from, force).build();
}

experiment::~experiment() = default;

bool experiment::run_steps(step_count steps, observer* progress, const std::atomic<int>* stop) {
  if (steps < 0 || steps > total_steps_ - sim_->steps())
    throw usage_error(fmt::format("experiment: {} steps from step {} go past its end, step {}",
                                  steps, sim_->steps(), total_steps_));
  start_recording();
  if (progress) sim_->attach(*progress);
  sim_->pause_on(stop);
  struct unpause {
    simulation& sim;
    ~unpause() { sim.pause_on(nullptr); }
  } guard{*sim_};
  sim_->run_steps(steps);
  return !sim_->paused();
}

void experiment::start_recording() {
  if (recorder_ && !recorder_attached_) {  // makes the output file: nothing is refused after it
    sim_->attach(*recorder_);
    recorder_attached_ = true;
  }
}

checkpoint experiment::save() {
  checkpoint c = sim_->save();
  c.set("config", effective_);
  c.set_integer("experiment.total_steps", total_steps_);
  if (recorder_) {
    std::string groups;
    std::vector<std::int64_t> rows;
    for (const auto& [group, count] : recorder_->sample_counts()) {
      groups += group + "\n";
      rows.push_back(static_cast<std::int64_t>(count));
    }
    c.set("recorder.file", recorder_->path());
    c.set("recorder.run_id", recorder_->run_id());
    c.set("recorder.groups", groups);
    c.set("recorder.rows", std::move(rows));
  }
  return c;
}

bool experiment::run(observer* progress, const run_control& control) {
  // Moments, not lengths: a checkpoint or a stop falls on the first step at or after them.
  auto to_steps = [&](double ms, const char* what) -> step_count {
    if (!(ms >= 0))  // +infinity: never
      throw_parameter_error("experiment", what, "finite and >= 0 [ms]", ms);
    return first_step_at(ms, sim_->dt());
  };
  const step_count every = to_steps(control.checkpoint_every, "checkpoint_every");
  const step_count stop_at = to_steps(control.stop_at, "stop_at");
  if (every > 0 && control.checkpoint.empty())
    throw usage_error("experiment: checkpoint_every needs a checkpoint file");
  // Claimed (checked and locked) before the run, so that a bad path fails now.
  std::optional<output_file> checkpoint_file;
  if (!control.checkpoint.empty())
    checkpoint_file.emplace(control.checkpoint, output_file::existing::replace,
                            fmt::format("checkpoint \"{}\"", control.checkpoint));
  start_recording();
  if (progress) sim_->attach(*progress);
  sim_->pause_on(control.stop);
  struct unpause {  // the simulation may outlive this run
    simulation& sim;
    ~unpause() {
      sim.pause_on(nullptr);
      sim.pause_at(std::numeric_limits<step_count>::max());
    }
  } guard{*sim_};
  while (true) {
    step_count next = stop_at;
    if (every > 0) next = std::min(next, (sim_->steps() / every + 1) * every);
    sim_->pause_at(next);
    sim_->run_steps(total_steps_ - sim_->steps());
    if (!sim_->paused()) return true;
    if (checkpoint_file) write_checkpoint(*checkpoint_file, save());
    const bool stopped = (control.stop && control.stop->load() != 0) || sim_->steps() >= stop_at;
    if (stopped) return false;
  }
}

}  // namespace ratesim
