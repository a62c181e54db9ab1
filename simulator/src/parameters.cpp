#include <ratesim/error.hpp>
#include <ratesim/parameters.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace ratesim {

double parameters::get(std::string_view key, double fallback) const {
  auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  used_.insert(it->first);
  if (const double* v = std::get_if<double>(&it->second)) return *v;
  const std::string& value = std::get<std::string>(it->second);
  throw parameter_error(fmt::format("parameter {} must be a number, got \"{}\"", key, value),
                        {"", std::string(key), value});
}

std::string parameters::get(std::string_view key, const std::string& fallback) const {
  auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  used_.insert(it->first);
  if (const std::string* v = std::get_if<std::string>(&it->second)) return *v;
  const std::string value = fmt::format("{}", std::get<double>(it->second));
  throw parameter_error(fmt::format("parameter {} must be a string, got {}", key, value),
                        {"", std::string(key), value});
}

std::vector<std::string> parameters::unused() const {
  std::vector<std::string> out;
  for (const auto& [key, v] : values_)
    if (used_.find(key) == used_.end()) out.push_back(key);
  return out;
}

void parameters::require_all_used(std::string_view component) const {
  const auto unknown = unused();
  if (!unknown.empty())
    throw parameter_error(fmt::format("{}: unknown parameter(s) {}", component,
                                      fmt::join(unknown, ", ")));
}

}  // namespace ratesim
