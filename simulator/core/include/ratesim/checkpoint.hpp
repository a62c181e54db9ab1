#pragma once
// Checkpoints: everything that determines the rest of a run, kept in an HDF5 file so that
// a stopped run resumes bit for bit, in a new process (docs/checkpoints.md).
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

 private:
  void check_new_key(const std::string& key) const;

  std::map<std::string, std::vector<double>> numbers_;
  std::map<std::string, std::vector<std::int64_t>> integers_;
  std::map<std::string, std::string> text_;
};

class output_file;

// Writes `c` to `path` atomically: into a temporary file beside it first, synced to disk,
// then renamed over `path` (an output_file: a path that is not a regular file, or that
// another process is writing, is refused). A crash at any moment leaves either the
// previous file or the new one. Adds the entry "ratesim_version".
void write_checkpoint(const std::string& path, const checkpoint& c);
// The same, to a file claimed for the whole run (checked and locked before it starts).
void write_checkpoint(output_file& out, const checkpoint& c);

// Reads a checkpoint written by write_checkpoint. A file that is not one, or is damaged
// (a wrong type, a dataset that claims more values than it stores), is an input_error;
// nothing is allocated beyond what the file holds.
checkpoint read_checkpoint(const std::string& path);

// Whether a run may go on from `c`: refuses (usage_error) a checkpoint of another ratesim
// version, or whose "config" differs from `config` when one is given, unless `force`.
// Returns the differences that `force` let pass, one line each, for a warning.
std::vector<std::string> check_resumable(const checkpoint& c, const std::string* config,
                                         bool force);

// Where a text saved in a checkpoint first differs from the current one, for messages:
// line "L: \"…\" in the checkpoint, \"…\" now".
std::string first_difference(const std::string& saved, const std::string& now);

}  // namespace ratesim
