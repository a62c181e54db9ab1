#pragma once
// The quasi-static regime: fast populations at their fixed points, one weight step
// ΔW = T · dW/dt (ε = T/τ) per pattern of duration T, optionally summed over mini-batches
// computed with the same weights. Registered in regimes() as "quasi_static"
// (simulator/regimes/src/regimes.cpp).
//
// A mini-batch's steps are summed over one fixed binary tree of its batch_size slots
// (exact_sum's, ratesim/comm.hpp), so the ranks of a job can share its presentations
// (quasi_static_options::ranks) and still take the same step, bit for bit, as one process.
//
// The regime owns its machinery: settling in feedforward order, the currents' caches (ln W
// of a log-weight current) with the rows each weight step changed, the exact sparse step
// and the mini-batch.

#include <ratesim/simulation.hpp>

#include <memory>
#include <string>

namespace ratesim {

class communicator;  // ratesim/comm.hpp

struct quasi_static_options {
  double dt = 1.0;             // clock resolution [ms]; the stimulus duration T is a multiple
  std::size_t batch_size = 1;  // presentations whose weight steps are summed before applying
  // Skip weight rows whose update provably rounds away (rules with step_sparse); the
  // weights are bit-identical to the dense update's either way.
  bool exact_sparse = true;
  // Compute ln W of a log-weight current anew from W after every dense weight step (the
  // same bits as a fresh computation), instead of following each step by a short series
  // and computing it anew every 1,000 steps (within 1e-12 of ln W; about twice as fast).
  bool exact_log = false;
  // The ranks that share each mini-batch (batch_size > 1), or nullptr: this process alone.
  // Every rank runs the same simulation (the same network, stimuli, runs and pauses);
  // each settles only its contiguous share of each batch's slots (rank_groups), and the
  // shares' sums are added across ranks over the tree, so every rank takes the same step.
  // Between mini-batches every rank holds the same weights and θ; the populations' state
  // is that of the last presentation the rank settled. With batch_size 1 every rank
  // does all the work.
  communicator* ranks = nullptr;
};

class settling;   // simulator/regimes/src/settling.hpp
class batch_sum;  // simulator/regimes/src/batch_sum.hpp

class quasi_static_simulation : public simulation {
 public:
  explicit quasi_static_simulation(network& net, quasi_static_options options = {});
  ~quasi_static_simulation() override;
  // n must be a whole number of presentations.
  void run_steps(step_count n) override;
  void run_presentations(step_count n);
  // Presentations done so far.
  step_count presentations() const { return presentations_; }
  // Presentations of the open mini-batch (0 between mini-batches).
  std::size_t pending() const { return pending_; }
  const quasi_static_options& options() const { return options_; }

 private:
  void save_regime(checkpoint& c) const override;
  void restore_regime(const checkpoint& c) override;
  // Steps of one presentation T; all stimuli must agree.
  step_count period() const;
  // Refuses a weight step that a rule says would overshoot weights below 0 under a
  // log-weight current (plasticity_rule::largest_positive_step), and a step larger than an
  // intrinsic rule allows (intrinsic_rule::largest_step).
  void check_step_size() const;
  // θ += factor · dθ/dt of every intrinsic rule, then its constraint; then
  // W += factor · dW/dt (factor: the presentation duration T times the learning-rate
  // scale) at the settled rates and the new θ, for every plastic projection: exactly,
  // skipping rows that keep every bit where the rule knows how (step_sparse), dense
  // otherwise; the caches learn which rows changed. No allocation.
  void step(double duration);
  // Throws a numerical_error for a NaN, an infinity or a log-weight <= 0 in what the last
  // presentation changed (network::check_state).
  void check_state() const;
  // dθ/dt of every intrinsic rule and dW/dt of every plastic weight at the settled rates
  // into dw_, laid out as the state's plastic tail (learning rate included).
  void weight_derivative();
  // Applies the pending mini-batch (collective under ranks: every rank calls it).
  void apply_batch();
  // Whether the mini-batch is shared by more than one rank.
  bool shared() const;
  // After the weights changed wholesale (a constraint, a mini-batch).
  void weights_changed();

  quasi_static_options options_;
  std::unique_ptr<settling> settling_;
  std::vector<matrix> dense_dw_;   // per plastic projection, for the dense step
  std::vector<vector> scaling_q_;  // per plastic projection: q of a rule's scaling form
  step_count presentations_ = 0;
  std::size_t pending_ = 0;           // presentations of the open mini-batch (its next slot)
  vector dw_;                         // dθ/dt and dW/dt of one presentation, sized once
  std::unique_ptr<batch_sum> batch_;  // the open mini-batch's sums (batch_size > 1)
};

}  // namespace ratesim
