#include <ratesim/checkpoint_file.hpp>
#include <ratesim/error.hpp>
#include <ratesim/output_file.hpp>
#include <ratesim/version.hpp>

#include "detail/hdf5.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sys/stat.h>

namespace ratesim {

namespace h5 = detail::hdf5;

namespace {

// Layout of a checkpoint file (docs/checkpoints.md): at / the attributes format =
// "ratesim-checkpoint" and format_version; one 1-D dataset per entry in the groups
// numbers (float64), integers (int64) and text (one UTF-8 string).
constexpr const char* checkpoint_format = "ratesim-checkpoint";
constexpr std::uint64_t checkpoint_format_version = 1;
constexpr std::size_t max_entries = 100000;

}  // namespace

// ---- Writing --------------------------------------------------------------------------

void write_checkpoint(const std::string& path, const checkpoint& c) {
  output_file out(path, output_file::existing::replace, fmt::format("checkpoint \"{}\"", path));
  write_checkpoint(out, c);
}

void write_checkpoint(output_file& out, const checkpoint& c) {
  const std::string context = fmt::format("checkpoint \"{}\"", out.path());
  checkpoint full = c;
  full.set("ratesim_version", std::string(version));
  {
    h5::quiet_errors quiet;
    h5::write_new_file(out.temporary(), [&](hid_t root) {
      h5::write_attribute(root, "format", std::string(checkpoint_format), context);
      h5::write_attribute(root, "format_version", checkpoint_format_version, context);
      auto group = [&](const char* name) {
        return h5::checked(H5Gcreate2(root, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), context,
                           fmt::format("creating the group \"{}\"", name));
      };
      h5::handle numbers = group("numbers"), integers = group("integers"), text = group("text");
      for (const auto& [k, v] : full.all_numbers())
        h5::write_array(numbers.get(), k, {v.size()}, v.data(), context);
      for (const auto& [k, v] : full.all_integers())
        h5::write_dataset(integers.get(), k, {v.size()}, H5T_STD_I64LE, H5T_NATIVE_INT64, v.data(),
                          context);
      for (const auto& [k, v] : full.all_text()) h5::write_text(text.get(), k, v, context);
    }, context);
  }
  out.commit();  // synced to disk, then renamed over the previous checkpoint
}

// ---- Reading --------------------------------------------------------------------------

namespace {

struct reader {
  std::string context;
  hsize_t file_bytes = 0;

  std::vector<std::string> names(hid_t group) const {
    std::vector<std::string> out;
    H5G_info_t info;
    h5::check(H5Gget_info(group, &info), context, "H5Gget_info");
    if (info.nlinks > max_entries)
      throw input_error(fmt::format("{}: {} entries in one group, more than a checkpoint holds",
                                    context, info.nlinks));
    for (hsize_t i = 0; i < info.nlinks; ++i) {
      const ssize_t n = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0,
                                           H5P_DEFAULT);
      if (n < 0 || n > 200)
        throw input_error(fmt::format("{}: entry {} has no usable name", context, i));
      std::string name(static_cast<std::size_t>(n), '\0');
      H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(),
                         static_cast<std::size_t>(n) + 1, H5P_DEFAULT);
      if (!checkpoint::valid_key(name))
        throw input_error(fmt::format("{}: \"{}\" is not a checkpoint key", context, name));
      out.push_back(std::move(name));
    }
    return out;
  }

  h5::handle open(hid_t group, const std::string& name, H5T_class_t expected,
                  std::string_view kind, hsize_t& count) const {
    h5::handle d = h5::checked(H5Dopen2(group, name.c_str(), H5P_DEFAULT), context,
                               fmt::format("opening the {} entry \"{}\"", kind, name));
    h5::handle type = h5::checked(H5Dget_type(d.get()), context, "H5Dget_type");
    h5::handle space = h5::checked(H5Dget_space(d.get()), context, "H5Dget_space");
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (H5Tget_class(type.get()) != expected || rank < 0 || rank > 1)
      throw input_error(fmt::format("{}: \"{}\" is not a {} entry", context, name, kind));
    hsize_t dims = 1;
    if (rank == 1) H5Sget_simple_extent_dims(space.get(), &dims, nullptr);
    // Nothing is allocated beyond what the file can hold: a hostile header cannot ask
    // for terabytes.
    const hsize_t bytes_each = expected == H5T_STRING ? 1 : 8;
    if (dims > file_bytes / bytes_each || H5Tget_size(type.get()) > 8 ||
        (expected != H5T_STRING && H5Dget_storage_size(d.get()) < dims * H5Tget_size(type.get())))
      throw input_error(fmt::format("{}: \"{}\" claims {} values, more than the file stores",
                                    context, name, dims));
    count = dims;
    return d;
  }
};

}  // namespace

