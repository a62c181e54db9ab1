#pragma once
// Checkpoints: everything that determines the rest of a run, so that a stopped run resumes
// bit for bit, in a new process (docs/checkpoints.md). This is the in-memory set of entries
// (core); <ratesim/checkpoint_file.hpp> (io) writes and reads it as an HDF5 file.
//
//   ratesim::checkpoint c = sim.save();           // state, clock, stimulus positions, …
//   c.set("config", toml_text);                   // what the caller adds of its own
//   ratesim::write_checkpoint("run.ckpt.h5", c);  // atomic: a temporary file, then rename
//   …                                             // later, in another process:
//   sim.restore(ratesim::read_checkpoint("run.ckpt.h5"));
//
// A checkpoint is a set of named entries (numbers, integers, text); keys are made of
// letters, digits, '_' and '.'. Every entry a component writes is documented where it
// writes it; the file layout is in docs/checkpoints.md.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ratesim {

class checkpoint {
 public:
  void set(const std::string& key, std::vector<double> values);
  void set(const std::string& key, std::vector<std::int64_t> values);
  void set(const std::string& key, std::string text);
  void set_number(const std::string& key, double value) { set(key, std::vector<double>{value}); }
  void set_integer(const std::string& key, std::int64_t value) {
    set(key, std::vector<std::int64_t>{value});
  }

  bool has(const std::string& key) const;
  // The entry `key` of the given kind; an input_error naming the key if it is missing,
  // of another kind, or (for the scalar getters) not exactly one value.
  const std::vector<double>& numbers(const std::string& key) const;
  const std::vector<std::int64_t>& integers(const std::string& key) const;
  const std::string& text(const std::string& key) const;
  double number(const std::string& key) const;
  std::int64_t integer(const std::string& key) const;

  const std::map<std::string, std::vector<double>>& all_numbers() const { return numbers_; }
  const std::map<std::string, std::vector<std::int64_t>>& all_integers() const { return integers_; }
  const std::map<std::string, std::string>& all_text() const { return text_; }

  // Whether `key` may name an entry: 1 to 200 letters, digits, '_' or '.'.
  static bool valid_key(const std::string& key);

 private:
  void check_new_key(const std::string& key) const;

  std::map<std::string, std::vector<double>> numbers_;
  std::map<std::string, std::vector<std::int64_t>> integers_;
  std::map<std::string, std::string> text_;
};

// Whether a run may go on from `c`: refuses (usage_error) a checkpoint of another ratesim
// version, or whose "config" differs from `config` when one is given, unless `force`.
// Returns the differences that `force` let pass, one line each, for a warning.
std::vector<std::string> check_resumable(const checkpoint& c, const std::string* config,
                                         bool force);

// Where a text saved in a checkpoint first differs from the current one, for messages:
// line "L: \"…\" in the checkpoint, \"…\" now".
std::string first_difference(const std::string& saved, const std::string& now);

}  // namespace ratesim
