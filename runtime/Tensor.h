//===- Tensor.h - Host tensors with aligned storage -------------*- C++ -*-===//
//
// The runtime's one container for array data: weights, state, segment buffers
// and arrays read from .npy/.npz files. Storage is 64-byte aligned so compiled
// code may use aligned vector loads on any buffer the runtime hands it.
//
//===----------------------------------------------------------------------===//

#ifndef INFINI_RUNTIME_TENSOR_H
#define INFINI_RUNTIME_TENSOR_H

#include "runtime/Status.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace infini::rt {

/// Element types of host tensors. F16 and BF16 appear only in stored weights;
/// F64 only in files the runtime converts on reading.
enum class DType { F32, F64, F16, BF16, I32, I64 };

/// Size in bytes of one element of `dtype`.
size_t dtypeSize(DType dtype);

/// Short lower-case name as used in weight errors: "f32", "bf16", "i64".
const char *dtypeName(DType dtype);

/// NumPy's name of `dtype`: "float32", "int64" ("bfloat16" has no NumPy
/// equivalent but is named so anyway).
const char *numpyDtypeName(DType dtype);

/// Formats a shape the way errors print it: "[2, 10, 64]", "[]" for scalars.
std::string formatShape(const std::vector<int64_t> &shape);

/// Multiplies the dimensions of `shape` into `count`. Fails on a negative
/// dimension or when the element count or its size in bytes with `itemSize`
/// would overflow, so corrupt headers cannot wrap sizes around.
bool checkedNumElements(const std::vector<int64_t> &shape, size_t itemSize,
                        int64_t &count);

/// Converts an IEEE binary16 value to float, exactly (subnormals, inf, NaN).
float halfToFloat(uint16_t bits);

/// Converts a bfloat16 value to float, exactly.
float bfloat16ToFloat(uint16_t bits);

/// A dense, row-major host tensor owning 64-byte aligned storage. Move-only:
/// copies are explicit through clone().
class Tensor {
public:
  /// A placeholder with no storage and no elements; assign a real tensor to
  /// it before use.
  Tensor() = default;
  Tensor(Tensor &&) noexcept = default;
  Tensor &operator=(Tensor &&) noexcept = default;
  Tensor(const Tensor &) = delete;
  Tensor &operator=(const Tensor &) = delete;

  /// Allocates a zero-filled tensor. Fails when the shape is invalid or the
  /// memory cannot be had.
  static StatusOr<Tensor> zeros(DType dtype, std::vector<int64_t> shape);

  /// A deep copy.
  StatusOr<Tensor> clone() const;

  DType dtype() const { return elementType; }
  const std::vector<int64_t> &shape() const { return dims; }
  int64_t rank() const { return static_cast<int64_t>(dims.size()); }
  int64_t numElements() const { return elementCount; }
  size_t byteSize() const {
    return static_cast<size_t>(elementCount) * dtypeSize(elementType);
  }
  /// Whether storage was allocated (false only for a default-built tensor).
  bool hasStorage() const { return storage != nullptr; }

  void *data() { return storage.get(); }
  const void *data() const { return storage.get(); }
  /// Typed access; the caller knows the dtype.
  template <typename T> T *dataAs() { return static_cast<T *>(data()); }
  template <typename T> const T *dataAs() const {
    return static_cast<const T *>(data());
  }

private:
  struct FreeDeleter {
    void operator()(void *ptr) const;
  };

  DType elementType = DType::F32;
  std::vector<int64_t> dims;
  int64_t elementCount = 0;
  std::unique_ptr<void, FreeDeleter> storage;
};

} // namespace infini::rt

#endif // INFINI_RUNTIME_TENSOR_H
