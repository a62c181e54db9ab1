#include <ratesim/error.hpp>
#include <ratesim/output_file.hpp>

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
        if (line.rfind("lock:", 0) != 0 || line.find(key) == std::string::npos) continue;
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

// The permissions a new file gets from open(): 0666 less the process's umask, which Linux
// shows in /proc/self/status (reading it does not change it, unlike umask()).
mode_t new_file_mode() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("Umask:", 0) == 0) return 0666 & ~static_cast<mode_t>(std::stoul(line.substr(6), nullptr, 8));
  return 0644;
}

// Whether the file starts with HDF5's signature (ratesim's files keep it at offset 0).
bool is_hdf5(const std::string& path) {
  static constexpr char signature[8] = {'\x89', 'H', 'D', 'F', '\r', '\n', '\x1a', '\n'};
  char head[8] = {};
  std::ifstream in(path, std::ios::binary);
  return in.read(head, 8) && std::equal(head, head + 8, signature);
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
  if (present && mode_ != existing::refuse && st.st_size > 0 && !is_hdf5(path_))
    throw usage_error(fmt::format("{}: \"{}\" is not an HDF5 file, and ratesim replaces or "
                                  "changes only the HDF5 files it writes (is it an input of "
                                  "this run?)",
                                  context_, path_));
  if (present && mode_ == existing::refuse)
    throw usage_error(fmt::format("{}: the file \"{}\" exists (kept as it is)", context_, path_));
  if (!present && mode_ == existing::change)
    throw usage_error(fmt::format("{}: \"{}\" does not exist; there is nothing to append to",
                                  context_, path_));
  if (mode_ != existing::change) {  // a temporary is made beside the file, then renamed
    const fs::path folder = fs::absolute(fs::path(path_), ec).parent_path();
    if (!fs::is_directory(folder, ec))
      throw usage_error(fmt::format("{}: the folder \"{}\" does not exist", context_, folder.string()));
    if (::access(folder.c_str(), W_OK) != 0)
      throw usage_error(fmt::format("{}: the folder \"{}\" is not writable", context_, folder.string()));
  }
  if (present) lock_target();
}

output_file::~output_file() {
  if (temporary_fd_ >= 0) ::unlink(temporary_.c_str());
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
  // mkstemp makes it 0600; give it the permissions of the file it replaces, or of a new one.
  struct stat old {};
  ::fchmod(temporary_fd_, target_fd_ >= 0 && ::fstat(target_fd_, &old) == 0
                              ? old.st_mode & 07777
                              : new_file_mode());
  return temporary_;
}

void output_file::commit() {
  if (temporary_fd_ < 0)
    throw usage_error(fmt::format("{}: nothing to commit: no temporary was written", context_));
  if (::fsync(temporary_fd_) != 0)
    throw error(fmt::format("{}: cannot sync \"{}\" to disk: {}", context_, temporary_,
                            std::strerror(errno)));
  struct stat st {};
  if (target_fd_ < 0 && ::stat(path_.c_str(), &st) == 0) {  // appeared since the claim
    if (mode_ == existing::refuse)
      throw usage_error(fmt::format("{}: the file \"{}\" appeared while this one was written; "
                                    "it is kept, and the new content is not written",
                                    context_, path_));
    lock_target();
  }
  const int renamed =
      mode_ == existing::refuse
          ? ::renameat2(AT_FDCWD, temporary_.c_str(), AT_FDCWD, path_.c_str(), RENAME_NOREPLACE)
          : ::rename(temporary_.c_str(), path_.c_str());
  if (renamed != 0)
    throw error(fmt::format("{}: cannot rename \"{}\" to \"{}\": {}", context_, temporary_, path_,
                            std::strerror(errno)));
  close_fd(target_fd_);  // the replaced file's lock; the new file's is the temporary's
  target_fd_ = std::exchange(temporary_fd_, -1);
  mode_ = existing::replace;  // a later commit replaces this content
  std::error_code ec;
  const auto folder = fs::absolute(fs::path(path_), ec).parent_path();
  const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {  // makes the rename itself durable
    ::fsync(dir);
    ::close(dir);
  }
}

}  // namespace ratesim
