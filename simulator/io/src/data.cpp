#include <ratesim/data.hpp>
#include <ratesim/error.hpp>

#include "detail/hdf5.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>

namespace ratesim {
namespace {

// ---- IDX ------------------------------------------------------------------------------

struct gz_closer {
  void operator()(gzFile f) const { gzclose(f); }
};
using gz_file = std::unique_ptr<std::remove_pointer_t<gzFile>, gz_closer>;

struct idx_array {
  std::vector<std::uint32_t> dims;
  std::vector<double> values;  // row-major, converted to double
};

std::size_t element_size(int type) {
  switch (type) {
    case 0x08: case 0x09: return 1;
    case 0x0B: return 2;
    case 0x0C: case 0x0D: return 4;
    case 0x0E: return 8;
    default: return 0;
  }
}

std::uint64_t big_endian(const unsigned char* p, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

double decode(const unsigned char* p, int type) {
  const std::uint64_t raw = big_endian(p, element_size(type));
  switch (type) {
    case 0x08: return static_cast<double>(p[0]);
    case 0x09: return static_cast<double>(static_cast<std::int8_t>(p[0]));
    case 0x0B: return static_cast<double>(static_cast<std::int16_t>(raw));
    case 0x0C: return static_cast<double>(static_cast<std::int32_t>(raw));
    case 0x0D: {
      const auto bits = static_cast<std::uint32_t>(raw);
      float f;
      std::memcpy(&f, &bits, 4);
      return f;
    }
    default: {
      double d;
      std::memcpy(&d, &raw, 8);
      return d;
    }
  }
}

// Reads a whole IDX file. Memory grows with what is actually in the file, never with
// what the header claims, so a hostile header cannot make it allocate without bound.
idx_array read_idx(const std::string& path) {
  gz_file f(gzopen(path.c_str(), "rb"));
  if (!f) throw input_error(fmt::format("{}: cannot open the file", path));
  std::array<unsigned char, 4> magic{};
  if (gzread(f.get(), magic.data(), 4) != 4)
    throw input_error(fmt::format("{}: too short for an IDX header", path));
  const int type = magic[2], rank = magic[3];
  if (magic[0] != 0 || magic[1] != 0 || element_size(type) == 0 || rank < 1 || rank > 4)
    throw input_error(fmt::format(
        "{}: not an IDX file (magic number {:02x} {:02x} {:02x} {:02x}; expected 00 00, a type "
        "code 08/09/0b/0c/0d/0e and 1 to 4 dimensions)",
        path, magic[0], magic[1], magic[2], magic[3]));
  idx_array out;
  std::uint64_t count = 1;
  for (int i = 0; i < rank; ++i) {
    std::array<unsigned char, 4> bytes{};
    if (gzread(f.get(), bytes.data(), 4) != 4)
      throw input_error(fmt::format("{}: the IDX header is truncated", path));
    out.dims.push_back(static_cast<std::uint32_t>(big_endian(bytes.data(), 4)));
    if (__builtin_mul_overflow(count, std::uint64_t{out.dims.back()}, &count))
      throw input_error(fmt::format("{}: the IDX header claims more values than can exist", path));
  }
  std::uint64_t expected = 0;
  if (__builtin_mul_overflow(count, std::uint64_t{element_size(type)}, &expected))
    throw input_error(fmt::format("{}: the IDX header claims more values than can exist", path));
  std::vector<unsigned char> bytes;
  std::array<unsigned char, 1 << 16> block{};
  while (true) {
    const int n = gzread(f.get(), block.data(), block.size());
    if (n < 0) throw input_error(fmt::format("{}: the compressed data is corrupt", path));
    if (n == 0) break;
    if (bytes.size() + static_cast<std::size_t>(n) > expected)
      throw input_error(fmt::format("{}: more data than the header's {} values", path, count));
    bytes.insert(bytes.end(), block.begin(), block.begin() + n);
  }
  if (bytes.size() != expected)
    throw input_error(fmt::format(
        "{}: truncated: the header promises {} values ({} bytes), the file holds {} bytes", path,
        count, expected, bytes.size()));
  out.values.resize(count);
  for (std::uint64_t i = 0; i < count; ++i)
    out.values[i] = decode(bytes.data() + i * element_size(type), type);
  return out;
}

// ---- HDF5 -----------------------------------------------------------------------------

bool is_hdf5_spec(const std::string& spec, std::string& file, std::string& dataset) {
  const auto pos = spec.rfind(":/");
  if (pos == std::string::npos) return false;
  file = spec.substr(0, pos);
  dataset = spec.substr(pos + 1);
  return true;
}

// The most raw bytes a dataset may expand to per byte it stores: gzip's limit is about
// 1032:1. Beyond that (or beyond unwritten chunks of fill values), a header claims data
// that is not in the file.
constexpr hsize_t max_expansion = 1100;
constexpr hsize_t unstored_allowance = hsize_t{64} << 20;  // bytes

idx_array read_hdf5_dataset(const std::string& spec, const std::string& path,
                            const std::string& name) {
  namespace h5 = detail::hdf5;
  h5::quiet_errors quiet;
  if (H5Fis_hdf5(path.c_str()) <= 0)
    throw input_error(fmt::format("{}: not a readable HDF5 file", spec));
  h5::handle f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!f) throw input_error(fmt::format("{}: HDF5 cannot open the file (damaged?)", spec));
  if (name.size() < 2 || !h5::exists(f.get(), name.substr(1)))
    throw input_error(fmt::format("{}: no dataset \"{}\" in the file", spec, name));
  H5O_info_t info;
  if (H5Oget_info_by_name2(f.get(), name.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0 ||
      info.type != H5O_TYPE_DATASET)
    throw input_error(fmt::format("{}: \"{}\" is not a dataset", spec, name));
  h5::handle d = h5::open_dataset(f.get(), name, spec);
  h5::handle type = h5::checked(H5Dget_type(d.get()), spec, "H5Dget_type");
  const H5T_class_t kind = H5Tget_class(type.get());
  if (kind != H5T_INTEGER && kind != H5T_FLOAT)
    throw input_error(fmt::format("{}: holds no numbers (HDF5 type class {})", spec,
                                  static_cast<int>(kind)));
  const auto shape = h5::shape(d.get(), spec);
  if (shape.empty() || shape.size() > 4)
    throw input_error(fmt::format("{}: {} dimensions, expected 1 to 4", spec, shape.size()));
  idx_array out;
  hsize_t count = 1;
  for (hsize_t n : shape) {
    if (n > std::numeric_limits<std::uint32_t>::max() || __builtin_mul_overflow(count, n, &count))
      throw input_error(fmt::format("{}: claims a dimension of {}, more than can be read", spec, n));
    out.dims.push_back(static_cast<std::uint32_t>(n));
  }
  const hsize_t element = std::max<std::size_t>(H5Tget_size(type.get()), 1);
  std::error_code ec;
  const hsize_t stored = std::min<hsize_t>(H5Dget_storage_size(d.get()),
                                           std::filesystem::file_size(path, ec));
  hsize_t raw = 0;
  if (__builtin_mul_overflow(count, element, &raw) ||
      raw > max_expansion * stored + unstored_allowance)
    throw input_error(fmt::format(
        "{}: claims {} values ({} bytes) but the file stores {} bytes of them", spec, count, raw,
        stored));
  try {
    out.values = h5::read_all(d.get(), spec);
  } catch (const std::bad_alloc&) {
    throw input_error(fmt::format("{}: {} values do not fit in memory", spec, count));
  } catch (const error& e) {
    throw input_error(fmt::format("{} (damaged data)", e.what()));
  }
  return out;
}

idx_array read_any(const std::string& spec) {
  std::string file, dataset;
  return is_hdf5_spec(spec, file, dataset) ? read_hdf5_dataset(spec, file, dataset)
                                           : read_idx(spec);
}

// ---- Writing --------------------------------------------------------------------------

void write_idx(const std::string& path, const std::vector<std::uint32_t>& dims,
               const std::vector<unsigned char>& values) {
  const bool compress = path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
  gz_file f(gzopen(path.c_str(), compress ? "wb6" : "wbT"));
  if (!f) throw error(fmt::format("{}: cannot create the file", path));
  std::vector<unsigned char> header{0, 0, 0x08, static_cast<unsigned char>(dims.size())};
  for (std::uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) header.push_back((d >> shift) & 0xff);
  if (gzwrite(f.get(), header.data(), static_cast<unsigned>(header.size())) !=
          static_cast<int>(header.size()) ||
      (!values.empty() && gzwrite(f.get(), values.data(), static_cast<unsigned>(values.size())) !=
                              static_cast<int>(values.size())))
    throw error(fmt::format("{}: writing failed", path));
}

}  // namespace

matrix read_images(const std::string& spec) {
  const idx_array a = read_any(spec);
  if (a.dims.size() == 1)
    throw input_error(fmt::format(
        "{}: 1 dimension [{}]: a labels file, expected images [N, D] or [N, rows, cols]", spec,
        a.dims[0]));
  if (a.dims.size() > 3)
    throw input_error(fmt::format("{}: {} dimensions, expected images [N, D] or [N, rows, cols]",
                                  spec, a.dims.size()));
  const auto N = static_cast<Eigen::Index>(a.dims[0]);
  Eigen::Index D = 1;
  for (std::size_t i = 1; i < a.dims.size(); ++i)
    if (__builtin_mul_overflow(D, static_cast<Eigen::Index>(a.dims[i]), &D))
      throw input_error(fmt::format("{}: images of more pixels than can exist", spec));
  if (N == 0 || D == 0) throw input_error(fmt::format("{}: no images", spec));
  // Row-major [N, D] in the file is column-major D × N here: one image per column.
  matrix images = Eigen::Map<const matrix>(a.values.data(), D, N);
  if (!images.allFinite()) throw input_error(fmt::format("{}: values must be finite", spec));
  return images;
}

std::vector<int> read_labels(const std::string& spec) {
  const idx_array a = read_any(spec);
  if (a.dims.size() != 1)
    throw input_error(fmt::format("{}: {} dimensions: an images file, expected labels [N]", spec,
                                  a.dims.size()));
  std::vector<int> labels(a.values.size());
  for (std::size_t n = 0; n < labels.size(); ++n) {
    const double v = a.values[n];
    if (!(v >= 0.0 && v <= 1e6 && v == std::floor(v)))
      throw input_error(fmt::format("{}: label {} is {}; labels must be integers >= 0", spec, n, v));
    labels[n] = static_cast<int>(v);
  }
  return labels;
}

labeled_data read_labeled(const std::string& images, const std::string& labels) {
  labeled_data out{read_images(images), read_labels(labels)};
  if (static_cast<Eigen::Index>(out.labels.size()) != out.images.cols())
    throw input_error(fmt::format("{} holds {} images but {} holds {} labels", images,
                                  out.images.cols(), labels, out.labels.size()));
  return out;
}

void write_idx_images(const std::string& path, matrix_view images, int rows, int cols) {
  if (rows < 1 || cols < 1 || static_cast<Eigen::Index>(rows) * cols != images.rows())
    throw parameter_error(fmt::format("write_idx_images: {} x {} pixels do not make D = {}", rows,
                                      cols, images.rows()));
  std::vector<unsigned char> bytes(static_cast<std::size_t>(images.size()));
  for (Eigen::Index i = 0; i < images.size(); ++i) {
    const double v = images.data()[i];
    if (!(v >= 0.0 && v <= 255.0 && v == std::floor(v)))
      throw input_error(fmt::format("write_idx_images: value {} is not an integer in 0-255", v));
    bytes[static_cast<std::size_t>(i)] = static_cast<unsigned char>(v);
  }
  write_idx(path, {static_cast<std::uint32_t>(images.cols()), static_cast<std::uint32_t>(rows),
                   static_cast<std::uint32_t>(cols)},
            bytes);
}

void write_idx_labels(const std::string& path, const std::vector<int>& labels) {
  std::vector<unsigned char> bytes(labels.size());
  for (std::size_t n = 0; n < labels.size(); ++n) {
    if (labels[n] < 0 || labels[n] > 255)
      throw input_error(fmt::format("write_idx_labels: label {} is not in 0-255", labels[n]));
    bytes[n] = static_cast<unsigned char>(labels[n]);
  }
  write_idx(path, {static_cast<std::uint32_t>(labels.size())}, bytes);
}

}  // namespace ratesim
