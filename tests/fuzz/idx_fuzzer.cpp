// libFuzzer target: arbitrary bytes as an IDX file (plain; gzip goes through the same
// parser after zlib), read as images and as labels. A ratesim::error is the right answer
// to a broken file; a crash, a sanitizer report, a hang or unbounded allocation is a bug
// (a header may claim 10^12 values: memory must follow the bytes actually present).

#include "read_data.hpp"

#include <cstdint>
#include <cstdio>
#include <string>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = "/tmp/ratesim-idx-fuzz-" + std::to_string(::getpid()) + ".idx";
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  fuzz::read_as_images_and_labels(path);
  return 0;
}
