// libFuzzer target: the checkpoint loader and restore. Each input takes a valid checkpoint
// of a small circuit (quasi-static with a mini-batch, or ODE with dopri5) and, as its
// bytes decide, drops entries, replaces them by hostile datasets (hdf5_writer.hpp), changes
// their values, lengths and texts, or adds others; the file is then read, restored into
// the simulation and run for a few steps. A ratesim::error is the right answer; a crash, a
// sanitizer report, a hang or unbounded allocation is a bug.

#include "../circuit.hpp"
#include "hdf5_writer.hpp"

#include <ratesim/checkpoint_file.hpp>
#include <ratesim/error.hpp>
#include <ratesim/random.hpp>
#include <ratesim/regimes/ode.hpp>
#include <ratesim/regimes/quasi_static.hpp>

#include <limits>
#include <memory>
#include <string>
#include <unistd.h>

namespace {

struct subject {
  ratesim::network net;
  std::unique_ptr<ratesim::simulation> sim;
  ratesim::checkpoint valid;

  explicit subject(bool ode) {
    ratesim::random_stream rng(1, 0);
    ratesim::testing::build_circuit(net, {.D = 4, .C = 3, .A = 12.0}, rng);
    net.stimulate("input", std::make_unique<ratesim::pattern_set>(
                               ratesim::testing::random_patterns(4, 5, rng),
                               ratesim::pattern_set::params{
                                   .duration = 1.0, .ordering = ratesim::pattern_set::order::shuffled}));
    if (ode)
      sim = std::make_unique<ratesim::ode_simulation>(net, ratesim::ode_options{.stepper = "dopri5", .dt = 0.5});
    else
      sim = std::make_unique<ratesim::quasi_static_simulation>(net, ratesim::quasi_static_options{.batch_size = 2});
    sim->pause_at(5);
    sim->run_steps(8);
    sim->pause_at(std::numeric_limits<ratesim::step_count>::max());
    valid = sim->save();
    valid.set("ratesim_version", std::string("0.1.0"));
  }
};

std::string pick_text(FuzzedDataProvider& p, const std::string& valid) {
  switch (p.ConsumeIntegralInRange(0, 3)) {
    case 0: return p.ConsumeRandomLengthString(64);
    case 1: return valid.substr(0, p.ConsumeIntegralInRange<std::size_t>(0, valid.size()));
    default: return valid;
  }
}

template <class T>
void write_vector(hid_t g, const std::string& name, hid_t type, std::vector<T> v,
                  FuzzedDataProvider& p) {
  switch (p.ConsumeIntegralInRange(0, 7)) {
    case 0: v.resize(p.ConsumeIntegralInRange<std::size_t>(0, 2 * v.size() + 1)); break;
    case 1:
      if (!v.empty())
        v[p.ConsumeIntegralInRange<std::size_t>(0, v.size() - 1)] =
            std::is_floating_point_v<T> ? static_cast<T>(p.ConsumeFloatingPoint<double>())
                                        : static_cast<T>(p.ConsumeIntegral<std::int64_t>());
      break;
    default: break;
  }
  const hsize_t n = v.size();
  const hid_t space = H5Screate_simple(1, &n, nullptr);
  const hid_t d = H5Dcreate2(g, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (d >= 0 && n > 0) H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
  if (d >= 0) H5Dclose(d);
  H5Sclose(space);
}

void write_text(hid_t g, const std::string& name, const std::string& text) {
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  const hid_t space = H5Screate(H5S_SCALAR);
  const hid_t d = H5Dcreate2(g, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  const char* s = text.c_str();
  if (d >= 0) H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, &s), H5Dclose(d);
  H5Sclose(space);
  H5Tclose(type);
}

// The valid checkpoint, changed as the bytes say.
void write_mutated(const std::string& path, const ratesim::checkpoint& c, FuzzedDataProvider& p) {
  const hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (f < 0) return;
  {
    const hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    const hid_t space = H5Screate(H5S_SCALAR);
    const hid_t a = H5Acreate2(f, "format", type, space, H5P_DEFAULT, H5P_DEFAULT);
    const std::string format = pick_text(p, "ratesim-checkpoint");
    const char* s = format.c_str();
    H5Awrite(a, type, &s);
    H5Aclose(a), H5Sclose(space), H5Tclose(type);
  }
  auto group = [&](const char* name) {
    return p.ConsumeIntegralInRange(0, 31) == 0 ? -1 : H5Gcreate2(f, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  };
  const hid_t numbers = group("numbers"), integers = group("integers"), text = group("text");
  auto entry = [&](hid_t g, const std::string& name, auto write) {
    if (g < 0) return;
    switch (p.ConsumeIntegralInRange(0, 11)) {
      case 0: return;                                         // dropped
      case 1: fuzz::write_hostile_dataset(g, name, p, 2); return;  // any type and size
      default: write(); return;
    }
  };
  for (const auto& e : c.all_numbers())  // (clang 14 cannot capture structured bindings)
    entry(numbers, e.first, [&] { write_vector(numbers, e.first, H5T_NATIVE_DOUBLE, e.second, p); });
  for (const auto& e : c.all_integers())
    entry(integers, e.first, [&] { write_vector(integers, e.first, H5T_NATIVE_INT64, e.second, p); });
  for (const auto& e : c.all_text())
    entry(text, e.first, [&] { write_text(text, e.first, pick_text(p, e.second)); });
  if (numbers >= 0 && p.ConsumeBool())
    fuzz::write_hostile_dataset(numbers, p.ConsumeRandomLengthString(8) + "x", p, 2);
  for (hid_t g : {numbers, integers, text})
    if (g >= 0) H5Gclose(g);
  H5Fclose(f);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = "/tmp/ratesim-checkpoint-fuzz-" + std::to_string(::getpid()) + ".h5";
  static subject qs(false), ode(true);
  FuzzedDataProvider p(data, size);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  subject& s = p.ConsumeBool() ? ode : qs;
  write_mutated(path, s.valid, p);
  try {
    const ratesim::checkpoint c = ratesim::read_checkpoint(path);
    ratesim::check_resumable(c, nullptr, true);
    s.sim->restore(c);
    s.sim->run_steps(2);
  } catch (const ratesim::error&) {
  }
  return 0;
}
