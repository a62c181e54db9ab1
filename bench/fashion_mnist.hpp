#pragma once
// Shared by the benchmarks: the Fashion-MNIST training images (path from the first
// command-line argument that is not a --benchmark flag), read once.

#include <ratesim/data.hpp>

#include <benchmark/benchmark.h>

#include <cstring>
#include <string>

namespace bench {

inline std::string& images_path() {
  static std::string path = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
  return path;
}

inline const ratesim::matrix& fashion_mnist() {
  static const ratesim::matrix X = ratesim::read_images(images_path());
  return X;
}

// main() of a benchmark that takes the images' path as an optional first argument.
inline int run(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (argc > 1 && std::strncmp(argv[1], "--", 2) != 0) images_path() = argv[1];
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace bench
