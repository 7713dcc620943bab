//===- SafetensorsTest.cpp - Tests of the safetensors reader --------------===//

#include "runtime/Safetensors.h"

#include "TestUtil.h"

using namespace infini::rt;
using namespace infini::rt::test;
using ::testing::HasSubstr;

namespace {
class SafetensorsTest : public ::testing::Test {
protected:
  /// Writes `bytes` as model.safetensors and opens it.
  StatusOr<WeightFile> openBytes(const std::string &bytes) {
    writeFile(path, bytes);
    return WeightFile::open(path);
  }
  /// The error opening `bytes` gives, or "" if it opens.
  std::string openError(const std::string &bytes) {
    StatusOr<WeightFile> file = openBytes(bytes);
    return file ? "" : file.status().message();
  }

  TempDir dir;
  std::string path = dir.path("model.safetensors");
};

std::string validFile() {
  return makeSafetensors(
      {{"a.weight", "F32", {2, 2}, bytesOf<float>({1, 2, 3, 4})},
       {"b.half", "F16", {3}, bytesOf<uint16_t>({0x3c00, 0xc000, 0x3555})},
       {"c.bf16", "BF16", {2}, bytesOf<uint16_t>({0x3f80, 0xc040})},
       {"d.ids", "I64", {2}, bytesOf<int64_t>({5, -6})},
       {"e.bytes", "U8", {3}, "xyz"}},
      R"({"format":"pt"})");
}
} // namespace

TEST_F(SafetensorsTest, OpensValidFile) {
  StatusOr<WeightFile> file = openBytes(validFile());
  ASSERT_TRUE(file) << file.status().message();
  EXPECT_EQ(file->names(),
            (std::vector<std::string>{"a.weight", "b.half", "c.bf16", "d.ids",
                                      "e.bytes"}));
  const WeightInfo *info = file->find("a.weight");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->dtype, DType::F32);
  EXPECT_EQ(info->shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(file->find("__metadata__"), nullptr);
  EXPECT_EQ(file->find("nope"), nullptr);

  StatusOr<Tensor> a = file->loadAsF32("a.weight");
  ASSERT_TRUE(a) << a.status().message();
  EXPECT_EQ(a->dataAs<float>()[3], 4.0f);

  StatusOr<Tensor> ids = file->load("d.ids");
  ASSERT_TRUE(ids);
  EXPECT_EQ(ids->dtype(), DType::I64);
  EXPECT_EQ(ids->dataAs<int64_t>()[1], -6);
}

TEST_F(SafetensorsTest, ConvertsHalfAndBFloat16) {
  StatusOr<WeightFile> file = openBytes(validFile());
  ASSERT_TRUE(file);
  StatusOr<Tensor> half = file->loadAsF32("b.half");
  ASSERT_TRUE(half) << half.status().message();
  EXPECT_EQ(half->dtype(), DType::F32);
  EXPECT_EQ(half->dataAs<float>()[0], 1.0f);
  EXPECT_EQ(half->dataAs<float>()[1], -2.0f);
  EXPECT_EQ(half->dataAs<float>()[2], 0.333251953125f);
  StatusOr<Tensor> bf16 = file->loadAsF32("c.bf16");
  ASSERT_TRUE(bf16);
  EXPECT_EQ(bf16->dataAs<float>()[0], 1.0f);
  EXPECT_EQ(bf16->dataAs<float>()[1], -3.0f);
}

TEST_F(SafetensorsTest, ConvertsLargeHalfTensorInChunks) {
  std::vector<uint16_t> bits(200000);
  for (size_t i = 0; i < bits.size(); ++i)
    bits[i] = uint16_t(0x3c00 + (i % 1024));
  StatusOr<WeightFile> file =
      openBytes(makeSafetensors({{"big", "F16", {200, 1000}, bytesOf(bits)}}));
  ASSERT_TRUE(file);
  StatusOr<Tensor> big = file->loadAsF32("big");
  ASSERT_TRUE(big);
  for (size_t i = 0; i < bits.size(); i += 997)
    ASSERT_EQ(big->dataAs<float>()[i], halfToFloat(bits[i])) << i;
}

TEST_F(SafetensorsTest, LoadErrors) {
  StatusOr<WeightFile> file = openBytes(validFile());
  ASSERT_TRUE(file);
  StatusOr<Tensor> missing = file->loadAsF32("x");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.status().message(), path + ": missing tensor 'x'");
  StatusOr<Tensor> ints = file->loadAsF32("d.ids");
  ASSERT_FALSE(ints);
  EXPECT_EQ(ints.status().message(),
            path + ": tensor 'd.ids' has dtype I64, expected F32, F16 or BF16");
  StatusOr<Tensor> bytes = file->load("e.bytes");
  ASSERT_FALSE(bytes);
  EXPECT_THAT(bytes.status().message(), HasSubstr("U8"));
}

TEST_F(SafetensorsTest, EmptyHeaderAndEmptyTensor) {
  StatusOr<WeightFile> empty = openBytes(makeSafetensorsRaw("{}", ""));
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->names().empty());
  StatusOr<WeightFile> zero =
      openBytes(makeSafetensors({{"z", "F32", {0, 4}, ""}}));
  ASSERT_TRUE(zero) << zero.status().message();
  StatusOr<Tensor> tensor = zero->loadAsF32("z");
  ASSERT_TRUE(tensor);
  EXPECT_EQ(tensor->numElements(), 0);
}

