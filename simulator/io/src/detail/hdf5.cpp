#include "detail/hdf5.hpp"

#include <ratesim/version.hpp>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <filesystem>
#include <ctime>

namespace ratesim::detail::hdf5 {

void handle::reset() {
  if (id_ >= 0) H5Idec_ref(id_);
  id_ = H5I_INVALID_HID;
}

void check(herr_t status, std::string_view context, std::string_view what) {
  if (status < 0) throw error(fmt::format("{}: {} failed", context, what));
}

handle checked(hid_t id, std::string_view context, std::string_view what) {
  if (id < 0) throw error(fmt::format("{}: {} failed", context, what));
  return handle(id);
}

quiet_errors::quiet_errors() {
  H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

quiet_errors::~quiet_errors() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }

namespace {
handle latest_format_access(std::string_view context) {
  handle fapl = checked(H5Pcreate(H5P_FILE_ACCESS), context, "H5Pcreate");
  check(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_LATEST, H5F_LIBVER_LATEST), context,
        "setting the file format version");
  return fapl;
}
}  // namespace

void write_new_file(const std::string& path, const std::function<void(hid_t root)>& fill,
                    std::string_view context) {
  std::vector<unsigned char> image;
  {
    handle fapl = checked(H5Pcreate(H5P_FILE_ACCESS), context, "H5Pcreate");
    check(H5Pset_fapl_core(fapl.get(), std::size_t{1} << 20, false), context,
          "choosing HDF5's in-memory driver");
    handle file = checked(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()),
                          context, fmt::format("creating \"{}\" in memory", path));
    fill(file.get());
    check(H5Fflush(file.get(), H5F_SCOPE_GLOBAL), context, "H5Fflush");
    const ssize_t size = H5Fget_file_image(file.get(), nullptr, 0);
    if (size < 0) throw error(fmt::format("{}: H5Fget_file_image failed", context));
    image.resize(static_cast<std::size_t>(size));
    if (H5Fget_file_image(file.get(), image.data(), image.size()) != size)
      throw error(fmt::format("{}: H5Fget_file_image failed", context));
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0)
    throw error(fmt::format("{}: cannot write \"{}\": {}", context, path, std::strerror(errno)));
  std::size_t done = 0;
  while (done < image.size()) {
    const ssize_t n = ::write(fd, image.data() + done, image.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : ENOSPC;
      ::close(fd);
      throw error(fmt::format("{}: writing \"{}\" failed: {}", context, path, std::strerror(err)));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0)
    throw error(fmt::format("{}: writing \"{}\" failed: {}", context, path, std::strerror(errno)));
}

handle create_file(const std::string& path, std::string_view context) {
  constexpr std::uint64_t room = std::uint64_t{1} << 20;
  std::error_code ec;
  const auto folder = std::filesystem::absolute(path, ec).parent_path();
  struct statvfs fs {};
  if (::statvfs(folder.c_str(), &fs) == 0 &&
      static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize < room)
    throw error(fmt::format("{}: cannot create \"{}\": less than 1 MiB is free in \"{}\"",
                            context, path, folder.string()));
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_FSIZE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY &&
      limit.rlim_cur < room)
    throw error(fmt::format("{}: cannot create \"{}\": the file-size limit (ulimit -f) is "
                            "below 1 MiB",
                            context, path));
  handle fapl = latest_format_access(context);
  return checked(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), context,
                 fmt::format("creating the file \"{}\"", path));
}

handle open_file(const std::string& path, std::string_view context) {
  handle fapl = latest_format_access(context);
  hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl.get());
  if (id < 0) {
    // A writer that was killed leaves the file marked as open for writing; HDF5's file
    // lock (taken by H5Fopen) already keeps out a writer that is still running, so the
    // mark can be cleared, as `h5clear -s` does (with the same file-access property).
    // Its end-of-allocation mark may also lag behind what was written: move it to the
    // end of the file (h5clear --increment=0).
    hbool_t clear = true;
    if (H5Pset(fapl.get(), "clear_status_flags", &clear) >= 0)
      id = H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl.get());
    if (id >= 0 && H5Fincrement_filesize(id, 0) < 0) {
      H5Fclose(id);
      id = H5I_INVALID_HID;
    }
  }
  return checked(id, context,
                 fmt::format("opening \"{}\" for appending (is another process writing it?)",
                             path));
}

