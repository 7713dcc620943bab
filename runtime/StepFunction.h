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

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace infini::rt {

/// Element types that cross the boundary of a compiled step.
enum class ElementType { F32, I32, I64 };

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
struct ArgSpec {
  ArgRole role;
  /// Weight or state name; "input", "position", "valid_length", "output"
  /// for the others.
  std::string name;
  ElementType elementType;
  /// Static shape; kDynamicDim marks the batch dimension. Empty for scalars.
  std::vector<int64_t> shape;
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
