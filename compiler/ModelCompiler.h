//===- ModelCompiler.h - From a model file to a runnable step ---*- C++ -*-===//
//
// The compiler side of infini-run: load a model (.json config or .mlir),
// describe its step function's arguments for the runtime, lower it through
// the infini-to-cpu stages (optionally dumping the IR of every stage), and
// JIT-compile it into a runtime::StepFunction.
//
//===----------------------------------------------------------------------===//

#ifndef INFINI_COMPILER_MODELCOMPILER_H
#define INFINI_COMPILER_MODELCOMPILER_H

#include "runtime/StepFunction.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Target/TargetMachine.h"

#include <string>
#include <vector>

namespace infini {

/// How to compile a model.
struct CompileOptions {
  /// The host CPU, or an NVIDIA GPU: kernels for `chip` launched by host code.
  rt::Target target = rt::Target::Cpu;
  std::string chip = "sm_80";
  /// Tile and vectorize matrix products (the `vectorize` pipeline option).
  bool vectorize = true;
  /// Fused online-softmax attention (`fuse-attention` option).
  bool fuseAttention = true;
  /// SwiGLU's gate and up projections as one product (`fuse-swiglu`; CPU).
  bool fuseSwiGLU = true;
  /// RoPE in the Q/K projections' epilogue (`fuse-rope`; CPU).
  bool fuseRope = true;
  /// Run blocks of matrix products on OpenMP threads (`parallel` option).
  bool parallel = true;
  /// CUDA: matrix products on tensor cores, "none", "f16" or "bf16" (the
  /// `tensor-cores` option of infini-to-gpu).
  std::string tensorCores = "none";
  /// CUDA: run the kernels on the host instead (infini-emulate-gpu), a
  /// test aid for machines without a GPU; the result is CPU code.
  bool emulateGPU = false;
  /// When set, the IR of every stage is written into this folder.
  std::string dumpDirectory;
};

/// Wall-clock seconds spent in each phase of a compile.
struct CompileTimings {
  double lowering = 0;
  double jit = 0;
};

/// Loads `path`: a SPEC config (.json) is imported, an .mlir file parsed and
/// verified. Errors name the file.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
loadModel(llvm::StringRef path, mlir::MLIRContext &context);

/// Finds the step function (the one function with an `infini.input`
/// argument) and describes its arguments, then its results (which lowering
/// turns into trailing out-parameters), in call order.
llvm::Expected<std::vector<rt::ArgSpec>> describeStep(mlir::ModuleOp module,
                                                      llvm::StringRef filename);

/// Lowers `module` in place through the infini-to-cpu stages, calling
/// `afterLinalg` (when given) on the module after the linalg stage.
llvm::Error lowerToLLVMDialect(
    mlir::ModuleOp module, const CompileOptions &options,
    llvm::function_ref<llvm::Error(mlir::ModuleOp)> afterLinalg = nullptr);

/// A step lowered to the LLVM dialect, with the description of its entry
/// points as the runtime will call them.
struct LoweredStep {
  /// Packed entry points (`_mlir_ciface_<name>`); prepareSymbol is empty
  /// when the step reads no prepared tensors.
  std::string stepSymbol;
  std::string prepareSymbol;
  std::vector<rt::ArgSpec> stepArgs;
  std::vector<rt::ArgSpec> prepareArgs;
};

/// Describes the step of `module` and lowers the module in place to the LLVM
/// dialect. Errors name `filename`. Sets `timings->lowering` when given.
llvm::Expected<LoweredStep> lowerStep(mlir::ModuleOp module,
                                      llvm::StringRef filename,
                                      const CompileOptions &options,
                                      CompileTimings *timings = nullptr);

/// A target machine for this host's CPU, or for `cpu` (an LLVM CPU name such
/// as "x86-64-v3") unless it is empty or "host". Shared libraries need
/// `positionIndependent`.
llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
createHostTargetMachine(llvm::StringRef cpu, bool positionIndependent);

/// Gives every definition of `llvmModule` except its entry points (the
/// packed `_mlir_*` wrappers) internal linkage, then runs LLVM's -O2 pipeline
/// for `machine` on it and writes it to `dumpDirectory`/4-optimized.ll when a
/// directory is given.
llvm::Error optimizeLLVMModule(llvm::Module &llvmModule,
                               llvm::TargetMachine *machine,
                               llvm::StringRef dumpDirectory);

/// Emits `llvmModule` as an object file for `machine` into `output`.
llvm::Error emitObjectCode(llvm::Module &llvmModule,
                           llvm::TargetMachine &machine,
                           llvm::raw_pwrite_stream &output);

/// Translates `module`, lowered by lowerStep, to LLVM IR for `machine` in
/// `context`, with packed wrappers (`void _mlir_<name>(void **args)`, the
/// convention of StepFunction.h) around the step and prepare functions,
/// whose names replace the symbols in `lowered`.
llvm::Expected<std::unique_ptr<llvm::Module>>
translateForMachine(mlir::ModuleOp module, llvm::StringRef filename,
                    LoweredStep &lowered, llvm::TargetMachine &machine,
                    llvm::LLVMContext &context);

/// Describes, lowers and JIT-compiles the step function of `module`: LLVM
/// optimizes and compiles it in partitions on all cores, and ORC links them.
llvm::Expected<rt::StepFunction>
compileModel(mlir::ModuleOp module, llvm::StringRef filename,
             const CompileOptions &options, CompileTimings *timings = nullptr);

} // namespace infini

#endif // INFINI_COMPILER_MODELCOMPILER_H
