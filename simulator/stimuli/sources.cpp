// The built-in stimulus sources, by name. A source defined elsewhere (a user's program, a
// plug-in) registers itself with stimulus_sources().add(...).

#include "builtin.hpp"

#include <fmt/format.h>

namespace ratesim {

registry<stimulus_factory>& stimulus_sources() {
  static registry<stimulus_factory> entries = [] {
    registry<stimulus_factory> r("stimulus source");
    // What every pattern set takes (pattern_parameters).
    const pattern_set::params p;
    const std::vector<parameter_doc> presenting{
        {"duration", fmt::format("{}", p.duration), "ms",
         "how long each pattern is presented (a whole number of steps dt)"},
        {"order", "\"sequential\"", "", "sequential, or shuffled anew every epoch"},
        {"seed", fmt::format("{}", p.seed), "", "seed of the shuffle"}};
    auto with_presenting = [&](std::vector<parameter_doc> docs) {
      docs.insert(docs.end(), presenting.begin(), presenting.end());
      return docs;
    };
    r.add("file", &stimuli::file,
          with_presenting({{"images", "", "",
                            "the patterns, one per image: an IDX file, FILE.h5:/dataset, .npy, "
                            "FILE.npz:NAME or .csv (docs/fitting.md, \"Data\")"}}));
    using bars = stimuli::bars_defaults;
    r.add("bars", &stimuli::bars,
          with_presenting(
              {{"side", fmt::format("{}", bars::side), "1",
                "the images are side x side; 2 side bars (at most 256)"},
               {"bar", fmt::format("{}", bars::bar), "1", "mean of a pixel on the bar"},
               {"background", fmt::format("{}", bars::background), "1",
                "mean of the other pixels"},
               {"samples", fmt::format("{}", bars::samples), "1",
                "Poisson samples drawn with the experiment's seed (samples x side^2 at most "
                "10^8)"}}));
    r.add("constant", &stimuli::constant,
          {{"value", "", "1", "the external input: one number for every unit, or one per unit"}});
    return r;
  }();
  return entries;
}

}  // namespace ratesim
