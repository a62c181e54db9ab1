#pragma once
// For the data reader fuzz targets: reads a spec as images and as labels. A ratesim::error
// is the right answer to a broken file; anything else escapes to libFuzzer.

#include <ratesim/data.hpp>
#include <ratesim/error.hpp>

#include <string>

namespace fuzz {

inline void read_as_images_and_labels(const std::string& spec) {
  try {
    (void)ratesim::read_images(spec);
  } catch (const ratesim::error&) {
  }
  try {
    (void)ratesim::read_labels(spec);
  } catch (const ratesim::error&) {
  }
}

}  // namespace fuzz
