//===- StepFunction.h - How compiled code reaches the runtime ---*- C++ -*-===//
//
// A compiled model is one segment-step function behind a uniform calling
// convention, plus a description of its arguments. The JIT (compiler/) and an
// ahead-of-time artifact both produce a StepFunction; the runtime needs nothing
// else from the compiler, and so never links MLIR.
//
// Calling convention (MLIR's "packed" wrapper around a function compiled with
// `llvm.emit_c_interface`, after results were turned into out-parameters):
//   invoke(void **args), with args[i] pointing at the value of argument i:
//   - a scalar argument (Position, ValidLength): args[i] points at an int64_t;
//   - a tensor argument: args[i] points at a `void *` that points at a strided
//     memref descriptor laid out as MemRefDescriptor below.
//
//===----------------------------------------------------------------------===//

#ifndef INFINI_RUNTIME_STEPFUNCTION_H
#define INFINI_RUNTIME_STEPFUNCTION_H

#include "runtime/Status.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace infini::rt {

/// The machine a step's code is for: the host CPU, or an NVIDIA GPU driven
/// by host code (every tensor argument is then a device pointer).
enum class Target { Cpu, Cuda };

/// Name of `target` in manifests and flags: "cpu", "cuda".
const char *targetName(Target target);

/// Element types that cross the boundary of a compiled step (16-bit floats
/// only in prepared tensors: weights rounded for tensor cores).
enum class ElementType { F32, I32, I64, F16, BF16 };

/// What one argument of the step function carries.
enum class ArgRole {
  /// One segment of input: f32 hidden states [B, T, D] or integer token ids
  /// [B, T]. T is the model's segment length; a shorter final segment is
  /// padded (zeros or id 0) and its real length passed as ValidLength.
  Input,
  /// i64 scalar: absolute position of the segment's first token.
  Position,
  /// i64 scalar: number of real tokens in this segment, 1..T.
  ValidLength,
  /// A named model weight with a static shape (SPEC names, e.g.
  /// "layers.0.attn.q_proj.weight").
  Weight,
  /// A named memory-state tensor read by the step ("layers.0.memory"
  /// [B, H, Dh, Dh] or "layers.0.norm" [B, H, Dh]).
  StateIn,
  /// The segment's output: f32 [B, T, D] hidden states or [B, T, V] logits.
  Output,
  /// The new value of the state tensor of the same name, written by the step.
  StateOut,
  /// A tensor computed from the weights alone (packed weight panels, say)
  /// by the prepare function, once, and read by every step.
  Prepared,
  /// An output of the prepare function: the Prepared tensor of the same name.
  PreparedOut,
};

/// Marks the batch dimension in ArgSpec::shape.
constexpr int64_t kDynamicDim = -1;

/// Describes one argument of the step function, in call order.
/// Callers pass every tensor argument of a step (and of its prepare
/// function) in a buffer of its own, never one buffer for two arguments:
/// compiled code relies on it (infini::buffersMayAlias).
struct ArgSpec {
  ArgRole role;
  /// Weight or state name; "input", "position", "valid_length", "output"
  /// for the others.
  std::string name;
  ElementType elementType;
  /// Static shape; kDynamicDim marks the batch dimension. Empty for scalars.
  std::vector<int64_t> shape;
};

/// Memory of the device a step runs on, for steps whose tensor arguments
/// are not host pointers (CUDA). The Session keeps weights, prepared
/// tensors and state there, and copies only inputs in and outputs out.
class DeviceMemory {
public:
  virtual ~DeviceMemory() = default;
  /// A description for errors: "CUDA device 0 (NVIDIA H200)".
  virtual std::string name() const = 0;
  /// Allocates `bytes` of zero-filled device memory.
  virtual StatusOr<void *> allocate(size_t bytes) = 0;
  virtual void release(void *pointer) = 0;
  virtual Status upload(void *device, const void *host, size_t bytes) = 0;
  virtual Status download(void *host, const void *device, size_t bytes) = 0;
  /// Waits for the work a step call launched and reports the first error it
  /// met (compiled code cannot return one).
  virtual Status finish() = 0;
};

/// A buffer of a DeviceMemory, released when destroyed. Move-only.
class DeviceBuffer {
public:
  DeviceBuffer() = default;
  /// Allocates `bytes` of zeroed memory on `memory`.
  static StatusOr<DeviceBuffer> allocate(std::shared_ptr<DeviceMemory> memory,
                                         size_t bytes);
  DeviceBuffer(DeviceBuffer &&other) noexcept;
  DeviceBuffer &operator=(DeviceBuffer &&other) noexcept;
  DeviceBuffer(const DeviceBuffer &) = delete;
  DeviceBuffer &operator=(const DeviceBuffer &) = delete;
  ~DeviceBuffer();

  void *data() const { return pointer; }
  size_t size() const { return bytes; }
  /// Copies `size()` bytes from or to host memory.
  Status upload(const void *host) {
    return memory->upload(pointer, host, bytes);
  }
  Status download(void *host) const {
    return memory->download(host, pointer, bytes);
  }

private:
  std::shared_ptr<DeviceMemory> memory;
  void *pointer = nullptr;
  size_t bytes = 0;
};

/// The packed entry point of a compiled step.
using PackedStepFn = void (*)(void **args);

/// A compiled segment step and the description of its arguments.
struct StepFunction {
  PackedStepFn invoke = nullptr;
  std::vector<ArgSpec> args;
  /// Computes the Prepared tensors from the weights, called once before the
  /// first step (null when the step has no Prepared argument). Same calling
  /// convention; its arguments are Weight and PreparedOut tensors.
  PackedStepFn prepare = nullptr;
  std::vector<ArgSpec> prepareArgs;
  /// Where tensor arguments live; null for host memory (the CPU target).
  /// Declared before `owner`, so the code is unloaded while it still exists.
  std::shared_ptr<DeviceMemory> device;
  /// Keeps the code behind `invoke` alive (a JIT engine, a loaded library).
  std::shared_ptr<void> owner;
};

/// A strided memref descriptor of any rank, in the layout compiled code
/// expects: {allocated, aligned, offset, sizes[rank], strides[rank]}.
class MemRefDescriptor {
public:
  /// Describes a dense row-major buffer of the given shape.
  MemRefDescriptor(void *data, const std::vector<int64_t> &shape);
  /// The address to store in the packed argument slot's `void *`.
  void *get() { return fields.data(); }

private:
  std::vector<int64_t> fields;
};

} // namespace infini::rt

#endif // INFINI_RUNTIME_STEPFUNCTION_H
