#include "sweep.hpp"

#include <ratesim/comm.hpp>
#include <ratesim/data.hpp>
#include <ratesim/error.hpp>
#include <ratesim/experiment.hpp>
#include <ratesim/plugin.hpp>
#include <ratesim/signals.hpp>

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string_view>
#include <thread>

namespace ratesim::cli {
namespace {

namespace fs = std::filesystem;

struct axis {
  std::string key;
  std::vector<std::string> values;
};

std::vector<axis> parse_grid(const std::vector<std::string>& grid) {
  if (grid.empty()) throw usage_error("sweep: give at least one --grid KEY=VALUE1,VALUE2,...");
  std::vector<axis> axes;
  std::set<std::string> keys;
  for (const std::string& g : grid) {
    const auto eq = g.find('=');
    axis a{g.substr(0, eq == std::string::npos ? 0 : eq), {}};
    if (eq != std::string::npos) {
      std::stringstream values(g.substr(eq + 1));
      for (std::string v; std::getline(values, v, ',');) a.values.push_back(v);
      if (!g.empty() && g.back() == ',') a.values.push_back("");
    }
    bool empty_value = a.values.empty();
    for (const auto& v : a.values) empty_value = empty_value || v.empty();
    if (a.key.empty() || empty_value)
      throw usage_error(
          fmt::format("sweep: --grid \"{}\": expected KEY=VALUE1,VALUE2,... (no empty value)", g));
    if (!keys.insert(a.key).second)
      throw usage_error(fmt::format("sweep: --grid names \"{}\" twice", a.key));
    axes.push_back(std::move(a));
  }
  return axes;
}

// A run: one value per axis (the first axis varies slowest).
struct run {
  std::vector<std::string> values;
  std::string name;  // file names: DIR/NAME.h5, .ckpt.h5, .log, .done, .failed
};

std::string file_safe(const std::string& s) {
  std::string out;
  for (char ch : s)
    out += std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '+' || ch == '-'
               ? ch
               : '-';
  return out;
}

std::vector<run> grid_runs(const std::vector<axis>& axes) {
  std::vector<run> runs{{}};
  for (const axis& a : axes) {
    std::vector<run> next;
    for (const run& r : runs)
      for (const std::string& v : a.values) {
        run n = r;
        n.values.push_back(v);
        next.push_back(std::move(n));
      }
    runs = std::move(next);
  }
  std::map<std::string, std::size_t> names;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    for (std::size_t k = 0; k < axes.size(); ++k)
      runs[i].name += fmt::format("{}{}={}", k ? "_" : "", file_safe(axes[k].key),
                                  file_safe(runs[i].values[k]));
    if (const auto [at, fresh] = names.emplace(runs[i].name, i); !fresh)
      throw usage_error(fmt::format("sweep: runs {} and {} would share the file name \"{}\"",
                                    at->second, i, runs[i].name));
  }
  return runs;
}

// Small text files (status, summary) appear whole or not at all.
void write_text(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << text;
    f.flush();
    if (!f) throw error(fmt::format("sweep: cannot write \"{}\"", tmp.string()));
  }
  const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  fs::rename(tmp, path);
}

