#pragma once
// The spiking regime: spiking populations (ratesim/spiking.hpp) fire on the clock, step by
// step of dt, and spike-triggered rules (plasticity_rule::post_spike) change the weights
// at each postsynaptic spike. Registered in regimes() as "spiking".
//
// In each step, populations in feedforward order: the number of spikes of a population
// is drawn as Poisson(Λ dt), then each spike's unit by p (an alias table, once per pattern,
// for a population driven by its stimulus alone; p at the spike for one with incoming
// projections). At a spike of unit c, first the rules of the projections into c's
// population step row c of W at the presynaptic traces; then c's trace and the currents
// of the projections out of its population are updated.
//
// Work follows the spikes, not C·D. The regime keeps, for each projection into a spiking
// population, F(W) (synaptic_current::elementwise: ln W for a log-weight current) and the
// unnormalised current v = F(W) z, z being the presynaptic traces times a factor
// e^{(t − t0)/τ_x} (so that only a spiking unit's entry changes: z_d += e^{(t − t0)/τ_x}):
// an input spike adds one column of F(W) to v, an output spike recomputes one row of F(W)
// and its entry of v. At a fixed cadence (when (t − t0)/τ_x reaches 16) the factor is
// folded into z and v recomputed, which bounds the drift of the incremental sums; z, v and
// t0 are checkpointed, so a resumed run goes on bit for bit.
//
// Randomness: the draws of population i at step n come from random_stream(seed,
// stream_id("spikes.<name>"), n), so the spikes depend on the seed and nothing else.
//
// Rate populations mix in upstream: a rate population that takes its input from stimuli
// and rate populations only is settled to its fixed point whenever the stimuli change, and
// static projections from it add to a spiking population's input (a population driven by
// stimuli and rate populations alone gets its alias table once per pattern). Not (yet) in
// this regime: rate populations driven by spiking ones, plastic projections from or into
// rate populations, rules without a spike-triggered form.

#include <ratesim/simulation.hpp>

#include <cstdint>
#include <vector>

namespace ratesim {

class spiking_population;

struct spiking_options {
  double dt = 0.5;         // clock resolution [ms]
  std::uint64_t seed = 1;  // keys every draw
};

class spiking_simulation : public simulation {
 public:
  explicit spiking_simulation(network& net, spiking_options options = {});
  ~spiking_simulation() override;
  void run_steps(step_count n) override;
  const spiking_options& options() const { return options_; }

  // Spikes of population i so far (in this simulation and the runs it resumes).
  std::uint64_t spike_count(std::size_t population) const;
  // The summed input of population i as the regime holds it now (from its incremental
  // currents, with the spikes they have not taken in yet); allocates, changes nothing. A fresh computation from the state agrees within the drift the
  // cadence bounds (tests/test_spiking.cpp).
  vector input(std::size_t population);

 private:
  struct spiking_state;
  struct current_state;
  void save_regime(checkpoint& c) const override;
  void restore_regime(const checkpoint& c) override;
  // The rate populations at their fixed points for the present stimuli, and every spiking
  // population's static input (external, and the currents from rate populations).
  void settle_static();
  // One clock step: every population's spikes, their rules and traces, the intrinsic rules.
  void step();
  // Population s's spikes of this step.
  void fire(spiking_state& s);
  // A spike of unit c of population s: rules of the projections into s, then traces and
  // the currents out of s.
  void spike(spiking_state& s, Eigen::Index c);
  // F(W) of projection k from its weights.
  void compute_F(std::size_t k);
  // F(W) of every current, and v where W changed since they were last computed (a run
  // start: the weights may have been written between runs).
  void refresh_currents();
  // Notes a spike of unit c of population s for the currents out of it.
  void log_spike(spiking_state& s, std::uint32_t c);
  // Adds to projection k's current v the presynaptic spikes it has not taken in: column
  // by column, or as one product F(W) z when that costs less.
  void sync(std::size_t k);
  // `rate`, Λ of `model`, if finite and >= 0; else a numerical_error.
  double checked_rate(const spiking_population& model, double rate) const;
  // Folds population s's trace factor into z and recomputes the currents out of it.
  void rebase(spiking_state& s);
  // e^{(t − t0)/τ_x} for population s at clock step `step`.
  double factor(const spiking_state& s, step_count step) const;
  // Refuses (numerical_error) spike probabilities below 0, NaN, or all 0.
  void check_probabilities(const spiking_state& s) const;
  // The summed input of population s into s.input (static input, bias and currents); a
  // `query` leaves the currents as they are (they take pending spikes in column by column
  // or as one product, depending on when they are read, which would change later bits).
  void compute_input(spiking_state& s, bool query = false);
  // Projection k's current with every spike so far, without changing it.
  vector current_now(std::size_t k) const;
  // The normalised traces x̂ of population s into s.rates.
  void compute_rates(spiking_state& s) const;
  // Writes the traces x = z e^{−(t − t0)/τ_x} into the network's state (for observers,
  // checkpoints and the end of a run).
  void sync_state();

  spiking_options options_;
  std::vector<spiking_state> pops_;      // in feedforward order
  std::vector<std::size_t> pop_of_;      // population index -> entry of pops_
  std::vector<current_state> currents_;  // per projection (empty for none)
  std::vector<char> spiking_pre_;        // per projection: from a spiking population
  std::vector<std::size_t> rate_order_;  // the rate populations, in feedforward order
  std::vector<vector> rate_rates_, rate_input_;  // per population (empty for spiking ones)
  std::vector<Eigen::Index> one_row_;    // scratch: the row a spike changed
  std::vector<double> row_w_, row_f_;    // scratch: a row of W and of F(W)
};

}  // namespace ratesim
