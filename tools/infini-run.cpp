//===- infini-run.cpp - JIT-compile and run an infini model ---------------===//
//
// Usage:
//   infini-run MODEL.json|MODEL.mlir --weights W.safetensors --input IN.npy
//              --output OUT.npy [--state-in S.npz] [--state-out S.npz]
//              [--dump-ir-dir DIR] [--time] [--num-threads N]
//              [--fuse-attention=false] [--vectorize=false]
//
// Compiles the model's step function for the host CPU, binds the weights by
// name, and streams the input through it segment by segment, carrying each
// layer's compressive memory from one segment to the next. Every error is
// one line on stderr and a non-zero exit; no partial output file is left.
//
//===----------------------------------------------------------------------===//

#include "compiler/InitAll.h"
#include "compiler/ModelCompiler.h"
#include "runtime/Npy.h"
#include "runtime/Safetensors.h"
#include "runtime/Session.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cstdlib>
#include <string>

namespace cl = llvm::cl;

static cl::OptionCategory runCategory("infini-run options");
static cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                                      cl::desc("<model.json|model.mlir>"),
                                      cl::cat(runCategory));
static cl::opt<std::string> weightsPath("weights", cl::Required,
                                        cl::desc("Weights (.safetensors)"),
                                        cl::value_desc("file"),
                                        cl::cat(runCategory));
static cl::opt<std::string> inputPath(
    "input", cl::Required,
    cl::desc("Input .npy: token ids [B, N] or hidden states [B, N, D]"),
    cl::value_desc("file"), cl::cat(runCategory));
static cl::opt<std::string> outputPath("output", cl::Required,
                                       cl::desc("Output .npy (float32)"),
                                       cl::value_desc("file"),
                                       cl::cat(runCategory));
static cl::opt<std::string>
    stateInPath("state-in", cl::desc("Memory state to start from (.npz)"),
                cl::value_desc("file"), cl::cat(runCategory));
static cl::opt<std::string>
    stateOutPath("state-out", cl::desc("Where to save the final state (.npz)"),
                 cl::value_desc("file"), cl::cat(runCategory));
static cl::opt<std::string>
    dumpDirectory("dump-ir-dir",
                  cl::desc("Write the IR after every compilation stage here"),
                  cl::value_desc("dir"), cl::cat(runCategory));
static cl::opt<bool> printTiming("time",
                                 cl::desc("Print compile and run times"),
                                 cl::cat(runCategory));
static cl::opt<unsigned>
    threadCount("num-threads",
                cl::desc("Threads for the compiled code (default: all cores)"),
                cl::value_desc("n"), cl::init(0), cl::cat(runCategory));
static cl::opt<bool>
    fuseAttention("fuse-attention",
                  cl::desc("Fused online-softmax attention over key tiles"),
                  cl::init(true), cl::cat(runCategory));
static cl::opt<bool> vectorize("vectorize",
                               cl::desc("Tile and vectorize matrix products"),
                               cl::init(true), cl::cat(runCategory));

/// Prints `message` as the one error line and returns the exit code.
static int fail(const std::string &message) {
  llvm::errs() << "infini-run: error: " << message << "\n";
  return 1;
}

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  cl::HideUnrelatedOptions(runCategory);
  cl::ParseCommandLineOptions(argc, argv, "infini model runner\n");

  // Cheap checks of every input file come before the compile.
  infini::rt::StatusOr<infini::rt::WeightFile> weights =
      infini::rt::WeightFile::open(weightsPath);
  if (!weights)
    return fail(weights.status().message());
  infini::rt::StatusOr<infini::rt::NpyReader> input =
      infini::rt::NpyReader::open(inputPath);
  if (!input)
    return fail(input.status().message());
  if (input->shape().empty())
    return fail(inputPath + ": expected an input of shape [B, N] or "
                            "[B, N, D], got a scalar");
  int64_t batch = input->shape()[0];

  mlir::DialectRegistry registry;
  infini::registerAllDialects(registry);
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();
  auto module = infini::loadModel(modelPath, context);
  if (!module)
    return fail(llvm::toString(module.takeError()));
  infini::CompileOptions options;
  options.vectorize = vectorize;
  options.fuseAttention = fuseAttention;
  // Blocked code is faster even on one thread (cache blocking).
  options.parallel = true;
  // Read by the OpenMP runtime when the first parallel block starts.
  if (threadCount > 0)
    setenv("OMP_NUM_THREADS", std::to_string(threadCount).c_str(), 1);
  options.dumpDirectory = dumpDirectory;
  infini::CompileTimings compileTimings;
  auto step =
      infini::compileModel(**module, modelPath, options, &compileTimings);
  if (!step)
    return fail(llvm::toString(step.takeError()));

  infini::rt::StatusOr<infini::rt::Session> session =
      infini::rt::Session::create(std::move(*step), *weights, batch);
  if (!session)
    return fail(session.status().message());
  if (!stateInPath.empty())
    if (infini::rt::Status status = session->loadState(stateInPath); !status)
      return fail(status.message());
  if (infini::rt::Status status = session->run(inputPath, outputPath); !status)
    return fail(status.message());
  if (!stateOutPath.empty())
    if (infini::rt::Status status = session->saveState(stateOutPath); !status) {
      // The output is only worth keeping along with the state it leads to.
      std::remove(outputPath.c_str());
      return fail(status.message());
    }

  if (printTiming) {
    const infini::rt::RunStats &stats = session->lastRunStats();
    int64_t tokens = stats.tokens * session->batchSize();
    llvm::outs() << llvm::format(
        "lowering %.3f s, JIT %.3f s; %lld segments, %lld tokens in %.3f s "
        "(%.3f s in compiled code): %.1f tokens/s\n",
        compileTimings.lowering, compileTimings.jit,
        static_cast<long long>(stats.segments), static_cast<long long>(tokens),
        stats.totalSeconds, stats.invokeSeconds,
        stats.totalSeconds > 0 ? tokens / stats.totalSeconds : 0.0);
  }
  return 0;
}
