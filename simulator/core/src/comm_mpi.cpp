// MPI behind ratesim::communicator (built when CMake finds MPI: RATESIM_MPI).
#include <ratesim/comm.hpp>
#include <ratesim/error.hpp>

#include <fmt/format.h>
#include <mpi.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>

namespace ratesim {
namespace {

int checked_count(std::size_t n) {
  if (n > static_cast<std::size_t>(INT_MAX))
    throw error(fmt::format("communicator: {} values in one message, more than MPI's {}", n,
                            INT_MAX));
  return static_cast<int>(n);
}

class mpi_communicator final : public communicator {
 public:
  explicit mpi_communicator(MPI_Comm comm) : comm_(comm) {
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
    int flag = 0;
    int* ub = nullptr;
    MPI_Comm_get_attr(comm_, MPI_TAG_UB, &ub, &flag);
    tag_ub_ = flag && ub ? *ub : 32767;
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void send(int to, int tag, std::span<const double> values) override {
    check_tag(tag);
    buffers_.push_back(std::make_unique<std::vector<double>>(values.begin(), values.end()));
    requests_.emplace_back();
    MPI_Isend(buffers_.back()->data(), checked_count(values.size()), MPI_DOUBLE, to, tag, comm_,
              &requests_.back());
  }
  void receive(int from, int tag, std::span<double> values) override {
    check_tag(tag);
    MPI_Recv(values.data(), checked_count(values.size()), MPI_DOUBLE, from, tag, comm_,
             MPI_STATUS_IGNORE);
  }
  void complete_sends() override {
    MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE);
    requests_.clear();
    buffers_.clear();
  }
  void broadcast(std::span<double> values, int root) override {
    MPI_Bcast(values.data(), checked_count(values.size()), MPI_DOUBLE, root, comm_);
  }
  std::int64_t max(std::int64_t value) override { return reduce(value, MPI_MAX); }
  std::int64_t sum(std::int64_t value) override { return reduce(value, MPI_SUM); }
  // Waits without spinning a core (a sweep's idle ranks wait here while others' runs work).
  void barrier() override {
    MPI_Request request;
    MPI_Ibarrier(comm_, &request);
    for (int done = 0; MPI_Test(&request, &done, MPI_STATUS_IGNORE), !done;)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  [[noreturn]] void abort(int code) override {
    std::fflush(nullptr);
    MPI_Abort(comm_, code);
    std::_Exit(code);
  }

 private:
  std::int64_t reduce(std::int64_t value, MPI_Op op) {
    std::int64_t out = 0;
    MPI_Allreduce(&value, &out, 1, MPI_INT64_T, op, comm_);
    return out;
  }
  void check_tag(int tag) const {
    if (tag < 0 || tag > tag_ub_)
      throw error(fmt::format("communicator: tag {} is beyond MPI's limit {} (too many groups)",
                              tag, tag_ub_));
  }

  MPI_Comm comm_;
  int rank_ = 0, size_ = 1, tag_ub_ = 32767;
  std::vector<std::unique_ptr<std::vector<double>>> buffers_;  // until their sends complete
  std::vector<MPI_Request> requests_;
};

// An MPI error (a peer gone, a message cut short) stops every rank, naming this one.
void on_mpi_error(MPI_Comm* comm, int* code, ...) {
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  MPI_Error_string(*code, text, &length);
  int rank = -1, size = 0;
  MPI_Comm_rank(*comm, &rank);
  MPI_Comm_size(*comm, &size);
  std::fprintf(stderr, "ratesim: rank %d of %d: MPI error: %s\n", rank, size, text);
  std::fflush(nullptr);
  MPI_Abort(*comm, 1);
}

void finalize() {
  int done = 0;
  MPI_Finalized(&done);
  if (!done) MPI_Finalize();
}

// mpirun (Open MPI), srun (PMIx or PMI-2) and MPICH's launchers set one of these.
bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
    if (std::getenv(name)) return true;
  return false;
}

}  // namespace

communicator& world() {
  static mpi_communicator* const job = []() -> mpi_communicator* {
    if (!launched_by_mpi()) return nullptr;
    int provided = 0;  // OpenMP's threads never call MPI
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    MPI_Errhandler handler;
    MPI_Comm_create_errhandler(on_mpi_error, &handler);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, handler);
    std::atexit(finalize);
    return new mpi_communicator(MPI_COMM_WORLD);  // lives until exit, as MPI does
  }();
  if (job) return *job;
  return serial();
}

bool built_with_mpi() { return true; }

}  // namespace ratesim
