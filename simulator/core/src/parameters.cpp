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
  if (const bool* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  return fmt::format("[{}]", fmt::join(std::get<std::vector<double>>(v), ", "));
}

[[noreturn]] void wrong_type(std::string_view key, std::string_view expected,
                             const parameters::value& v) {
  const std::string text = describe(v);
  throw parameter_error(fmt::format("parameter {} must be {}, got {}", key, expected, text),
                        {"", std::string(key), text});
}

}  // namespace

const parameters::value* parameters::find(std::string_view key) const {
  asked_.emplace(key);
  auto it = values_.find(key);
  if (it == values_.end()) return nullptr;
  used_.insert(it->first);
  return &it->second;
}

template <class T>
T parameters::get_as(std::string_view key, T fallback, std::string_view expected) const {
  const value* v = find(key);
  if (!v) return fallback;
  if (const T* t = std::get_if<T>(v)) return *t;
  wrong_type(key, expected, *v);
}

double parameters::get(std::string_view key, double fallback) const {
  return get_as<double>(key, fallback, "a number");
}

std::string parameters::get(std::string_view key, const std::string& fallback) const {
  return get_as<std::string>(key, fallback, "a string");
}

bool parameters::get_flag(std::string_view key, bool fallback) const {
  return get_as<bool>(key, fallback, "true or false");
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
  const value* v = find(key);
  if (!v) return {};
  if (const double* d = std::get_if<double>(v)) return {*d};
  if (const auto* a = std::get_if<std::vector<double>>(v)) return *a;
  wrong_type(key, "a number or an array of numbers", *v);
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
