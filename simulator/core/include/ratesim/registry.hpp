#pragma once
// A table from names to factories. Plasticity rules, synaptic currents, transfer functions
// and steppers are each chosen by name at run time through one of these, so a user adds a
// new kind with one `add` call and never edits the engine.

#include <ratesim/error.hpp>
#include <ratesim/parameter_doc.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ratesim {

template <class Factory>
class registry {
 public:
  // `kind` names the table in messages, e.g. "plasticity rule".
  explicit registry(std::string kind) : kind_(std::move(kind)) {}
  // The same with the built-in entries, e.g. {{"file", &file}, {"bars", &bars}}.
  registry(std::string kind, std::initializer_list<std::pair<std::string, Factory>> builtins)
      : kind_(std::move(kind)) {
    for (const auto& [name, factory] : builtins) add(name, factory);
  }

  // Registers `factory` under `name`, with what its parameters mean; a name can be
  // registered once.
  void add(std::string name, Factory factory, std::vector<parameter_doc> docs = {}) {
    if (name.empty()) throw usage_error(fmt::format("{} registry: name must not be empty", kind_));
    auto [it, inserted] = entries_.emplace(std::move(name), std::move(factory));
    if (!inserted)
      throw usage_error(fmt::format("{} \"{}\" is already registered", kind_, it->first));
    docs_.emplace(it->first, std::move(docs));
  }

  // The parameters registered with `name`'s factory (empty when none were).
  const std::vector<parameter_doc>& docs(std::string_view name) const {
    get(name);  // an unknown name is a lookup_error listing the known ones
    return docs_.find(name)->second;
  }

  bool contains(std::string_view name) const { return entries_.find(name) != entries_.end(); }

  const Factory& get(std::string_view name) const {
    auto it = entries_.find(name);
    if (it == entries_.end())
      throw lookup_error(fmt::format("unknown {} \"{}\"; known: {}", kind_, name,
                                     fmt::join(names(), ", ")));
    return it->second;
  }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& entry : entries_) out.push_back(entry.first);
    return out;
  }

 private:
  std::string kind_;
  std::map<std::string, Factory, std::less<>> entries_;
  std::map<std::string, std::vector<parameter_doc>, std::less<>> docs_;
};

}  // namespace ratesim
