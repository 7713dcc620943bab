//===- NpyTest.cpp - Tests of .npy reading and writing --------------------===//

#include "runtime/Npy.h"

#include "TestUtil.h"

using namespace infini::rt;
using namespace infini::rt::test;
using ::testing::HasSubstr;

namespace {
/// An .npy file with the given version and header dict, padded as NumPy
/// does, followed by `data`.
std::string makeNpy(const std::string &dict, const std::string &data,
                    int major = 1) {
  size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  while ((prefix + header.size() + 1) % 64)
    header += ' ';
  header += '\n';
  std::string file = "\x93NUMPY";
  file += char(major);
  file += char(0);
  for (size_t i = 0; i < prefix - 8; ++i)
    file += char((header.size() >> (8 * i)) & 0xff);
  return file + header + data;
}

std::string dictFor(const std::string &descr, const std::string &shape,
                    const std::string &fortran = "False") {
  return "{'descr': '" + descr + "', 'fortran_order': " + fortran +
         ", 'shape': " + shape + ", }";
}

class NpyTest : public ::testing::Test {
protected:
  /// The error reading `bytes` as x.npy gives, or "" if it reads.
  std::string readError(const std::string &bytes) {
    writeFile(path, bytes);
    StatusOr<Tensor> tensor = readNpy(path);
    return tensor ? "" : tensor.status().message();
  }

  TempDir dir;
  std::string path = dir.path("x.npy");
};

template <typename T>
void expectRoundTrip(const TempDir &dir, DType dtype,
                     std::vector<int64_t> shape) {
  StatusOr<Tensor> tensor = Tensor::zeros(dtype, shape);
  ASSERT_TRUE(tensor);
  for (int64_t i = 0; i < tensor->numElements(); ++i)
    tensor->dataAs<T>()[i] = T(i * 3 - 7);
  std::string path = dir.path("round.npy");
  ASSERT_TRUE(writeNpy(path, *tensor));
  // NumPy aligns the data to 64 bytes; so do we.
  EXPECT_EQ((readFile(path).size() - tensor->byteSize()) % 64, 0u);
  StatusOr<Tensor> back = readNpy(path);
  ASSERT_TRUE(back) << back.status().message();
  EXPECT_EQ(back->dtype(), dtype);
  EXPECT_EQ(back->shape(), shape);
  for (int64_t i = 0; i < tensor->numElements(); ++i)
    ASSERT_EQ(back->dataAs<T>()[i], tensor->dataAs<T>()[i]);
}
} // namespace

TEST_F(NpyTest, RoundTrips) {
  expectRoundTrip<float>(dir, DType::F32, {2, 3, 4});
  expectRoundTrip<double>(dir, DType::F64, {5});
  expectRoundTrip<int32_t>(dir, DType::I32, {3, 1});
  expectRoundTrip<int64_t>(dir, DType::I64, {});
  expectRoundTrip<float>(dir, DType::F32, {0, 3});
  EXPECT_EQ(dir.list(), std::vector<std::string>{"round.npy"});
}

TEST_F(NpyTest, HeaderLooksLikeNumpy) {
  std::string header = buildNpyHeader(DType::F32, {2, 10, 64});
  EXPECT_EQ(header.size(), 128u);
  EXPECT_EQ(header.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  EXPECT_EQ(header.substr(10, 64),
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 10, 64), "
            "}");
  EXPECT_EQ(header.back(), '\n');
  EXPECT_THAT(buildNpyHeader(DType::I64, {7}), HasSubstr("'shape': (7,), }"));
  EXPECT_THAT(buildNpyHeader(DType::I64, {}), HasSubstr("'shape': (), }"));
}

