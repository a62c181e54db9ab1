#pragma once
// Readers of numeric arrays for the data readers (data.cpp): NumPy's .npy and .npz and
// CSV. Each gives the array's shape and its values converted to double, row-major.
// Bad files are input_errors naming the file and what is wrong.

#include <cstdint>
#include <string>
#include <vector>

namespace ratesim::detail {

struct numeric_array {
  std::vector<std::uint32_t> dims;
  std::vector<double> values;  // row-major, converted to double
};

// "X.npy", "X.npz" (an archive of one array) or "X.npz:NAME" (the array NAME of an
// archive, as np.savez names them; "NAME.npy" is accepted too).
bool is_numpy_spec(const std::string& spec);
// "X.csv": one example per line, values separated by commas.
bool is_csv_spec(const std::string& spec);

// With `shape_only`, the values are left empty (an .npy header alone is read).
numeric_array read_numpy(const std::string& spec, bool shape_only);
numeric_array read_csv(const std::string& spec);

}  // namespace ratesim::detail
