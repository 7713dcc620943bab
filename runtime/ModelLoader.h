//===- ModelLoader.h - From a model path to a runnable step -----*- C++ -*-===//
//
// How infini-run gets a StepFunction without linking the compiler: an
// artifact (.infini) is loaded by the runtime alone; a .json or .mlir model
// is handed to the JIT plugin, libInfiniJIT.so, which this file loads with
// dlopen only then. So running an artifact never brings MLIR or LLVM into
// the process, and infini-run can be copied to a machine that has neither.
//
//===----------------------------------------------------------------------===//

#ifndef INFINI_RUNTIME_MODELLOADER_H
#define INFINI_RUNTIME_MODELLOADER_H

#include "runtime/Status.h"
#include "runtime/StepFunction.h"

#include <string>

namespace infini::rt {

/// What the JIT plugin is asked to compile.
struct JitRequest {
  std::string modelPath;
  /// When not empty, the IR of every stage is written here.
  std::string dumpDirectory;
  bool fuseAttention = true;
  bool fuseSwiGLU = true;
  bool fuseRope = true;
  bool vectorize = true;
  Target target = Target::Cpu;
  std::string chip = "sm_80";
  /// CUDA: matrix products on tensor cores: "none", "f16" or "bf16".
  std::string tensorCores = "none";
  /// CUDA: run the kernels on the host (a test aid without a GPU); the step
  /// is then JIT-compiled CPU code.
  bool emulateGPU = false;
  /// When set, compile an artifact to this path instead of JIT-compiling
  /// (how a CUDA model runs: its host code must be linked against the
  /// runtime's mgpu* functions, which the runtime's loader provides).
  std::string artifactPath;
};

/// What it gives back.
struct JitResult {
  Status status;
  StepFunction step;
  double loweringSeconds = 0;
  double jitSeconds = 0;
};

/// The plugin's one entry point, `extern "C"` under kJitEntryPoint. Both
/// sides are built together, so C++ types may cross.
using JitCompileFn = void (*)(const JitRequest &request, JitResult &result);
constexpr const char *kJitEntryPoint = "infiniJitCompile";
constexpr const char *kJitPluginName = "libInfiniJIT.so";

/// A step ready for a Session, and what it took to get it.
struct LoadedStep {
  StepFunction step;
  /// Whether the JIT compiled it (else it came from an artifact).
  bool compiled = false;
  double loweringSeconds = 0;
  double jitSeconds = 0;
};

/// Loads the artifact at `request.modelPath`, or compiles the .json or .mlir
/// model there through the plugin ($INFINI_JIT_PLUGIN, else
/// ../lib/libInfiniJIT.so beside the running executable): JIT-compiled for
/// the CPU, or for CUDA into a temporary artifact that is then loaded.
StatusOr<LoadedStep> loadStep(const JitRequest &request);

} // namespace infini::rt

#endif // INFINI_RUNTIME_MODELLOADER_H
