// NumPy's .npy and .npz and CSV, read without NumPy: a small, strict .npy reader (the
// dtypes a data set comes in, little-endian, C or Fortran order), the zip container of
// .npz parsed here (stored members, and deflated ones through zlib's inflate: libzip is
// not a dependency) and comma-separated values.

#include "detail/arrays.hpp"

#include <ratesim/error.hpp>

#include <fmt/format.h>
#include <zlib.h>

#include <array>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

namespace ratesim::detail {
namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

std::uint64_t little_endian(const unsigned char* p, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = n; i-- > 0;) v = (v << 8) | p[i];
  return v;
}

// ---- Files ----------------------------------------------------------------------------

class binary_file {
 public:
  binary_file(const std::string& path, const std::string& spec) : spec_(spec) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))  // a folder "opens" and has any size
      throw input_error(fmt::format("{}: cannot open the file (not a regular file)", spec));
    size_ = std::filesystem::file_size(path, ec);
    in_.open(path, std::ios::binary);
    if (ec || !in_) throw input_error(fmt::format("{}: cannot open the file", spec));
  }
  std::uint64_t size() const { return size_; }
  // `n` bytes from `offset`, which the file must hold (`what` names them in the error).
  std::vector<unsigned char> read(std::uint64_t offset, std::uint64_t n, const char* what) {
    if (offset > size_ || n > size_ - offset)
      throw input_error(fmt::format("{}: truncated: {} ({} bytes at {}) lie beyond its {} bytes",
                                    spec_, what, n, offset, size_));
    std::vector<unsigned char> bytes(n);
    in_.seekg(static_cast<std::streamoff>(offset));
    if (!in_.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(n)))
      throw input_error(fmt::format("{}: reading {} failed", spec_, what));
    return bytes;
  }

 private:
  std::string spec_;
  std::ifstream in_;
  std::uint64_t size_ = 0;
};

// ---- .npy -----------------------------------------------------------------------------

struct npy_header {
  char kind = 0;         // 'u', 'i' or 'f'
  std::size_t size = 0;  // bytes per value
  bool fortran = false;
  std::vector<std::uint32_t> dims;
  std::uint64_t count = 1;   // values
  std::size_t data_at = 0;  // offset of the values
};

constexpr std::size_t max_header = 1 << 20;  // bytes; NumPy's own limit is far smaller

// The text after `'key':` in the header dictionary, spaces skipped.
std::size_t value_of(const std::string& spec, const std::string& dict, const std::string& key) {
  const auto at = dict.find("'" + key + "':");
  const auto value = at == std::string::npos ? at : dict.find_first_not_of(' ', at + key.size() + 3);
  if (value == std::string::npos)
    throw input_error(fmt::format("{}: the .npy header has no '{}': {}", spec, key, dict));
  return value;
}

