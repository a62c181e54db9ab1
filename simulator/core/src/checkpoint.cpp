#include <ratesim/checkpoint.hpp>
#include <ratesim/error.hpp>
#include <ratesim/version.hpp>

#include <fmt/format.h>

#include <cctype>

namespace ratesim {

namespace {

template <class Map>
const typename Map::mapped_type& find(const Map& map, const std::string& key,
                                      std::string_view kind) {
  auto it = map.find(key);
  if (it == map.end())
    throw input_error(fmt::format("checkpoint: no {} entry \"{}\"", kind, key));
  return it->second;
}

}  // namespace

bool checkpoint::valid_key(const std::string& key) {
  if (key.empty() || key.size() > 200) return false;
  for (char ch : key)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.')) return false;
  return true;
}

// ---- The entries ----------------------------------------------------------------------

void checkpoint::check_new_key(const std::string& key) const {
  if (!valid_key(key))
    throw parameter_error(fmt::format(
        "checkpoint: key \"{}\" must be 1 to 200 letters, digits, '_' or '.'", key));
}

void checkpoint::set(const std::string& key, std::vector<double> values) {
  check_new_key(key);
  integers_.erase(key), text_.erase(key);
  numbers_[key] = std::move(values);
}

void checkpoint::set(const std::string& key, std::vector<std::int64_t> values) {
  check_new_key(key);
  numbers_.erase(key), text_.erase(key);
  integers_[key] = std::move(values);
}

void checkpoint::set(const std::string& key, std::string text) {
  check_new_key(key);
  numbers_.erase(key), integers_.erase(key);
  text_[key] = std::move(text);
}

bool checkpoint::has(const std::string& key) const {
  return numbers_.count(key) || integers_.count(key) || text_.count(key);
}

const std::vector<double>& checkpoint::numbers(const std::string& key) const {
  return find(numbers_, key, "number");
}
const std::vector<std::int64_t>& checkpoint::integers(const std::string& key) const {
  return find(integers_, key, "integer");
}
const std::string& checkpoint::text(const std::string& key) const {
  return find(text_, key, "text");
}

double checkpoint::number(const std::string& key) const {
  const auto& v = numbers(key);
  if (v.size() != 1)
    throw input_error(fmt::format("checkpoint: \"{}\" holds {} numbers, expected one", key, v.size()));
  return v[0];
}

std::int64_t checkpoint::integer(const std::string& key) const {
  const auto& v = integers(key);
  if (v.size() != 1)
    throw input_error(fmt::format("checkpoint: \"{}\" holds {} integers, expected one", key, v.size()));
  return v[0];
}

// ---- Compatibility --------------------------------------------------------------------

std::string first_difference(const std::string& saved, const std::string& now) {
  std::size_t line = 1, i = 0;
  while (i < saved.size() && i < now.size() && saved[i] == now[i]) line += saved[i++] == '\n';
  auto line_at = [](const std::string& s, std::size_t pos) {
    const std::size_t start = s.rfind('\n', pos == 0 ? 0 : pos - 1);
    const std::size_t begin = start == std::string::npos || pos == 0 ? 0 : start + 1;
    return s.substr(begin, s.find('\n', begin) - begin);
  };
  return fmt::format("line {}: \"{}\" in the checkpoint, \"{}\" now", line, line_at(saved, i),
                     line_at(now, i));
}

std::vector<std::string> check_resumable(const checkpoint& c, const std::string* config,
                                         bool force) {
  std::vector<std::string> differences;
  const std::string& written_by = c.text("ratesim_version");
  if (written_by != version)
    differences.push_back(fmt::format("it was written by ratesim {}, this is ratesim {}",
                                      written_by, version));
  if (config) {
    if (!c.has("config"))
      differences.push_back("it holds no configuration to compare with");
    else if (c.text("config") != *config)
      differences.push_back(fmt::format("its configuration differs ({})",
                                        first_difference(c.text("config"), *config)));
  }
  if (!differences.empty() && !force) {
    std::string message = "checkpoint: cannot resume from it: ";
    for (std::size_t i = 0; i < differences.size(); ++i)
      message += (i ? "; " : "") + differences[i];
    throw usage_error(message + ". Resume with the same version and configuration, or force it");
  }
  return differences;
}

}  // namespace ratesim
