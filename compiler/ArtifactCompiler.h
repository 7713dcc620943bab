//===- ArtifactCompiler.h - Ahead-of-time compilation -----------*- C++ -*-===//
//
// The compiler side of infini-compile: lower a model for a target, emit its
// host code as an object file, link it into a shared library with the
// system's C compiler driver, and write one artifact (runtime/Artifact.h)
// that the runtime runs with no compiler present.
//
//===----------------------------------------------------------------------===//

#ifndef INFINI_COMPILER_ARTIFACTCOMPILER_H
#define INFINI_COMPILER_ARTIFACTCOMPILER_H

#include "compiler/ModelCompiler.h"
#include "runtime/Artifact.h"

namespace infini {

/// How to compile an artifact.
struct ArtifactOptions {
  rt::Target target = rt::Target::Cpu;
  /// LLVM CPU name for the host code ("host": this machine's CPU and its
  /// features, AVX-512 where present).
  std::string cpu = "host";
  /// NVIDIA chip for the kernels of a CUDA artifact.
  std::string chip = "sm_80";
  CompileOptions compile;
};

/// Compiles `module` (loaded from `modelPath`) into an artifact at
/// `outputPath`. Errors name the model or output file; no partial artifact
/// is left behind.
llvm::Error compileArtifact(mlir::ModuleOp module, llvm::StringRef modelPath,
                            const ArtifactOptions &options,
                            llvm::StringRef outputPath);

} // namespace infini

#endif // INFINI_COMPILER_ARTIFACTCOMPILER_H
