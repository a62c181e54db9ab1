#include <ratesim/error.hpp>
#include <ratesim/network.hpp>
#include <ratesim/parallel.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>

#include <atomic>
#include <cmath>
#include <cstring>

namespace ratesim {

// ---- Building -------------------------------------------------------------------------

void network::require_building(std::string_view what) const {
  if (frozen_)
    throw usage_error(fmt::format(
        "network: cannot {} after the state has been laid out (by state() or a simulation)",
        what));
}

namespace {

// Names become HDF5 groups, checkpoint entries and TOML keys: letters, digits, '_', '-'
// and '.', not starting with '.' (no "/", no "..", no spaces).
void check_name(std::string_view kind, const std::string& name) {
  const bool valid =
      !name.empty() && name.size() <= 200 && name.front() != '.' &&
      std::all_of(name.begin(), name.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-' || ch == '.';
      });
  if (!valid)
    throw parameter_error(
        fmt::format("network: a {} name must be made of letters, digits, '_', '-' and '.' "
                    "(not first), got \"{}\"",
                    kind, name),
        {"network", "name", name});
}

}  // namespace

population& network::add(std::unique_ptr<population> pop) {
  require_building("add a population");
  if (!pop) throw usage_error("network: add() got a null population");
  check_name("population", pop->name());
  for (const auto& p : pops_)
    if (p->name() == pop->name())
      throw parameter_error(fmt::format("network: a population named \"{}\" exists already",
                                        pop->name()));
  pops_.push_back(std::move(pop));
  intrinsic_.emplace_back();
  return *pops_.back();
}

void network::adapt(std::string_view population, std::unique_ptr<intrinsic_rule> rule) {
  require_building("adapt a population");
  if (!rule) throw usage_error("network: adapt() got a null intrinsic rule");
  const std::size_t i = population_index(population);
  if (intrinsic_[i])
    throw usage_error(fmt::format("{}: has an intrinsic rule already (\"{}\")", pops_[i]->label(),
                                  intrinsic_[i]->name()));
  // The variable is recorded under its name beside the population's own variables.
  const std::string variable(rule->variable());
  check_name("intrinsic rule's variable", variable);
  bool taken = variable == "rate" || variable == "input";
  for (const auto& v : pops_[i]->state_variables()) taken = taken || v.name == variable;
  if (taken)
    throw parameter_error(
        fmt::format("{}: intrinsic rule \"{}\": its variable \"{}\" is a name the population "
                    "uses already (rate, input or a state variable)",
                    pops_[i]->label(), rule->name(), variable),
        {fmt::format("intrinsic rule \"{}\"", rule->name()), "variable", variable});
  intrinsic_[i] = std::move(rule);
}

const projection& network::connect(std::string_view pre, std::string_view post, connection c) {
  require_building("connect populations");
  const std::string label = fmt::format("projection \"{}\"", c.name);
  check_name("projection", c.name);
  for (const auto& p : projs_)
    if (p.name() == c.name)
      throw parameter_error(fmt::format("network: a projection named \"{}\" exists already",
                                        c.name));
  const std::size_t i = population_index(pre), j = population_index(post);
  const auto n_pre = static_cast<Eigen::Index>(pops_[i]->size());
  const auto n_post = static_cast<Eigen::Index>(pops_[j]->size());
  if (c.weights.rows() != n_post || c.weights.cols() != n_pre)
    throw parameter_error(fmt::format(
        "{}: weights must be {} x {} (post \"{}\" x pre \"{}\"), got {} x {}", label, n_post,
        n_pre, post, pre, c.weights.rows(), c.weights.cols()));
  std::unique_ptr<synaptic_current> current;
  try {
    current = synaptic_currents().get(c.current)(n_post, n_pre);
  } catch (const lookup_error& e) {
    throw lookup_error(fmt::format("{}: current: {}", label, e.what()));
  }
  current->check_weights(c.weights, label);
  projs_.emplace_back(i, j, std::move(c), std::move(current));
  return projs_.back();
}

