//===- CudaBackend.h - Running steps on NVIDIA GPUs -------------*- C++ -*-===//
//
// The CUDA backend of the runtime, over the CUDA driver API loaded with
// dlopen("libcuda.so.1") at run time: the project builds, and CPU models run,
// on machines with no driver. It provides
//   - a DeviceMemory (StepFunction.h) for Sessions: weights are uploaded
//     once, the memory state stays on the device across segments and is
//     copied back only when saved;
//   - the `mgpu*` functions that host code lowered by MLIR's gpu-to-llvm
//     calls (module loading, kernel launches, streams, device memory), with
//     C linkage, exported by the executables that run CUDA artifacts;
//   - the launches of a step submitted as one CUDA graph once the same
//     sequence comes again (LaunchGraphs.h), where the driver has graphs;
//   - on request, the device time of each kernel (KernelProfile.h).
// Compiled code cannot return errors, so a failed driver call is recorded
// and later calls do nothing until finish() reports it as one line.
//
//===----------------------------------------------------------------------===//

#ifndef INFINI_RUNTIME_CUDABACKEND_H
#define INFINI_RUNTIME_CUDABACKEND_H

#include "runtime/KernelProfile.h"
#include "runtime/Status.h"
#include "runtime/StepFunction.h"

#include <memory>

namespace infini::rt {

/// Loads the CUDA driver, initialises it and makes device 0's primary
/// context current. Fails with one line when there is no driver or no
/// device, saying which. The device stays open for the process's life.
StatusOr<std::shared_ptr<DeviceMemory>> openCudaDevice();

/// The open device's compute capability as major * 10 + minor (90 for an
/// H100's sm_90), or 0 before openCudaDevice succeeded.
int cudaComputeCapability();

/// From now on, every kernel launch is timed on the device with a pair of
/// CUDA events (which adds a little to each launch); cudaKernelProfile()
/// returns the times.
void enableCudaKernelProfiling();

/// Launches kernels one by one from now on, never as CUDA graphs
/// (LaunchGraphs.h), for comparison.
void disableCudaGraphs();

/// The device time of each kernel launched since profiling was enabled,
/// once the device has finished them. Fails where no CUDA device was used
/// or a driver call failed.
StatusOr<KernelProfile> cudaKernelProfile();

} // namespace infini::rt

#endif // INFINI_RUNTIME_CUDABACKEND_H
