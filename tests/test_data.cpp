// Data readers: IDX (plain and gzip) and HDF5 round trips, hand-made IDX bytes, .npy and
// .npz (stored and deflated) and CSV files written here byte by byte, and every
// kind of broken file rejected with a clear error.

#include <ratesim/data.hpp>
#include <ratesim/error.hpp>

#include "detail/hdf5.hpp"
#include "scratch.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace ratesim {
namespace {

namespace fs = std::filesystem;

class Data : public testing::scratch_test {
 protected:
  void write_bytes(const std::string& path, const std::vector<unsigned char>& bytes) const {
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  }
  // The substring `part` appears in the message of the input_error `f` throws.
  template <class F>
  void expect_input_error(F&& f, const std::string& part) {
    try {
      f();
      ADD_FAILURE() << "no error; expected one about \"" << part << "\"";
    } catch (const input_error& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  }
};

// 3 images of 2 × 2 pixels, values 0–255.
matrix small_images() {
  matrix X(4, 3);
  X << 0, 10, 255,  //
      1, 20, 128,   //
      2, 30, 64,    //
      3, 40, 0;
  return X;
}

TEST_F(Data, IdxRoundTripPlainAndGzip) {
  const matrix X = small_images();
  for (const std::string name : {"images.idx", "images.idx.gz"}) {
    write_idx_images(file(name), X, 2, 2);
    EXPECT_EQ(read_images(file(name)), X) << name;
  }
  write_idx_labels(file("labels.gz"), {7, 0, 3});
  EXPECT_EQ(read_labels(file("labels.gz")), (std::vector<int>{7, 0, 3}));
  const labeled_data both = read_labeled(file("images.idx.gz"), file("labels.gz"));
  EXPECT_EQ(both.images.cols(), 3);
}

TEST_F(Data, IdxBytesWrittenByHandAreRead) {
  // Magic 00 00 08 03, dims [2, 1, 3] big-endian, then 6 pixels in row-major order.
  write_bytes(file("hand.idx"), {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6});
  matrix expected(3, 2);
  expected << 1, 4, 2, 5, 3, 6;
  EXPECT_EQ(read_images(file("hand.idx")), expected);
  // 32-bit big-endian floats (type 0x0d), [2]: 1.5 and -0.25 would be rejected as labels,
  // but read as images of one pixel each they are values.
  write_bytes(file("float.idx"), {0, 0, 0x0d, 2, 0, 0, 0, 2, 0, 0, 0, 1, 0x3f, 0xc0, 0, 0, 0xbe,
                                  0x80, 0, 0});
  matrix floats(1, 2);
  floats << 1.5, -0.25;
  EXPECT_EQ(read_images(file("float.idx")), floats);
}

TEST_F(Data, BrokenIdxFilesAreRejected) {
  write_idx_images(file("good.idx"), small_images(), 2, 2);
  std::vector<unsigned char> bytes;
  {
    std::ifstream in(file("good.idx"), std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto truncated = bytes;
  truncated.resize(bytes.size() - 5);
  write_bytes(file("truncated.idx"), truncated);
  expect_input_error([&] { read_images(file("truncated.idx")); }, "truncated");

  auto magic = bytes;
  magic[0] = 0x1f;
  write_bytes(file("magic.idx"), magic);
  expect_input_error([&] { read_images(file("magic.idx")); }, "not an IDX file");
  auto type = bytes;
  type[2] = 0x07;
  write_bytes(file("type.idx"), type);
  expect_input_error([&] { read_images(file("type.idx")); }, "magic number 00 00 07 03");

  auto longer = bytes;
  longer.push_back(9);
  write_bytes(file("long.idx"), longer);
  expect_input_error([&] { read_images(file("long.idx")); }, "more data than the header");

  // A header claiming 4·10^9 images of 28 × 28 pixels: refused without allocating it.
  write_bytes(file("huge.idx"), {0, 0, 8, 3, 0xee, 0x6b, 0x28, 0, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2});
  expect_input_error([&] { read_images(file("huge.idx")); }, "truncated");

  // Dimensions whose product overflows 64 bits (found by the fuzzer).
  write_bytes(file("overflow.idx"), {0, 0, 8, 3, 7, 0, 0, 0, 0x2c, 0, 0, 0, 9, 0, 0, 0});
  expect_input_error([&] { read_images(file("overflow.idx")); }, "more values than can exist");

  write_bytes(file("empty.idx"), {0, 0});
  expect_input_error([&] { read_images(file("empty.idx")); }, "too short");
  expect_input_error([&] { read_images(file("missing.idx")); }, "cannot open");
}

TEST_F(Data, MislabelledFilesAndCountMismatchesAreRejected) {
  write_idx_images(file("images.idx"), small_images(), 2, 2);
  write_idx_labels(file("labels.idx"), {1, 2});
  expect_input_error([&] { read_labels(file("images.idx")); }, "an images file, expected labels");
  expect_input_error([&] { read_images(file("labels.idx")); }, "a labels file, expected images");
  expect_input_error([&] { read_labeled(file("images.idx"), file("labels.idx")); },
                     "holds 3 images but");
  // Labels stored as floats must still be whole numbers.
  write_bytes(file("frac.idx"), {0, 0, 0x0d, 1, 0, 0, 0, 1, 0x3f, 0xc0, 0, 0});
  expect_input_error([&] { read_labels(file("frac.idx")); }, "labels must be integers");
}

TEST_F(Data, Hdf5DatasetsRoundTrip) {
  namespace h5 = detail::hdf5;
  const std::string path = file("data.h5");
  h5::write_new_file(path, [](hid_t f) {
    h5::create_groups(f, "train", "test");
    // Row-major [N = 3, 2, 2] images and [3] labels.
    const std::vector<double> pixels{0, 1, 2, 3, 10, 20, 30, 40, 255, 128, 64, 0};
    h5::write_array(f, "train/images", {3, 2, 2}, pixels.data(), "test");
    const std::vector<double> labels{7, 0, 3};
    h5::write_array(f, "train/labels", {3}, labels.data(), "test");
  }, "test");
  EXPECT_EQ(read_images(path + ":/train/images"), small_images());
  EXPECT_EQ(read_labels(path + ":/train/labels"), (std::vector<int>{7, 0, 3}));
  expect_input_error([&] { read_images(path + ":/train/nothing"); }, "no dataset");
  expect_input_error([&] { read_labels(path + ":/train/images"); }, "an images file");
  write_bytes(file("fake.h5"), {1, 2, 3});
  expect_input_error([&] { read_images(file("fake.h5") + ":/x"); }, "not a readable HDF5 file");
}

// A rank of an MPI job reads only its examples: IDX from their offset (plain and gzip),
// HDF5 by a hyperslab; the same values as the columns of the whole set.
TEST_F(Data, ExamplesFromFirstToFirstPlusCountAreReadAlone) {
  namespace h5 = detail::hdf5;
  const matrix X = small_images();
  const std::vector<int> labels{7, 0, 3};
  write_idx_images(file("images.idx"), X, 2, 2);
  write_idx_images(file("images.idx.gz"), X, 2, 2);
  write_idx_labels(file("labels.gz"), labels);
  const std::string h5_file = file("data.h5");
  h5::write_new_file(h5_file, [](hid_t f) {
    const std::vector<double> pixels{0, 1, 2, 3, 10, 20, 30, 40, 255, 128, 64, 0};
    h5::write_array(f, "images", {3, 2, 2}, pixels.data(), "test");
    const std::vector<double> values{7, 0, 3};
    h5::write_array(f, "labels", {3}, values.data(), "test");
  }, "test");
  const std::vector<std::pair<std::string, std::string>> specs{
      {file("images.idx"), file("labels.gz")},
      {file("images.idx.gz"), file("labels.gz")},
      {h5_file + ":/images", h5_file + ":/labels"}};
  for (const auto& spec : specs) {
    EXPECT_EQ(count_examples(spec.first), 3u);
    for (std::size_t first = 0; first <= 3; ++first)
      for (std::size_t count = 0; first + count <= 3; ++count) {
        const labeled_data part = read_labeled(spec.first, spec.second, first, count);
        EXPECT_EQ(part.images.rows(), 4);
        EXPECT_EQ(part.images, X.middleCols(Eigen::Index(first), Eigen::Index(count)))
            << spec.first << " from " << first << ", " << count;
        EXPECT_EQ(part.labels, std::vector<int>(labels.begin() + long(first),
                                                labels.begin() + long(first + count)));
        EXPECT_EQ(part.first, Eigen::Index(first));
        EXPECT_EQ(part.total, 3);
      }
    expect_input_error([&] { read_labeled(spec.first, spec.second, 2, 2); }, "examples 2 to 3");
  }
  // A file shorter than its header: the part that is there reads, the part beyond does not.
  std::vector<unsigned char> bytes{0, 0, 8, 2, 0, 0, 0, 3, 0, 0, 0, 2, 1, 2, 3, 4};
  write_bytes(file("short.idx"), bytes);
  write_idx_labels(file("three.gz"), labels);
  EXPECT_EQ(read_labeled(file("short.idx"), file("three.gz"), 0, 2).images.cols(), 2);
  expect_input_error([&] { read_labeled(file("short.idx"), file("three.gz"), 1, 2); },
                     "truncated: examples 1 to 2");
  write_idx_labels(file("two.gz"), {7, 0});  // counts compared before any part is read
  expect_input_error([&] { read_labeled(file("images.idx"), file("two.gz"), 0, 1); },
                     "holds 3 images but");
}

TEST_F(Data, Hdf5DatasetsThatClaimWhatTheFileDoesNotHoldAreRefused) {
  namespace h5 = detail::hdf5;
  const std::string path = file("claims.h5");
  h5::write_new_file(path, [](hid_t f) {
    // 4·10^9 images of 784 pixels, declared but never written (chunked: a few bytes on
    // disk), and 10^12 images, more than a dimension of the readers can hold.
    const hsize_t dims[2] = {4000000000, 784}, chunk[2] = {1, 784};
    h5::handle space(H5Screate_simple(2, dims, nullptr));
    h5::handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
    H5Pset_chunk(dcpl.get(), 2, chunk);
    h5::handle d(H5Dcreate2(f, "claimed", H5T_NATIVE_UINT8, space.get(), H5P_DEFAULT,
                            dcpl.get(), H5P_DEFAULT));
    const hsize_t more[1] = {1000000000000};
    h5::handle space1(H5Screate_simple(1, more, nullptr));
    h5::handle dcpl1(H5Pcreate(H5P_DATASET_CREATE));
    const hsize_t chunk1[1] = {1024};
    H5Pset_chunk(dcpl1.get(), 1, chunk1);
    h5::handle d1(H5Dcreate2(f, "trillion", H5T_NATIVE_UINT8, space1.get(), H5P_DEFAULT,
                             dcpl1.get(), H5P_DEFAULT));
    h5::create_groups(f, "group", "test");
  }, "test");
  expect_input_error([&] { read_images(path + ":/claimed"); }, "but the file stores 0 bytes");
  expect_input_error([&] { read_labels(path + ":/trillion"); }, "claims a dimension of 1000000000000");
  expect_input_error([&] { read_images(path + ":/group"); }, "is not a dataset");
}

// ---- NumPy and CSV ----------------------------------------------------------------------

// An .npy file as NumPy writes it: magic, version 1.0, a dictionary padded to 64 bytes.
std::vector<unsigned char> npy(const std::string& descr, bool fortran, const std::string& shape,
                               const std::vector<unsigned char>& data) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': " +
                     (fortran ? "True" : "False") + ", 'shape': " + shape + ", }";
  while ((10 + dict.size() + 1) % 64 != 0) dict += ' ';
  dict += '\n';
  std::vector<unsigned char> out{0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                 static_cast<unsigned char>(dict.size() & 0xff),
                                 static_cast<unsigned char>(dict.size() >> 8)};
  for (char c : dict) out.push_back(static_cast<unsigned char>(c));
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// The little-endian bytes of `values` as T.
template <class T>
std::vector<unsigned char> bytes_of(const std::vector<double>& values) {
  std::vector<unsigned char> out;
  for (double v : values) {
    const T t = static_cast<T>(v);
    const auto* p = reinterpret_cast<const unsigned char*>(&t);
    out.insert(out.end(), p, p + sizeof(T));
  }
  return out;
}

// A zip archive as np.savez (method 0) or np.savez_compressed (method 8) writes it; any
// other method is written as stored bytes under that method's number.
struct zip_entry {
  std::string name;
  std::vector<unsigned char> data;
  int method = 0;
};

std::vector<unsigned char> zip(const std::vector<zip_entry>& entries) {
  std::vector<unsigned char> out, dir;
  auto put = [](std::vector<unsigned char>& b, std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) b.push_back(static_cast<unsigned char>(v >> (8 * i)));
  };
  for (const auto& e : entries) {
    std::vector<unsigned char> packed = e.data;
    if (e.method == 8) {
      z_stream z{};
      deflateInit2(&z, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
      packed.resize(deflateBound(&z, e.data.size()));
      z.next_in = const_cast<unsigned char*>(e.data.data());
      z.avail_in = static_cast<uInt>(e.data.size());
      z.next_out = packed.data();
      z.avail_out = static_cast<uInt>(packed.size());
      deflate(&z, Z_FINISH);
      packed.resize(z.total_out);
      deflateEnd(&z);
    }
    const auto crc = crc32(0, e.data.data(), static_cast<uInt>(e.data.size()));
    const std::size_t offset = out.size();
    put(out, 0x04034b50, 4), put(out, 20, 2), put(out, 0, 2), put(out, e.method, 2);
    put(out, 0, 4), put(out, crc, 4), put(out, packed.size(), 4), put(out, e.data.size(), 4);
    put(out, e.name.size(), 2), put(out, 0, 2);
    out.insert(out.end(), e.name.begin(), e.name.end());
    out.insert(out.end(), packed.begin(), packed.end());
    put(dir, 0x02014b50, 4), put(dir, 20, 2), put(dir, 20, 2), put(dir, 0, 2);
    put(dir, e.method, 2), put(dir, 0, 4), put(dir, crc, 4), put(dir, packed.size(), 4);
    put(dir, e.data.size(), 4), put(dir, e.name.size(), 2), put(dir, 0, 2), put(dir, 0, 2);
    put(dir, 0, 2), put(dir, 0, 2), put(dir, 0, 4), put(dir, offset, 4);
    dir.insert(dir.end(), e.name.begin(), e.name.end());
  }
  const std::size_t dir_at = out.size();
  out.insert(out.end(), dir.begin(), dir.end());
  put(out, 0x06054b50, 4), put(out, 0, 2), put(out, 0, 2), put(out, entries.size(), 2);
  put(out, entries.size(), 2), put(out, dir.size(), 4), put(out, dir_at, 4), put(out, 0, 2);
  return out;
}

// small_images() as [N = 3, D = 4] row-major, and column-major (Fortran order).
const std::vector<double> pixels_c{0, 1, 2, 3, 10, 20, 30, 40, 255, 128, 64, 0};
const std::vector<double> pixels_f{0, 10, 255, 1, 20, 128, 2, 30, 64, 3, 40, 0};

TEST_F(Data, NpyFilesOfEveryDtypeAndOrderAreRead) {
  write_bytes(file("f8.npy"), npy("<f8", false, "(3, 2, 2)", bytes_of<double>(pixels_c)));
  write_bytes(file("u1.npy"), npy("|u1", false, "(3, 4)", bytes_of<std::uint8_t>(pixels_c)));
  write_bytes(file("f4f.npy"), npy("<f4", true, "(3, 4)", bytes_of<float>(pixels_f)));
  write_bytes(file("i4f.npy"), npy("<i4", true, "(3, 2, 2)", bytes_of<std::int32_t>(
                                                              {0, 10, 255, 2, 30, 64, 1, 20, 128,
                                                               3, 40, 0})));
  for (const char* name : {"f8.npy", "u1.npy", "f4f.npy", "i4f.npy"})
    EXPECT_EQ(read_images(file(name)), small_images()) << name;
  write_bytes(file("i8.npy"), npy("<i8", false, "(3,)", bytes_of<std::int64_t>({7, 0, 3})));
  EXPECT_EQ(read_labels(file("i8.npy")), (std::vector<int>{7, 0, 3}));
  EXPECT_EQ(count_examples(file("u1.npy")), 3u);
  const labeled_data part = read_labeled(file("u1.npy"), file("i8.npy"), 1, 2);
  EXPECT_EQ(part.images, small_images().middleCols(1, 2));
  EXPECT_EQ(part.labels, (std::vector<int>{0, 3}));
  expect_input_error([&] { read_labels(file("u1.npy")); }, "an images file, expected labels");
}

TEST_F(Data, NpzArchivesStoredAndDeflatedAreRead) {
  const auto images = npy("<f8", false, "(3, 4)", bytes_of<double>(pixels_c));
  const auto labels = npy("|u1", false, "(3,)", bytes_of<std::uint8_t>({7, 0, 3}));
  for (int method : {0, 8}) {
    const std::string path = file("data" + std::to_string(method) + ".npz");
    write_bytes(path, zip({{"x.npy", images, method}, {"y.npy", labels, method}}));
    EXPECT_EQ(read_images(path + ":x"), small_images()) << method;
    EXPECT_EQ(read_images(path + ":x.npy"), small_images()) << method;
    EXPECT_EQ(read_labels(path + ":y"), (std::vector<int>{7, 0, 3})) << method;
    EXPECT_EQ(count_examples(path + ":y"), 3u);
    EXPECT_EQ(read_labeled(path + ":x", path + ":y", 2, 1).labels, std::vector<int>{3});
    expect_input_error([&] { read_images(path + ":z"); }, "no array \"z\" in the archive; it holds: x, y");
    expect_input_error([&] { read_images(path); }, "an archive of 2 arrays (x, y); name one");
  }
  write_bytes(file("one.npz"), zip({{"arr_0.npy", images, 8}}));
  EXPECT_EQ(read_images(file("one.npz")), small_images());
}

TEST_F(Data, BrokenNpyAndNpzFilesAreRejected) {
  const auto f8 = bytes_of<double>(pixels_c);
  write_bytes(file("big.npy"), npy(">f8", false, "(3, 4)", f8));
  expect_input_error([&] { read_images(file("big.npy")); }, "dtype '>f8' is not read (big-endian)");
  write_bytes(file("c16.npy"), npy("<c16", false, "(3, 2)", f8));
  expect_input_error([&] { read_images(file("c16.npy")); }, "expected u1, i4, i8, f4 or f8");
  write_bytes(file("short.npy"), npy("<f8", false, "(3, 5)", f8));
  expect_input_error([&] { read_images(file("short.npy")); },
                     "truncated: the header promises 15 values (120 bytes), the file holds 96");
  write_bytes(file("long.npy"), npy("<f8", false, "(2, 4)", f8));
  expect_input_error([&] { read_images(file("long.npy")); }, "more data than the header");
  write_bytes(file("huge.npy"), npy("<f8", false, "(4294967295, 4294967295, 4294967295)", f8));
  expect_input_error([&] { read_images(file("huge.npy")); }, "more values than can exist");
  write_bytes(file("noshape.npy"), npy("<f8", false, "[3, 4]", f8));
  expect_input_error([&] { read_images(file("noshape.npy")); }, "'shape' is not a tuple");
  write_bytes(file("scalar.npy"), npy("<f8", false, "()", bytes_of<double>({1})));
  expect_input_error([&] { read_images(file("scalar.npy")); }, "0 dimensions");
  write_bytes(file("text.npy"), {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'});
  expect_input_error([&] { read_images(file("text.npy")); }, "not an .npy file");
  expect_input_error([&] { read_images(file("missing.npy")); }, "cannot open");
  fs::create_directory(file("folder.npy"));
  expect_input_error([&] { read_images(file("folder.npy")); }, "cannot open");
  auto no_order = npy("<f8", false, "(3, 4)", f8);
  no_order[30] = 'X';  // 'fortran_order' misspelt, its value the header's last text
  write_bytes(file("order.npy"), no_order);
  expect_input_error([&] { read_images(file("order.npy")); }, "the .npy header has no 'fortran_order'");

  const auto images = npy("<f8", false, "(3, 4)", f8);
  write_bytes(file("bzip2.npz"), zip({{"x.npy", images, 12}}));
  expect_input_error([&] { read_images(file("bzip2.npz")); }, "compressed with zip method 12");
  auto damaged = zip({{"x.npy", images, 0}});
  damaged[200] ^= 0xff;
  write_bytes(file("crc.npz"), damaged);
  expect_input_error([&] { read_images(file("crc.npz")); }, "fails its CRC check");
  write_bytes(file("cut.npz"), std::vector<unsigned char>(damaged.begin(), damaged.end() - 30));
  expect_input_error([&] { read_images(file("cut.npz")); }, "not a zip archive");
  write_bytes(file("fake.npz"), images);
  expect_input_error([&] { read_images(file("fake.npz") + ":x"); }, "not a zip archive");
}

TEST_F(Data, CsvFilesAreRead) {
  std::ofstream(file("images.csv")) << "p0,p1,p2,p3\n0,1,2,3\n10, 20, 30, 40\r\n255,128,64,0\n\n";
  std::ofstream(file("labels.csv")) << "7\n0\n3\n";
  EXPECT_EQ(read_images(file("images.csv")), small_images());
  EXPECT_EQ(read_labels(file("labels.csv")), (std::vector<int>{7, 0, 3}));
  EXPECT_EQ(count_examples(file("images.csv")), 3u);
  EXPECT_EQ(read_labeled(file("images.csv"), file("labels.csv"), 1, 1).images,
            small_images().middleCols(1, 1));
  std::ofstream(file("ragged.csv")) << "0,1,2,3\n10,20,30\n";
  expect_input_error([&] { read_images(file("ragged.csv")); }, "line 2 has 3 values, the first row 4");
  std::ofstream(file("words.csv")) << "0,1\n2,x\n";
  expect_input_error([&] { read_images(file("words.csv")); }, "line 2 is not a row of numbers");
  std::ofstream(file("empty.csv")) << "a,b\n";
  expect_input_error([&] { read_images(file("empty.csv")); }, "no rows of numbers");
}

}  // namespace
}  // namespace ratesim
