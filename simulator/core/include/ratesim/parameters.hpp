#pragma once
// Named parameters for components created by name (from a registry, a config file or
// Python): numbers, strings, arrays of numbers and flags (true/false). Each component takes the values it knows; any key left
// over is a misspelling and an error, never silently ignored.

#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace ratesim {

class parameters {
 public:
  using value = std::variant<double, std::string, std::vector<double>, bool>;

  parameters() = default;
  parameters(std::initializer_list<std::pair<const std::string, value>> values)
      : values_(values) {}

  void set(std::string key, value v) { values_[std::move(key)] = std::move(v); }
  bool contains(std::string_view key) const { return values_.find(key) != values_.end(); }

  // The number under `key`, or `fallback` when it is absent; marks the key as used. A
  // string where a number belongs is a parameter_error.
  double get(std::string_view key, double fallback) const;
  // The same for strings.
  std::string get(std::string_view key, const std::string& fallback) const;
  std::string get(std::string_view key, const char* fallback) const {
    return get(key, std::string(fallback));
  }

  // The flag (true or false) under `key`, or `fallback` when it is absent.
  bool get_flag(std::string_view key, bool fallback) const;

  // The number under `key`; absent is a parameter_error naming `component` and the key.
  double get_required(std::string_view key, std::string_view component) const;
  // A whole number in [low, high] under `key` (or `fallback`), else a parameter_error
  // naming `component` (parameters hold numbers as double: at most 2^53 is exact).
  double get_whole(std::string_view key, double fallback, double low, double high,
                   std::string_view component) const;
  // A number or an array of numbers under `key`, as an array (empty when absent).
  std::vector<double> get_numbers(std::string_view key) const;

  // Keys no `get` has asked for.
  std::vector<std::string> unused() const;
  // Throws a parameter_error naming `component` for any key no `get` has asked for, and
  // listing the keys that were asked for.
  void require_all_used(std::string_view component) const;

 private:
  // The value under `key` (marked as asked for and used), or nullptr.
  const value* find(std::string_view key) const;
  template <class T>
  T get_as(std::string_view key, T fallback, std::string_view expected) const;

  std::map<std::string, value, std::less<>> values_;
  mutable std::set<std::string, std::less<>> used_;
  mutable std::set<std::string, std::less<>> asked_;  // every key a get asked for
};

}  // namespace ratesim
