#include <ratesim/hdf5_recorder.hpp>
#include <ratesim/network.hpp>
#include <ratesim/output_file.hpp>
#include <ratesim/spiking.hpp>

#include "detail/hdf5.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <system_error>

namespace ratesim {

namespace h5 = detail::hdf5;

namespace {

constexpr std::size_t buffer_bytes_max = std::size_t{4} << 20;  // per dataset
// Spikes are stored in chunks of flush_every spikes, at most this many (1 MiB), and written
// in whole chunks: an SWMR writer never reuses file space, so every rewrite of a partial
// chunk would leave its previous copy behind in the file.
constexpr std::size_t spike_chunk_max = std::size_t{1} << 16;
const std::string dimensionless = "1";  // the units of rates and currents
const std::string spikes_group = "spikes";  // SONATA's group of the spike populations

output_file::existing claim_mode(hdf5_recorder::file_mode mode) {
  switch (mode) {
    case hdf5_recorder::file_mode::create: return output_file::existing::refuse;
    case hdf5_recorder::file_mode::overwrite: return output_file::existing::replace;
    case hdf5_recorder::file_mode::append: break;
  }
  return output_file::existing::change;
}

}  // namespace

struct hdf5_recorder::entry {
  enum class kind { state, rate, input, weights, metric, spikes };
  kind what;
  std::string owner;     // population, projection or metric name
  std::string variable;  // for populations
  schedule when;
  std::optional<std::vector<std::size_t>> units;
  metric compute;
  std::size_t metric_size = 0;
  std::string metric_units;

