//===- JitPlugin.cpp - The compiler as a plugin of infini-run -------------===//
//
// libInfiniJIT.so: infini-run loads it (runtime/ModelLoader.h) only to run a
// .json or .mlir model, so the runner itself links no MLIR. The MLIR context
// and the JIT (ORC, holding the compiled code) live as long as the step they
// produced. CUDA models are
// compiled to an artifact instead, which the runner loads itself.
//
//===----------------------------------------------------------------------===//

#include "compiler/ArtifactCompiler.h"
#include "compiler/InitAll.h"
#include "compiler/ModelCompiler.h"
#include "runtime/ModelLoader.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"

using namespace infini;

extern "C" __attribute__((visibility("default"))) void
infiniJitCompile(const rt::JitRequest &request, rt::JitResult &result) {
  mlir::DialectRegistry registry;
  registerAllDialects(registry);
  auto context = std::make_shared<mlir::MLIRContext>(registry);
  context->loadAllAvailableDialects();
  auto module = loadModel(request.modelPath, *context);
  if (!module) {
    result.status = rt::Status::error(llvm::toString(module.takeError()));
    return;
  }
  CompileOptions options;
  options.vectorize = request.vectorize;
  options.fuseAttention = request.fuseAttention;
  options.fuseSwiGLU = request.fuseSwiGLU;
  options.fuseRope = request.fuseRope;
  options.dumpDirectory = request.dumpDirectory;
  options.target = request.target;
  options.chip = request.chip;
  options.tensorCores = request.tensorCores;
  options.emulateGPU = request.emulateGPU;
  // Blocked code is faster even on one thread (cache blocking).
  options.parallel = true;
  if (!request.artifactPath.empty()) {
    ArtifactOptions artifactOptions;
    artifactOptions.target = request.target;
    artifactOptions.chip = request.chip;
    artifactOptions.compile = options;
    if (llvm::Error error = compileArtifact(
            **module, request.modelPath, artifactOptions, request.artifactPath))
      result.status = rt::Status::error(llvm::toString(std::move(error)));
    return;
  }
  CompileTimings timings;
  auto step = compileModel(**module, request.modelPath, options, &timings);
  if (!step) {
    result.status = rt::Status::error(llvm::toString(step.takeError()));
    return;
  }
  result.step = std::move(*step);
  // The JIT (released first) and then the context outlive the step.
  struct Owners {
    std::shared_ptr<mlir::MLIRContext> context;
    std::shared_ptr<void> jit;
  };
  result.step.owner = std::make_shared<Owners>(
      Owners{std::move(context), std::move(result.step.owner)});
  result.loweringSeconds = timings.lowering;
  result.jitSeconds = timings.jit;
}