void network::stimulate(std::string_view target, std::unique_ptr<stimulus> s) {
  if (!s) throw usage_error("network: stimulate() got a null stimulus");
  const std::size_t i = population_index(target);
  s->bind(*pops_[i]);
  ++stimulations_;
  for (auto& slot : stimuli_)
    if (slot.target == i) {
      slot.source = std::move(s);
      slot.generation = stimulations_;
      return;
    }
  stimuli_.push_back(stimulus_slot{i, std::move(s), stimulations_});
}

// ---- Structure ------------------------------------------------------------------------

std::size_t network::population_index(std::string_view name) const {
  for (std::size_t i = 0; i < pops_.size(); ++i)
    if (pops_[i]->name() == name) return i;
  throw lookup_error(fmt::format("network: no population named \"{}\"", name));
}

const population& network::get_population(std::string_view name) const {
  return *pops_[population_index(name)];
}

std::size_t network::projection_index(std::string_view name) const {
  for (std::size_t k = 0; k < projs_.size(); ++k)
    if (projs_[k].name() == name) return k;
  throw lookup_error(fmt::format("network: no projection named \"{}\"", name));
}

const projection& network::get_projection(std::string_view name) const {
  return projs_[projection_index(name)];
}

// ---- State ----------------------------------------------------------------------------

void network::check_post_variable(std::size_t k) const {
  const projection& p = projs_.at(k);
  const std::string_view name = p.plastic() ? p.rule()->post_variable() : std::string_view{};
  if (name.empty()) return;
  const population& post = *pops_[p.post()];
  bool found = intrinsic_[p.post()] && intrinsic_[p.post()]->variable() == name;
  for (const auto& v : post.state_variables())
    found = found || (v.name == name && v.size == post.size());
  if (!found)
    throw parameter_error(
        fmt::format("{}: rule \"{}\" reads the variable \"{}\" of its postsynaptic {}, which "
                    "has no such variable of one value per unit (known: {}); give it an "
                    "intrinsic rule that keeps one",
                    p.label(), p.rule()->name(), name, post.label(),
                    fmt::join(variable_names(p.post()), ", ")),
        {p.label(), "rule", std::string(name)});
}

void network::freeze() {
  if (frozen_) return;
  // Before anything is laid out, so that a refusal leaves the network as it was.
  for (std::size_t k = 0; k < projs_.size(); ++k) check_post_variable(k);
  Eigen::Index n = 0;
  for (const auto& p : pops_) {
    pop_offset_.push_back(n);
    n += static_cast<Eigen::Index>(p->state_size());
  }
  population_state_size_ = n;
  for (std::size_t i = 0; i < pops_.size(); ++i) {
    theta_offset_.push_back(intrinsic_[i] ? n : -1);
    if (intrinsic_[i]) n += static_cast<Eigen::Index>(pops_[i]->size());
  }
  weights_offset_ = n;
  for (const auto& p : projs_) {
    proj_offset_.push_back(p.plastic() ? n : -1);
    if (p.plastic() && p.current().needs_positive_weights())
      positive_.emplace_back(n, n + p.rows() * p.cols());
    if (p.plastic()) n += p.rows() * p.cols();
  }
  x_.resize(n);
  for (std::size_t i = 0; i < pops_.size(); ++i) {
    pops_[i]->initial_state(x_.segment(pop_offset_[i], pops_[i]->state_size()));
    rates_.emplace_back(vector::Zero(pops_[i]->size()));
    input_.emplace_back(vector::Zero(pops_[i]->size()));
    external_.emplace_back(vector::Zero(pops_[i]->size()));
    bias_.emplace_back(vector::Zero(intrinsic_[i] ? pops_[i]->size() : 0));
    if (intrinsic_[i])
      intrinsic_[i]->initial_state(x_.segment(theta_offset_[i], pops_[i]->size()));
  }
  for (std::size_t k = 0; k < projs_.size(); ++k) {
    if (projs_[k].plastic())
      Eigen::Map<matrix>(x_.data() + proj_offset_[k], projs_[k].rows(), projs_[k].cols()) =
          projs_[k].weights_;
  }
  frozen_ = true;
  for (const auto& p : projs_) {
    const std::string_view name = p.plastic() ? p.rule()->post_variable() : std::string_view{};
    post_variable_offset_.push_back(name.empty() ? -1 : find_variable(p.post(), name)->offset);
  }
}

