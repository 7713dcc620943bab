//===- TensorTest.cpp - Tests of host tensors and dtype helpers -----------===//

#include "runtime/Tensor.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include <cmath>
#include <limits>

using namespace infini::rt;

TEST(TensorTest, ZerosIsAlignedAndZeroed) {
  StatusOr<Tensor> tensor = Tensor::zeros(DType::F32, {2, 10, 64});
  ASSERT_TRUE(tensor) << tensor.status().message();
  EXPECT_EQ(tensor->numElements(), 1280);
  EXPECT_EQ(tensor->byteSize(), 1280u * 4);
  EXPECT_EQ(tensor->rank(), 3);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(tensor->data()) % 64, 0u);
  for (int64_t i = 0; i < tensor->numElements(); ++i)
    ASSERT_EQ(tensor->dataAs<float>()[i], 0.0f);
}

TEST(TensorTest, ScalarAndEmptyTensors) {
  StatusOr<Tensor> scalar = Tensor::zeros(DType::I64, {});
  ASSERT_TRUE(scalar);
  EXPECT_EQ(scalar->numElements(), 1);
  EXPECT_EQ(scalar->byteSize(), 8u);
  StatusOr<Tensor> empty = Tensor::zeros(DType::F32, {0, 3});
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->numElements(), 0);
  EXPECT_NE(empty->data(), nullptr);
}

TEST(TensorTest, RejectsInvalidShapes) {
  EXPECT_FALSE(Tensor::zeros(DType::F32, {-1, 2}));
  StatusOr<Tensor> huge =
      Tensor::zeros(DType::F32, {int64_t(1) << 40, int64_t(1) << 40});
  ASSERT_FALSE(huge);
  EXPECT_EQ(huge.status().message(),
            "invalid tensor shape [1099511627776, 1099511627776]");
}

TEST(TensorTest, CloneCopies) {
  StatusOr<Tensor> tensor = Tensor::zeros(DType::I32, {3});
  ASSERT_TRUE(tensor);
  tensor->dataAs<int32_t>()[1] = 7;
  StatusOr<Tensor> copy = tensor->clone();
  ASSERT_TRUE(copy);
  tensor->dataAs<int32_t>()[1] = 8;
  EXPECT_EQ(copy->dataAs<int32_t>()[1], 7);
  EXPECT_EQ(copy->shape(), std::vector<int64_t>{3});
}

TEST(TensorTest, Names) {
  EXPECT_EQ(formatShape({2, 10, 64}), "[2, 10, 64]");
  EXPECT_EQ(formatShape({}), "[]");
  EXPECT_EQ(formatShape({5}), "[5]");
  EXPECT_STREQ(dtypeName(DType::BF16), "bf16");
  EXPECT_STREQ(numpyDtypeName(DType::I64), "int64");
  EXPECT_EQ(dtypeSize(DType::F16), 2u);
  EXPECT_EQ(dtypeSize(DType::F64), 8u);
}

TEST(TensorTest, HalfToFloat) {
  EXPECT_EQ(halfToFloat(0x3c00), 1.0f);
  EXPECT_EQ(halfToFloat(0xc000), -2.0f);
  EXPECT_EQ(halfToFloat(0x3555), 0.333251953125f);
  EXPECT_EQ(halfToFloat(0x7bff), 65504.0f);
  // Smallest and largest subnormals, smallest normal.
  EXPECT_EQ(halfToFloat(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(halfToFloat(0x03ff), 1023 * std::ldexp(1.0f, -24));
  EXPECT_EQ(halfToFloat(0x0400), std::ldexp(1.0f, -14));
  EXPECT_EQ(halfToFloat(0x8001), -std::ldexp(1.0f, -24));
  EXPECT_EQ(halfToFloat(0x0000), 0.0f);
  EXPECT_TRUE(std::signbit(halfToFloat(0x8000)));
  EXPECT_EQ(halfToFloat(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(halfToFloat(0xfc00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(halfToFloat(0x7e00)));
}

TEST(TensorTest, BFloat16ToFloat) {
  EXPECT_EQ(bfloat16ToFloat(0x3f80), 1.0f);
  EXPECT_EQ(bfloat16ToFloat(0xc040), -3.0f);
  EXPECT_EQ(bfloat16ToFloat(0x3eab), 0.333984375f);
  EXPECT_EQ(bfloat16ToFloat(0x7f80), std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(bfloat16ToFloat(0x7fc0)));
}
