#pragma once
// The interface every population of rate units implements. A population owns no state: the
// network keeps one flat state vector and hands each population a view of its own slice,
// so that one odeint stepper integrates the whole circuit at once.
//
// To add a population model: derive from `population`, give it a validated `params`
// struct, and implement the five pure virtual functions. models/src/rate_population.cpp
// is the shortest complete example; models/src/feedforward_inhibition.cpp has extra state.

#include <ratesim/parameters.hpp>
#include <ratesim/registry.hpp>
#include <ratesim/types.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ratesim {

// A named part of a population's state slice, e.g. the membrane variable `u`.
struct state_variable {
  std::string name;
  std::size_t offset;  // first index within the population's state slice
  std::size_t size;
  std::string units;   // "ms", "1" (dimensionless), ...
};

class population {
 public:
  // `kind` is the model name (e.g. "softmax_competition"), `name` the instance's name.
  population(std::string kind, std::string name, std::size_t size);
  virtual ~population() = default;
  population(const population&) = delete;
  population& operator=(const population&) = delete;

  const std::string& kind() const { return kind_; }
  const std::string& name() const { return name_; }
  // Number of units (the length of the rate vector and of the input vector).
  std::size_t size() const { return size_; }
  // `kind "name"`, the prefix of every error message about this population.
  std::string label() const;

  // Length of this population's slice of the network state; at least size().
  virtual std::size_t state_size() const { return size_; }
  // The named parts of the state slice (for recording and reading back).
  virtual std::vector<state_variable> state_variables() const = 0;

  // Writes the state a fresh network starts from.
  virtual void initial_state(vector_span x) const = 0;
  // Output rates r of the units, given the state x.
  virtual void rates(vector_view x, vector_span r) const = 0;
  // Time derivative dx/dt [1/ms] given the state and the summed input of all sources.
  virtual void derivative(vector_view x, vector_view input, vector_span dxdt) const = 0;
  // The state the dynamics settle to under a constant input (the quasi-static regime).
  virtual void fixed_point(vector_view input, vector_span x) const = 0;

  // The rates the population settles to (its fixed point, then rates()) under each
  // external input, one per column of `inputs`: one column of rates each.
  // A spiking population gives the rates its traces pass on on average instead.
  virtual matrix settled_rates(matrix_view inputs) const;

  // Rejects an external input pattern this model cannot take; `what` and `index` name
  // the pattern in the message ("pattern 17"; no number when index < 0). The default
  // accepts any finite vector of the right size. Allocates nothing unless it throws.
  virtual void check_external_input(vector_view pattern, std::string_view what,
                                    step_count index = -1) const;

 protected:
  // "pattern 17", or just "constant input" when index < 0.
  static std::string describe(std::string_view what, step_count index);

 private:
  std::string kind_;
  std::string name_;
  std::size_t size_;
};

// Population models by name, for config files and scripts: a factory takes the instance's
// name and its parameters (e.g. {"size", 25}, {"A", 40}) and checks them. The built-in
// models are registered in models/src/models.cpp; a user adds one with
// population_models().add("my_model", factory).
using population_factory =
    std::function<std::unique_ptr<population>(std::string name, const parameters& values)>;
registry<population_factory>& population_models();

// A size parameter: a whole number >= 1 (parameters hold numbers as double).
std::size_t size_parameter(const parameters& values, std::string_view component);

}  // namespace ratesim
