#include <ratesim/error.hpp>
#include <ratesim/plugin.hpp>

#include <fmt/format.h>

#include <cstring>
#include <dlfcn.h>
#include <mutex>
#include <set>

namespace ratesim {

void load_plugin(const std::string& path) {
  const std::string context = fmt::format("plug-in \"{}\"", path);
  // Library paths without a slash would be searched on the system's path; a plug-in is a
  // file the user names.
  const std::string file = path.find('/') == std::string::npos ? "./" + path : path;
  void* handle = ::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) throw usage_error(fmt::format("{}: cannot load it: {}", context, ::dlerror()));
  // The same file again (dlopen knows it by device and inode, whatever the path) has
  // registered its components already: nothing to do, as when a notebook cell runs twice.
  // Another file that registers a name already taken is still an error.
  static std::mutex mutex;
  static std::set<void*> registered;
  const std::lock_guard lock(mutex);
  if (registered.contains(handle)) {
    ::dlclose(handle);  // only the reference this call took
    return;
  }
  using entry = const plugin_info* (*)();
  auto* find = reinterpret_cast<entry>(::dlsym(handle, plugin_entry_point));
  if (!find)
    throw usage_error(fmt::format("{}: not a ratesim plug-in (it exports no {}())", context,
                                  plugin_entry_point));
  const plugin_info* info = find();
  if (!info || !info->ratesim_version || !info->register_components)
    throw usage_error(fmt::format("{}: {}() returned no usable plugin_info", context,
                                  plugin_entry_point));
  if (info->abi != plugin_abi)
    throw usage_error(fmt::format("{}: built for plug-in ABI {}, this ratesim has ABI {}",
                                  context, info->abi, plugin_abi));
  if (std::strcmp(info->ratesim_version, version) != 0)
    throw usage_error(fmt::format("{}: built against ratesim {}, this is ratesim {}; rebuild it",
                                  context, info->ratesim_version, version));
  try {
    info->register_components();
  } catch (const error& e) {
    throw usage_error(fmt::format("{} ({}): {}", context, info->name ? info->name : "?", e.what()));
  }
  // The library stays loaded: its code now backs registry entries.
  registered.insert(handle);
}

}  // namespace ratesim
