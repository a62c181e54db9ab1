#pragma once
// Named numeric parameters for components created by name (from a registry, a config file
// or Python). Each component takes the values it knows; any key left over is a misspelling
// and an error, never silently ignored.

#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>

namespace ratesim {

class parameters {
 public:
  parameters() = default;
  parameters(std::initializer_list<std::pair<const std::string, double>> values)
      : values_(values) {}

  void set(std::string key, double value) { values_[std::move(key)] = value; }
  bool contains(std::string_view key) const { return values_.find(key) != values_.end(); }

  // The value of `key`, or `fallback` when it is absent; marks the key as used.
  double get(std::string_view key, double fallback) const;

  // Throws a parameter_error naming `component` for any key no `get` has asked for.
  void require_all_used(std::string_view component) const;

 private:
  std::map<std::string, double, std::less<>> values_;
  mutable std::set<std::string, std::less<>> used_;
};

}  // namespace ratesim