  // Resolved when the recorder starts:
  std::string group;                  // e.g. "output/rate"
  std::size_t index = 0;              // population or projection index
  Eigen::Index offset = 0;            // state variables: start within the state vector
  std::vector<std::size_t> picked;    // unit indices within the variable
  std::vector<hsize_t> row_shape;     // shape of one sample
  std::size_t row_size = 0;           // numbers per sample
  std::string value_units;
  step_schedule steps;  // `when` on the clock
  std::size_t buffer_rows = 1;
  std::vector<double> buffer;  // buffer_rows rows of [time, sample...] (spikes: more
                               // when a step's spikes overrun it; kept after a write)
  std::size_t buffered = 0;
  h5::handle samples;          // the storage; `data` and `time` are views of it
};

struct hdf5_recorder::file {
  h5::handle id;
  h5::handle runs;  // /inputs/runs, when a rerun record was kept
  std::vector<std::pair<h5::handle, const kept_array*>> inputs;  // to fill once in SWMR mode
};

hdf5_recorder::hdf5_recorder(std::string path, options opts)
    : path_(std::move(path)), options_(std::move(opts)) {
  const std::string context = fmt::format("hdf5_recorder \"{}\"", path_);
  if (path_.empty()) throw parameter_error("hdf5_recorder: path must not be empty");
  if (options_.flush_every == 0) throw_parameter_error(context, "flush_every", ">= 1", 0);
  if (options_.compression < 0 || options_.compression > 9)
    throw_parameter_error(context, "compression", "a gzip level from 0 to 9",
                          options_.compression);
  std::error_code ec;
  const bool present = std::filesystem::file_size(path_, ec) > 0 && !ec;  // empty: a dead claim
  if (options_.mode == file_mode::create && present)
    throw usage_error(fmt::format(
        "{}: the file exists; ask for mode \"overwrite\" or \"append\"", context));
  claim_ = std::make_unique<output_file>(path_, claim_mode(options_.mode), context);
}

hdf5_recorder::~hdf5_recorder() {
  try {
    if (file_ && failure_.empty()) flush();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ratesim: %s\n", e.what());
  }
  h5::quiet_errors quiet;
  entries_.clear();  // datasets close before the file
  file_.reset();
}

void hdf5_recorder::add(entry e) {
  if (file_)
    throw usage_error(fmt::format(
        "hdf5_recorder \"{}\": add everything to record before attaching the recorder", path_));
  entries_.push_back(std::move(e));
}

void hdf5_recorder::record(std::string population, std::string variable, schedule when,
                           std::optional<std::vector<std::size_t>> units) {
  entry e{};
  e.what = variable == "rate"    ? entry::kind::rate
           : variable == "input" ? entry::kind::input
                                 : entry::kind::state;
  e.owner = std::move(population);
  e.variable = std::move(variable);
  e.when = when;
  e.units = std::move(units);
  add(std::move(e));
}

void hdf5_recorder::record_weights(std::string projection, schedule when) {
  entry e{};
  e.what = entry::kind::weights;
  e.owner = std::move(projection);
  e.when = when;
  add(std::move(e));
}

void hdf5_recorder::record_metric(std::string name, std::size_t size, std::string units,
                                  metric compute, schedule when) {
  if (size == 0) throw_parameter_error(fmt::format("metric \"{}\"", name), "size", ">= 1", 0);
  if (!compute) throw parameter_error(fmt::format("metric \"{}\": no function given", name));
  entry e{};
  e.what = entry::kind::metric;
  e.owner = std::move(name);
  e.when = when;
  e.compute = std::move(compute);
  e.metric_size = size;
  e.metric_units = std::move(units);
  add(std::move(e));
}

void hdf5_recorder::record_weight_sums(std::string projection, schedule when) {
  // The size is known only once the network is: resolved in start().
  entry e{};
  e.what = entry::kind::metric;
  e.owner = fmt::format("weight_sum_{}", projection);
  e.variable = std::move(projection);  // marks the built-in weight-sum metric
  e.when = when;
  add(std::move(e));
}

void hdf5_recorder::record_spikes(std::string population, schedule when) {
  entry e{};
  e.what = entry::kind::spikes;
  e.owner = std::move(population);
  e.when = when;
  add(std::move(e));
}

// ---- Starting: validate everything, then make the file ------------------------------

namespace {

std::string describe(const schedule& s) {
  return fmt::format("every = {} ms / every_steps = {}, start = {} ms, stop = {} ms", s.every,
                     s.every_steps, s.start, s.stop);
}

}  // namespace

void hdf5_recorder::start(const network& net, double dt) {
  if (file_) {
    if (&net == net_ && dt == dt_) return;  // the same run, continued by a new simulation
    throw usage_error(fmt::format(
        "hdf5_recorder \"{}\": already recording another network or clock", path_));
  }
  check(net, dt);
  make_file(net, dt);
}

void hdf5_recorder::check(const network& net, double dt) {
  const std::string context = fmt::format("hdf5_recorder \"{}\"", path_);
  Eigen::Index widest = 0;
  std::vector<std::string> groups;
  for (auto& e : entries_) {
    const std::string what =
        e.what == entry::kind::weights  ? fmt::format("weights of \"{}\"", e.owner)
        : e.what == entry::kind::metric ? fmt::format("metric \"{}\"", e.owner)
        : e.what == entry::kind::spikes ? fmt::format("spikes of \"{}\"", e.owner)
                                        : fmt::format("\"{}\" of \"{}\"", e.variable, e.owner);
    // Schedule, in clock steps.
    const schedule& s = e.when;
    if (e.what == entry::kind::spikes && (s.every != 0.0 || s.every_steps != 0))
      throw parameter_error(fmt::format("{}: {}: spikes are recorded as they come, not sampled: "
                                        "give start and stop only ({})",
                                        context, what, describe(s)));
    if (s.every != 0.0 && s.every_steps != 0)
      throw parameter_error(fmt::format("{}: {}: give every or every_steps, not both ({})",
                                        context, what, describe(s)));
    if (s.every_steps < 0) throw_parameter_error(context, "every_steps", ">= 1", s.every_steps);
    if (s.every != 0.0) {
      const auto every = exact_steps(s.every, dt);
      if (!every || *every < 1 || *every > 1e15)
        throw parameter_error(fmt::format(
            "{}: {}: sampling interval every = {} ms must be a positive multiple of dt = {} ms",
            context, what, s.every, dt));
      e.steps.every = *every;
    } else {
      e.steps.every = s.every_steps > 0 ? s.every_steps : 1;
    }
    if (!(s.start >= 0.0) || !std::isfinite(s.start))
      throw_parameter_error(fmt::format("{}: {}", context, what), "start", "finite and >= 0",
                            s.start);
    if (!(s.stop > s.start))
      throw parameter_error(fmt::format("{}: {}: stop = {} ms must be after start = {} ms",
                                        context, what, s.stop, s.start));
    e.steps.first = first_step_at(s.start, dt);
    e.steps.stop = first_step_at(s.stop, dt);

    // What is read, and the shape of one sample.
    switch (e.what) {
      case entry::kind::state:
      case entry::kind::rate:
      case entry::kind::input: {
        e.index = net.population_index(e.owner);
        const population& pop = net.get_population(e.index);
        std::size_t size = pop.size();
        e.value_units = dimensionless;
        if (e.what == entry::kind::state) {
          const auto found = net.find_variable(e.index, e.variable);
          if (!found) {
            std::string known = "rate, input";
            for (const auto& v : net.variable_names(e.index)) known.append(", ").append(v);
            throw lookup_error(fmt::format(
                "{}: {} has no variable \"{}\"; known: {}{}", context, pop.label(), e.variable,
                known,
                e.variable == "spikes" ? " (spikes are recorded with record_spikes, [[record]] "
                                         "what = \"spikes\")"
                                       : ""));
          }
          e.offset = found->offset;
          size = found->size;
          e.value_units = found->units;
        }
        widest = std::max(widest, static_cast<Eigen::Index>(pop.size()));
        if (e.units) {
          if (e.units->empty())
            throw parameter_error(
                fmt::format("{}: {}: the unit subset is empty", context, what));
          for (std::size_t u : *e.units)
            if (u >= size)
              throw parameter_error(fmt::format(
                  "{}: {}: unit index {} is out of range (the variable has {} units)", context,
                  what, u, size));
          e.picked = *e.units;
        } else {
          e.picked.resize(size);
          for (std::size_t u = 0; u < size; ++u) e.picked[u] = u;
        }
        e.row_shape = {e.picked.size()};
        e.group = fmt::format("{}/{}", e.owner, e.variable);
        break;
      }
      case entry::kind::weights: {
        e.index = net.projection_index(e.owner);
        const projection& p = net.projections()[e.index];
        e.row_shape = {static_cast<hsize_t>(p.rows()), static_cast<hsize_t>(p.cols())};
        e.value_units = dimensionless;
        e.group = fmt::format("{}/weights", e.owner);
        break;
      }
      case entry::kind::spikes: {
        e.index = net.population_index(e.owner);
        const population& pop = net.get_population(e.index);
        if (!dynamic_cast<const spiking_population*>(&pop))
          throw usage_error(fmt::format("{}: {}: {} does not spike (spikes come from spiking "
                                        "populations such as poisson_input and stochastic_wta)",
                                        context, what, pop.label()));
        e.row_shape = {};  // a row: [time, unit]
        e.group = fmt::format("{}/{}", spikes_group, e.owner);
        break;
      }
      case entry::kind::metric: {
        if (!e.compute) {  // the built-in weight sums of projection e.variable
          const std::size_t k = net.projection_index(e.variable);
          e.compute = [k](const network& n, vector_span out) {
            out = n.weights(k).rowwise().sum();
          };
          e.metric_size = static_cast<std::size_t>(net.projections()[k].rows());
          e.metric_units = dimensionless;
        }
        e.row_shape = {e.metric_size};
        e.value_units = e.metric_units;
        e.group = fmt::format("metrics/{}", e.owner);
        break;
      }
    }
    if (std::find(groups.begin(), groups.end(), e.group) != groups.end())
      throw usage_error(fmt::format("{}: \"{}\" is recorded twice", context, e.group));
    groups.push_back(e.group);
    e.row_size = 1;
    for (hsize_t n : e.row_shape) e.row_size *= n;
    e.buffer_rows = std::clamp<std::size_t>(buffer_bytes_max / (8 * e.row_size), 1,
                                            options_.flush_every);
    if (e.what == entry::kind::spikes)
      e.buffer_rows = std::min(options_.flush_every, spike_chunk_max);
    e.buffer.assign(e.buffer_rows * (1 + e.row_size), 0.0);
  }
  for (std::size_t i = 0; i < net.population_count(); ++i)
    if (net.get_population(i).name() == "metrics")
      throw usage_error(fmt::format("{}: a population named \"metrics\" would share its HDF5 "
                                    "group with the metrics; rename it",
                                    context));
  const bool records_spikes = std::any_of(entries_.begin(), entries_.end(), [](const entry& e) {
    return e.what == entry::kind::spikes;
  });
  for (std::size_t i = 0; records_spikes && i < net.population_count(); ++i)
    if (net.get_population(i).name() == spikes_group)
      throw usage_error(fmt::format("{}: a population named \"{}\" would share its HDF5 group "
                                    "with the recorded spikes; rename it",
                                    context, spikes_group));
  for (const auto& p : net.projections())
    if (records_spikes && p.name() == spikes_group)
      throw usage_error(fmt::format("{}: a projection named \"{}\" would share its HDF5 group "
                                    "with the recorded spikes; rename it",
                                    context, spikes_group));
  for (std::size_t i = 0; i < net.population_count(); ++i)
    for (const auto& p : net.projections())
      if (p.name() == net.get_population(i).name() || p.name() == "metrics")
        throw usage_error(fmt::format(
            "{}: projection \"{}\" shares its name with a population or \"metrics\"; HDF5 "
            "groups need distinct names",
            context, p.name()));
  scratch_.assign(static_cast<std::size_t>(widest), 0.0);
  std::size_t metric_size = 0;
  for (const auto& e : entries_)
    if (e.what == entry::kind::metric) metric_size = std::max(metric_size, e.row_size);
  metric_ = vector::Zero(static_cast<Eigen::Index>(metric_size));
}

void hdf5_recorder::make_file(const network& net, double dt) {
  const std::string context = fmt::format("hdf5_recorder \"{}\"", path_);
  // Everything is valid: make the file, under a temporary name when it is new, which
  // replaces the previous file only once complete. A failure leaves the previous file. A
  // file to append to is checked whole, read-only, before it is opened for writing.
  h5::quiet_errors quiet;
  const bool fresh = options_.mode != file_mode::append;
  if (!fresh) check_existing(context);
  auto made = std::make_unique<file>();
  try {
    if (fresh) {
      made->id = h5::create_file(claim_->temporary(), context);
      const hid_t root = made->id.get();
      h5::write_root_attributes(root, options_.seed, options_.config, context);
      h5::write_attribute(root, "dt", dt, context);
      h5::write_attribute(root, "structure", net.describe_structure(), context);
      h5::write_attribute(root, "content", std::string("traces"), context);
      std::random_device entropy;
      run_id_ = fmt::format("{:08x}{:08x}{:08x}{:08x}", entropy(), entropy(), entropy(), entropy());
      h5::write_attribute(root, "run_id", run_id_, context);
    } else {
      made->id = h5::open_file(path_, context);
      if (H5Aexists(made->id.get(), "run_id") > 0)
        run_id_ = h5::read_string_attribute(made->id.get(), "run_id", context);
    }
    const hid_t root = made->id.get();
    if (fresh && rerun_) {
      for (const auto& [name, value] : rerun_->attributes)
        h5::write_attribute(root, name, value, context);
      for (const kept_array& a : rerun_->arrays) {
        const auto cols = static_cast<hsize_t>(a.cols);
        const std::string path = "inputs/" + a.name;
        h5::create_groups(root, path.substr(0, path.rfind('/')), context);
        made->inputs.emplace_back(
            h5::create_extendible(
                root, path, {cols},
                std::clamp<hsize_t>((std::size_t{1} << 16) / (8 * std::max<hsize_t>(cols, 1)), 1,
                                    4096),
                options_.compression, context),
            &a);
      }
      h5::create_groups(root, "inputs", context);
      made->runs = h5::create_extendible(root, "inputs/runs", {5}, 64, 0, context);
      h5::write_attribute(made->runs.get(), "columns",
                          std::string("first step, end step, network fingerprint at the first, "
                                      "at the end, how the run ended: 0 completed, 1 paused, 2 "
                                      "paused with a mini-batch open (docs/python.md)"),
                          context);
    } else if (!fresh && !resume_rows_) {  // a resumed run goes on with the same description
      h5::write_attribute(root, "rerunnable",
                          std::string("no: another run appended samples to the file"), context);
    }
    if (std::any_of(entries_.begin(), entries_.end(),
                    [](const entry& e) { return e.what == entry::kind::spikes; }))
      h5::write_sonata_attributes(root, context);  // a SONATA spike file too
    for (auto& e : entries_) {
      // One dataset holds the rows [time, sample...]; `data` and `time` (spikes: `timestamps`
      // and `node_ids`) are virtual views of it, so their lengths agree whenever the file is
      // read, even after a crash.
      const std::string storage = fmt::format("{}/samples", e.group);
      const auto columns = static_cast<hsize_t>(1 + e.row_size);
      if (h5::exists(root, storage)) {
        e.samples = h5::open_dataset(root, storage, context);
        const auto have = h5::shape(e.samples.get(), context);
        if (have.back() != columns)
          throw error(fmt::format(
              "{}: cannot append to \"{}\": its samples have another shape", context, e.group));
        if (resume_rows_) {
          auto it = std::find_if(resume_rows_->begin(), resume_rows_->end(),
                                 [&](const auto& r) { return r.first == e.group; });
          const hsize_t keep = it == resume_rows_->end() ? 0 : it->second;
          if (have.front() < keep)
            throw error(fmt::format("{}: \"{}\" holds {} samples, fewer than the {} of the "
                                    "checkpoint: is this the file of the checkpointed run?",
                                    context, e.group, have.front(), keep));
          std::vector<hsize_t> cut = have;
          cut.front() = keep;
          h5::check(H5Dset_extent(e.samples.get(), cut.data()), context,
                    fmt::format("cutting \"{}\" back to the checkpoint", e.group));
        }
        continue;
      }
      if (resume_rows_)
        for (const auto& [group, rows] : *resume_rows_)
          if (group == e.group && rows > 0)
            throw error(fmt::format("{}: \"{}\" is missing from the file the checkpointed run "
                                    "wrote",
                                    context, e.group));
      h5::create_groups(root, e.group, context);
      const hsize_t chunk =
          e.what == entry::kind::spikes
              ? e.buffer_rows
              : std::clamp<hsize_t>((std::size_t{1} << 16) / (8 * columns), 1, 4096);
      e.samples = h5::create_extendible(root, storage, {columns}, chunk, options_.compression,
                                        context);
      if (e.what == entry::kind::spikes) {
        h5::handle time = h5::create_column_view(root, fmt::format("{}/timestamps", e.group),
                                                 storage, columns, 0, {}, context);
        h5::handle ids = h5::create_column_view(root, fmt::format("{}/node_ids", e.group), storage,
                                                columns, 1, {}, context, H5T_STD_U64LE);
        h5::write_attribute(time.get(), "units", std::string("ms"), context);
        h5::write_attribute(e.samples.get(), "columns",
                            std::string("time [ms], unit: see timestamps and node_ids"), context);
        h5::handle group = h5::checked(H5Gopen2(root, e.group.c_str(), H5P_DEFAULT), context,
                                       fmt::format("opening the group \"{}\"", e.group));
        // Written step by step, so in time order (SONATA's enum: none, by_id, by_time).
        h5::write_enum_attribute(group.get(), "sorting", {"none", "by_id", "by_time"}, 2, context);
        continue;
      }
      h5::handle data =
          h5::create_column_view(root, fmt::format("{}/data", e.group), storage, columns, 1, e.row_shape, context);
      h5::handle time = h5::create_column_view(root, fmt::format("{}/time", e.group), storage, columns, 0, {},
                                               context);
      const double interval = static_cast<double>(e.steps.every) * dt;
      h5::write_attribute(data.get(), "units", e.value_units, context);
      h5::write_attribute(data.get(), "sampling_interval", interval, context);
      h5::write_attribute(time.get(), "units", std::string("ms"), context);
      h5::write_attribute(time.get(), "sampling_interval", interval, context);
      h5::write_attribute(e.samples.get(), "columns",
                          std::string("time [ms], then the sample: see data and time"), context);
      if (e.units)
        h5::write_attribute(data.get(), "unit_ids",
                            std::vector<std::int64_t>(e.picked.begin(), e.picked.end()), context);
      if (e.what == entry::kind::weights) {
        const projection& p = net.projections()[e.index];
        h5::write_attribute(data.get(), "pre", net.get_population(p.pre()).name(), context);
        h5::write_attribute(data.get(), "post", net.get_population(p.post()).name(), context);
      }
    }
    h5::check(H5Fstart_swmr_write(root), context, "starting SWMR writing");
    // The arrays a rerun needs, written in SWMR mode like samples (a failure of a large
    // write is then abandoned as theirs are).
    for (auto& [dataset, a] : made->inputs) {
      errno = 0;
      try {
        h5::append(dataset.get(), a->data, static_cast<hsize_t>(a->rows), context);
        h5::check(H5Dflush(dataset.get()), context, "writing /inputs");
      } catch (const error&) {
        const int err = errno;
        throw error(fmt::format("{}: writing /inputs/{} failed ({}); the file was not made",
                                context, a->name, err != 0 ? std::strerror(err) : "an I/O error"));
      }
    }
    made->inputs.clear();
    rerun_.reset();  // its arrays need not live any longer
    if (fresh) claim_->commit();
  } catch (...) {
    if (made->id) h5::abandon(made->id.get());  // nothing half-made reaches the disk
    for (auto& e : entries_) e.samples.reset();
    made.reset();
    throw;
  }
  file_ = std::move(made);
  net_ = &net;
  dt_ = dt;
}

void hdf5_recorder::check_existing(const std::string& context) const {
  h5::handle f = h5::open_file_for_reading(path_, context);
  const hid_t root = f.get();
  if (H5Aexists(root, "format") <= 0 || h5::read_string_attribute(root, "format", context) != "ratesim")
    throw usage_error(fmt::format("{}: not a ratesim file (no format = \"ratesim\" at /)", context));
  if (H5Aexists(root, "content") > 0) {
    const std::string content = h5::read_string_attribute(root, "content", context);
    if (content != "traces")
      throw usage_error(fmt::format("{}: the file holds {}, not traces; traces are appended only "
                                    "to traces",
                                    context, content == "fit" ? "a fit's results" : content));
  }
  const std::string id =
      H5Aexists(root, "run_id") > 0 ? h5::read_string_attribute(root, "run_id", context) : "";
  if (!resume_run_id_.empty() && id != resume_run_id_)
    throw usage_error(fmt::format("{}: the file is not the one the checkpointed run wrote (its "
                                  "run_id is \"{}\", the checkpoint's \"{}\"); it is left as it is",
                                  context, id, resume_run_id_));
  if (resume_rows_)
    for (const auto& counted : *resume_rows_)  // (clang 14 cannot capture a structured binding)
      if (std::none_of(entries_.begin(), entries_.end(),
                       [&](const entry& e) { return e.group == counted.first; }))
        throw input_error(fmt::format("{}: the checkpoint counts samples of \"{}\", which this "
                                      "run does not record",
                                      context, counted.first));
  for (const auto& e : entries_) {
    const std::string storage = fmt::format("{}/samples", e.group);
    std::uint64_t keep = 0;
    bool counted = false;
    if (resume_rows_)
      for (const auto& [group, rows] : *resume_rows_)
        if (group == e.group) keep = rows, counted = true;
    if (resume_rows_ && !counted)
      throw input_error(fmt::format("{}: the checkpoint has no sample count for \"{}\"", context,
                                    e.group));
    if (!h5::exists(root, storage)) {
      if (keep > 0)
        throw usage_error(fmt::format("{}: \"{}\" is missing from the file the checkpointed run "
                                      "wrote",
                                      context, e.group));
      continue;
    }
    h5::handle samples = h5::open_dataset(root, storage, context);
    const auto have = h5::shape(samples.get(), context);
    if (have.size() != 2 || have.back() != 1 + e.row_size)
      throw usage_error(fmt::format("{}: cannot append to \"{}\": its samples have another shape",
                                    context, e.group));
    if (have.front() < keep)
      throw usage_error(fmt::format("{}: \"{}\" holds {} samples, fewer than the {} of the "
                                    "checkpoint: is this the file of the checkpointed run?",
                                    context, e.group, have.front(), keep));
  }
}

void hdf5_recorder::resume(std::vector<std::pair<std::string, std::uint64_t>> rows,
                           std::string run_id) {
  resume_run_id_ = std::move(run_id);
  if (file_)
    throw usage_error(fmt::format("hdf5_recorder \"{}\": resume() comes before attaching", path_));
  if (options_.mode != file_mode::append) {
    claim_.reset();  // released before the file is claimed again, to be changed in place
    claim_ = std::make_unique<output_file>(path_, output_file::existing::change,
                                           fmt::format("hdf5_recorder \"{}\"", path_));
  }
  options_.mode = file_mode::append;
  resume_rows_ = std::move(rows);
}

std::vector<std::pair<std::string, std::uint64_t>> hdf5_recorder::sample_counts() {
  std::vector<std::pair<std::string, std::uint64_t>> counts;
  if (!file_) return counts;
  flush();
  h5::quiet_errors quiet;
  const std::string context = fmt::format("hdf5_recorder \"{}\"", path_);
  for (const auto& e : entries_)
    counts.emplace_back(e.group, h5::shape(e.samples.get(), context).front());
  return counts;
}

// ---- Sampling -------------------------------------------------------------------------

step_count hdf5_recorder::next_due(step_count from) const {
  step_count next = never;
  for (const auto& e : entries_)
    if (e.what != entry::kind::spikes) next = std::min(next, e.steps.next_due(from));
  return next;
}

// Appends the first `rows` buffered rows of `e` (the rest move to the front of the
// buffer) and flushes them: from here on SWMR readers see them, and a crash keeps them. A
// failed write (a full disk, a file-size limit) abandons the file as it was after the last
// good flush: nothing more is written to it, and the error says so.
void hdf5_recorder::write_out(entry& e, std::size_t rows) {
  if (rows == 0) return;
  if (!failure_.empty()) throw error(failure_);
  const std::string context = fmt::format("hdf5_recorder \"{}\"", path_);
  h5::quiet_errors quiet;
  errno = 0;  // so that the reason abandon() reports is this write's
  try {
    h5::append(e.samples.get(), e.buffer.data(), static_cast<hsize_t>(rows), context);
    h5::check(H5Dflush(e.samples.get()), context, "flushing samples");
  } catch (const error&) {
    const std::string reason = h5::abandon(file_->id.get());
    failure_ = fmt::format(
        "{}: writing the samples of \"{}\" failed ({}); the file keeps every sample up to its "
        "last flush (read it with h5py's swmr=True, or after h5clear -s), and nothing more is "
        "written to it",
        context, e.group, reason);
    throw error(failure_);
  }
  const std::size_t row = 1 + e.row_size;
  std::copy(e.buffer.begin() + static_cast<std::ptrdiff_t>(rows * row),
            e.buffer.begin() + static_cast<std::ptrdiff_t>(e.buffered * row), e.buffer.begin());
  e.buffered -= rows;
}

void hdf5_recorder::observe(step_count step, const network& net) {
  bool evaluated = false;
  for (auto& e : entries_) {
    if (e.what == entry::kind::spikes || !e.steps.due(step)) continue;
    double* const time = e.buffer.data() + e.buffered * (1 + e.row_size);
    *time = static_cast<double>(step) * dt_;
    double* const row = time + 1;
    switch (e.what) {
      case entry::kind::state: {
        const vector& x = net.state();
        for (std::size_t j = 0; j < e.picked.size(); ++j)
          row[j] = x[e.offset + static_cast<Eigen::Index>(e.picked[j])];
        break;
      }
      case entry::kind::rate: {
        const auto n = static_cast<Eigen::Index>(net.get_population(e.index).size());
        Eigen::Map<vector> rates(scratch_.data(), n);
        net.get_population(e.index).rates(net.state_of(e.index), rates);
        for (std::size_t j = 0; j < e.picked.size(); ++j)
          row[j] = rates[static_cast<Eigen::Index>(e.picked[j])];
        break;
      }
      case entry::kind::input: {
        if (!evaluated) net.evaluate(), evaluated = true;
        const vector& input = net.last_input(e.index);
        for (std::size_t j = 0; j < e.picked.size(); ++j)
          row[j] = input[static_cast<Eigen::Index>(e.picked[j])];
        break;
      }
      case entry::kind::weights: {
        const auto W = net.weights(e.index);  // column-major; HDF5 wants [post][pre]
        Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
            row, W.rows(), W.cols()) = W;
        break;
      }
      case entry::kind::spikes: break;  // see spikes()
      case entry::kind::metric: {
        // Computed into the same aligned buffer every time: how Eigen evaluates an
        // expression (a row sum's order of additions) depends on where its result goes,
        // and the buffer's rows move, so a resumed run would round differently.
        auto out = metric_.head(static_cast<Eigen::Index>(e.row_size));
        e.compute(net, out);
        std::copy(out.data(), out.data() + out.size(), row);
        break;
      }
    }
    if (++e.buffered == e.buffer_rows) write_out(e, e.buffered);
  }
}