vector& network::state() {
  freeze();
  return x_;
}

const vector& network::state() const {
  if (!frozen_) throw usage_error("network: the state has not been laid out yet");
  return x_;
}

Eigen::VectorBlock<const vector> network::state_of(std::size_t i) const {
  return state().segment(pop_offset_.at(i), static_cast<Eigen::Index>(pops_[i]->state_size()));
}

Eigen::Map<const matrix> network::weights(std::size_t k) const {
  return weights_in(k, state());
}

Eigen::VectorBlock<vector> network::state_of(std::string_view population) {
  return state_of(population_index(population));
}

Eigen::VectorBlock<vector> network::state_of(std::size_t i) {
  freeze();
  return x_.segment(pop_offset_.at(i), static_cast<Eigen::Index>(pops_[i]->state_size()));
}

Eigen::VectorBlock<vector> network::variable(std::string_view population,
                                             std::string_view name) {
  const std::size_t i = population_index(population);
  freeze();
  if (const auto v = find_variable(i, name)) return x_.segment(v->offset, static_cast<Eigen::Index>(v->size));
  throw lookup_error(fmt::format("{}: no state variable \"{}\"; known: {}", pops_[i]->label(), name,
                                 fmt::join(variable_names(i), ", ")));
}

Eigen::Map<matrix> network::weights(std::string_view name) {
  const std::size_t k = projection_index(name);
  freeze();
  projection& p = projs_[k];
  double* data = p.plastic() ? x_.data() + proj_offset_[k] : p.weights_.data();
  return Eigen::Map<matrix>(data, p.rows(), p.cols());
}

Eigen::Map<matrix> network::weights(std::size_t k) {
  state();  // laid out: the structure is fixed
  projection& p = projs_.at(k);
  double* data = p.plastic() ? x_.data() + proj_offset_[k] : p.weights_.data();
  return Eigen::Map<matrix>(data, p.rows(), p.cols());
}

Eigen::VectorBlock<vector> network::intrinsic_state(std::size_t i) {
  freeze();
  const bool has = intrinsic_.at(i) != nullptr;
  return x_.segment(has ? theta_offset_[i] : 0, has ? static_cast<Eigen::Index>(pops_[i]->size()) : 0);
}

Eigen::VectorBlock<const vector> network::intrinsic_state(std::size_t i) const {
  return theta_in(i, state());
}

Eigen::VectorBlock<const vector> network::theta_in(std::size_t i, const vector& x) const {
  const bool has = intrinsic_.at(i) != nullptr;
  return x.segment(has ? theta_offset_[i] : 0, has ? static_cast<Eigen::Index>(pops_[i]->size()) : 0);
}

void network::add_bias_in(std::size_t i, const vector& x, vector_span input) const {
  if (!intrinsic_[i]) return;
  intrinsic_[i]->bias(theta_in(i, x), bias_[i]);
  input += bias_[i];
}

void network::add_bias(std::size_t i, vector_span input) const { add_bias_in(i, state(), input); }

void network::intrinsic_derivative(std::size_t i, const vector& x, vector_view rates,
                                   vector_span dtheta) const {
  if (!intrinsic_[i]) return;
  intrinsic_[i]->derivative(theta_in(i, x), rates, dtheta);
  if (learning_rate_scale_ != 1.0) dtheta *= learning_rate_scale_;
}

