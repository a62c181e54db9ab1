// The built-in record kinds, by name. One defined elsewhere (a user's program, a plug-in)
// registers itself with record_kinds().add(...).

#include "records/builtin.hpp"

namespace ratesim {

registry<record_factory>& record_kinds() {
  static registry<record_factory> entries("record kind", {
      {"variable", &records::variable},
      {"weights", &records::weights},
      {"weight_sums", &records::weight_sums},
      {"spikes", &records::spikes},
  });
  return entries;
}

}  // namespace ratesim