// A step's spikes are rows [time, unit] appended to the buffer, which grows (amortised)
// when they overrun it; once it holds buffer_rows rows, its whole chunks of buffer_rows
// rows are written (the rest waits for the next write or the end of the run).
void hdf5_recorder::spikes(step_count step, std::size_t population,
                           std::span<const std::uint32_t> units) {
  const double time = static_cast<double>(step) * dt_;
  for (auto& e : entries_) {
    if (e.what != entry::kind::spikes || e.index != population || !e.steps.due(step)) continue;
    const std::size_t needed = 2 * (e.buffered + units.size());
    if (needed > e.buffer.size()) e.buffer.resize(std::max(needed, 2 * e.buffer.size()));
    double* row = e.buffer.data() + 2 * e.buffered;
    for (std::uint32_t unit : units) {
      *row++ = time;
      *row++ = static_cast<double>(unit);
    }
    e.buffered += units.size();
    if (e.buffered >= e.buffer_rows) write_out(e, e.buffered / e.buffer_rows * e.buffer_rows);
  }
}

void hdf5_recorder::log_run(step_count first, step_count end, std::uint64_t before,
                            std::uint64_t after, int ending) {
  if (!file_ || !file_->runs || !failure_.empty()) return;
  const std::string context = fmt::format("hdf5_recorder \"{}\"", path_);
  const double row[5] = {static_cast<double>(first), static_cast<double>(end),
                         static_cast<double>(before), static_cast<double>(after),
                         static_cast<double>(ending)};
  h5::quiet_errors quiet;
  errno = 0;
  try {
    h5::append(file_->runs.get(), row, 1, context);
    h5::check(H5Dflush(file_->runs.get()), context, "flushing /inputs/runs");
  } catch (const error&) {
    const std::string reason = h5::abandon(file_->id.get());
    failure_ = fmt::format("{}: writing /inputs/runs failed ({}); nothing more is written to the "
                           "file",
                           context, reason);
    throw error(failure_);
  }
}

void hdf5_recorder::flush() {
  if (!file_) return;
  for (auto& e : entries_) write_out(e, e.buffered);
}

}  // namespace ratesim
