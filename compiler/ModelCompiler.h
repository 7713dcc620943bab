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

#include <string>
#include <vector>

namespace infini {

/// How to compile a model.
struct CompileOptions {
  /// Tile and vectorize matrix products (the `vectorize` pipeline option).
  bool vectorize = true;
  /// Fused online-softmax attention (`fuse-attention` option).
  bool fuseAttention = true;
  /// Run blocks of matrix products on OpenMP threads (`parallel` option).
  bool parallel = true;
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

/// Describes, lowers and JIT-compiles the step function of `module`.
llvm::Expected<rt::StepFunction>
compileModel(mlir::ModuleOp module, llvm::StringRef filename,
             const CompileOptions &options, CompileTimings *timings = nullptr);

} // namespace infini

#endif // INFINI_COMPILER_MODELCOMPILER_H
