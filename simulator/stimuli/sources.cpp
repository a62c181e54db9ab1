// The built-in stimulus sources, by name. A source defined elsewhere (a user's program, a
// plug-in) registers itself with stimulus_sources().add(...).

#include "builtin.hpp"

namespace ratesim {

registry<stimulus_factory>& stimulus_sources() {
  static registry<stimulus_factory> entries("stimulus source", {
      {"file", &stimuli::file},
      {"bars", &stimuli::bars},
      {"constant", &stimuli::constant},
  });
  return entries;
}

}  // namespace ratesim
