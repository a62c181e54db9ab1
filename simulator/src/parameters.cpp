#include <ratesim/error.hpp>
#include <ratesim/parameters.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <vector>

namespace ratesim {

double parameters::get(std::string_view key, double fallback) const {
  auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  used_.insert(it->first);
  return it->second;
}

void parameters::require_all_used(std::string_view component) const {
  std::vector<std::string> unknown;
  for (const auto& [key, value] : values_)
    if (used_.find(key) == used_.end()) unknown.push_back(key);
  if (!unknown.empty())
    throw parameter_error(fmt::format("{}: unknown parameter(s) {}", component,
                                      fmt::join(unknown, ", ")));
}

}  // namespace ratesim