handle write_dataset(hid_t loc, const std::string& path, const std::vector<hsize_t>& dims,
                     hid_t file_type, hid_t memory_type, const void* data,
                     std::string_view context) {
  handle space =
      dims.empty()
          ? checked(H5Screate(H5S_SCALAR), context, "H5Screate")
          : checked(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
                    context, "H5Screate_simple");
  handle dataset = checked(H5Dcreate2(loc, path.c_str(), file_type, space.get(), H5P_DEFAULT,
                                      H5P_DEFAULT, H5P_DEFAULT),
                           context, fmt::format("creating the dataset \"{}\"", path));
  if (H5Sget_simple_extent_npoints(space.get()) > 0)  // nothing to write (or read from) else
    check(H5Dwrite(dataset.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), context,
          fmt::format("writing \"{}\"", path));
  return dataset;
}

handle write_array(hid_t loc, const std::string& path, const std::vector<hsize_t>& dims,
                   const double* data, std::string_view context) {
  return write_dataset(loc, path, dims, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, data, context);
}

handle text_type(std::string_view context) {
  handle type = checked(H5Tcopy(H5T_C_S1), context, "H5Tcopy");
  check(H5Tset_size(type.get(), H5T_VARIABLE), context, "H5Tset_size");
  check(H5Tset_cset(type.get(), H5T_CSET_UTF8), context, "H5Tset_cset");
  return type;
}

handle write_text(hid_t loc, const std::string& path, const std::string& text,
                  std::string_view context) {
  handle type = text_type(context);
  const char* p = text.c_str();
  return write_dataset(loc, path, {}, type.get(), type.get(), &p, context);
}

handle open_file_for_reading(const std::string& path, std::string_view context) {
  handle fapl = latest_format_access(context);
  return checked(H5Fopen(path.c_str(), H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, fapl.get()), context,
                 fmt::format("opening \"{}\" for reading", path));
}

std::vector<double> read_all(hid_t dataset, std::string_view context) {
  std::size_t n = 1;
  for (hsize_t d : shape(dataset, context)) n *= d;
  std::vector<double> values(n);
  if (n > 0)
    check(H5Dread(dataset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
          context, "H5Dread");
  return values;
}

std::string abandon(hid_t file) {
  const int err = errno;
  const std::string reason = err != 0 ? std::strerror(err) : "an I/O error";
  void* vfd = nullptr;
  if (H5Fget_vfd_handle(file, H5P_DEFAULT, &vfd) >= 0 && vfd != nullptr) {
    // /dev/null takes writes at any offset, whatever the file-size limit. A file not yet
    // in SWMR mode is truncated when closed, which /dev/null refuses (HDF5 then crashes
    // when it ends, closing the file again): it gets an anonymous file in memory, which
    // takes the truncation (its writes are metadata, made before any large one).
    unsigned intent = 0;
    const bool swmr = H5Fget_intent(file, &intent) >= 0 && (intent & H5F_ACC_SWMR_WRITE) != 0;
    int null = swmr ? -1 : ::memfd_create("ratesim-abandoned", MFD_CLOEXEC);
    if (null < 0) null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
      ::dup2(null, *static_cast<int*>(vfd));
      ::close(null);
    }
  }
  return reason;
}