npy_header parse_npy_header(const std::string& spec, const unsigned char* p, std::size_t n) {
  static constexpr unsigned char magic[] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (n < 10 || std::memcmp(p, magic, 6) != 0)
    throw input_error(fmt::format("{}: not an .npy file (no \\x93NUMPY magic string)", spec));
  const int major = p[6];
  if (major < 1 || major > 3)
    throw input_error(fmt::format("{}: .npy format version {}.{}, expected 1 to 3", spec, major,
                                  int{p[7]}));
  const std::size_t length_size = major == 1 ? 2 : 4, start = 8 + length_size;
  if (n < start) throw input_error(fmt::format("{}: the .npy header is truncated", spec));
  const std::uint64_t length = little_endian(p + 8, length_size);
  if (length > max_header || start + length > n)
    throw input_error(fmt::format("{}: the .npy header is truncated ({} bytes claimed)", spec,
                                  length));
  const std::string dict(reinterpret_cast<const char*>(p + start), length);
  if (dict.empty() || dict.front() != '{')
    throw input_error(fmt::format("{}: the .npy header is not a dictionary: {}", spec, dict));
  npy_header h;
  h.data_at = start + length;

  std::size_t at = value_of(spec, dict, "descr");
  const auto close = dict.find('\'', at + 1);
  if (close == std::string::npos || dict[at] != '\'')
    throw input_error(fmt::format("{}: the .npy header's 'descr' is not a string: {}", spec, dict));
  const std::string descr = dict.substr(at + 1, close - at - 1);
  const bool known = descr.size() == 3 && std::string("<|").find(descr[0]) != std::string::npos &&
                     (descr.substr(1) == "u1" || descr.substr(1) == "i4" ||
                      descr.substr(1) == "i8" || descr.substr(1) == "f4" ||
                      descr.substr(1) == "f8");
  if (!known)
    throw input_error(fmt::format(
        "{}: dtype '{}' is not read{}; expected u1, i4, i8, f4 or f8, little-endian", spec, descr,
        !descr.empty() && descr[0] == '>' ? " (big-endian)" : ""));
  h.kind = descr[1];
  h.size = static_cast<std::size_t>(descr[2] - '0');

  at = value_of(spec, dict, "fortran_order");
  if (dict.compare(at, 4, "True") == 0) {
    h.fortran = true;
  } else if (dict.compare(at, 5, "False") != 0) {
    throw input_error(fmt::format("{}: the .npy header's 'fortran_order' is not True or False: {}",
                                  spec, dict));
  }

  at = value_of(spec, dict, "shape");
  const auto end = dict.find(')', at);
  if (end == std::string::npos || dict[at] != '(')
    throw input_error(fmt::format("{}: the .npy header's 'shape' is not a tuple: {}", spec, dict));
  for (std::size_t i = at + 1; i < end;) {
    i = dict.find_first_not_of(' ', i);
    if (i >= end) break;
    std::uint64_t d = 0;
    const auto [next, ec] = std::from_chars(dict.data() + i, dict.data() + end, d);
    if (ec != std::errc() || d > std::numeric_limits<std::uint32_t>::max())
      throw input_error(fmt::format("{}: the .npy header's 'shape' is not a tuple of sizes: {}",
                                    spec, dict));
    h.dims.push_back(static_cast<std::uint32_t>(d));
    if (__builtin_mul_overflow(h.count, d, &h.count))
      throw input_error(fmt::format("{}: the .npy header claims more values than can exist", spec));
    i = dict.find_first_not_of(' ', static_cast<std::size_t>(next - dict.data()));
    if (i < end && dict[i] == ',') ++i;
  }
  if (h.dims.empty() || h.dims.size() > 4)
    throw input_error(fmt::format("{}: {} dimensions, expected 1 to 4", spec, h.dims.size()));
  return h;
}