std::optional<network::located_variable> network::find_variable(std::size_t i,
                                                               std::string_view name) const {
  state();
  for (const auto& v : pops_.at(i)->state_variables())
    if (v.name == name)
      return located_variable{pop_offset_[i] + static_cast<Eigen::Index>(v.offset), v.size, v.units};
  if (intrinsic_[i] && intrinsic_[i]->variable() == name)
    return located_variable{theta_offset_[i], pops_[i]->size(), std::string(intrinsic_[i]->units())};
  return std::nullopt;
}

std::vector<std::string> network::variable_names(std::size_t i) const {
  std::vector<std::string> names;
  for (const auto& v : pops_.at(i)->state_variables()) names.push_back(v.name);
  if (intrinsic_[i]) names.emplace_back(intrinsic_[i]->variable());
  return names;
}

vector_span network::external_input(std::size_t population) {
  if (!frozen_) throw usage_error("network: the state has not been laid out yet");
  return external_.at(population);
}

std::vector<std::size_t> network::incoming(std::size_t population) const {
  std::vector<std::size_t> in;
  for (std::size_t k = 0; k < projs_.size(); ++k)
    if (projs_[k].post() == population) in.push_back(k);
  return in;
}

vector network::rates(std::string_view population) {
  const std::size_t i = population_index(population);
  vector r(pops_[i]->size());
  pops_[i]->rates(state_of(population), r);
  return r;
}

// ---- Evaluation -----------------------------------------------------------------------

Eigen::Map<const matrix> network::weights_in(std::size_t k, const vector& x) const {
  const projection& p = projs_[k];
  const double* data = p.plastic() ? x.data() + proj_offset_[k] : p.weights_.data();
  return Eigen::Map<const matrix>(data, p.rows(), p.cols());
}

void network::compute_inputs(const vector& x, const current_source* current) const {
  for (std::size_t i = 0; i < pops_.size(); ++i) {
    pops_[i]->rates(x.segment(pop_offset_[i], pops_[i]->state_size()), rates_[i]);
    input_[i] = external_[i];
    add_bias_in(i, x, input_[i]);
  }
  for (std::size_t k = 0; k < projs_.size(); ++k) {
    const projection& p = projs_[k];
    if (current)
      (*current)(k, rates_[p.pre()], input_[p.post()]);
    else
      p.current().add(weights_in(k, x), rates_[p.pre()], input_[p.post()]);
  }
}

void network::evaluate() const { compute_inputs(state()); }

// dx/dt of the populations and θ at x, from the inputs and rates compute_inputs left.
void network::population_derivatives(const vector& x, vector& dxdt) const {
  for (std::size_t i = 0; i < pops_.size(); ++i) {
    const auto n = static_cast<Eigen::Index>(pops_[i]->state_size());
    pops_[i]->derivative(x.segment(pop_offset_[i], n), input_[i],
                         dxdt.segment(pop_offset_[i], n));
  }
  for (std::size_t i = 0; i < pops_.size(); ++i)
    if (intrinsic_[i])
      intrinsic_derivative(i, x, rates_[i],
                           dxdt.segment(theta_offset_[i], static_cast<Eigen::Index>(pops_[i]->size())));
}

void network::operator()(const vector& x, vector& dxdt, double /*t*/) const {
  compute_inputs(x);
  population_derivatives(x, dxdt);
  for (std::size_t k = 0; k < projs_.size(); ++k) {
    const projection& p = projs_[k];
    if (!p.plastic()) continue;
    Eigen::Map<matrix> dw(dxdt.data() + proj_offset_[k], p.rows(), p.cols());
    weight_derivative(k, x, rates_[p.pre()], rates_[p.post()], dw);
    if (learning_rate_scale_ != 1.0) dw *= learning_rate_scale_;
  }
}

void network::derivative_except_weights(const vector& x, vector& dxdt,
                                        const current_source& current) const {
  compute_inputs(x, &current);
  population_derivatives(x, dxdt);
}