bool exists(hid_t loc, const std::string& path) {
  std::size_t pos = 0;
  while (true) {  // H5Lexists needs every parent to exist
    pos = path.find('/', pos + 1);
    const std::string prefix = path.substr(0, pos);
    if (H5Lexists(loc, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (pos == std::string::npos) return true;
  }
}

void create_groups(hid_t loc, const std::string& path, std::string_view context) {
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    const std::string prefix = path.substr(0, pos);
    if (H5Lexists(loc, prefix.c_str(), H5P_DEFAULT) > 0) continue;
    checked(H5Gcreate2(loc, prefix.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), context,
            fmt::format("creating the group \"{}\"", prefix));
  }
}

handle create_extendible(hid_t loc, const std::string& path, const std::vector<hsize_t>& row_shape,
                         hsize_t chunk_rows, int level, std::string_view context) {
  std::vector<hsize_t> dims{0}, max_dims{H5S_UNLIMITED}, chunk{chunk_rows};
  for (hsize_t n : row_shape) {
    dims.push_back(n);
    max_dims.push_back(n);
    chunk.push_back(n);
  }
  const int rank = static_cast<int>(dims.size());
  handle space = checked(H5Screate_simple(rank, dims.data(), max_dims.data()), context,
                         "H5Screate_simple");
  handle dcpl = checked(H5Pcreate(H5P_DATASET_CREATE), context, "H5Pcreate");
  check(H5Pset_chunk(dcpl.get(), rank, chunk.data()), context, "H5Pset_chunk");
  if (level > 0) {
    check(H5Pset_shuffle(dcpl.get()), context, "H5Pset_shuffle");
    check(H5Pset_deflate(dcpl.get(), static_cast<unsigned>(level)), context, "H5Pset_deflate");
  }
  return checked(H5Dcreate2(loc, path.c_str(), H5T_IEEE_F64LE, space.get(), H5P_DEFAULT,
                            dcpl.get(), H5P_DEFAULT),
                 context, fmt::format("creating the dataset \"{}\"", path));
}

handle create_column_view(hid_t loc, const std::string& path, const std::string& source,
                          hsize_t source_columns, hsize_t first,
                          const std::vector<hsize_t>& view_shape, std::string_view context,
                          hid_t type) {
  hsize_t columns = 1;
  std::vector<hsize_t> dims{0}, max_dims{H5S_UNLIMITED}, start{0}, count{H5S_UNLIMITED},
      block{1};
  for (hsize_t n : view_shape) {
    columns *= n;
    dims.push_back(n);
    max_dims.push_back(n);
    start.push_back(0);
    count.push_back(1);
    block.push_back(n);
  }
  const int rank = static_cast<int>(dims.size());
  handle view_space = checked(H5Screate_simple(rank, dims.data(), max_dims.data()), context,
                              "H5Screate_simple");
  check(H5Sselect_hyperslab(view_space.get(), H5S_SELECT_SET, start.data(), nullptr,
                            count.data(), block.data()),
        context, "selecting the view");
  const hsize_t source_dims[2] = {0, source_columns}, source_max[2] = {H5S_UNLIMITED,
                                                                       source_columns};
  handle source_space =
      checked(H5Screate_simple(2, source_dims, source_max), context, "H5Screate_simple");
  const hsize_t source_start[2] = {0, first}, source_count[2] = {H5S_UNLIMITED, 1},
                source_block[2] = {1, columns};
  check(H5Sselect_hyperslab(source_space.get(), H5S_SELECT_SET, source_start, nullptr,
                            source_count, source_block),
        context, "selecting the source columns");
  handle dcpl = checked(H5Pcreate(H5P_DATASET_CREATE), context, "H5Pcreate");
  check(H5Pset_virtual(dcpl.get(), view_space.get(), ".", source.c_str(), source_space.get()),
        context, "H5Pset_virtual");
  return checked(H5Dcreate2(loc, path.c_str(), type, view_space.get(), H5P_DEFAULT,
                            dcpl.get(), H5P_DEFAULT),
                 context, fmt::format("creating the dataset \"{}\"", path));
}

handle open_dataset(hid_t loc, const std::string& path, std::string_view context) {
  return checked(H5Dopen2(loc, path.c_str(), H5P_DEFAULT), context,
                 fmt::format("opening the dataset \"{}\"", path));
}

std::vector<hsize_t> shape(hid_t dataset, std::string_view context) {
  handle space = checked(H5Dget_space(dataset), context, "H5Dget_space");
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) throw error(fmt::format("{}: H5Sget_simple_extent_ndims failed", context));
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  check(H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr), context,
        "H5Sget_simple_extent_dims");
  return dims;
}

void append(hid_t dataset, const double* data, hsize_t rows, std::string_view context) {
  if (rows == 0) return;
  std::vector<hsize_t> dims = shape(dataset, context);
  std::vector<hsize_t> start(dims.size(), 0), count = dims;
  start[0] = dims[0];
  count[0] = rows;
  dims[0] += rows;
  check(H5Dset_extent(dataset, dims.data()), context, "extending a dataset");
  handle file_space = checked(H5Dget_space(dataset), context, "H5Dget_space");
  check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr,
                            count.data(), nullptr),
        context, "H5Sselect_hyperslab");
  handle memory_space = checked(
      H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), context,
      "H5Screate_simple");
  check(H5Dwrite(dataset, H5T_NATIVE_DOUBLE, memory_space.get(), file_space.get(), H5P_DEFAULT,
                 data),
        context, "writing samples");
}