std::string read_text(const fs::path& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  std::string text = s.str();
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

class sweeper {
 public:
  sweeper(const sweep_command& c, const std::string& self)
      : c_(c), self_(self), axes_(parse_grid(c.grid)), runs_(grid_runs(axes_)), dir_(c.out) {
    if (c.jobs < 1) throw_parameter_error("sweep", "jobs (-j)", ">= 1", c.jobs);
    if (!(c.checkpoint_every >= 0))
      throw_parameter_error("sweep", "checkpoint_every", ">= 0 [ms]", c.checkpoint_every);
    if (c.config.find('"') != std::string::npos || c.out.find('"') != std::string::npos)
      throw usage_error("sweep: the experiment and --out paths must not contain '\"'");
  }

  fs::path file(const run& r, const char* suffix) const { return dir_ / (r.name + suffix); }

  // argv of `ratesim run` for one point of the grid.
  std::vector<std::string> command(const run& r, bool resume) const {
    std::vector<std::string> a{self_, "run", c_.config, "-q"};
    for (const auto& p : c_.plugins) a.insert(a.end(), {"--plugin", p});
    for (const auto& key : c_.overrides.unset) a.insert(a.end(), {"--unset", key});
    for (const auto& s : c_.overrides.set) a.insert(a.end(), {"--set", s});
    for (std::size_t k = 0; k < axes_.size(); ++k)
      a.insert(a.end(), {"--set", axes_[k].key + "=" + r.values[k]});
    a.insert(a.end(), {"--set", fmt::format("output.file=\"{}\"", file(r, ".h5").string()),
                       "--set", "output.mode=\"overwrite\"", "--checkpoint",
                       file(r, ".ckpt.h5").string()});
    if (c_.checkpoint_every > 0)
      a.insert(a.end(), {"--checkpoint-every", fmt::format("{}", c_.checkpoint_every)});
    if (resume) a.insert(a.end(), {"--resume", file(r, ".ckpt.h5").string()});
    return a;
  }

  // Starts run i in a child process; its messages go to NAME.log.
  pid_t start(std::size_t i) {
    const run& r = runs_[i];
    fs::remove(file(r, ".failed"));
    // A run killed before its first checkpoint leaves the empty file that claimed the
    // name (output_file), which counts as no checkpoint.
    std::error_code ec;
    const bool resume = fs::file_size(file(r, ".ckpt.h5"), ec) > 0 && !ec;
    say(fmt::format("{}: {}", r.name, resume ? "resumed from its checkpoint" : "started"));
    const std::vector<std::string> args = command(r, resume);
    const std::string log = file(r, ".log").string();
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) throw error(fmt::format("sweep: cannot start a process for {}", r.name));
    if (pid == 0) {
      // Dies with the sweep (killed or not), so that a sweep started again finds no
      // stray run still writing.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(137);
      // Ctrl-C reaches the sweep alone, which passes it on once: a second SIGINT would end
      // a run without its checkpoint.
      ::setpgid(0, 0);
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, STDOUT_FILENO);
        ::dup2(fd, STDERR_FILENO);
      }
      ::setenv("OMP_NUM_THREADS", "1", 1);  // one thread per run: the runs share the cores
      // A run is no rank of the sweep's MPI job: without the launcher's variables it
      // never takes itself for one (ratesim::world()).
      std::vector<std::string> launcher;
      for (char** e = environ; *e; ++e)
        for (const char* prefix : {"OMPI_", "PMIX_", "PMI_"})
          if (std::string_view(*e).starts_with(prefix))
            launcher.emplace_back(std::string_view(*e).substr(0, std::string_view(*e).find('=')));
      for (const auto& name : launcher) ::unsetenv(name.c_str());
      std::vector<char*> argv;
      for (const auto& s : args) argv.push_back(const_cast<char*>(s.c_str()));
      argv.push_back(nullptr);
      ::execv(self_.c_str(), argv.data());
      std::fprintf(stderr, "sweep: cannot execute %s\n", self_.c_str());
      ::_exit(127);
    }
    started_[pid] = {i, std::chrono::steady_clock::now()};
    return pid;
  }

  // Records how the child `pid` ended.
  void finished(pid_t pid, int status) {
    const auto [i, began] = started_.at(pid);
    started_.erase(pid);
    const run& r = runs_[i];
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code == 0) {
      write_text(file(r, ".done"), fmt::format("{:.3f}\n", seconds));
      say(fmt::format("{}: done in {:.1f} s", r.name, seconds));
    } else if (stopping() && (code == 128 + SIGINT || code == 128 + SIGTERM)) {
      say(fmt::format("{}: stopped; its checkpoint is kept", r.name));
    } else {
      const std::string how = code >= 0 ? fmt::format("exit {}", code)
                                        : fmt::format("signal {}", WTERMSIG(status));
      write_text(file(r, ".failed"), how + "\n");
      say(fmt::format("{}: failed ({}; see {})", r.name, how, file(r, ".log").string()));
    }
  }

  // Runs `mine` (indices into runs_), at most `jobs` at a time.
  void run_all(const std::vector<std::size_t>& mine, int jobs) {
    std::size_t next = 0;
    bool forwarded = false;
    while (true) {
      while (!stopping() && next < mine.size() && started_.size() < static_cast<std::size_t>(jobs)) {
        const std::size_t i = mine[next++];
        if (fs::exists(file(runs_[i], ".done"))) {
          say(fmt::format("{}: finished before, skipped", runs_[i].name));
          continue;
        }
        start(i);
      }
      if (started_.empty()) return;
      if (stopping() && !forwarded) {  // the runs write their checkpoints and stop
        for (const auto& entry : started_) ::kill(entry.first, signals_.caught());
        forwarded = true;
      }
      int status = 0;
      const pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid > 0 && started_.count(pid))
        finished(pid, status);
      else
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  // The mean of the last sample of recording `group` in run r's file (--metric), or why
  // there is none.
  std::string last_mean(const run& r, const std::string& group) const {
    try {
      const std::string spec = fmt::format("{}:/{}/data", file(r, ".h5").string(), group);
      const std::size_t n = count_examples(spec);
      if (n == 0) return "(none)";
      return fmt::format("{}", read_images(spec, n - 1, 1).mean());  // the last sample only
    } catch (const error&) {  // not recorded, or not finite
      return "(none)";
    }
  }

  // summary.csv and summary.md from the status files.
  int summarise() const {
    std::string csv, md;
    std::vector<std::string> head;
    for (const axis& a : axes_) head.push_back(a.key);
    for (const char* h : {"status", "detail", "seconds"}) head.push_back(h);
    for (const std::string& m : c_.metrics) head.push_back(m + " (last, mean)");
    for (const char* h : {"output", "log"}) head.push_back(h);
    auto quote = [](const std::string& s) {
      if (s.find_first_of(",\"\n") == std::string::npos) return s;
      std::string q = "\"";
      for (char ch : s) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
      return q + "\"";
    };
    auto add = [&](const std::vector<std::string>& row) {
      std::vector<std::string> q;
      for (const auto& s : row) q.push_back(quote(s));
      csv += fmt::format("{}\n", fmt::join(q, ","));
      md += fmt::format("| {} |\n", fmt::join(row, " | "));
    };
    add(head);
    md += fmt::format("|{}\n", fmt::join(std::vector<std::string>(head.size(), " --- |"), ""));
    int failed = 0, unfinished = 0;
    for (const run& r : runs_) {
      std::vector<std::string> row = r.values;
      std::string status = "unfinished", detail, seconds;
      if (fs::exists(file(r, ".done"))) {
        status = "done";
        seconds = read_text(file(r, ".done"));
      } else if (fs::exists(file(r, ".failed"))) {
        status = "failed";
        detail = read_text(file(r, ".failed"));
        ++failed;
      } else {
        ++unfinished;
        std::error_code ec;
        if (fs::file_size(file(r, ".ckpt.h5"), ec) > 0 && !ec) detail = "checkpoint kept";
      }
      row.insert(row.end(), {status, detail, seconds});
      for (const std::string& m : c_.metrics) row.push_back(status == "done" ? last_mean(r, m) : "");
      row.insert(row.end(), {r.name + ".h5", r.name + ".log"});
      add(row);
    }
    write_text(dir_ / "summary.csv", csv);
    write_text(dir_ / "summary.md", md);
    say(fmt::format("{} runs: {} done, {} failed, {} unfinished; summary in {}", runs_.size(),
                    runs_.size() - failed - unfinished, failed, unfinished,
                    (dir_ / "summary.csv").string()));
    return failed > 0 ? 1 : 0;
  }

  int sweep() {
    communicator& comm = world();
    const int rank = comm.rank(), size = comm.size();
    prefix_ = size > 1 ? fmt::format("sweep (rank {} of {}): ", rank, size) : "sweep: ";
    if (rank == 0) {
      const bool made = fs::create_directories(dir_);
      try {
        check_first_run();
      } catch (...) {
        std::error_code ec;
        if (made) fs::remove(dir_, ec);  // a refused sweep leaves nothing behind
        throw;
      }
      lock_directory();
    }
    comm.barrier();  // the folder exists before any rank starts a run in it
    std::vector<std::size_t> mine;
    for (std::size_t i = static_cast<std::size_t>(rank); i < runs_.size(); i += size)
      mine.push_back(i);
    run_all(mine, size > 1 ? 1 : c_.jobs);
    comm.barrier();
    const int code = rank == 0 ? summarise() : 0;
    return stopping() ? 128 + signals_.caught() : code;
  }

 private:
  bool stopping() const { return signals_.caught() != 0; }
  void say(const std::string& line) const {
    if (!c_.quiet) std::fprintf(stderr, "%s%s\n", prefix_.c_str(), line.c_str());
  }
  // A missing experiment file, a misspelt key or a bad common value is one usage error
  // now, not a failure of every run: the first point of the grid is built (not run).
  void check_first_run() const {
    for (const auto& p : c_.plugins) load_plugin(p);
    // The first run's own arguments: its --unset and --set values after "run CONFIG -q".
    const std::vector<std::string> a = command(runs_.front(), false);
    config_overrides overrides;
    for (std::size_t i = 0; i + 1 < a.size(); ++i) {
      if (a[i] == "--unset") overrides.unset.push_back(a[i + 1]);
      if (a[i] == "--set") overrides.set.push_back(a[i + 1]);
    }
    experiment::load(c_.config, overrides);  // claims its output file, changes nothing
  }
  // One sweep per folder at a time (the lock goes with the process).
  void lock_directory() {
    const fs::path lock = dir_ / ".sweep.lock";
    const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || ::flock(fd, LOCK_EX | LOCK_NB) != 0)
      throw usage_error(fmt::format("sweep: \"{}\" is in use by another sweep", dir_.string()));
  }

  const sweep_command& c_;
  std::string self_;
  std::vector<axis> axes_;
  std::vector<run> runs_;
  fs::path dir_;
  std::string prefix_ = "sweep: ";
  stop_signals signals_;
  std::map<pid_t, std::pair<std::size_t, std::chrono::steady_clock::time_point>> started_;
};

}  // namespace

int run_sweep(const sweep_command& command, const std::string& self) {
  sweeper s(command, self);
  return s.sweep();
}

}  // namespace ratesim::cli
