#include <ratesim/error.hpp>
#include <ratesim/parameters.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>

namespace ratesim {
namespace {

// The value as a message shows it.
std::string describe(const parameters::value& v) {
  if (const double* d = std::get_if<double>(&v)) return fmt::format("{}", *d);
  if (const std::string* s = std::get_if<std::string>(&v)) return fmt::format("\"{}\"", *s);
  return fmt::format("[{}]", fmt::join(std::get<std::vector<double>>(v), ", "));
}

[[noreturn]] void wrong_type(std::string_view key, std::string_view expected,
                             const parameters::value& v) {
  const std::string text = describe(v);
  throw parameter_error(fmt::format("parameter {} must be {}, got {}", key, expected, text),
                        {"", std::string(key), text});
}

}  // namespace

double parameters::get(std::string_view key, double fallback) const {
  asked_.emplace(key);
  auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  used_.insert(it->first);
  if (const double* v = std::get_if<double>(&it->second)) return *v;
  wrong_type(key, "a number", it->second);
}

std::string parameters::get(std::string_view key, const std::string& fallback) const {
  asked_.emplace(key);
  auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  used_.insert(it->first);
  if (const std::string* v = std::get_if<std::string>(&it->second)) return *v;
  wrong_type(key, "a string", it->second);
}

double parameters::get_required(std::string_view key, std::string_view component) const {
  if (!contains(key)) {
    asked_.emplace(key);
    throw parameter_error(fmt::format("{}: {} is required (a number)", component, key),
                          {std::string(component), std::string(key), ""});
  }
  return get(key, 0.0);
}

double parameters::get_whole(std::string_view key, double fallback, double low, double high,
                             std::string_view component) const {
  const double v = get(key, fallback);
  if (!(v >= low && v <= high && v == std::floor(v)))
    throw_parameter_error(component, key,
                          fmt::format("a whole number >= {} and at most {}", low, high), v);
  return v;
}

std::vector<double> parameters::get_numbers(std::string_view key) const {
  asked_.emplace(key);
  auto it = values_.find(key);
  if (it == values_.end()) return {};
  used_.insert(it->first);
  if (const double* v = std::get_if<double>(&it->second)) return {*v};
  if (const auto* v = std::get_if<std::vector<double>>(&it->second)) return *v;
  wrong_type(key, "a number or an array of numbers", it->second);
}

std::vector<std::string> parameters::unused() const {
  std::vector<std::string> out;
  for (const auto& [key, v] : values_)
    if (used_.find(key) == used_.end()) out.push_back(key);
  return out;
}

void parameters::require_all_used(std::string_view component) const {
  const auto unknown = unused();
  if (unknown.empty()) return;
  if (asked_.empty())
    throw parameter_error(fmt::format("{}: unknown parameter(s) {}; it takes none", component,
                                      fmt::join(unknown, ", ")));
  throw parameter_error(fmt::format("{}: unknown parameter(s) {}; known: {}", component,
                                    fmt::join(unknown, ", "), fmt::join(asked_, ", ")));
}

}  // namespace ratesim