namespace {
void write_raw_attribute(hid_t loc, const std::string& name, hid_t file_type, hid_t memory_type,
                         hid_t space, const void* data, std::string_view context) {
  if (H5Aexists(loc, name.c_str()) > 0) check(H5Adelete(loc, name.c_str()), context, "H5Adelete");
  handle attribute =
      checked(H5Acreate2(loc, name.c_str(), file_type, space, H5P_DEFAULT, H5P_DEFAULT), context,
              fmt::format("creating the attribute \"{}\"", name));
  check(H5Awrite(attribute.get(), memory_type, data), context,
        fmt::format("writing the attribute \"{}\"", name));
}
}  // namespace

void write_attribute(hid_t loc, const std::string& name, const std::string& value,
                     std::string_view context) {
  handle type = text_type(context);
  handle space = checked(H5Screate(H5S_SCALAR), context, "H5Screate");
  const char* text = value.c_str();
  write_raw_attribute(loc, name, type.get(), type.get(), space.get(), &text, context);
}

void write_attribute(hid_t loc, const std::string& name, double value, std::string_view context) {
  handle space = checked(H5Screate(H5S_SCALAR), context, "H5Screate");
  write_raw_attribute(loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, space.get(), &value, context);
}

void write_attribute(hid_t loc, const std::string& name, std::uint64_t value,
                     std::string_view context) {
  handle space = checked(H5Screate(H5S_SCALAR), context, "H5Screate");
  write_raw_attribute(loc, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, space.get(), &value, context);
}

void write_attribute(hid_t loc, const std::string& name, const std::vector<std::int64_t>& values,
                     std::string_view context) {
  const hsize_t n = values.size();
  handle space = checked(H5Screate_simple(1, &n, nullptr), context, "H5Screate_simple");
  write_raw_attribute(loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, space.get(), values.data(),
                      context);
}

void write_enum_attribute(hid_t loc, const std::string& name, const std::vector<std::string>& names,
                          int value, std::string_view context) {
  handle type = checked(H5Tenum_create(H5T_STD_I8LE), context, "H5Tenum_create");
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto member = static_cast<std::int8_t>(i);
    check(H5Tenum_insert(type.get(), names[i].c_str(), &member), context, "H5Tenum_insert");
  }
  handle space = checked(H5Screate(H5S_SCALAR), context, "H5Screate");
  const auto v = static_cast<std::int8_t>(value);
  write_raw_attribute(loc, name, type.get(), type.get(), space.get(), &v, context);
}

void write_sonata_attributes(hid_t root, std::string_view context) {
  const std::uint32_t magic = 0x0A7A, version[2] = {0, 1};
  handle scalar = checked(H5Screate(H5S_SCALAR), context, "H5Screate");
  write_raw_attribute(root, "magic", H5T_STD_U32LE, H5T_NATIVE_UINT32, scalar.get(), &magic,
                      context);
  const hsize_t two = 2;
  handle pair = checked(H5Screate_simple(1, &two, nullptr), context, "H5Screate_simple");
  write_raw_attribute(root, "version", H5T_STD_U32LE, H5T_NATIVE_UINT32, pair.get(), version,
                      context);
}

void write_root_attributes(hid_t root, std::uint64_t seed, const std::string& config,
                           std::string_view context) {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char created[32];
  std::strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &utc);
  write_attribute(root, "format", std::string("ratesim"), context);
  write_attribute(root, "format_version", format_version, context);
  write_attribute(root, "ratesim_version", std::string(version), context);
  write_attribute(root, "created", std::string(created), context);
  write_attribute(root, "seed", seed, context);
  write_attribute(root, "config", config, context);
}

std::string read_string_attribute(hid_t loc, const std::string& name, std::string_view context) {
  if (H5Aexists(loc, name.c_str()) <= 0) return {};
  handle attribute = checked(H5Aopen(loc, name.c_str(), H5P_DEFAULT), context, "H5Aopen");
  handle type = checked(H5Aget_type(attribute.get()), context, "H5Aget_type");
  if (H5Tget_class(type.get()) != H5T_STRING) return {};
  if (H5Tis_variable_str(type.get()) > 0) {
    char* text = nullptr;
    check(H5Aread(attribute.get(), type.get(), &text), context, "H5Aread");
    std::string value = text ? text : "";
    H5free_memory(text);
    return value;
  }
  std::string value(H5Tget_size(type.get()), '\0');
  check(H5Aread(attribute.get(), type.get(), value.data()), context, "H5Aread");
  value.resize(value.find('\0') == std::string::npos ? value.size() : value.find('\0'));
  return value;
}

}  // namespace ratesim::detail::hdf5
