//===- Tensor.cpp - Host tensors with aligned storage ---------------------===//
//
// Part of the Infini runtime; see Tensor.h.
//
//===----------------------------------------------------------------------===//

#include "runtime/Tensor.h"

#include <cstdlib>
#include <cstring>
#include <limits>

using namespace infini::rt;

// Files store little-endian data that the runtime reads in place.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the runtime assumes a little-endian host");

size_t infini::rt::dtypeSize(DType dtype) {
  switch (dtype) {
  case DType::F32:
  case DType::I32:
    return 4;
  case DType::F64:
  case DType::I64:
    return 8;
  case DType::F16:
  case DType::BF16:
    return 2;
  }
  return 0;
}

const char *infini::rt::dtypeName(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return "f32";
  case DType::F64:
    return "f64";
  case DType::F16:
    return "f16";
  case DType::BF16:
    return "bf16";
  case DType::I32:
    return "i32";
  case DType::I64:
    return "i64";
  }
  return "?";
}

const char *infini::rt::numpyDtypeName(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return "float32";
  case DType::F64:
    return "float64";
  case DType::F16:
    return "float16";
  case DType::BF16:
    return "bfloat16";
  case DType::I32:
    return "int32";
  case DType::I64:
    return "int64";
  }
  return "?";
}

std::string infini::rt::formatShape(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

bool infini::rt::checkedNumElements(const std::vector<int64_t> &shape,
                                    size_t itemSize, int64_t &count) {
  // Keep byte sizes below 2^62 so offsets computed from them never overflow.
  const int64_t limit = (int64_t(1) << 62) / int64_t(itemSize ? itemSize : 1);
  int64_t product = 1;
  for (int64_t dim : shape) {
    if (dim < 0)
      return false;
    if (dim != 0 && product > limit / dim)
      return false;
    product *= dim;
  }
  count = product;
  return true;
}

float infini::rt::halfToFloat(uint16_t bits) {
  uint32_t sign = uint32_t(bits & 0x8000) << 16;
  uint32_t exponent = (bits >> 10) & 0x1f;
  uint32_t mantissa = bits & 0x3ff;
  uint32_t result;
  if (exponent == 0x1f) {
    // Inf or NaN; keep the payload.
    result = sign | 0x7f800000 | (mantissa << 13);
  } else if (exponent != 0) {
    result = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    result = sign;
  } else {
    // Subnormal half: normalize into a float exponent.
    int shift = 0;
    while (!(mantissa & 0x400)) {
      mantissa <<= 1;
      ++shift;
    }
    mantissa &= 0x3ff;
    result = sign | (uint32_t(113 - shift) << 23) | (mantissa << 13);
  }
  float value;
  std::memcpy(&value, &result, sizeof(value));
  return value;
}

float infini::rt::bfloat16ToFloat(uint16_t bits) {
  uint32_t widened = uint32_t(bits) << 16;
  float value;
  std::memcpy(&value, &widened, sizeof(value));
  return value;
}

void Tensor::FreeDeleter::operator()(void *ptr) const { std::free(ptr); }

StatusOr<Tensor> Tensor::zeros(DType dtype, std::vector<int64_t> shape) {
  int64_t count = 0;
  if (!checkedNumElements(shape, dtypeSize(dtype), count))
    return Status::error("invalid tensor shape " + formatShape(shape));
  size_t bytes = size_t(count) * dtypeSize(dtype);
  // aligned_alloc wants a multiple of the alignment, and never zero bytes so
  // that data() is non-null even for empty tensors.
  size_t rounded = (bytes + 63) / 64 * 64;
  if (rounded == 0)
    rounded = 64;
  void *memory = std::aligned_alloc(64, rounded);
  if (!memory)
    return Status::error("out of memory allocating " + std::to_string(bytes) +
                         " bytes for " + dtypeName(dtype) + " " +
                         formatShape(shape));
  std::memset(memory, 0, rounded);
  Tensor tensor;
  tensor.elementType = dtype;
  tensor.dims = std::move(shape);
  tensor.elementCount = count;
  tensor.storage.reset(memory);
  return tensor;
}

StatusOr<Tensor> Tensor::clone() const {
  StatusOr<Tensor> copy = zeros(elementType, dims);
  if (!copy)
    return copy.status();
  if (storage)
    std::memcpy(copy->data(), data(), byteSize());
  return copy;
}