TEST_F(SafetensorsTest, MissingFile) {
  StatusOr<WeightFile> file = WeightFile::open(dir.path("absent.safetensors"));
  ASSERT_FALSE(file);
  EXPECT_EQ(file.status().message(),
            dir.path("absent.safetensors") +
                ": cannot open: No such file or directory");
}

TEST_F(SafetensorsTest, TooShort) {
  EXPECT_EQ(openError("abc"),
            path + ": not a safetensors file: 3 bytes, shorter than the "
                   "8-byte header length");
}

TEST_F(SafetensorsTest, HeaderLengthPastEof) {
  std::string bytes = makeSafetensorsRaw("{}", "");
  bytes[0] = char(100);
  EXPECT_EQ(openError(bytes), path + ": header length 100 runs past the end "
                                     "of the file (10 bytes)");
  // A length near 2^64 must not wrap around.
  std::string huge = bytes;
  for (int i = 0; i < 8; ++i)
    huge[size_t(i)] = char(0xff);
  EXPECT_THAT(openError(huge), HasSubstr("runs past the end of the file"));
}

TEST_F(SafetensorsTest, BadJson) {
  EXPECT_EQ(openError(makeSafetensorsRaw("{\"a\": ", "")),
            path + ": header is not valid JSON");
  EXPECT_EQ(openError(makeSafetensorsRaw("[1, 2]", "")),
            path + ": header is not a JSON object");
  EXPECT_EQ(openError(makeSafetensorsRaw("{\"a\": 3}", "")),
            path + ": tensor 'a': entry is not a JSON object");
}

TEST_F(SafetensorsTest, BadEntries) {
  auto entry = [](const std::string &body) {
    return makeSafetensorsRaw("{\"t\": {" + body + "}}", std::string(16, 'x'));
  };
  EXPECT_EQ(openError(entry(R"("shape":[2],"data_offsets":[0,8])")),
            path + ": tensor 't': missing string 'dtype'");
  EXPECT_EQ(
      openError(entry(R"("dtype":"F99","shape":[2],"data_offsets":[0,8])")),
      path + ": tensor 't': unknown dtype 'F99'");
  EXPECT_EQ(openError(entry(R"("dtype":"F32","data_offsets":[0,8])")),
            path + ": tensor 't': missing array 'shape'");
  EXPECT_EQ(
      openError(entry(R"("dtype":"F32","shape":[-2],"data_offsets":[0,8])")),
      path + ": tensor 't': shape entries must be non-negative integers");
  EXPECT_EQ(
      openError(entry(R"("dtype":"F32","shape":[2.5],"data_offsets":[0,8])")),
      path + ": tensor 't': shape entries must be non-negative integers");
  EXPECT_EQ(openError(entry(R"("dtype":"F32","shape":[2],"data_offsets":[0])")),
            path + ": tensor 't': missing 'data_offsets' [begin, end]");
  EXPECT_EQ(
      openError(entry(R"("dtype":"F32","shape":[2],"data_offsets":[8,0])")),
      path + ": tensor 't': data_offsets [8, 0] are reversed");
}

TEST_F(SafetensorsTest, OffsetsOutOfRange) {
  std::string bytes = makeSafetensorsRaw(
      R"({"t":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})",
      std::string(16, 'x'));
  EXPECT_EQ(openError(bytes), path + ": tensor 't': data_offsets [8, 24] run "
                                     "past the data section (16 bytes)");
  std::string huge = makeSafetensorsRaw(
      R"({"t":{"dtype":"F32","shape":[4],"data_offsets":[0,18446744073709551615]}})",
      std::string(16, 'x'));
  EXPECT_EQ(openError(huge),
            path + ": tensor 't': data_offsets must be non-negative integers");
}

TEST_F(SafetensorsTest, ShapeOffsetMismatch) {
  std::string bytes = makeSafetensorsRaw(
      R"({"t":{"dtype":"F32","shape":[2,3],"data_offsets":[0,16]}})",
      std::string(16, 'x'));
  EXPECT_EQ(openError(bytes), path + ": tensor 't': F32 [2, 3] needs 24 bytes "
                                     "but data_offsets span 16");
  std::string overflow = makeSafetensorsRaw(
      R"({"t":{"dtype":"F32","shape":[4611686018427387903,4],"data_offsets":[0,16]}})",
      std::string(16, 'x'));
  EXPECT_THAT(openError(overflow), HasSubstr("is too large"));
}

TEST_F(SafetensorsTest, EveryTruncationFailsCleanly) {
  std::string bytes = validFile();
  for (size_t length = 0; length < bytes.size(); ++length)
    EXPECT_FALSE(openBytes(bytes.substr(0, length))) << "length " << length;
}

TEST_F(SafetensorsTest, ByteFlipsNeverCrash) {
  std::string bytes = validFile();
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string corrupt = bytes;
    corrupt[i] = char(corrupt[i] ^ 0x5a);
    StatusOr<WeightFile> file = openBytes(corrupt);
    if (!file)
      continue;
    // Whatever still validates must load within bounds.
    for (const std::string &name : file->names())
      (void)file->load(name).isOk();
  }
}
