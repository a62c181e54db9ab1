#include "builtin.hpp"

#include <ratesim/data.hpp>
#include <ratesim/error.hpp>

namespace ratesim::stimuli {
namespace {

// Bad data in the file is the file's fault, not the description's: a data_error.
template <class F>
auto from_file(F&& f) {
  try {
    return f();
  } catch (const data_error&) {
    throw;
  } catch (const input_error& e) {
    throw data_error(e.what(), {e.component(), e.parameter(), e.value()});
  }
}

// A pattern set read from a file: a pattern the target rejects is bad data too.
class file_patterns : public pattern_set {
 public:
  using pattern_set::pattern_set;
  void bind(const population& target) override {
    from_file([&] {
      pattern_set::bind(target);
      return 0;
    });
  }
};

}  // namespace

std::unique_ptr<stimulus> file(const stimulus_context&, const parameters& values) {
  const std::string label = "file";
  const std::string images = values.get("images", std::string());
  if (!values.contains("images"))
    throw parameter_error(label + ": images is required (a string)", {label, "images", ""});
  const pattern_set::params p = pattern_parameters(values, label);
  values.require_all_used(label);
  return from_file([&] { return std::make_unique<file_patterns>(read_images(images), p); });
}

}  // namespace ratesim::stimuli