void network::weight_derivative(std::size_t k, const vector& x, vector_view pre,
                                vector_view post, matrix_span dWdt) const {
  const projection& p = projs_.at(k);
  const Eigen::Index at = post_variable_offset_.at(k);
  p.rule()->derivative_with_post(weights_in(k, x), pre, post,
                                 x.segment(std::max<Eigen::Index>(at, 0), at < 0 ? 0 : p.rows()),
                                 dWdt);
}

bool network::scaling_form(std::size_t k, const vector& x, vector_view pre, vector_view post,
                           vector_span q) const {
  const projection& p = projs_.at(k);
  const Eigen::Index at = post_variable_offset_.at(k);
  return p.rule()->scaling_form(pre, post,
                                x.segment(std::max<Eigen::Index>(at, 0), at < 0 ? 0 : p.rows()),
                                q);
}

namespace {

// SplitMix64's finaliser: every bit of z moves every bit of the result.
std::uint64_t avalanche(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Each word avalanched into the running hash, so that changes do not cancel (as sign
// flips would under xor-and-multiply); not a cryptographic hash.
void mix(std::uint64_t& h, const double* values, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    std::uint64_t word;
    std::memcpy(&word, values + i, sizeof word);
    h = avalanche(h ^ word);
  }
}

}  // namespace

std::uint64_t network::fingerprint() const {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  const vector& x = state();
  mix(h, x.data(), static_cast<std::size_t>(x.size()));
  for (std::size_t k = 0; k < projs_.size(); ++k) {
    if (projs_[k].plastic()) continue;  // in the state already
    const auto W = weights(k);
    mix(h, W.data(), static_cast<std::size_t>(W.size()));
  }
  mix(h, &learning_rate_scale_, 1);
  return h >> 11;
}

void network::set_learning_rate_scale(double scale) {
  if (!(std::isfinite(scale) && scale >= 0.0))
    throw_parameter_error("network", "learning_rate_scale", "finite and >= 0", scale);
  learning_rate_scale_ = scale;
}

std::vector<std::size_t> network::feedforward_order() const {
  // Kahn's algorithm: a population is settled once every population projecting to it is;
  // ties go to the one added first. What is left over lies on a cycle.
  std::vector<std::size_t> waiting(pops_.size(), 0);
  for (const auto& p : projs_) {
    if (p.pre() == p.post())
      throw usage_error(fmt::format("{}: the quasi-static regime needs a feedforward network, "
                                    "but \"{}\" projects to itself",
                                    p.label(), pops_[p.pre()]->name()));
    ++waiting[p.post()];
  }
  std::vector<std::size_t> order;
  std::vector<char> done(pops_.size(), 0);
  while (order.size() < pops_.size()) {
    std::size_t next = pops_.size();
    for (std::size_t i = 0; i < pops_.size() && next == pops_.size(); ++i)
      if (!done[i] && waiting[i] == 0) next = i;
    if (next == pops_.size()) {
      std::string cycle, through;
      for (std::size_t i = 0; i < pops_.size(); ++i)
        if (!done[i]) cycle += fmt::format("{}\"{}\"", cycle.empty() ? "" : ", ", pops_[i]->name());
      for (const auto& p : projs_)
        if (!done[p.pre()] && !done[p.post()])
          through += fmt::format("{}\"{}\"", through.empty() ? "" : ", ", p.name());
      throw usage_error(fmt::format("network: the quasi-static regime (and settling) needs a "
                                    "feedforward network, but the projections {} between {} "
                                    "form a loop",
                                    through, cycle));
    }
    done[next] = 1;
    order.push_back(next);
    for (const auto& p : projs_)
      if (p.pre() == next) --waiting[p.post()];
  }
  return order;
}

void network::check_state(const vector& x, double t) const {
  // x · 0 is 0 for a finite x and NaN otherwise, and the smallest weight of a log-weight
  // matrix must be > 0: one vectorised pass (shared between the threads) finds out
  // whether anything needs looking at.
  std::atomic<bool> good = true;
  for_each_piece(static_cast<std::size_t>(x.size()), 1, [&](std::size_t first, std::size_t n) {
    // Each entry is read once: log-weights by their minimum (NaN propagates, and a NaN or
    // a weight <= 0 fails `> 0`; a +inf weight turns into -inf or NaN at the next step),
    // everything else by the finiteness sum.
    Eigen::Index at = static_cast<Eigen::Index>(first);
    const Eigen::Index end = at + static_cast<Eigen::Index>(n);
    auto finite = [&](Eigen::Index to) {
      if (to > at && (x.segment(at, to - at).array() * 0.0).sum() != 0.0) good = false;
    };
    for (const auto& [low, high] : positive_) {
      const Eigen::Index from = std::max(low, at), to = std::min(high, end);
      if (from >= to) continue;
      finite(from);
      if (!(x.segment(from, to - from).template minCoeff<Eigen::PropagateNaN>() > 0.0)) good = false;
      at = to;
    }
    finite(end);
  });
  if (good) return;
  Eigen::Index i = 0;
  while (!entry_bad(x, i)) ++i;
  report(x, i, t);
}

void network::check_populations(const vector& x, double t) const {
  const auto n = weights_offset_;  // the populations and the intrinsic rules' θ
  if ((x.head(n).array() * 0.0).sum() == 0.0) return;
  Eigen::Index i = 0;
  while (!entry_bad(x, i)) ++i;
  report(x, i, t);
}

void network::check_weight_rows(std::size_t k, const std::vector<Eigen::Index>& rows,
                                const vector& x, double t) const {
  const projection& p = projs_.at(k);
  if (!p.plastic() || rows.empty()) return;
  const Eigen::Map<const matrix> W = weights_in(k, x);
  const bool positive = p.current().needs_positive_weights();
  for (Eigen::Index c : rows) {
    const auto row = W.row(c);
    const bool good = positive ? row.template minCoeff<Eigen::PropagateNaN>() > 0.0 &&
                                     (row.array() * 0.0).sum() == 0.0
                               : (row.array() * 0.0).sum() == 0.0;
    if (good) continue;
    for (Eigen::Index d = 0; d < p.cols(); ++d) {
      const Eigen::Index i = proj_offset_[k] + c + d * p.rows();
      if (entry_bad(x, i)) report(x, i, t);
    }
  }
}

bool network::entry_bad(const vector& x, Eigen::Index i) const {
  if (!std::isfinite(x[i])) return true;
  for (const auto& [low, high] : positive_)
    if (i >= low && i < high && !(x[i] > 0.0)) return true;
  return false;
}

void network::report(const vector& x, Eigen::Index i, double t) const {
  const double value = x[i];
  for (std::size_t p = 0; p < pops_.size(); ++p) {
    const Eigen::Index offset = pop_offset_[p];
    if (i >= offset + static_cast<Eigen::Index>(pops_[p]->state_size())) continue;
    for (const auto& v : pops_[p]->state_variables()) {
      const auto first = offset + static_cast<Eigen::Index>(v.offset);
      if (i >= first && i < first + static_cast<Eigen::Index>(v.size))
        throw numerical_error(fmt::format(
            "{}: variable {}, unit {} became {} at t = {} ms", pops_[p]->label(), v.name,
            i - first, value, t));
    }
  }
  for (std::size_t p = 0; p < pops_.size(); ++p) {
    const Eigen::Index first = theta_offset_[p];
    if (!intrinsic_[p] || i < first || i >= first + static_cast<Eigen::Index>(pops_[p]->size())) continue;
    throw numerical_error(fmt::format("{}: intrinsic rule \"{}\": {} of unit {} became {} at t = {} ms",
                                      pops_[p]->label(), intrinsic_[p]->name(),
                                      intrinsic_[p]->variable(), i - first, value, t),
                          {pops_[p]->label(), fmt::format("{}({})", intrinsic_[p]->variable(), i - first),
                           fmt::format("{}", value)});
  }
  for (std::size_t k = 0; k < projs_.size(); ++k) {
    const projection& p = projs_[k];
    if (!p.plastic() || i < proj_offset_[k] || i >= proj_offset_[k] + p.rows() * p.cols()) continue;
    const Eigen::Index j = i - proj_offset_[k];  // column-major: j = c + d · n_post
    throw numerical_error(
        fmt::format("{}: weight W({}, {}) became {} at t = {} ms{}", p.label(), j % p.rows(),
                    j / p.rows(), value, t,
                    std::isfinite(value)
                        ? fmt::format("; the {} current needs weights > 0", p.current().name())
                        : ""),
        {p.label(), fmt::format("W({}, {})", j % p.rows(), j / p.rows()), fmt::format("{}", value)});
  }
  throw numerical_error(fmt::format("network: state entry {} became {} at t = {} ms", i, value, t));
}

void network::check_before_run(double t) const {
  check_state(state(), t);
  for (const auto& p : projs_)
    if (!p.plastic()) p.current().check_weights(p.weights_, p.label());
}

bool network::constrain(vector& x) const {
  const bool weights = constrain_weights(x);
  return constrain_intrinsic(x) || weights;
}

bool network::constrain_intrinsic(vector& x) const {
  bool any = false;
  for (std::size_t i = 0; i < pops_.size(); ++i) {
    if (!intrinsic_[i] || !intrinsic_[i]->has_constraint()) continue;
    intrinsic_[i]->constrain(x.segment(theta_offset_[i], static_cast<Eigen::Index>(pops_[i]->size())));
    any = true;
  }
  return any;
}

bool network::constrain_weights(vector& x) const {
  bool any = false;
  for (std::size_t k = 0; k < projs_.size(); ++k) {
    const projection& p = projs_[k];
    if (!p.plastic() || !p.rule()->has_constraint()) continue;
    p.rule()->constrain(Eigen::Map<matrix>(x.data() + proj_offset_[k], p.rows(), p.cols()));
    any = true;
  }
  return any;
}

// ---- Checkpoints ----------------------------------------------------------------------

std::string network::describe_structure() const {
  std::string text;
  for (std::size_t i = 0; i < pops_.size(); ++i) {
    const auto& p = pops_[i];
    text += fmt::format("{}: {} units, {} state entries", p->label(), p->size(), p->state_size());
    text += intrinsic_[i] ? fmt::format(", intrinsic rule {}\n", intrinsic_[i]->name()) : "\n";
  }
  for (const auto& p : projs_)
    text += fmt::format("{}: \"{}\" -> \"{}\", {} x {}, current {}, rule {}\n", p.label(),
                        pops_[p.pre()]->name(), pops_[p.post()]->name(), p.rows(), p.cols(),
                        p.current().name(), p.plastic() ? p.rule()->name() : "none");
  return text;
}

void network::save(checkpoint& c) const {
  const vector& x = state();
  c.set("network.structure", describe_structure());
  c.set("network.state", std::vector<double>(x.data(), x.data() + x.size()));
  c.set_number("network.learning_rate_scale", learning_rate_scale_);
}

void network::restore(const checkpoint& c, double t) {
  freeze();
  const std::string now = describe_structure();
  const std::string& saved = c.text("network.structure");
  if (saved != now)
    throw usage_error(fmt::format("network: the checkpoint is of another network ({})",
                                  first_difference(saved, now)));
  const auto& x = c.numbers("network.state");
  if (static_cast<Eigen::Index>(x.size()) != x_.size())
    throw input_error(fmt::format("network: the checkpoint's state has {} entries, expected {}",
                                  x.size(), x_.size()));
  const vector restored = Eigen::Map<const vector>(x.data(), x_.size());
  check_state(restored, t);
  set_learning_rate_scale(c.number("network.learning_rate_scale"));
  x_ = restored;
}

}  // namespace ratesim