namespace {
checkpoint read_checkpoint_file(const std::string& path, const std::string& context);
}  // namespace

checkpoint read_checkpoint(const std::string& path) {
  const std::string context = fmt::format("checkpoint \"{}\"", path);
  try {
    return read_checkpoint_file(path, context);
  } catch (const input_error&) {
    throw;
  } catch (const error& e) {  // an HDF5 call that failed on a damaged file
    throw input_error(fmt::format("{} (the file is damaged)", e.what()));
  }
}

namespace {

checkpoint read_checkpoint_file(const std::string& path, const std::string& context) {
  h5::quiet_errors quiet;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw input_error(fmt::format("{}: cannot read the file: {}", context, std::strerror(errno)));
  if (H5Fis_hdf5(path.c_str()) <= 0)
    throw input_error(fmt::format("{}: not an HDF5 file", context));
  h5::handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!file) throw input_error(fmt::format("{}: the file is damaged (HDF5 cannot open it)", context));
  const hid_t root = file.get();
  if (h5::read_string_attribute(root, "format", context) != checkpoint_format)
    throw input_error(fmt::format("{}: not a ratesim checkpoint (no format = \"{}\" at /)",
                                  context, checkpoint_format));
  {  // format_version: an integer this ratesim knows
    std::uint64_t version = 0;
    bool read = false;
    if (H5Aexists(root, "format_version") > 0) {
      h5::handle a(H5Aopen(root, "format_version", H5P_DEFAULT));
      h5::handle type(a ? H5Aget_type(a.get()) : H5I_INVALID_HID);
      h5::handle space(a ? H5Aget_space(a.get()) : H5I_INVALID_HID);
      read = type && space && H5Tget_class(type.get()) == H5T_INTEGER &&
             H5Sget_simple_extent_npoints(space.get()) == 1 &&
             H5Aread(a.get(), H5T_NATIVE_UINT64, &version) >= 0;
    }
    if (!read || version != checkpoint_format_version)
      throw input_error(fmt::format(
          "{}: format_version must be the integer {} (this ratesim's checkpoint format), got {}",
          context, checkpoint_format_version, read ? std::to_string(version) : "none or not an integer"));
  }
  reader r{context, static_cast<hsize_t>(st.st_size)};
  checkpoint c;
  for (const char* g : {"numbers", "integers", "text"})
    if (H5Lexists(root, g, H5P_DEFAULT) <= 0)
      throw input_error(fmt::format("{}: the group \"{}\" is missing", context, g));
  // The numbers and the integers: 1-D datasets read as double or int64.
  auto read_vectors = [&](const char* group, H5T_class_t kind, hid_t memory_type, auto zero) {
    h5::handle g = h5::checked(H5Gopen2(root, group, H5P_DEFAULT), context, "H5Gopen");
    for (const auto& name : r.names(g.get())) {
      hsize_t n = 0;
      h5::handle d = r.open(g.get(), name, kind, group, n);
      std::vector<decltype(zero)> values(n);
      if (n > 0)
        h5::check(H5Dread(d.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
                  context, fmt::format("reading \"{}\"", name));
      c.set(name, std::move(values));
    }
  };
  read_vectors("numbers", H5T_FLOAT, H5T_NATIVE_DOUBLE, 0.0);
  read_vectors("integers", H5T_INTEGER, H5T_NATIVE_INT64, std::int64_t{0});
  h5::handle text = h5::checked(H5Gopen2(root, "text", H5P_DEFAULT), context, "H5Gopen");
  for (const auto& name : r.names(text.get())) {
    hsize_t n = 0;
    h5::handle d = r.open(text.get(), name, H5T_STRING, "text", n);
    h5::handle type = h5::checked(H5Dget_type(d.get()), context, "H5Dget_type");
    if (n != 1 || H5Tis_variable_str(type.get()) <= 0)
      throw input_error(fmt::format("{}: \"{}\" is not one text", context, name));
    h5::handle memory = h5::text_type(context);
    char* p = nullptr;
    h5::check(H5Dread(d.get(), memory.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &p), context,
              fmt::format("reading \"{}\"", name));
    std::string value = p ? p : "";
    H5free_memory(p);
    c.set(name, std::move(value));
  }
  if (!c.has("ratesim_version"))
    throw input_error(fmt::format("{}: no ratesim_version entry", context));
  c.text("ratesim_version");  // of the right kind
  return c;
}

}  // namespace

}  // namespace ratesim
