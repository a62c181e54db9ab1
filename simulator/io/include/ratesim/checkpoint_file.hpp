#pragma once
// Checkpoint files: a ratesim::checkpoint written to and read from HDF5 (docs/checkpoints.md
// has the layout). The in-memory checkpoint is <ratesim/checkpoint.hpp>.

#include <ratesim/checkpoint.hpp>

#include <string>

namespace ratesim {

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

}  // namespace ratesim
