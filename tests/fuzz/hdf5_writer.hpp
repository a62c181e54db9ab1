#pragma once
// For the HDF5 fuzz targets: writes well-formed HDF5 files whose contents are hostile,
// decided by the fuzzer's bytes: datasets of any rank and type that claim any size (huge
// claims are chunked datasets with nothing written: a few bytes on disk), values of every
// kind, groups where datasets are expected. libhdf5's own parser is not the target (it is
// not hardened against malformed files); what ratesim does with what it reads is.

#include <fuzzer/FuzzedDataProvider.h>
#include <hdf5.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace fuzz {

// One dataset `name` in `loc` (or a group of that name), shaped and typed by `p`.
inline void write_hostile_dataset(hid_t loc, const std::string& name, FuzzedDataProvider& p,
                                  int max_rank = 4) {
  if (p.ConsumeIntegralInRange(0, 15) == 0) {  // a group where a dataset should be
    H5Gclose(H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    return;
  }
  const hid_t types[] = {H5T_NATIVE_UINT8,  H5T_NATIVE_INT8,   H5T_NATIVE_INT16, H5T_NATIVE_INT32,
                         H5T_NATIVE_INT64,  H5T_NATIVE_UINT64, H5T_NATIVE_FLOAT, H5T_NATIVE_DOUBLE,
                         H5T_NATIVE_LDOUBLE};
  const bool text = p.ConsumeIntegralInRange(0, 15) == 0;
  hid_t type = text ? H5Tcopy(H5T_C_S1) : H5Tcopy(types[p.ConsumeIntegralInRange<std::size_t>(0, 8)]);
  if (text) H5Tset_size(type, H5T_VARIABLE);
  const int rank = p.ConsumeIntegralInRange(0, max_rank);
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank)), chunk(dims.size());
  hsize_t count = 1;
  for (int i = 0; i < rank; ++i) {
    const auto k = static_cast<std::size_t>(i);
    dims[k] = p.ConsumeBool() ? p.ConsumeIntegralInRange<hsize_t>(0, 8)
                              : p.ConsumeIntegralInRange<hsize_t>(0, hsize_t{1} << 40);
    chunk[k] = std::max<hsize_t>(1, std::min<hsize_t>(dims[k], 4));
    count = dims[k] != 0 && count > (hsize_t{1} << 50) / dims[k] ? (hsize_t{1} << 50) : count * dims[k];
  }
  const hid_t space = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, dims.data(), nullptr);
  const bool small = count <= 4096 && !text;
  const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  if (!small && rank > 0) H5Pset_chunk(dcpl, rank, chunk.data());
  if (!small && rank > 0 && p.ConsumeBool()) H5Pset_deflate(dcpl, 1);
  const hid_t d = H5Dcreate2(loc, name.c_str(), type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  if (d >= 0 && small && count > 0) {
    std::vector<double> values(count);
    for (double& v : values)
      v = p.ConsumeBool() ? p.ConsumeFloatingPoint<double>()
                          : static_cast<double>(p.ConsumeIntegralInRange(-2, 300));
    H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
  }
  if (d >= 0) H5Dclose(d);
  H5Pclose(dcpl);
  H5Sclose(space);
  H5Tclose(type);
}

}  // namespace fuzz
