#pragma once
// What a named parameter of a component means, registered with the component's factory
// (registry::add) so that Python's ratesim.describe lists it beside the code that reads it.

#include <string>

namespace ratesim {

struct parameter_doc {
  std::string name;
  std::string default_value;  // as a config file would write it; empty: required
  std::string units;          // "ms", "1" (dimensionless), "" for strings
  std::string meaning;
};

}  // namespace ratesim
