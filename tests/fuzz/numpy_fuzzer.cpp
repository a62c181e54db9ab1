// libFuzzer target: arbitrary bytes as an .npy file, as an .npz archive (its array "x" and
// its only array) and as a CSV file, read as images and as labels. A ratesim::error is the
// right answer to a broken file; a crash, a sanitizer report, a hang or unbounded
// allocation is a bug (an .npy header or a zip directory may claim anything: memory must
// follow the bytes actually present).

#include "read_data.hpp"

#include <cstdint>
#include <cstdio>
#include <string>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string stem = "/tmp/ratesim-numpy-fuzz-" + std::to_string(::getpid());
  for (const char* extension : {".npy", ".npz", ".csv"}) {
    const std::string path = stem + extension;
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return 0;
    std::fwrite(data, 1, size, f);
    std::fclose(f);
    fuzz::read_as_images_and_labels(path);
    if (std::string(extension) == ".npz") fuzz::read_as_images_and_labels(path + ":x");
  }
  return 0;
}