double decode(const unsigned char* p, const npy_header& h) {
  const std::uint64_t raw = little_endian(p, h.size);
  if (h.kind == 'u') return static_cast<double>(raw);
  if (h.kind == 'i')
    return h.size == 4 ? static_cast<double>(static_cast<std::int32_t>(raw))
                       : static_cast<double>(static_cast<std::int64_t>(raw));
  if (h.size == 4) {
    const auto bits = static_cast<std::uint32_t>(raw);
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  double d;
  std::memcpy(&d, &raw, 8);
  return d;
}

// The whole .npy held in `bytes`: exactly as many values as its header claims.
numeric_array parse_npy(const std::string& spec, const std::vector<unsigned char>& bytes,
                        bool shape_only) {
  const npy_header h = parse_npy_header(spec, bytes.data(), bytes.size());
  numeric_array out{h.dims, {}};
  if (shape_only) return out;
  std::uint64_t expected = 0;
  if (__builtin_mul_overflow(h.count, std::uint64_t{h.size}, &expected))
    throw input_error(fmt::format("{}: the .npy header claims more values than can exist", spec));
  const std::uint64_t held = bytes.size() - h.data_at;
  if (held != expected)
    throw input_error(fmt::format("{}: {}: the header promises {} values ({} bytes), the file "
                                  "holds {} bytes of them",
                                  spec, held < expected ? "truncated" : "more data than the header",
                                  h.count, expected, held));
  out.values.resize(h.count);
  const unsigned char* data = bytes.data() + h.data_at;
  if (!h.fortran) {
    for (std::uint64_t i = 0; i < h.count; ++i) out.values[i] = decode(data + i * h.size, h);
    return out;
  }
  // Fortran order: the first index varies fastest in the file. Walk the row-major indices
  // with a counter, keeping the matching offset in the file.
  const std::size_t rank = h.dims.size();
  std::vector<std::uint64_t> stride(rank, 1), index(rank, 0);
  for (std::size_t k = 1; k < rank; ++k) stride[k] = stride[k - 1] * h.dims[k - 1];
  std::uint64_t at = 0;
  for (std::uint64_t i = 0; i < h.count; ++i) {
    out.values[i] = decode(data + at * h.size, h);
    for (std::size_t k = rank; k-- > 0;) {
      at += stride[k];
      if (++index[k] < h.dims[k]) break;
      at -= stride[k] * h.dims[k];
      index[k] = 0;
    }
  }
  return out;
}

// ---- .npz: a zip archive of .npy files ------------------------------------------------

struct zip_member {
  std::string name;
  int method = 0;
  std::uint32_t crc = 0;
  std::uint64_t compressed = 0, size = 0, local_header = 0;
};

std::uint64_t field(const std::vector<unsigned char>& b, std::size_t at, std::size_t n) {
  return little_endian(b.data() + at, n);
}

std::vector<zip_member> zip_directory(binary_file& f, const std::string& spec) {
  // The end of central directory record: 22 bytes and a comment of up to 64 KiB.
  const std::uint64_t tail_size = std::min<std::uint64_t>(f.size(), 22 + 0xFFFF);
  const auto tail = f.read(f.size() - tail_size, tail_size, "the end of the archive");
  std::size_t eocd = std::string::npos;
  for (std::size_t i = tail.size() >= 22 ? tail.size() - 22 + 1 : 0; i-- > 0;)
    if (field(tail, i, 4) == 0x06054b50) {
      eocd = i;
      break;
    }
  if (eocd == std::string::npos)
    throw input_error(fmt::format("{}: not a zip archive (no end of central directory)", spec));
  std::uint64_t entries = field(tail, eocd + 10, 2), dir_size = field(tail, eocd + 12, 4),
                dir_at = field(tail, eocd + 16, 4);
  if (entries == 0xFFFF || dir_size == 0xFFFFFFFF || dir_at == 0xFFFFFFFF) {  // zip64
    const std::uint64_t eocd_at = f.size() - tail_size + eocd;
    if (eocd_at < 20) throw input_error(fmt::format("{}: damaged zip64 archive", spec));
    const auto locator = f.read(eocd_at - 20, 20, "the zip64 locator");
    if (field(locator, 0, 4) != 0x07064b50)
      throw input_error(fmt::format("{}: damaged zip64 archive (no locator)", spec));
    const auto record = f.read(field(locator, 8, 8), 56, "the zip64 end record");
    if (field(record, 0, 4) != 0x06064b50)
      throw input_error(fmt::format("{}: damaged zip64 archive (no end record)", spec));
    entries = field(record, 32, 8);
    dir_size = field(record, 40, 8);
    dir_at = field(record, 48, 8);
  }
  const auto dir = f.read(dir_at, dir_size, "the central directory");
  std::vector<zip_member> members;
  std::size_t at = 0;
  for (std::uint64_t e = 0; e < entries; ++e) {
    if (at + 46 > dir.size() || field(dir, at, 4) != 0x02014b50)
      throw input_error(fmt::format("{}: damaged zip archive (central directory entry {})", spec, e));
    zip_member m;
    const auto flags = field(dir, at + 8, 2);
    m.method = static_cast<int>(field(dir, at + 10, 2));
    m.crc = static_cast<std::uint32_t>(field(dir, at + 16, 4));
    m.compressed = field(dir, at + 20, 4);
    m.size = field(dir, at + 24, 4);
    m.local_header = field(dir, at + 42, 4);
    const std::size_t name_size = field(dir, at + 28, 2), extra_size = field(dir, at + 30, 2),
                      comment_size = field(dir, at + 32, 2);
    const std::size_t next = at + 46 + name_size + extra_size + comment_size;
    if (next > dir.size())
      throw input_error(fmt::format("{}: damaged zip archive (central directory entry {})", spec, e));
    m.name.assign(reinterpret_cast<const char*>(dir.data() + at + 46), name_size);
    if (flags & 1) throw input_error(fmt::format("{}: {} is encrypted", spec, m.name));
    // Zip64: the sizes and offset that do not fit in 32 bits follow in an extra field.
    for (std::size_t x = at + 46 + name_size; x + 4 <= at + 46 + name_size + extra_size;) {
      const auto id = field(dir, x, 2), size = field(dir, x + 2, 2);
      std::size_t v = x + 4;
      if (id == 0x0001) {
        for (std::uint64_t* value : {&m.size, &m.compressed, &m.local_header})
          if (*value == 0xFFFFFFFF && v + 8 <= x + 4 + size && v + 8 <= dir.size()) {
            *value = field(dir, v, 8);
            v += 8;
          }
      }
      x += 4 + size;
    }
    members.push_back(std::move(m));
    at = next;
  }
  return members;
}

// Deflate expands at most about 1032:1: a member claiming more than that is damaged.
constexpr std::uint64_t max_expansion = 1100;

std::vector<unsigned char> zip_contents(binary_file& f, const std::string& spec,
                                        const zip_member& m) {
  const auto local = f.read(m.local_header, 30, "a local file header");
  if (field(local, 0, 4) != 0x04034b50)
    throw input_error(fmt::format("{}: damaged zip archive (local header of {})", spec, m.name));
  const std::uint64_t data_at = m.local_header + 30 + field(local, 26, 2) + field(local, 28, 2);
  std::vector<unsigned char> data;
  if (m.method == 0) {
    if (m.compressed != m.size)
      throw input_error(fmt::format("{}: damaged zip archive ({} stored with two sizes)", spec,
                                    m.name));
    data = f.read(data_at, m.size, "an array's bytes");
  } else if (m.method == 8) {
    auto packed = f.read(data_at, m.compressed, "an array's compressed bytes");
    if (m.size > max_expansion * m.compressed + 1024)
      throw input_error(fmt::format("{}: {} claims {} bytes from {} compressed ones", spec, m.name,
                                    m.size, m.compressed));
    data.resize(m.size);
    z_stream z{};
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK)
      throw input_error(fmt::format("{}: zlib cannot start inflating", spec));
    int status = Z_OK;
    std::uint64_t in_at = 0, out_at = 0;
    constexpr std::uint64_t block = 1u << 30;  // zlib counts in 32 bits
    while (status == Z_OK) {
      z.next_in = packed.data() + in_at;
      z.avail_in = static_cast<uInt>(std::min(block, packed.size() - in_at));
      z.next_out = data.data() + out_at;
      z.avail_out = static_cast<uInt>(std::min(block, data.size() - out_at));
      const uInt in_before = z.avail_in, out_before = z.avail_out;
      status = inflate(&z, Z_NO_FLUSH);
      in_at += in_before - z.avail_in;
      out_at += out_before - z.avail_out;
      if (status == Z_OK && in_before == z.avail_in && out_before == z.avail_out) break;
    }
    inflateEnd(&z);
    if (status != Z_STREAM_END || out_at != m.size)
      throw input_error(fmt::format("{}: the compressed data of {} is corrupt", spec, m.name));
  } else {
    throw input_error(fmt::format(
        "{}: {} is compressed with zip method {}; only stored (np.savez) and deflated "
        "(np.savez_compressed) members are read",
        spec, m.name, m.method));
  }
  uLong crc = crc32(0L, Z_NULL, 0);
  for (std::uint64_t at = 0; at < data.size(); at += 1u << 30)
    crc = crc32(crc, data.data() + at,
                static_cast<uInt>(std::min<std::uint64_t>(1u << 30, data.size() - at)));
  if (crc != m.crc)
    throw input_error(fmt::format("{}: {} fails its CRC check (damaged)", spec, m.name));
  return data;
}

}  // namespace

