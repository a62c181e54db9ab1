#pragma once
// Reading data sets. A data spec is an IDX file (the format of MNIST and Fashion-MNIST,
// plain or gzip-compressed: "train-images-idx3-ubyte.gz"), a dataset in an HDF5 file
// ("digits.h5:/train/images"), a NumPy file ("x.npy"), an array of a NumPy archive
// ("data.npz:images"; "data.npz" if it holds one) or a CSV file ("x.csv", one example a
// line) (docs/fitting.md, "Data"). Images come back one per column (D × N) with
// the values as stored (0–255 for MNIST); labels as integers.

#include <ratesim/types.hpp>

#include <span>
#include <string>
#include <vector>

namespace ratesim {

// Images: 2 dimensions [N, D] or 3 [N, rows, cols], in any of the formats above.
matrix read_images(const std::string& spec);
// Only images [first, first + count), read as read_labeled reads a part.
matrix read_images(const std::string& spec, std::size_t first, std::size_t count);
// Labels: 1 dimension [N] of non-negative integers (a CSV file of one column).
std::vector<int> read_labels(const std::string& spec);

struct labeled_data {
  matrix images;            // D × N
  std::vector<int> labels;  // N
  // A part of a larger set (read by examples, below): the index of its first example in
  // the whole set, and the size of the whole set (-1: these are all).
  Eigen::Index first = 0;
  Eigen::Index total = -1;
};
// Both, checked to have the same number of examples.
labeled_data read_labeled(const std::string& images, const std::string& labels);
// Examples [first, first + count) of both, checked to have the same number of examples;
// only those are read (an IDX file from their offset, a gzip file decompressed up to it,
// an HDF5 dataset by a hyperslab; NumPy and CSV files are read whole, then cut).
labeled_data read_labeled(const std::string& images, const std::string& labels,
                          std::size_t first, std::size_t count);
// The number of examples (the first dimension) of a data spec, from its header.
std::size_t count_examples(const std::string& spec);

// Data already in memory (Python's numpy arrays): `values` of an array of `shape` in
// row-major order, checked as read_images and read_labels check a file's; `name` stands
// for the file in messages.
matrix images_from(const std::string& name, std::span<const std::size_t> shape,
                   const double* values);
std::vector<int> labels_from(const std::string& name, std::span<const std::size_t> shape,
                             const double* values);

// Writes IDX files of unsigned bytes (gzip-compressed when the path ends in ".gz"):
// images as [N, rows, cols] (every value an integer in 0–255), labels as [N].
void write_idx_images(const std::string& path, matrix_view images, int rows, int cols);
void write_idx_labels(const std::string& path, const std::vector<int>& labels);

}  // namespace ratesim
