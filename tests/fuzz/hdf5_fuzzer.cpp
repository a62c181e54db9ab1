// libFuzzer target: the HDF5 data reader (read_images, read_labels on FILE.h5:/DATASET)
// on files whose datasets are hostile (hdf5_writer.hpp): any rank, type and claimed size.
// A ratesim::error is the right answer; a crash, a sanitizer report, a hang or an
// allocation that follows a claim rather than the bytes present is a bug.

#include "hdf5_writer.hpp"
#include "read_data.hpp"

#include <string>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = "/tmp/ratesim-hdf5-fuzz-" + std::to_string(::getpid()) + ".h5";
  FuzzedDataProvider p(data, size);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  const hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (f < 0) return 0;
  fuzz::write_hostile_dataset(f, "data", p);
  H5Fclose(f);
  const std::string spec = path + (p.ConsumeBool() ? ":/data" : ":/missing");
  fuzz::read_as_images_and_labels(spec);
  return 0;
}