bool is_numpy_spec(const std::string& spec) {
  return ends_with(spec, ".npy") || ends_with(spec, ".npz") ||
         spec.find(".npz:") != std::string::npos;
}

bool is_csv_spec(const std::string& spec) { return ends_with(spec, ".csv"); }

numeric_array read_numpy(const std::string& spec, bool shape_only) {
  const auto colon = spec.rfind(".npz:");
  if (colon == std::string::npos && ends_with(spec, ".npy")) {
    binary_file f(spec, spec);
    const std::uint64_t n = shape_only ? std::min<std::uint64_t>(f.size(), 12 + max_header)
                                       : f.size();
    return parse_npy(spec, f.read(0, n, "the array"), shape_only);
  }
  const std::string path = colon == std::string::npos ? spec : spec.substr(0, colon + 4);
  std::string name = colon == std::string::npos ? std::string() : spec.substr(colon + 5);
  if (!name.empty() && name.front() == '/') name.erase(0, 1);
  binary_file f(path, spec);
  const auto members = zip_directory(f, spec);
  std::string names;
  for (const auto& m : members) {
    const bool npy = ends_with(m.name, ".npy");
    names += (names.empty() ? "" : ", ") + (npy ? m.name.substr(0, m.name.size() - 4) : m.name);
  }
  const zip_member* chosen = nullptr;
  if (name.empty()) {
    if (members.size() != 1)
      throw input_error(fmt::format(
          "{}: an archive of {} arrays ({}); name one as {}:NAME", spec, members.size(), names,
          path));
    chosen = &members.front();
  } else {
    for (const auto& m : members)
      if (m.name == name || m.name == name + ".npy") chosen = &m;
    if (!chosen)
      throw input_error(fmt::format("{}: no array \"{}\" in the archive; it holds: {}", spec, name,
                                    names.empty() ? "nothing" : names));
  }
  return parse_npy(spec, zip_contents(f, spec, *chosen), shape_only);
}

