#pragma once
// A thin layer over the HDF5 C API for ratesim's recorders: owned handles, checked calls,
// extendible datasets and attributes. Private to the library.

#include <ratesim/error.hpp>

#include <hdf5.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ratesim::detail::hdf5 {

// The version of the layout documented in docs/hdf5-layout.md.
inline constexpr std::uint64_t format_version = 1;

// An owned HDF5 identifier, closed with H5Idec_ref.
class handle {
 public:
  handle() = default;
  explicit handle(hid_t id) : id_(id) {}
  handle(handle&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)) {}
  handle& operator=(handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = std::exchange(other.id_, H5I_INVALID_HID);
    }
    return *this;
  }
  handle(const handle&) = delete;
  handle& operator=(const handle&) = delete;
  ~handle() { reset(); }

  hid_t get() const { return id_; }
  explicit operator bool() const { return id_ >= 0; }
  void reset();

 private:
  hid_t id_ = H5I_INVALID_HID;
};

// Throws ratesim::error "`context`: `what` failed" when `status` < 0.
void check(herr_t status, std::string_view context, std::string_view what);
handle checked(hid_t id, std::string_view context, std::string_view what);

// Silences HDF5's own error printing while alive; ratesim reports errors itself.
class quiet_errors {
 public:
  quiet_errors();
  ~quiet_errors();

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

// Makes the file `path` (replacing what is there, e.g. an output_file's empty temporary),
// whole: its content is built by `fill` in memory (HDF5's core driver) and written with
// plain POSIX calls, so that a full disk or a file-size limit is an ordinary error, never
// a half-made file inside HDF5 (which cannot close one cleanly and crashes at exit). The
// default (oldest) format: in 1.10, images of the latest format carry a wrong superblock
// checksum.
void write_new_file(const std::string& path, const std::function<void(hid_t root)>& fill,
                    std::string_view context);
// Creates `path` (replacing what is there) with the latest format, as SWMR writing
// requires. Refuses, before HDF5 writes anything, when the file system has less than
// 1 MiB free or the process's file-size limit is below 1 MiB: HDF5 cannot recover from a
// failed create (see write_new_file). Later failed writes go through abandon().
handle create_file(const std::string& path, std::string_view context);
// Opens read-write with the latest format.
handle open_file(const std::string& path, std::string_view context);
// Opens read-only as an SWMR reader: works while a writer runs and after it crashed.
handle open_file_for_reading(const std::string& path, std::string_view context);

// After a write to `file` failed (a full disk, a file-size limit, an I/O error): points the
// file's descriptor at /dev/null (before SWMR mode, an anonymous file in memory), so that nothing HDF5 does from now on (closing datasets
// and the file flushes their caches) reaches the disk or can fail halfway, which would
// leave HDF5 to crash when it closes what is left at exit. The file on disk stays as the
// last successful flush left it, like the file of a killed process. Returns the system's
// message for the failed write (errno as it was).
std::string abandon(hid_t file);

bool exists(hid_t loc, const std::string& path);
// Creates every missing group along `path` ("a/b/c").
void create_groups(hid_t loc, const std::string& path, std::string_view context);

// A dataset of doubles whose first dimension grows: shape [0, row_shape...], chunked
// [chunk_rows, row_shape...], with shuffle + gzip at `level` (0: uncompressed).
handle create_extendible(hid_t loc, const std::string& path, const std::vector<hsize_t>& row_shape,
                         hsize_t chunk_rows, int level, std::string_view context);
// A virtual dataset of shape [n, view_shape...] that shows `columns` columns of the 2-D
// extendible dataset `source`, starting at column `first`, and grows with it. Its values
// have the file type `type` (HDF5 converts the source's doubles when they are read: whole
// numbers below 2^53 become exact integers).
handle create_column_view(hid_t loc, const std::string& path, const std::string& source,
                          hsize_t source_columns, hsize_t first,
                          const std::vector<hsize_t>& view_shape, std::string_view context,
                          hid_t type = H5T_IEEE_F64LE);
handle open_dataset(hid_t loc, const std::string& path, std::string_view context);
// The current shape.
std::vector<hsize_t> shape(hid_t dataset, std::string_view context);
// A fixed-size dataset of `file_type` with shape `dims` (none: a scalar), from row-major
// `data` of `memory_type`.
handle write_dataset(hid_t loc, const std::string& path, const std::vector<hsize_t>& dims,
                     hid_t file_type, hid_t memory_type, const void* data,
                     std::string_view context);
// A fixed-size dataset of doubles with shape `dims`, from row-major `data`.
handle write_array(hid_t loc, const std::string& path, const std::vector<hsize_t>& dims,
                   const double* data, std::string_view context);
// A scalar dataset holding one variable-length UTF-8 string.
handle write_text(hid_t loc, const std::string& path, const std::string& text,
                  std::string_view context);
// The variable-length UTF-8 string type: h5py reads it as str, h5dump prints it.
handle text_type(std::string_view context);
// Every value of a dataset of doubles, row-major.
std::vector<double> read_all(hid_t dataset, std::string_view context);
// Appends `rows` rows (row-major, each the dataset's row size) to an extendible dataset.
void append(hid_t dataset, const double* data, hsize_t rows, std::string_view context);

void write_attribute(hid_t loc, const std::string& name, const std::string& value,
                     std::string_view context);
void write_attribute(hid_t loc, const std::string& name, double value, std::string_view context);
void write_attribute(hid_t loc, const std::string& name, std::uint64_t value,
                     std::string_view context);
void write_attribute(hid_t loc, const std::string& name, const std::vector<std::int64_t>& values,
                     std::string_view context);
// An attribute of an enumerated type whose members are `names` with the int8 values 0, 1,
// ... (h5dump shows the name, h5py the number), set to member `value`.
void write_enum_attribute(hid_t loc, const std::string& name, const std::vector<std::string>& names,
                          int value, std::string_view context);
// The attributes SONATA asks of every HDF5 file it describes at / (SONATA developer guide,
// "Common conventions"): magic (uint32 0x0A7A) and version (uint32 [2], the
// specification's 0.1).
void write_sonata_attributes(hid_t root, std::string_view context);
// The attributes every ratesim file carries at /: format "ratesim", format_version,
// ratesim_version, created (ISO 8601, UTC), seed and config.
void write_root_attributes(hid_t root, std::uint64_t seed, const std::string& config,
                           std::string_view context);
std::string read_string_attribute(hid_t loc, const std::string& name, std::string_view context);

}  // namespace ratesim::detail::hdf5
