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

const char *infini::rt::targetName(Target target) {
  return target == Target::Cuda ? "cuda" : "cpu";
}

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

StatusOr<DeviceBuffer>
DeviceBuffer::allocate(std::shared_ptr<DeviceMemory> memory, size_t bytes) {
  StatusOr<void *> pointer = memory->allocate(bytes);
  if (!pointer)
    return pointer.status();
  DeviceBuffer buffer;
  buffer.memory = std::move(memory);
  buffer.pointer = *pointer;
  buffer.bytes = bytes;
  return buffer;
}

DeviceBuffer::DeviceBuffer(DeviceBuffer &&other) noexcept
    : memory(std::move(other.memory)), pointer(other.pointer),
      bytes(other.bytes) {
  other.pointer = nullptr;
  other.bytes = 0;
}

DeviceBuffer &DeviceBuffer::operator=(DeviceBuffer &&other) noexcept {
  if (this != &other) {
    if (pointer)
      memory->release(pointer);
    memory = std::move(other.memory);
    pointer = other.pointer;
    bytes = other.bytes;
    other.pointer = nullptr;
    other.bytes = 0;
  }
  return *this;
}

DeviceBuffer::~DeviceBuffer() {
  if (pointer)
    memory->release(pointer);
}
