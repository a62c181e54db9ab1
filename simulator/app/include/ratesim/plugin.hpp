#pragma once
// Plug-ins: shared libraries, built out of tree against the installed ratesim
// (find_package(ratesim)), that add components to the registries at run time. The
// engine's behaviour does not change; the new names become usable in C++, in experiment
// files (`ratesim run --plugin ./libcovariance.so run.toml`) and from Python.
//
// The plug-in ABI: a plug-in exports one C function,
//
//   extern "C" const ratesim::plugin_info* ratesim_plugin();
//
// returning a pointer to a static plugin_info filled in with ratesim::plugin_abi and
// ratesim::version as the plug-in's own build saw them. load_plugin() refuses a plug-in
// whose ABI number or ratesim version differs from the running library's (C++ classes
// have no stable ABI across versions), and reports a registration under an existing name.
// examples/plugin/ is a complete plug-in (the covariance rule).

#include <ratesim/version.hpp>

#include <string>

namespace ratesim {

// Bumped whenever plugin_info or the meaning of its fields changes.
inline constexpr int plugin_abi = 4;

struct plugin_info {
  int abi;                      // plugin_abi when the plug-in was built
  const char* ratesim_version;  // ratesim::version when the plug-in was built
  const char* name;             // for messages
  void (*register_components)();  // adds the plug-in's components to the registries
};

// The symbol load_plugin() looks up.
inline constexpr const char* plugin_entry_point = "ratesim_plugin";

// Loads the plug-in at `path` and lets it register its components; loading the same file
// again (by any path) does nothing. Throws a ratesim::usage_error for a missing file, a
// library that is not a ratesim plug-in, one built for another ABI or version, and a name
// that is registered already (by another file).
void load_plugin(const std::string& path);

}  // namespace ratesim