TEST_F(NpyTest, ReadsRanges) {
  std::vector<float> values(24);
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = float(i);
  writeFile(path, makeNpy(dictFor("<f4", "(2, 3, 4)"), bytesOf(values)));
  StatusOr<NpyReader> reader = NpyReader::open(path);
  ASSERT_TRUE(reader) << reader.status().message();
  EXPECT_EQ(reader->dtype(), DType::F32);
  EXPECT_EQ(reader->shape(), (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(reader->numElements(), 24);
  float chunk[5];
  ASSERT_TRUE(reader->read(13, 5, chunk));
  EXPECT_EQ(chunk[0], 13.0f);
  EXPECT_EQ(chunk[4], 17.0f);
  Status outside = reader->read(20, 5, chunk);
  ASSERT_FALSE(outside);
  EXPECT_EQ(outside.message(),
            path + ": element range [20, 25) is outside the array of 24 "
                   "elements");
  EXPECT_FALSE(reader->read(-1, 1, chunk));
}

TEST_F(NpyTest, AcceptsVersionsAndSpellings) {
  std::string data = bytesOf<int32_t>({1, 2});
  EXPECT_EQ(readError(makeNpy(dictFor("<i4", "(2,)"), data, 2)), "");
  EXPECT_EQ(readError(makeNpy(dictFor("<i4", "(2,)"), data, 3)), "");
  // Python 2 long literals, key order, double quotes, no trailing comma.
  EXPECT_EQ(readError(makeNpy("{\"shape\": (2L,), 'fortran_order': False, "
                              "'descr': '<i4'}",
                              data)),
            "");
  StatusOr<Tensor> tensor = readNpy(path);
  ASSERT_TRUE(tensor);
  EXPECT_EQ(tensor->dataAs<int32_t>()[1], 2);
  EXPECT_EQ(readError(makeNpy(dictFor("<f8", "()"), bytesOf<double>({2.5}))),
            "");
  // Trailing bytes after the data are tolerated.
  EXPECT_EQ(readError(makeNpy(dictFor("<i4", "(2,)"), data + "xx")), "");
}

TEST_F(NpyTest, RejectsUnsupportedLayouts) {
  std::string data(64, '\0');
  EXPECT_EQ(readError(makeNpy(dictFor("<f4", "(2,)", "True"), data)),
            path + ": fortran_order arrays are not supported (save a "
                   "C-contiguous array, e.g. np.ascontiguousarray)");
  EXPECT_EQ(readError(makeNpy(dictFor(">f4", "(2,)"), data)),
            path + ": big-endian dtype '>f4' is not supported (save with "
                   "astype('<f4'))");
  EXPECT_EQ(readError(makeNpy(dictFor("|f4", "(2,)"), data)),
            path + ": dtype '|f4' has no byte order but is wider than one "
                   "byte");
  EXPECT_EQ(readError(makeNpy(dictFor("|u1", "(2,)"), data)),
            path + ": unsupported dtype '|u1' (expected '<f4', '<f8', '<i4' "
                   "or '<i8')");
  EXPECT_EQ(readError(makeNpy(dictFor("<u4", "(2,)"), data)),
            path + ": unsupported dtype '<u4' (expected '<f4', '<f8', '<i4' "
                   "or '<i8')");
  EXPECT_EQ(readError(makeNpy("{'descr': [('a', '<f4')], 'fortran_order': "
                              "False, 'shape': (2,), }",
                              data)),
            path + ": structured dtypes are not supported");
}

TEST_F(NpyTest, RejectsMalformedHeaders) {
  std::string data(64, '\0');
  EXPECT_EQ(readError("\x93NUMP"), path + ": not an .npy file (only 5 bytes)");
  EXPECT_EQ(readError("NOTANPYFILEATALL"),
            path + ": not an .npy file (bad magic bytes)");
  EXPECT_EQ(readError(std::string("\x93NUMPY\x04\x00\x00\x00\x00\x00", 12)),
            path + ": unsupported .npy format version 4.0");
  EXPECT_EQ(readError(std::string("\x93NUMPY\x01\x00\xff\x7f{}", 12)),
            path + ": .npy header length 32767 runs past the end of the file");
  EXPECT_EQ(readError(std::string("\x93NUMPY\x02\x00\xff\xff\xff\xff", 12)),
            path + ": .npy header length 4294967295 runs past the end of the "
                   "file");
  EXPECT_EQ(readError(makeNpy("{'descr': '<f4', 'shape': (2,), }", data)),
            path + ": malformed .npy header: missing 'fortran_order'");
  EXPECT_EQ(readError(makeNpy("{'descr': '<f4', 'fortran_order': False, "
                              "'shape': (2,), 'extra': 1}",
                              data)),
            path + ": malformed .npy header: unexpected keys besides "
                   "'descr', 'fortran_order', 'shape'");
  EXPECT_EQ(readError(makeNpy(dictFor("<f4", "(-2,)"), data)),
            path + ": malformed .npy header: 'shape' entries must be "
                   "non-negative integers");
  EXPECT_EQ(readError(makeNpy(dictFor("<f4", "7"), data)),
            path + ": malformed .npy header: 'shape' is not a tuple");
  EXPECT_EQ(readError(makeNpy(dictFor("<f4", "(2,)", "1"), data)),
            path + ": malformed .npy header: 'fortran_order' is not a "
                   "boolean");
  EXPECT_EQ(readError(makeNpy("{'descr': '<f4', 'fortran_order': False, "
                              "'shape': (2,)",
                              data)),
            path + ": malformed .npy header: expected ',' or '}'");
  EXPECT_EQ(readError(makeNpy("{'descr: '<f4'}", data)),
            path + ": malformed .npy header: expected ':' after 'descr: '");
  EXPECT_EQ(readError(makeNpy("{'descr': <f4}", data)),
            path + ": malformed .npy header: unexpected character '<'");
  EXPECT_EQ(readError(makeNpy(dictFor("<f4", "(99999999999999999999,)"), data)),
            path + ": malformed .npy header: integer too large");
  EXPECT_EQ(readError(makeNpy(dictFor("<f4", "(" + std::string(40, '(') + ")"),
                              data)),
            path + ": malformed .npy header: literal nested too deeply");
  EXPECT_THAT(
      readError(makeNpy(dictFor("<f4", "(4611686018427387904, 4)"), data)),
      HasSubstr("is too large"));
}

TEST_F(NpyTest, RejectsTruncatedData) {
  EXPECT_EQ(readError(makeNpy(dictFor("<f4", "(2, 10, 64)"), "abcd")),
            path + ": truncated: header declares float32 [2, 10, 64] (5120 "
                   "bytes of data) but only 4 bytes follow");
  std::string valid =
      makeNpy(dictFor("<i8", "(3,)"), bytesOf<int64_t>({1, 2, 3}));
  for (size_t length = 0; length < valid.size(); ++length)
    EXPECT_NE(readError(valid.substr(0, length)), "") << length;
}

TEST_F(NpyTest, ByteFlipsNeverCrash) {
  std::string valid =
      makeNpy(dictFor("<i8", "(3,)"), bytesOf<int64_t>({1, 2, 3}));
  for (size_t i = 0; i < valid.size(); ++i) {
    std::string corrupt = valid;
    corrupt[i] = char(corrupt[i] ^ 0x21);
    (void)readError(corrupt);
  }
}

TEST_F(NpyTest, MissingFileAndDirectory) {
  EXPECT_EQ(readError(""), path + ": not an .npy file (only 0 bytes)");
  StatusOr<Tensor> missing = readNpy(dir.path("absent.npy"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.status().message(),
            dir.path("absent.npy") +
                ": cannot open: No such file or directory");
  StatusOr<Tensor> directory = readNpy(dir.path(""));
  ASSERT_FALSE(directory);
  EXPECT_THAT(directory.status().message(), HasSubstr("not a regular file"));
}

TEST_F(NpyTest, WriterStreamsRangesAndCommits) {
  std::string out = dir.path("out.npy");
  {
    StatusOr<NpyWriter> writer = NpyWriter::create(out, DType::F32, {2, 5});
    ASSERT_TRUE(writer) << writer.status().message();
    // Nothing is visible at the destination before commit.
    EXPECT_FALSE(fileExists(out));
    std::vector<float> tail = {5, 6, 7, 8, 9};
    std::vector<float> head = {0, 1, 2};
    ASSERT_TRUE(writer->write(5, 5, tail.data()));
    ASSERT_TRUE(writer->write(0, 3, head.data()));
    Status outside = writer->write(8, 3, tail.data());
    ASSERT_FALSE(outside);
    EXPECT_THAT(outside.message(), HasSubstr("element range [8, 11)"));
    ASSERT_TRUE(writer->commit());
  }
  EXPECT_EQ(dir.list(), std::vector<std::string>{"out.npy"});
  StatusOr<Tensor> back = readNpy(out);
  ASSERT_TRUE(back);
  const float expected[] = {0, 1, 2, 0, 0, 5, 6, 7, 8, 9};
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(back->dataAs<float>()[i], expected[i]) << i;
}

TEST_F(NpyTest, UncommittedWriterLeavesNothing) {
  std::string out = dir.path("out.npy");
  writeFile(out, "previous");
  {
    StatusOr<NpyWriter> writer = NpyWriter::create(out, DType::F32, {4});
    ASSERT_TRUE(writer);
    float value = 1;
    ASSERT_TRUE(writer->write(0, 1, &value));
    EXPECT_EQ(dir.list().size(), 2u);
  }
  // The old file is untouched and the temporary file is gone.
  EXPECT_EQ(dir.list(), std::vector<std::string>{"out.npy"});
  EXPECT_EQ(readFile(out), "previous");
}

TEST_F(NpyTest, WriterErrors) {
  StatusOr<NpyWriter> noDir =
      NpyWriter::create(dir.path("missing/out.npy"), DType::F32, {4});
  ASSERT_FALSE(noDir);
  EXPECT_EQ(noDir.status().message(),
            dir.path("missing/out.npy") +
                ": cannot create: No such file or directory");
  StatusOr<NpyWriter> onDir = NpyWriter::create(dir.path(""), DType::F32, {4});
  ASSERT_FALSE(onDir);
  EXPECT_EQ(onDir.status().message(), dir.path("") + ": is a directory");
  StatusOr<Tensor> bf16 = Tensor::zeros(DType::BF16, {2});
  ASSERT_TRUE(bf16);
  Status status = writeNpy(dir.path("b.npy"), *bf16);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.message(),
            dir.path("b.npy") + ": bfloat16 has no .npy dtype");
  EXPECT_TRUE(dir.list().empty());
}
