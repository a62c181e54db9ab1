#include <ratesim/data.hpp>
#include <ratesim/error.hpp>

#include "detail/arrays.hpp"
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
#include <optional>

namespace ratesim {
namespace {

// ---- IDX ------------------------------------------------------------------------------

struct gz_closer {
  void operator()(gzFile f) const { gzclose(f); }
};
using gz_file = std::unique_ptr<std::remove_pointer_t<gzFile>, gz_closer>;

using idx_array = detail::numeric_array;

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

// Examples [first, first + count) of a data set: its first dimension.
struct rows {
  std::uint64_t first = 0, count = 0;
};

std::string describe_rows(const rows& r) {
  return fmt::format("examples {} to {}", r.first, r.first + r.count - 1);
}

struct idx_header {
  gz_file file;
  int type = 0;
  std::vector<std::uint32_t> dims;
  std::uint64_t count = 1;  // values
};

idx_header read_idx_header(const std::string& path) {
  idx_header h;
  h.file.reset(gzopen(path.c_str(), "rb"));
  if (!h.file) throw input_error(fmt::format("{}: cannot open the file", path));
  std::array<unsigned char, 4> magic{};
  if (gzread(h.file.get(), magic.data(), 4) != 4)
    throw input_error(fmt::format("{}: too short for an IDX header", path));
  h.type = magic[2];
  const int rank = magic[3];
  if (magic[0] != 0 || magic[1] != 0 || element_size(h.type) == 0 || rank < 1 || rank > 4)
    throw input_error(fmt::format(
        "{}: not an IDX file (magic number {:02x} {:02x} {:02x} {:02x}; expected 00 00, a type "
        "code 08/09/0b/0c/0d/0e and 1 to 4 dimensions)",
        path, magic[0], magic[1], magic[2], magic[3]));
  for (int i = 0; i < rank; ++i) {
    std::array<unsigned char, 4> bytes{};
    if (gzread(h.file.get(), bytes.data(), 4) != 4)
      throw input_error(fmt::format("{}: the IDX header is truncated", path));
    h.dims.push_back(static_cast<std::uint32_t>(big_endian(bytes.data(), 4)));
    if (__builtin_mul_overflow(h.count, std::uint64_t{h.dims.back()}, &h.count))
      throw input_error(fmt::format("{}: the IDX header claims more values than can exist", path));
  }
  std::uint64_t bytes = 0;
  if (__builtin_mul_overflow(h.count, std::uint64_t{element_size(h.type)}, &bytes))
    throw input_error(fmt::format("{}: the IDX header claims more values than can exist", path));
  return h;
}

// Reads an IDX file, or with `part` only those examples (a gzip file is decompressed up to
// them). Memory grows with what is actually in the file, never with what the header
// claims, so a hostile header cannot make it allocate without bound.
idx_array read_idx(const std::string& path, const std::optional<rows>& part = {}) {
  idx_header h = read_idx_header(path);
  const std::uint64_t per_example = h.dims[0] == 0 ? 0 : h.count / h.dims[0];
  const std::size_t size = element_size(h.type);
  std::uint64_t count = h.count, skip = 0;
  if (part) {
    if (part->first + part->count > h.dims[0])
      throw input_error(fmt::format("{}: {} asked for, the file holds {}", path,
                                    describe_rows(*part), h.dims[0]));
    count = part->count * per_example;
    skip = part->first * per_example * size;
  }
  const std::uint64_t expected = count * size;
  const std::string what = part ? describe_rows(*part) : std::string("the header");
  if (skip > 0 && gzseek(h.file.get(), static_cast<z_off_t>(skip), SEEK_CUR) < 0)
    throw input_error(fmt::format("{}: truncated or corrupt before {}", path, what));
  std::vector<unsigned char> bytes;
  std::array<unsigned char, 1 << 16> block{};
  while (bytes.size() < expected || !part) {
    const auto want = part ? std::min<std::uint64_t>(block.size(), expected - bytes.size())
                           : block.size();
    const int n = gzread(h.file.get(), block.data(), static_cast<unsigned>(want));
    if (n < 0) throw input_error(fmt::format("{}: the compressed data is corrupt", path));
    if (n == 0) break;
    if (bytes.size() + static_cast<std::size_t>(n) > expected)
      throw input_error(fmt::format("{}: more data than the header's {} values", path, count));
    bytes.insert(bytes.end(), block.begin(), block.begin() + n);
  }
  if (bytes.size() != expected) {
    if (part)
      throw input_error(fmt::format("{}: truncated: {} take {} bytes, the file holds {} of them",
                                    path, what, expected, bytes.size()));
    throw input_error(fmt::format(
        "{}: truncated: the header promises {} values ({} bytes), the file holds {} bytes", path,
        count, expected, bytes.size()));
  }
  idx_array out;
  out.dims = h.dims;
  if (part) out.dims[0] = static_cast<std::uint32_t>(part->count);
  out.values.resize(count);
  for (std::uint64_t i = 0; i < count; ++i) out.values[i] = decode(bytes.data() + i * size, h.type);
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

// The dataset, or with `part` only those examples (a hyperslab), or with `shape_only`
// only its shape.
idx_array read_hdf5_dataset(const std::string& spec, const std::string& path,
                            const std::string& name, const std::optional<rows>& part,
                            bool shape_only) {
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
  if (shape_only) return out;
  if (part && part->first + part->count > shape[0])
    throw input_error(
        fmt::format("{}: {} asked for, the dataset holds {}", spec, describe_rows(*part), shape[0]));
  try {
    if (!part) {
      out.values = h5::read_all(d.get(), spec);
    } else {
      out.dims[0] = static_cast<std::uint32_t>(part->count);
      out.values.resize(count / std::max<hsize_t>(shape[0], 1) * part->count);
      std::vector<hsize_t> start(shape.size(), 0), extent = shape;
      start[0] = part->first;
      extent[0] = part->count;
      h5::handle file_space = h5::checked(H5Dget_space(d.get()), spec, "H5Dget_space");
      h5::check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr,
                                    extent.data(), nullptr),
                spec, "H5Sselect_hyperslab");
      h5::handle memory = h5::checked(
          H5Screate_simple(static_cast<int>(extent.size()), extent.data(), nullptr), spec,
          "H5Screate_simple");
      if (!out.values.empty())
        h5::check(H5Dread(d.get(), H5T_NATIVE_DOUBLE, memory.get(), file_space.get(),
                          H5P_DEFAULT, out.values.data()),
                  spec, "H5Dread");
    }
  } catch (const std::bad_alloc&) {
    throw input_error(fmt::format("{}: {} values do not fit in memory", spec, count));
  } catch (const error& e) {
    throw input_error(fmt::format("{} (damaged data)", e.what()));
  }
  return out;
}

// ---- NumPy and CSV ----------------------------------------------------------------------

// Read whole (they are read from memory or text), then cut to `part`.
idx_array take_rows(const std::string& spec, idx_array a, const std::optional<rows>& part) {
  if (!part) return a;
  if (part->first + part->count > a.dims[0])
    throw input_error(fmt::format("{}: {} asked for, the file holds {}", spec,
                                  describe_rows(*part), a.dims[0]));
  const std::size_t per_example = a.dims[0] == 0 ? 0 : a.values.size() / a.dims[0];
  a.values = std::vector<double>(
      a.values.begin() + static_cast<std::ptrdiff_t>(part->first * per_example),
      a.values.begin() + static_cast<std::ptrdiff_t>((part->first + part->count) * per_example));
  a.dims[0] = static_cast<std::uint32_t>(part->count);
  return a;
}

idx_array read_any(const std::string& spec, const std::optional<rows>& part = {}) {
  if (detail::is_numpy_spec(spec)) return take_rows(spec, detail::read_numpy(spec, false), part);
  if (detail::is_csv_spec(spec)) return take_rows(spec, detail::read_csv(spec), part);
  std::string file, dataset;
  return is_hdf5_spec(spec, file, dataset) ? read_hdf5_dataset(spec, file, dataset, part, false)
                                           : read_idx(spec, part);
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

matrix images_of(const std::string& spec, std::span<const std::size_t> dims, const double* values) {
  if (dims.size() == 1)
    throw input_error(fmt::format(
        "{}: 1 dimension [{}]: a labels file, expected images [N, D] or [N, rows, cols]", spec,
        dims[0]));
  if (dims.empty() || dims.size() > 3)
    throw input_error(fmt::format("{}: {} dimensions, expected images [N, D] or [N, rows, cols]",
                                  spec, dims.size()));
  const auto N = static_cast<Eigen::Index>(dims[0]);
  Eigen::Index D = 1;
  for (std::size_t i = 1; i < dims.size(); ++i)
    if (__builtin_mul_overflow(D, static_cast<Eigen::Index>(dims[i]), &D))
      throw input_error(fmt::format("{}: images of more pixels than can exist", spec));
  if (N == 0 || D == 0) throw input_error(fmt::format("{}: no images", spec));
  // Row-major [N, D] in the file is column-major D × N here: one image per column.
  matrix images = Eigen::Map<const matrix>(values, D, N);
  if (!images.allFinite()) throw input_error(fmt::format("{}: values must be finite", spec));
  return images;
}

matrix images_of(const std::string& spec, const idx_array& a) {
  const std::vector<std::size_t> dims(a.dims.begin(), a.dims.end());
  return images_of(spec, dims, a.values.data());
}

std::vector<int> labels_of(const std::string& spec, std::span<const std::size_t> dims,
                           const double* values, std::uint64_t first) {
  if (dims.size() != 1)
    throw input_error(fmt::format("{}: {} dimensions: an images file, expected labels [N]", spec,
                                  dims.size()));
  std::vector<int> labels(dims[0]);
  for (std::size_t n = 0; n < labels.size(); ++n) {
    const double v = values[n];
    if (!(v >= 0.0 && v <= 1e6 && v == std::floor(v)))
      throw input_error(
          fmt::format("{}: label {} is {}; labels must be integers >= 0", spec, first + n, v));
    labels[n] = static_cast<int>(v);
  }
  return labels;
}

std::vector<int> labels_of(const std::string& spec, const idx_array& a, std::uint64_t first) {
  const std::vector<std::size_t> dims(a.dims.begin(), a.dims.end());
  return labels_of(spec, dims, a.values.data(), first);
}

idx_array shape_of(const std::string& spec) {
  if (detail::is_numpy_spec(spec)) return detail::read_numpy(spec, true);
  if (detail::is_csv_spec(spec)) return detail::read_csv(spec);
  std::string file, dataset;
  return is_hdf5_spec(spec, file, dataset) ? read_hdf5_dataset(spec, file, dataset, {}, true)
                                           : idx_array{read_idx_header(spec).dims, {}};
}

}  // namespace

matrix read_images(const std::string& spec) { return images_of(spec, read_any(spec)); }

matrix read_images(const std::string& spec, std::size_t first, std::size_t count) {
  return images_of(spec, read_any(spec, rows{first, count}));
}

std::vector<int> read_labels(const std::string& spec) {
  return labels_of(spec, read_any(spec), 0);
}

std::size_t count_examples(const std::string& spec) { return shape_of(spec).dims[0]; }

matrix images_from(const std::string& name, std::span<const std::size_t> shape,
                   const double* values) {
  return images_of(name, shape, values);
}

std::vector<int> labels_from(const std::string& name, std::span<const std::size_t> shape,
                             const double* values) {
  return labels_of(name, shape, values, 0);
}

labeled_data read_labeled(const std::string& images, const std::string& labels,
                          std::size_t first, std::size_t count) {
  const std::size_t n_images = count_examples(images), n_labels = count_examples(labels);
  if (n_images != n_labels)
    throw input_error(fmt::format("{} holds {} images but {} holds {} labels", images, n_images,
                                  labels, n_labels));
  const rows part{first, count};
  labeled_data out;
  if (count == 0) {  // a rank beyond the data's groups: no examples, but their size
    const idx_array shape = shape_of(images);
    Eigen::Index D = 1;
    for (std::size_t i = 1; i < shape.dims.size(); ++i) D *= shape.dims[i];
    out.images.resize(D, 0);
  } else {
    out.images = images_of(images, read_any(images, part));
    out.labels = labels_of(labels, read_any(labels, part), first);
  }
  out.first = static_cast<Eigen::Index>(first);
  out.total = static_cast<Eigen::Index>(n_images);
  return out;
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
