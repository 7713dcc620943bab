//===- infini-compile.cpp - Compile a model into a runnable artifact ------===//
//
// Usage:
//   infini-compile MODEL.json|MODEL.mlir --target cpu|cuda [--chip sm_80]
//                  [--cpu host|NAME] -o MODEL.infini
//
// Writes one artifact (runtime/Artifact.h): the host code as a shared
// library, the libraries it needs, GPU kernels for --target=cuda, and a
// manifest of the step's arguments. infini-run runs it with no compiler.
//
//===----------------------------------------------------------------------===//

#include "compiler/ArtifactCompiler.h"
#include "compiler/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

namespace cl = llvm::cl;

static cl::OptionCategory compileCategory("infini-compile options");
static cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                                      cl::desc("<model.json|model.mlir>"),
                                      cl::cat(compileCategory));
static cl::opt<std::string> outputPath("o", cl::Required,
                                       cl::desc("Output artifact (.infini)"),
                                       cl::value_desc("file"),
                                       cl::cat(compileCategory));
static cl::opt<infini::rt::Target> target(
    "target", cl::desc("Machine the artifact runs on"),
    cl::values(clEnumValN(infini::rt::Target::Cpu, "cpu", "the host CPU"),
               clEnumValN(infini::rt::Target::Cuda, "cuda",
                          "an NVIDIA GPU (CUDA driver)")),
    cl::init(infini::rt::Target::Cpu), cl::cat(compileCategory));
static cl::opt<std::string>
    chip("chip", cl::desc("NVIDIA chip for --target=cuda (sm_80, sm_90)"),
         cl::value_desc("sm_XX"), cl::init("sm_80"), cl::cat(compileCategory));
static cl::opt<std::string> tensorCores(
    "tensor-cores",
    cl::desc("Matrix products on tensor cores for --target=cuda: none, f16 "
             "or bf16 (operands rounded to it, f32 accumulation), or tf32x3 "
             "(f32 operands as three products of TF32 parts: f32 accuracy)"),
    cl::value_desc("none|f16|bf16|tf32x3"), cl::init("none"),
    cl::cat(compileCategory));
static cl::opt<std::string>
    cpu("cpu",
        cl::desc("CPU the host code is tuned for: 'host' (this machine) or an "
                 "LLVM CPU name such as x86-64-v3"),
        cl::value_desc("name"), cl::init("host"), cl::cat(compileCategory));
static cl::opt<std::string>
    dumpDirectory("dump-ir-dir",
                  cl::desc("Write the IR after every compilation stage here"),
                  cl::value_desc("dir"), cl::cat(compileCategory));
static cl::opt<bool>
    fuseAttention("fuse-attention",
                  cl::desc("Fused online-softmax attention over key tiles"),
                  cl::init(true), cl::cat(compileCategory));

static cl::opt<bool>
    fuseSwiGLU("fuse-swiglu",
               cl::desc("SwiGLU's gate and up projections as one product"),
               cl::init(true), cl::cat(compileCategory));

static cl::opt<bool> fuseRope("fuse-rope",
                              cl::desc("RoPE in the Q/K projections' epilogue"),
                              cl::init(true), cl::cat(compileCategory));

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  cl::HideUnrelatedOptions(compileCategory);
  cl::ParseCommandLineOptions(argc, argv, "infini ahead-of-time compiler\n");
  if (!llvm::StringRef(outputPath).ends_with(".infini")) {
    llvm::errs() << "infini-compile: error: -o " << outputPath
                 << ": artifacts are named *.infini\n";
    return 1;
  }
  if (tensorCores != "none" && target != infini::rt::Target::Cuda) {
    llvm::errs() << "infini-compile: error: --tensor-cores needs "
                    "--target=cuda\n";
    return 1;
  }

  mlir::DialectRegistry registry;
  infini::registerAllDialects(registry);
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();
  auto module = infini::loadModel(modelPath, context);
  if (!module) {
    llvm::errs() << "infini-compile: error: "
                 << llvm::toString(module.takeError()) << "\n";
    return 1;
  }
  infini::ArtifactOptions options;
  options.target = target;
  options.chip = chip;
  options.cpu = cpu;
  options.compile.fuseAttention = fuseAttention;
  options.compile.fuseSwiGLU = fuseSwiGLU;
  options.compile.fuseRope = fuseRope;
  options.compile.tensorCores = tensorCores;
  options.compile.dumpDirectory = dumpDirectory;
  if (llvm::Error error =
          infini::compileArtifact(**module, modelPath, options, outputPath)) {
    llvm::errs() << "infini-compile: error: "
                 << llvm::toString(std::move(error)) << "\n";
    return 1;
  }
  return 0;
}
