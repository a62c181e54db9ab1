#pragma once
// What drives a population from outside: a sequence of presentations, each holding one
// input pattern constant for `duration()` ms. The simulation splits integration at every
// change of input, so no integration step straddles two patterns.

#include <ratesim/parameters.hpp>
#include <ratesim/random.hpp>
#include <ratesim/registry.hpp>
#include <ratesim/types.hpp>

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ratesim {

class population;

class stimulus {
 public:
  virtual ~stimulus() = default;

  // Called once when the stimulus is attached to `target`: check sizes and values here.
  virtual void bind(const population& target) = 0;
  // How long each presentation lasts [ms]; infinity for an input that never changes.
  virtual double duration() const = 0;
  // Writes the input of presentation k (k = 0, 1, 2, ...).
  virtual void pattern(step_count k, vector_span out) = 0;
  // The patterns it presents, one per column, when it shows a finite set of them (what
  // an epoch passes over and the data_mean initialiser averages); nullptr otherwise.
  virtual const matrix* patterns() const { return nullptr; }
};

// A fixed input, for the whole run.
class constant_input : public stimulus {
 public:
  explicit constant_input(vector value) : value_(std::move(value)) {}
  void bind(const population& target) override;
  double duration() const override { return std::numeric_limits<double>::infinity(); }
  void pattern(step_count, vector_span out) override { out = value_; }

 private:
  vector value_;
};

// A data set presented pattern by pattern, epoch after epoch, in order or shuffled.
class pattern_set : public stimulus {
 public:
  enum class order { sequential, shuffled };
  struct params {
    double duration = 1.0;            // presentation time T of each pattern [ms]
    order ordering = order::sequential;
    std::uint64_t seed = 0;           // keys the shuffle of every epoch
  };

  // `patterns` holds one pattern per column (D × N).
  pattern_set(matrix patterns, params p);

  void bind(const population& target) override;
  double duration() const override { return p_.duration; }
  void pattern(step_count k, vector_span out) override;
  const matrix* patterns() const override { return &patterns_; }

  std::size_t count() const { return static_cast<std::size_t>(patterns_.cols()); }
  // Which column presentation k shows. The order of epoch e depends only on (seed, e): it
  // is the random_stream(seed, stream_id("pattern_set.order"), e) shuffle of 0 … N − 1.
  std::size_t index(step_count k);

 private:
  matrix patterns_;
  params p_;
  std::vector<std::size_t> order_;  // permutation of the current epoch
  step_count epoch_ = -1;
};

// Patterns made on demand by a function of the presentation index, e.g. samples of a
// generative model. Each generated pattern is checked against the target population.
class generated_input : public stimulus {
 public:
  using generator = std::function<void(step_count k, vector_span out)>;
  generated_input(std::size_t size, double duration, generator g);

  void bind(const population& target) override;
  double duration() const override { return duration_; }
  void pattern(step_count k, vector_span out) override;

 private:
  std::size_t size_;
  double duration_;
  generator generate_;
  const population* target_ = nullptr;
};

// Stimulus sources by name, for experiment files ([stimulus.NAME] source = "..."): a
// factory makes the stimulus of `target` from named parameters and checks them
// (parameters::require_all_used). The built-in sources (file, bars, constant) are one
// file each in simulator/stimuli/, registered in simulator/stimuli/sources.cpp; a
// user adds one with stimulus_sources().add("my_source", factory).
struct stimulus_context {
  const population& target;  // the population it will drive
  random_stream& rng;        // for made-up data: in an experiment, its `seed` keyed by
                             // stream_id("stimulus.TARGET")
};
using stimulus_factory =
    std::function<std::unique_ptr<stimulus>(const stimulus_context& context, const parameters& values)>;
registry<stimulus_factory>& stimulus_sources();

// The parameters of a pattern_set: `duration` [ms], `order` ("sequential" or "shuffled")
// and `seed`; `component` names the source in messages.
pattern_set::params pattern_parameters(const parameters& values, std::string_view component);

}  // namespace ratesim
