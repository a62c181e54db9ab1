#include <ratesim/error.hpp>
#include <ratesim/output_file.hpp>

#include "detail/hdf5.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace ratesim {
namespace {

namespace fs = std::filesystem;

std::string kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  if (S_ISFIFO(mode)) return "a pipe";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// A write lock on the whole file, held by this open file description; false when another
// description (another process, or another claim in this one) holds one.
bool try_lock(int fd) {
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  return ::fcntl(fd, F_OFD_SETLK, &lock) == 0;
}

// Who holds an open-file-description lock on `st`'s file: "process 123 (ratesim run x.toml)",
// found in /proc/*/fdinfo, where Linux lists the locks of each open file.
std::string holder(const struct stat& st) {
  const std::string key = fmt::format("{:02x}:{:02x}:{} ", major(st.st_dev), minor(st.st_dev), st.st_ino);
  std::error_code ec;
  for (const auto& proc : fs::directory_iterator("/proc", ec)) {
    const std::string pid = proc.path().filename().string();
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code ec2;
    for (const auto& info : fs::directory_iterator(proc.path() / "fdinfo", ec2)) {
      std::ifstream in(info.path());
      std::string line;
      while (std::getline(in, line)) {
        // Only a writer's lock like ours: a reader's shared flock (h5py) is not a writer.
        if (line.rfind("lock:", 0) != 0 || line.find(key) == std::string::npos ||
            line.find("OFDLCK") == std::string::npos || line.find("WRITE") == std::string::npos)
          continue;
        if (pid == std::to_string(::getpid())) return "this process (another writer in it)";
        std::ifstream cmd(proc.path() / "cmdline");
        std::string args((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
        for (char& ch : args)
          if (ch == '\0') ch = ' ';
        while (!args.empty() && args.back() == ' ') args.pop_back();
        if (args.size() > 200) args = args.substr(0, 200) + "…";
        return fmt::format("process {} ({})", pid, args);
      }
    }
  }
  return "another process";
}

// Whether the file is one ratesim wrote: HDF5 with a root attribute format = "ratesim…"
// (traces, fit results, checkpoints).
bool is_ratesim_file(const std::string& path) {
  namespace h5 = detail::hdf5;
  h5::quiet_errors quiet;
  try {
    if (H5Fis_hdf5(path.c_str()) <= 0) return false;
    h5::handle f = h5::open_file_for_reading(path, "output_file");
    return H5Aexists(f.get(), "format") > 0 &&
           h5::read_string_attribute(f.get(), "format", "output_file").rfind("ratesim", 0) == 0;
  } catch (const error&) {
    return false;
  }
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

output_file::output_file(std::string path, existing mode, std::string context)
    : path_(std::move(path)), context_(std::move(context)), mode_(mode) {
  if (path_.empty()) throw parameter_error(fmt::format("{}: the path must not be empty", context_));
  std::error_code ec;
  if (fs::is_symlink(path_, ec)) path_ = fs::weakly_canonical(path_, ec).string();
  struct stat st {};
  const bool present = ::stat(path_.c_str(), &st) == 0;
  if (present && !S_ISREG(st.st_mode))
    throw usage_error(fmt::format("{}: \"{}\" is {}; ratesim writes only regular files",
                                  context_, path_, kind_of(st.st_mode)));
  // An empty file is a claim left by a writer that died before its first commit.
  const bool content = present && st.st_size > 0;
  if (content && mode_ == existing::refuse)
    throw usage_error(fmt::format("{}: the file \"{}\" exists (kept as it is)", context_, path_));
  if (!content && mode_ == existing::change)
    throw usage_error(fmt::format("{}: \"{}\" does not exist or is empty; there is nothing to "
                                  "append to",
                                  context_, path_));
  if (mode_ != existing::change) {  // a temporary is made beside the file, then renamed
    const fs::path folder = fs::absolute(fs::path(path_), ec).parent_path();
    if (!fs::is_directory(folder, ec))
      throw usage_error(fmt::format("{}: the folder \"{}\" does not exist", context_, folder.string()));
    if (::access(folder.c_str(), W_OK) != 0)
      throw usage_error(fmt::format("{}: the folder \"{}\" is not writable", context_, folder.string()));
  }
  if (!present) {
    // Claimed now by an empty file, locked like any other, so that a second writer that
    // wants to create it too is refused at once; removed again if nothing is committed.
    const int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) {
      ::close(fd);
      placeholder_ = true;
    }
  }
  lock_target();
  if (content && !is_ratesim_file(path_))
    throw usage_error(fmt::format("{}: \"{}\" is not a file ratesim wrote (no format = "
                                  "\"ratesim…\" at /), so it is not replaced or changed (is it "
                                  "an input of this run?)",
                                  context_, path_));
}

output_file::~output_file() {
  if (temporary_fd_ >= 0) ::unlink(temporary_.c_str());
  struct stat mine {}, now {};
  if (placeholder_ && target_fd_ >= 0 && ::fstat(target_fd_, &mine) == 0 &&
      ::stat(path_.c_str(), &now) == 0 && mine.st_ino == now.st_ino && mine.st_dev == now.st_dev)
    ::unlink(path_.c_str());  // the claim of a writer that committed nothing
  close_fd(temporary_fd_);
  close_fd(target_fd_);
}

void output_file::lock_target() {
  for (int attempt = 0; attempt < 5; ++attempt) {
    const int fd = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0)
      throw usage_error(fmt::format("{}: cannot open \"{}\" for writing: {}", context_, path_,
                                    std::strerror(errno)));
    struct stat locked {}, now {};
    ::fstat(fd, &locked);
    if (!try_lock(fd)) {
      ::close(fd);
      throw usage_error(fmt::format("{}: \"{}\" is being written by {}; wait for it, or write "
                                    "to another file",
                                    context_, path_, holder(locked)));
    }
    // The file may have been replaced between open and lock: lock the one at the path.
    if (::stat(path_.c_str(), &now) == 0 && now.st_ino == locked.st_ino &&
        now.st_dev == locked.st_dev) {
      close_fd(target_fd_);
      target_fd_ = fd;
      return;
    }
    ::close(fd);
  }
  throw error(fmt::format("{}: \"{}\" keeps being replaced by another process", context_, path_));
}

const std::string& output_file::temporary() {
  if (mode_ == existing::change)
    throw usage_error(fmt::format("{}: a file changed in place has no temporary", context_));
  if (temporary_fd_ >= 0) ::unlink(temporary_.c_str());
  close_fd(temporary_fd_);
  std::string name = path_ + ".tmp.XXXXXX";
  temporary_fd_ = ::mkostemp(name.data(), O_CLOEXEC);
  if (temporary_fd_ < 0)
    throw error(fmt::format("{}: cannot make a temporary file beside \"{}\": {}", context_, path_,
                            std::strerror(errno)));
  temporary_ = std::move(name);
  try_lock(temporary_fd_);  // new and private: always succeeds
  // mkstemp makes it 0600; give it the permissions of the file it replaces (a new file's
  // claim got open()'s 0666 less the umask).
  struct stat old {};
  if (target_fd_ >= 0 && ::fstat(target_fd_, &old) == 0) ::fchmod(temporary_fd_, old.st_mode & 07777);
  return temporary_;
}

void output_file::commit() {
  if (temporary_fd_ < 0)
    throw usage_error(fmt::format("{}: nothing to commit: no temporary was written", context_));
  if (::fsync(temporary_fd_) != 0)
    throw error(fmt::format("{}: cannot sync \"{}\" to disk: {}", context_, temporary_,
                            std::strerror(errno)));
  if (::rename(temporary_.c_str(), path_.c_str()) != 0)
    throw error(fmt::format("{}: cannot rename \"{}\" to \"{}\": {}", context_, temporary_, path_,
                            std::strerror(errno)));
  close_fd(target_fd_);  // the replaced file's lock; the new file's is the temporary's
  target_fd_ = std::exchange(temporary_fd_, -1);
  mode_ = existing::replace;  // a later commit replaces this content
  placeholder_ = false;
  std::error_code ec;
  const auto folder = fs::absolute(fs::path(path_), ec).parent_path();
  const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {  // makes the rename itself durable
    ::fsync(dir);
    ::close(dir);
  }
}

}  // namespace ratesim
