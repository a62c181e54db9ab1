#pragma once
// A file ratesim writes, claimed before any work starts, so that no run loses data:
//
//   output_file out("fit.h5", output_file::existing::replace, "fit output");  // checks now
//   … hours of work …
//   const std::string& tmp = out.temporary();  // write the new content here
//   write_it(tmp);
//   out.commit();  // synced, then renamed over "fit.h5"
//
// - The path is checked when claimed: its folder exists and is writable, and what is
//   there already is a regular file (never a folder, a device or a pipe; a symbolic link
//   is followed) that `existing` allows to replace or to change, and a file ratesim
//   wrote (root attribute format = "ratesim…"), so that a run never replaces its own
//   configuration or data by a slip of the path. A bad path fails before the work.
// - An advisory lock (an open-file-description lock, fcntl F_OFD_SETLK, which HDF5's own
//   flock() locks and readers never meet) is held on the file for as long as the claim
//   lives: a second ratesim that claims the same file is refused with the process that
//   holds it named, whether it wants to replace, change or create the file. A file that
//   does not exist yet is claimed by an empty file, removed again if nothing is committed
//   (an empty file left by a killed writer counts as absent).
// - New content goes to a temporary file beside the target and replaces it only on
//   commit(), after fsync: a run that fails, is refused or is killed before then leaves
//   the previous file as it was. commit() may be called again with new content
//   (checkpoints); the lock follows the newest file.
// - `existing::change` (appending to a file) works on the file itself, under the lock.

#include <string>

namespace ratesim {

class output_file {
 public:
  enum class existing {
    refuse,   // the file must not exist yet
    replace,  // an existing file is replaced on commit()
    change,   // the file must exist; it is changed in place (no temporary)
  };

  // `context` names the writer in messages, e.g. `hdf5_recorder "run.h5"`.
  output_file(std::string path, existing mode, std::string context);
  ~output_file();  // removes an uncommitted temporary, releases the lock
  output_file(const output_file&) = delete;
  output_file& operator=(const output_file&) = delete;

  // The target (symbolic links resolved).
  const std::string& path() const { return path_; }
  // A new, empty, locked temporary file beside the target, for the next commit().
  const std::string& temporary();
  // Syncs the temporary to disk and renames it over the target (the locked claim).
  void commit();

 private:
  void lock_target();

  std::string path_, context_;
  existing mode_;
  int target_fd_ = -1;     // the locked file at path_ (a new file's empty claim at first)
  bool placeholder_ = false;  // path_ is our empty claim, removed if nothing is committed
  int temporary_fd_ = -1;  // the locked temporary, until commit()
  std::string temporary_;
};

}  // namespace ratesim