numeric_array read_csv(const std::string& spec) {
  std::ifstream in(spec);
  if (!in) throw input_error(fmt::format("{}: cannot open the file", spec));
  numeric_array out;
  std::string line;
  std::size_t columns = 0, rows = 0, number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    std::vector<double> row;
    bool numeric = true;
    for (std::size_t at = 0; at <= line.size() && numeric;) {
      auto end = line.find(',', at);
      if (end == std::string::npos) end = line.size();
      const auto first = line.find_first_not_of(" \t", at);
      const auto last = line.find_last_not_of(" \t", end - 1);
      double v = 0;
      numeric = first < end && last != std::string::npos && last >= first;
      if (numeric) {
        const char* begin = line.data() + first + (line[first] == '+' ? 1 : 0);
        const auto [stop, ec] = std::from_chars(begin, line.data() + last + 1, v);
        numeric = ec == std::errc() && stop == line.data() + last + 1;
      }
      row.push_back(v);
      at = end + 1;
    }
    if (!numeric) {
      if (rows == 0 && number == 1) continue;  // a header line of column names
      throw input_error(fmt::format("{}: line {} is not a row of numbers: \"{}\"", spec, number,
                                    line.substr(0, 80)));
    }
    if (rows == 0) columns = row.size();
    if (row.size() != columns)
      throw input_error(fmt::format("{}: line {} has {} values, the first row {}", spec, number,
                                    row.size(), columns));
    if (rows == std::numeric_limits<std::uint32_t>::max())
      throw input_error(fmt::format("{}: more rows than can be read", spec));
    out.values.insert(out.values.end(), row.begin(), row.end());
    ++rows;
  }
  if (in.bad()) throw input_error(fmt::format("{}: reading failed", spec));
  if (rows == 0) throw input_error(fmt::format("{}: no rows of numbers", spec));
  out.dims = {static_cast<std::uint32_t>(rows)};
  if (columns > 1) out.dims.push_back(static_cast<std::uint32_t>(columns));
  return out;
}

}  // namespace ratesim::detail
