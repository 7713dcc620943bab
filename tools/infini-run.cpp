//===- infini-run.cpp - Run an infini model over a long input -------------===//
//
// Usage:
//   infini-run MODEL.json|MODEL.mlir|MODEL.infini --weights W.safetensors
//              --input IN.npy --output OUT.npy [--state-in S.npz]
//              [--state-out S.npz] [--dump-ir-dir DIR] [--time]
//              [--profile-kernels] [--cuda-graphs=false]
//              [--num-threads N] [--fuse-attention=false]
//              [--fuse-swiglu=false] [--fuse-rope=false] [--vectorize=false]
//
// Binds the weights by name and streams the input through the model's step
// segment by segment, carrying each layer's compressive memory from one
// segment to the next. A .json/.mlir model is JIT-compiled by the compiler
// plugin; an .infini artifact runs on the runtime alone. This program links
// the runtime only. Every error is one line on stderr and a non-zero exit;
// no partial output file is left.
//
//===----------------------------------------------------------------------===//

#include "runtime/CudaBackend.h"
#include "runtime/ModelLoader.h"
#include "runtime/Npy.h"
#include "runtime/RunOptions.h"
#include "runtime/Safetensors.h"
#include "runtime/Session.h"

#include <cstdio>
#include <cstdlib>
#include <string>

using namespace infini::rt;

/// Prints `message` as the one error line and returns the exit code.
static int fail(const std::string &message) {
  std::fprintf(stderr, "infini-run: error: %s\n", message.c_str());
  return 1;
}

int main(int argc, char **argv) {
  StatusOr<RunOptions> parsed =
      parseRunOptions(std::vector<std::string>(argv + 1, argv + argc));
  if (!parsed)
    return fail(parsed.status().message());
  const RunOptions &options = *parsed;
  if (options.showHelp) {
    std::fputs(usageText().c_str(), stdout);
    return 0;
  }

  // Cheap checks of every input file come before the compile.
  StatusOr<WeightFile> weights = WeightFile::open(options.weightsPath);
  if (!weights)
    return fail(weights.status().message());
  StatusOr<NpyReader> input = NpyReader::open(options.inputPath);
  if (!input)
    return fail(input.status().message());
  if (input->shape().empty())
    return fail(options.inputPath + ": expected an input of shape [B, N] or "
                                    "[B, N, D], got a scalar");
  int64_t batch = input->shape()[0];

  // Read by the OpenMP runtime when the first parallel block starts.
  if (options.threadCount > 0)
    setenv("OMP_NUM_THREADS", std::to_string(options.threadCount).c_str(), 1);
  if (options.profileKernels)
    enableCudaKernelProfiling();
  if (!options.cudaGraphs)
    disableCudaGraphs();
  StatusOr<LoadedStep> loaded = loadStep(options.model);
  if (!loaded)
    return fail(loaded.status().message());
  if (options.profileKernels && !loaded->step.device)
    return fail("--profile-kernels times GPU kernels, but this model runs on "
                "the host (use a CUDA artifact or --target=cuda)");

  StatusOr<Session> session =
      Session::create(std::move(loaded->step), *weights, batch);
  if (!session)
    return fail(session.status().message());
  if (!options.stateInPath.empty())
    if (Status status = session->loadState(options.stateInPath); !status)
      return fail(status.message());
  if (Status status = session->run(options.inputPath, options.outputPath);
      !status)
    return fail(status.message());
  if (!options.stateOutPath.empty())
    if (Status status = session->saveState(options.stateOutPath); !status) {
      // The output is only worth keeping along with the state it leads to.
      std::remove(options.outputPath.c_str());
      return fail(status.message());
    }

  if (options.printTiming) {
    const RunStats &stats = session->lastRunStats();
    long long tokens = stats.tokens * session->batchSize();
    std::printf("lowering %.3f s, JIT %.3f s; %lld segments, %lld tokens in "
                "%.3f s (%.3f s in compiled code): %.1f tokens/s\n",
                loaded->loweringSeconds, loaded->jitSeconds,
                static_cast<long long>(stats.segments), tokens,
                stats.totalSeconds, stats.invokeSeconds,
                stats.totalSeconds > 0 ? tokens / stats.totalSeconds : 0.0);
  }
  if (options.profileKernels) {
    StatusOr<KernelProfile> profile = cudaKernelProfile();
    if (!profile) {
      std::remove(options.outputPath.c_str());
      return fail(profile.status().message());
    }
    std::fputs(profile->format().c_str(), stdout);
  }
  return 0;
}
