// The built-in weight initialisers, by name. One defined elsewhere (a user's program, a
// plug-in) registers itself with weight_initializers().add(...).

#include "builtin.hpp"

#include <fmt/format.h>

namespace ratesim {

registry<weight_initializer>& weight_initializers() {
  static registry<weight_initializer> entries = [] {
    registry<weight_initializer> r("weight initialiser");
    const parameter_doc row_sum{"row_sum", "0", "1",
                                "rescale every row to this sum (0: the rows as drawn)"};
    r.add("uniform", &initializers::uniform,
          {{"low", "", "1", "W_cd uniform in [low, high)"}, {"high", "", "1", "(above)"}, row_sum});
    r.add("constant", &initializers::constant, {{"value", "", "1", "every W_cd"}, row_sum});
    r.add("data_mean", &initializers::data_mean,
          {{"noise", fmt::format("{}", initializers::data_mean_noise), "1",
            "W_cd = m_d + noise mean(m) u_cd, m the mean rates of pre under its patterns, "
            "u uniform in [0, 1); then every row rescaled to row_sum"},
           {"row_sum", "", "1", "every row's sum (required)"}});
    r.add("file", &initializers::file,
          {{"path", "", "",
            "W from a file, one row per postsynaptic unit [n_post, n_pre]: IDX, FILE.h5:/dataset, "
            ".npy, FILE.npz:NAME or .csv"},
           row_sum});
    return r;
  }();
  return entries;
}

}  // namespace ratesim
