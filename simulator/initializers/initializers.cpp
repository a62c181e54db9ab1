// The built-in weight initialisers, by name. One defined elsewhere (a user's program, a
// plug-in) registers itself with weight_initializers().add(...).

#include "builtin.hpp"

namespace ratesim {

registry<weight_initializer>& weight_initializers() {
  static registry<weight_initializer> entries("weight initialiser", {
      {"uniform", &initializers::uniform},
      {"constant", &initializers::constant},
      {"data_mean", &initializers::data_mean},
      {"file", &initializers::file},
  });
  return entries;
}

}  // namespace ratesim
