// libFuzzer target: arbitrary text as an experiment file. Any ratesim::error is a correct
// answer to bad input; a crash, a sanitizer report, a hang or any other exception is a bug.
// Inputs asking for absurd sizes (a number above 10^4 anywhere) are skipped: a config that
// legitimately requests gigabytes is not a crash.

#include <ratesim/error.hpp>
#include <ratesim/experiment.hpp>

#include <toml++/toml.h>

#include <cmath>
#include <cstdint>
#include <string_view>

namespace {

bool has_huge_number(const toml::node& node) {
  if (auto v = node.value<double>()) return !(std::abs(*v) <= 1e4);
  if (const auto* t = node.as_table())
    for (const auto& [k, n] : *t)
      if (has_huge_number(n)) return true;
  if (const auto* a = node.as_array())
    for (const auto& n : *a)
      if (has_huge_number(n)) return true;
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    if (has_huge_number(toml::parse(text))) return 0;
  } catch (const toml::parse_error&) {
    // experiment::parse must report it as a config_error: go on
  }
  try {
    auto e = ratesim::experiment::parse(text, "fuzz.toml");
    (void)e;
  } catch (const ratesim::error&) {
  }
  return 0;
}
