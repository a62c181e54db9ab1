// The built-in record kinds, by name. One defined elsewhere (a user's program, a plug-in)
// registers itself with record_kinds().add(...).

#include "records/builtin.hpp"

namespace ratesim {

registry<record_factory>& record_kinds() {
  static registry<record_factory> entries = [] {
    registry<record_factory> r("record kind");
    const parameter_doc population{"population", "", "", "the population, by name"},
        projection{"projection", "", "", "the projection, by name"};
    r.add("variable", &records::variable,
          {population,
           {"variable", "\"rate\"", "",
            "rate, input, a state variable (u, h, y, ...) or an intrinsic rule's (bias, ...)"},
           {"units", "all", "", "the unit indices to record, e.g. [0, 5, 7]"}});
    r.add("weights", &records::weights, {projection});
    r.add("weight_sums", &records::weight_sums, {projection});
    r.add("spikes", &records::spikes, {{"population", "", "", "a spiking population, by name"}});
    return r;
  }();
  return entries;
}

}  // namespace ratesim
