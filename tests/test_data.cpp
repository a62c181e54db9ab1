// Data readers: IDX (plain and gzip) and HDF5 round trips, hand-made IDX bytes, and every
// kind of broken file rejected with a clear error.

#include <ratesim/data.hpp>
#include <ratesim/error.hpp>

#include "detail/hdf5.hpp"
#include "scratch.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

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

}  // namespace
}  // namespace ratesim
