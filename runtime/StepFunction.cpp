//===- StepFunction.cpp - How compiled code reaches the runtime -----------===//
//
// Part of the Infini runtime; see StepFunction.h.
//
//===----------------------------------------------------------------------===//

#include "runtime/StepFunction.h"

#include <cstdint>

using namespace infini::rt;

// The descriptor stores pointers in int64_t fields, as MLIR lays them out on
// 64-bit targets.
static_assert(sizeof(void *) == sizeof(int64_t),
              "memref descriptors assume 64-bit pointers");

MemRefDescriptor::MemRefDescriptor(void *data,
                                   const std::vector<int64_t> &shape) {
  size_t rank = shape.size();
  fields.resize(3 + 2 * rank);
  int64_t address = int64_t(reinterpret_cast<intptr_t>(data));
  fields[0] = address; // allocated
  fields[1] = address; // aligned
  fields[2] = 0;       // offset
  int64_t stride = 1;
  for (size_t i = rank; i-- > 0;) {
    fields[3 + i] = shape[i];
    fields[3 + rank + i] = stride;
    stride *= shape[i];
  }
}
