// A plug-in that claims the ABI and version given at compile time.
#include <ratesim/plugin.hpp>

extern "C" const ratesim::plugin_info* ratesim_plugin() {
  static const ratesim::plugin_info info{ABI, VERSION, "bad", [] {}};
  return &info;
}
