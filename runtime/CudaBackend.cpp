//===- CudaBackend.cpp - Running steps on NVIDIA GPUs ---------------------===//
//
// Part of the Infini runtime; see CudaBackend.h. The driver API is declared
// here by hand (the few functions used, with their documented signatures) so
// that building needs no CUDA headers.
//
//===----------------------------------------------------------------------===//

#include "runtime/CudaBackend.h"
#include "runtime/DeviceBlockCache.h"
#include "runtime/LaunchGraphs.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <dlfcn.h>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

using namespace infini::rt;

namespace {
using CUresult = int;
using CUdevice = int;
using CUdeviceptr = uint64_t;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;
using CUevent = struct CUevent_st *;
using CUgraph = struct CUgraph_st *;
using CUgraphNode = struct CUgraphNode_st *;
using CUgraphExec = struct CUgraphExec_st *;
constexpr CUresult kSuccess = 0;

/// CUDA_KERNEL_NODE_PARAMS_v2, as cuda.h lays it out.
struct KernelNodeParams {
  CUfunction function;
  unsigned grid[3], block[3];
  unsigned sharedBytes;
  void **params;
  void **extra;
  void *kernel;
  CUcontext context;
};

/// The driver entry points, resolved once by name (the `_v2` ABI where the
/// driver has one).
struct Driver {
  CUresult (*init)(unsigned);
  CUresult (*deviceGetCount)(int *);
  CUresult (*deviceGet)(CUdevice *, int);
  CUresult (*deviceGetName)(char *, int, CUdevice);
  CUresult (*deviceGetAttribute)(int *, int, CUdevice);
  CUresult (*primaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*ctxSetCurrent)(CUcontext);
  CUresult (*ctxSynchronize)();
  CUresult (*getErrorString)(CUresult, const char **);
  CUresult (*moduleLoadData)(CUmodule *, const void *);
  CUresult (*moduleUnload)(CUmodule);
  CUresult (*moduleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*funcSetAttribute)(CUfunction, int, int);
  CUresult (*launchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                           unsigned, unsigned, unsigned, CUstream, void **,
                           void **);
  CUresult (*streamCreate)(CUstream *, unsigned);
  CUresult (*streamDestroy)(CUstream);
  CUresult (*streamSynchronize)(CUstream);
  CUresult (*streamWaitEvent)(CUstream, CUevent, unsigned);
  CUresult (*eventCreate)(CUevent *, unsigned);
  CUresult (*eventDestroy)(CUevent);
  CUresult (*eventRecord)(CUevent, CUstream);
  CUresult (*eventSynchronize)(CUevent);
  CUresult (*eventElapsedTime)(float *, CUevent, CUevent);
  CUresult (*memAlloc)(CUdeviceptr *, size_t);
  CUresult (*memFree)(CUdeviceptr);
  CUresult (*memcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*memcpyDtoH)(void *, CUdeviceptr, size_t);
  CUresult (*memcpyAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
  CUresult (*memsetD8)(CUdeviceptr, unsigned char, size_t);
  CUresult (*memsetD16Async)(CUdeviceptr, unsigned short, size_t, CUstream);
  CUresult (*memsetD32Async)(CUdeviceptr, unsigned, size_t, CUstream);
  // CUDA graphs, where the driver has them (12.4 and later, for
  // cuFuncGetParamInfo); without them kernels are launched one by one.
  CUresult (*funcGetParamInfo)(CUfunction, size_t, size_t *, size_t *);
  CUresult (*graphCreate)(CUgraph *, unsigned);
  CUresult (*graphAddKernelNode)(CUgraphNode *, CUgraph, const CUgraphNode *,
                                 size_t, const KernelNodeParams *);
  CUresult (*graphInstantiate)(CUgraphExec *, CUgraph, unsigned long long);
  CUresult (*graphLaunch)(CUgraphExec, CUstream);
  CUresult (*graphExecDestroy)(CUgraphExec);
  CUresult (*graphDestroy)(CUgraph);
  bool hasGraphs = false;
};

/// Step temporaries straight from the driver, for the DeviceBlockCache.
class DriverBlockAllocator final : public RawDeviceAllocator {
public:
  explicit DriverBlockAllocator(const Driver &driver) : driver(driver) {}
  void *allocate(size_t bytes) override {
    CUdeviceptr pointer = 0;
    CUresult result = driver.memAlloc(&pointer, bytes);
    if (result != kSuccess) {
      lastFailure = result;
      return nullptr;
    }
    return reinterpret_cast<void *>(pointer);
  }
  void release(void *block) override {
    driver.memFree(reinterpret_cast<CUdeviceptr>(block));
  }
  /// What the last failed cuMemAlloc returned.
  std::atomic<CUresult> lastFailure{kSuccess};

private:
  const Driver &driver;
};

/// Free step temporaries kept beyond this go back to the driver (a step of
/// the benchmark models holds a few hundred MB of them).
constexpr size_t kMaxCachedTemporaryBytes = size_t(8) << 30;
/// Instantiated step graphs kept: a run alternates between two (the state
/// swaps buffers), a session's last segment may add one.
constexpr size_t kCachedGraphs = 8;

/// The process's one CUDA device: driver, context, first recorded error.
struct CudaState {
  Driver driver{};
  /// The temporaries of compiled steps (mgpuMemAlloc/mgpuMemFree).
  DriverBlockAllocator rawTemporaries{driver};
  DeviceBlockCache temporaries{rawTemporaries, kMaxCachedTemporaryBytes};
  CUcontext context = nullptr;
  std::string deviceName;
  /// Compute capability as major * 10 + minor (90 for sm_90).
  int computeCapability = 0;
  std::mutex errorMutex;
  std::string firstError;
  bool failed = false;
  /// Kernels already looked up, by module and name.
  std::mutex functionMutex;
  std::map<std::pair<CUmodule, std::string>, CUfunction> functions;
  /// The dynamic shared memory each kernel was opted into, where more than
  /// the default.
  std::map<CUfunction, int32_t> sharedMemoryLimits;
  /// Kernel names, for profiles.
  std::map<CUfunction, std::string> kernelNames;

  /// CUDA graphs (LaunchGraphs.h): the launches queued on each stream since
  /// it was last synchronized, the parameter sizes of each kernel, and the
  /// graphs instantiated for sequences seen twice.
  std::mutex graphMutex;
  std::map<CUstream, LaunchSequence> queued;
  std::map<CUfunction, std::vector<size_t>> parameterSizes;
  LaunchGraphCache graphs{kCachedGraphs};

  /// A launch bracketed by timing events, until its stream is synchronized.
  struct TimedLaunch {
    std::string kernel;
    CUstream stream;
    CUevent start, stop;
  };
  std::mutex profileMutex;
  std::vector<TimedLaunch> timedLaunches;
  /// Timing events of launches already counted, for reuse.
  std::vector<CUevent> spareEvents;
  KernelProfile profile;

  /// A timing event (profileMutex held).
  CUevent timingEvent() {
    if (!spareEvents.empty()) {
      CUevent event = spareEvents.back();
      spareEvents.pop_back();
      return event;
    }
    CUevent event = nullptr;
    check(driver.eventCreate(&event, /*CU_EVENT_DEFAULT=*/0), "cuEventCreate");
    return event;
  }
  /// Adds the times of the launches on `stream` (all streams if null), which
  /// must have finished, to the profile.
  void countTimedLaunches(CUstream stream) {
    std::lock_guard<std::mutex> lock(profileMutex);
    auto finished = [&](const TimedLaunch &launch) {
      return !stream || launch.stream == stream;
    };
    for (const TimedLaunch &launch : timedLaunches) {
      if (!finished(launch))
        continue;
      float milliseconds = 0;
      if (check(
              driver.eventElapsedTime(&milliseconds, launch.start, launch.stop),
              "cuEventElapsedTime"))
        profile.add(launch.kernel, milliseconds * 1e-3);
      spareEvents.push_back(launch.start);
      spareEvents.push_back(launch.stop);
    }
    timedLaunches.erase(
        std::remove_if(timedLaunches.begin(), timedLaunches.end(), finished),
        timedLaunches.end());
  }

  /// Records the first failure of a driver call; returns whether `result`
  /// was a success.
  bool check(CUresult result, const char *call) {
    if (result == kSuccess)
      return true;
    const char *text = nullptr;
    if (!driver.getErrorString || driver.getErrorString(result, &text) != 0)
      text = nullptr;
    std::lock_guard<std::mutex> lock(errorMutex);
    if (!failed) {
      failed = true;
      firstError = std::string(call) + " failed: " +
                   (text ? text : "CUDA error " + std::to_string(result));
    }
    return false;
  }
  bool hasFailed() {
    std::lock_guard<std::mutex> lock(errorMutex);
    return failed;
  }
  /// The recorded error as a Status, clearing it.
  Status takeError() {
    std::lock_guard<std::mutex> lock(errorMutex);
    if (!failed)
      return Status::ok();
    failed = false;
    return Status::error("CUDA device (" + deviceName + "): " + firstError);
  }
};

CudaState *state = nullptr;
/// Set by enableCudaKernelProfiling.
std::atomic<bool> kernelProfiling{false};
/// Cleared by disableCudaGraphs, or when the driver fails to build one.
std::atomic<bool> graphsAllowed{true};

template <typename Fn>
bool resolve(void *library, const char *symbol, Fn &function,
             std::string &missing) {
  function = reinterpret_cast<Fn>(dlsym(library, symbol));
  if (!function && missing.empty())
    missing = symbol;
  return function != nullptr;
}

/// Loads libcuda.so.1 and the entry points; `error` says what is missing.
bool loadDriver(Driver &driver, std::string &error) {
  void *library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    error = std::string("no CUDA driver found (") + dlerror() +
            "); CUDA artifacts need an NVIDIA GPU and its driver";
    return false;
  }
  std::string missing;
  resolve(library, "cuInit", driver.init, missing);
  resolve(library, "cuDeviceGetCount", driver.deviceGetCount, missing);
  resolve(library, "cuDeviceGet", driver.deviceGet, missing);
  resolve(library, "cuDeviceGetName", driver.deviceGetName, missing);
  resolve(library, "cuDeviceGetAttribute", driver.deviceGetAttribute, missing);
  resolve(library, "cuDevicePrimaryCtxRetain", driver.primaryCtxRetain,
          missing);
  resolve(library, "cuCtxSetCurrent", driver.ctxSetCurrent, missing);
  resolve(library, "cuCtxSynchronize", driver.ctxSynchronize, missing);
  resolve(library, "cuGetErrorString", driver.getErrorString, missing);
  resolve(library, "cuModuleLoadData", driver.moduleLoadData, missing);
  resolve(library, "cuModuleUnload", driver.moduleUnload, missing);
  resolve(library, "cuModuleGetFunction", driver.moduleGetFunction, missing);
  resolve(library, "cuFuncSetAttribute", driver.funcSetAttribute, missing);
  resolve(library, "cuLaunchKernel", driver.launchKernel, missing);
  resolve(library, "cuStreamCreate", driver.streamCreate, missing);
  resolve(library, "cuStreamDestroy_v2", driver.streamDestroy, missing);
  resolve(library, "cuStreamSynchronize", driver.streamSynchronize, missing);
  resolve(library, "cuStreamWaitEvent", driver.streamWaitEvent, missing);
  resolve(library, "cuEventCreate", driver.eventCreate, missing);
  resolve(library, "cuEventDestroy_v2", driver.eventDestroy, missing);
  resolve(library, "cuEventRecord", driver.eventRecord, missing);
  resolve(library, "cuEventSynchronize", driver.eventSynchronize, missing);
  resolve(library, "cuEventElapsedTime", driver.eventElapsedTime, missing);
  resolve(library, "cuMemAlloc_v2", driver.memAlloc, missing);
  resolve(library, "cuMemFree_v2", driver.memFree, missing);
  resolve(library, "cuMemcpyHtoD_v2", driver.memcpyHtoD, missing);
  resolve(library, "cuMemcpyDtoH_v2", driver.memcpyDtoH, missing);
  resolve(library, "cuMemcpyAsync", driver.memcpyAsync, missing);
  resolve(library, "cuMemsetD8_v2", driver.memsetD8, missing);
  resolve(library, "cuMemsetD16Async", driver.memsetD16Async, missing);
  resolve(library, "cuMemsetD32Async", driver.memsetD32Async, missing);
  if (!missing.empty()) {
    error = "the CUDA driver (libcuda.so.1) lacks '" + missing +
            "': it is older than this runtime supports";
    return false;
  }
  std::string noGraphs;
  resolve(library, "cuFuncGetParamInfo", driver.funcGetParamInfo, noGraphs);
  resolve(library, "cuGraphCreate", driver.graphCreate, noGraphs);
  resolve(library, "cuGraphAddKernelNode_v2", driver.graphAddKernelNode,
          noGraphs);
  resolve(library, "cuGraphInstantiateWithFlags", driver.graphInstantiate,
          noGraphs);
  resolve(library, "cuGraphLaunch", driver.graphLaunch, noGraphs);
  resolve(library, "cuGraphExecDestroy", driver.graphExecDestroy, noGraphs);
  resolve(library, "cuGraphDestroy", driver.graphDestroy, noGraphs);
  driver.hasGraphs = noGraphs.empty();
  return true;
}

/// Device memory of the process's CUDA device.
class CudaMemory final : public DeviceMemory {
public:
  std::string name() const override { return state->deviceName; }
  StatusOr<void *> allocate(size_t bytes) override {
    CUdeviceptr pointer = 0;
    if (!state->check(state->driver.memAlloc(&pointer, bytes ? bytes : 1),
                      "cuMemAlloc") ||
        !state->check(state->driver.memsetD8(pointer, 0, bytes), "cuMemsetD8"))
      return state->takeError();
    return reinterpret_cast<void *>(pointer);
  }
  void release(void *pointer) override {
    if (pointer)
      state->driver.memFree(reinterpret_cast<CUdeviceptr>(pointer));
  }
  Status upload(void *device, const void *host, size_t bytes) override {
    state->check(state->driver.memcpyHtoD(reinterpret_cast<CUdeviceptr>(device),
                                          host, bytes),
                 "cuMemcpyHtoD");
    return state->takeError();
  }
  Status download(void *host, const void *device, size_t bytes) override {
    state->check(state->driver.memcpyDtoH(
                     host, reinterpret_cast<CUdeviceptr>(device), bytes),
                 "cuMemcpyDtoH");
    return state->takeError();
  }
  Status finish() override {
    if (!state->hasFailed())
      state->check(state->driver.ctxSynchronize(), "cuCtxSynchronize");
    return state->takeError();
  }
};
} // namespace

int infini::rt::cudaComputeCapability() {
  return state ? state->computeCapability : 0;
}

void infini::rt::enableCudaKernelProfiling() { kernelProfiling = true; }

void infini::rt::disableCudaGraphs() { graphsAllowed = false; }

StatusOr<KernelProfile> infini::rt::cudaKernelProfile() {
  if (!state)
    return Status::error("no CUDA device was used, so no kernel was timed");
  if (!state->hasFailed())
    state->check(state->driver.ctxSynchronize(), "cuCtxSynchronize");
  if (!state->hasFailed())
    state->countTimedLaunches(/*stream=*/nullptr);
  if (Status status = state->takeError(); !status)
    return status;
  std::lock_guard<std::mutex> lock(state->profileMutex);
  return state->profile;
}

StatusOr<std::shared_ptr<DeviceMemory>> infini::rt::openCudaDevice() {
  static std::once_flag once;
  static std::string openError;
  std::call_once(once, [] {
    auto opened = std::make_unique<CudaState>();
    if (!loadDriver(opened->driver, openError))
      return;
    Driver &driver = opened->driver;
    int count = 0;
    CUdevice device = 0;
    char name[256] = {};
    if (!opened->check(driver.init(0), "cuInit") ||
        !opened->check(driver.deviceGetCount(&count), "cuDeviceGetCount")) {
      openError =
          "the CUDA driver found no usable device: " + opened->firstError;
      return;
    }
    if (count == 0) {
      openError = "the CUDA driver found no device";
      return;
    }
    // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR and _MINOR.
    int major = 0, minor = 0;
    if (!opened->check(driver.deviceGet(&device, 0), "cuDeviceGet") ||
        !opened->check(driver.deviceGetName(name, sizeof(name) - 1, device),
                       "cuDeviceGetName") ||
        !opened->check(driver.deviceGetAttribute(&major, 75, device),
                       "cuDeviceGetAttribute") ||
        !opened->check(driver.deviceGetAttribute(&minor, 76, device),
                       "cuDeviceGetAttribute") ||
        !opened->check(driver.primaryCtxRetain(&opened->context, device),
                       "cuDevicePrimaryCtxRetain") ||
        !opened->check(driver.ctxSetCurrent(opened->context),
                       "cuCtxSetCurrent")) {
      openError = "cannot open CUDA device 0: " + opened->firstError;
      return;
    }
    opened->computeCapability = 10 * major + minor;
    opened->deviceName = "device 0, " + std::string(name) + ", sm_" +
                         std::to_string(opened->computeCapability);
    state = opened.release();
  });
  if (!state)
    return Status::error(openError);
  // Compiled code runs on the caller's thread: make the context current.
  state->driver.ctxSetCurrent(state->context);
  return std::shared_ptr<DeviceMemory>(std::make_shared<CudaMemory>());
}

//===----------------------------------------------------------------------===//
// The mgpu* functions called by host code lowered with gpu-to-llvm
//===----------------------------------------------------------------------===//

#define INFINI_EXPORT extern "C" __attribute__((visibility("default")))

/// Runs `call` unless an earlier driver call failed or no device is open.
#define INFINI_CUDA_CALL(call, name)                                           \
  do {                                                                         \
    if (state && !state->hasFailed())                                          \
      state->check((call), name);                                              \
  } while (false)

//===----------------------------------------------------------------------===//
// CUDA graphs of the launches queued on a stream (LaunchGraphs.h)
//===----------------------------------------------------------------------===//

namespace {
/// Whether launches are recorded for graphs: the driver has them, and
/// neither profiling (which times each launch) nor the user turned them off.
bool recordingLaunches() {
  return state && state->driver.hasGraphs && graphsAllowed &&
         !kernelProfiling && !state->hasFailed();
}

/// The size of each of `function`'s `count` parameters, or null where the
/// driver cannot tell, which stops the recording (graphMutex held).
const std::vector<size_t> *parameterSizes(CUfunction function, size_t count) {
  auto [sizes, inserted] = state->parameterSizes.try_emplace(function);
  if (inserted)
    for (size_t i = 0; i < count; ++i) {
      size_t offset = 0, size = 0;
      if (state->driver.funcGetParamInfo(function, i, &offset, &size) !=
          kSuccess) {
        state->parameterSizes.erase(sizes);
        graphsAllowed = false;
        return nullptr;
      }
      sizes->second.push_back(size);
    }
  return sizes->second.size() == count ? &sizes->second : nullptr;
}

/// Launches `sequence` on `stream` one kernel at a time.
void launchEach(LaunchSequence &sequence, CUstream stream) {
  for (RecordedLaunch &launch : sequence.launches()) {
    std::vector<void *> params = launch.parameterPointers();
    INFINI_CUDA_CALL(
        state->driver.launchKernel(
            static_cast<CUfunction>(const_cast<void *>(launch.function)),
            launch.grid[0], launch.grid[1], launch.grid[2], launch.block[0],
            launch.block[1], launch.block[2], launch.sharedBytes, stream,
            params.data(), nullptr),
        "cuLaunchKernel");
  }
}

/// An executable graph of `sequence`'s launches, each after the one before,
/// or null where the driver builds none.
CUgraphExec instantiate(LaunchSequence &sequence) {
  const Driver &driver = state->driver;
  CUgraph graph = nullptr;
  if (driver.graphCreate(&graph, 0) != kSuccess)
    return nullptr;
  CUgraphNode previous = nullptr;
  bool built = true;
  for (RecordedLaunch &launch : sequence.launches()) {
    std::vector<void *> params = launch.parameterPointers();
    KernelNodeParams node{
        static_cast<CUfunction>(const_cast<void *>(launch.function)),
        {launch.grid[0], launch.grid[1], launch.grid[2]},
        {launch.block[0], launch.block[1], launch.block[2]},
        launch.sharedBytes,
        params.data(),
        nullptr,
        nullptr,
        nullptr};
    CUgraphNode added = nullptr;
    if (driver.graphAddKernelNode(&added, graph, previous ? &previous : nullptr,
                                  previous ? 1 : 0, &node) != kSuccess) {
      built = false;
      break;
    }
    previous = added;
  }
  CUgraphExec executable = nullptr;
  if (built && driver.graphInstantiate(&executable, graph, 0) != kSuccess)
    executable = nullptr;
  driver.graphDestroy(graph);
  return executable;
}

/// Submits the launches queued on `stream`: as one graph where the same
/// sequence has one or was seen before, else one by one (graphMutex held).
void submitQueued(CUstream stream) {
  auto queued = state->queued.find(stream);
  if (queued == state->queued.end())
    return;
  LaunchSequence sequence = std::move(queued->second);
  state->queued.erase(queued);
  if (sequence.empty() || state->hasFailed())
    return;
  auto executable =
      static_cast<CUgraphExec>(state->graphs.find(sequence.key()));
  if (!executable && graphsAllowed &&
      state->graphs.seenBefore(sequence.key())) {
    executable = instantiate(sequence);
    if (executable) {
      for (void *evicted : state->graphs.insert(sequence.key(), executable))
        state->driver.graphExecDestroy(static_cast<CUgraphExec>(evicted));
    } else {
      // The driver builds no graph of these launches: launched one by one,
      // they succeed or report why; later ones are not recorded.
      graphsAllowed = false;
    }
  }
  if (executable)
    INFINI_CUDA_CALL(state->driver.graphLaunch(executable, stream),
                     "cuGraphLaunch");
  else
    launchEach(sequence, stream);
}

/// Submits what is queued on `stream`, before other work is queued on it or
/// it is waited for.
void submitQueuedLocked(CUstream stream) {
  if (!state)
    return;
  std::lock_guard<std::mutex> lock(state->graphMutex);
  submitQueued(stream);
}

/// Submits what is queued on every stream, and forgets every graph (before
/// a module goes, whose kernels they launch).
void submitAllAndForgetGraphs() {
  std::lock_guard<std::mutex> lock(state->graphMutex);
  while (!state->queued.empty())
    submitQueued(state->queued.begin()->first);
  for (void *graph : state->graphs.clear())
    state->driver.graphExecDestroy(static_cast<CUgraphExec>(graph));
  state->parameterSizes.clear();
}
} // namespace

INFINI_EXPORT CUmodule mgpuModuleLoad(void *data, size_t /*size*/) {
  CUmodule module = nullptr;
  INFINI_CUDA_CALL(state->driver.moduleLoadData(&module, data),
                   "cuModuleLoadData");
  return module;
}

INFINI_EXPORT void mgpuModuleUnload(CUmodule module) {
  if (!state || !module)
    return;
  submitAllAndForgetGraphs();
  {
    std::lock_guard<std::mutex> lock(state->functionMutex);
    for (auto it = state->functions.begin(); it != state->functions.end();) {
      if (it->first.first != module) {
        ++it;
        continue;
      }
      state->sharedMemoryLimits.erase(it->second);
      state->kernelNames.erase(it->second);
      it = state->functions.erase(it);
    }
  }
  state->driver.moduleUnload(module);
}

INFINI_EXPORT CUfunction mgpuModuleGetFunction(CUmodule module,
                                               const char *name) {
  if (!module || !state)
    return nullptr;
  // Host code asks before every launch; the driver's lookup is a string
  // search, so answers are cached per module and kernel name.
  std::lock_guard<std::mutex> lock(state->functionMutex);
  auto key = std::make_pair(module, std::string(name));
  auto cached = state->functions.find(key);
  if (cached != state->functions.end())
    return cached->second;
  CUfunction function = nullptr;
  INFINI_CUDA_CALL(state->driver.moduleGetFunction(&function, module, name),
                   "cuModuleGetFunction");
  if (function) {
    state->kernelNames[function] = name;
    state->functions.emplace(std::move(key), function);
  }
  return function;
}

/// CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, and the dynamic shared
/// memory a kernel may use without it.
constexpr int kMaxDynamicSharedSizeAttribute = 8;
constexpr int32_t kDefaultSharedMemoryBytes = 48 * 1024;

INFINI_EXPORT void mgpuLaunchKernel(CUfunction function, intptr_t gridX,
                                    intptr_t gridY, intptr_t gridZ,
                                    intptr_t blockX, intptr_t blockY,
                                    intptr_t blockZ, int32_t sharedMemory,
                                    CUstream stream, void **params,
                                    void **extra, size_t paramsCount) {
  // Kernels whose tiles take more shared memory than a block gets by
  // default are opted in first, once.
  if (function && sharedMemory > kDefaultSharedMemoryBytes) {
    std::lock_guard<std::mutex> lock(state->functionMutex);
    int32_t &limit = state->sharedMemoryLimits[function];
    if (limit < sharedMemory) {
      INFINI_CUDA_CALL(
          state->driver.funcSetAttribute(
              function, kMaxDynamicSharedSizeAttribute, sharedMemory),
          "cuFuncSetAttribute");
      limit = sharedMemory;
    }
  }
  if (!function)
    return;
  if (state) {
    std::lock_guard<std::mutex> lock(state->graphMutex);
    if (recordingLaunches() && !extra) {
      if (const std::vector<size_t> *sizes =
              parameterSizes(function, paramsCount)) {
        RecordedLaunch launch;
        launch.function = function;
        unsigned shape[] = {unsigned(gridX),  unsigned(gridY),
                            unsigned(gridZ),  unsigned(blockX),
                            unsigned(blockY), unsigned(blockZ)};
        std::copy(shape, shape + 3, launch.grid);
        std::copy(shape + 3, shape + 6, launch.block);
        launch.sharedBytes = unsigned(sharedMemory);
        launch.copyParameters(params, *sizes);
        state->queued[stream].add(std::move(launch));
        return;
      }
    }
    // Launched now: what was queued before it goes first.
    submitQueued(stream);
  }
  // Profiling: the launch between two timing events on its stream.
  std::optional<CudaState::TimedLaunch> timed;
  std::unique_lock<std::mutex> profileLock;
  if (kernelProfiling && state && !state->hasFailed()) {
    std::string kernel;
    {
      std::lock_guard<std::mutex> lock(state->functionMutex);
      kernel = state->kernelNames[function];
    }
    profileLock = std::unique_lock<std::mutex>(state->profileMutex);
    timed = CudaState::TimedLaunch{std::move(kernel), stream,
                                   state->timingEvent(), state->timingEvent()};
    INFINI_CUDA_CALL(state->driver.eventRecord(timed->start, stream),
                     "cuEventRecord");
  }
  INFINI_CUDA_CALL(
      state->driver.launchKernel(function, gridX, gridY, gridZ, blockX, blockY,
                                 blockZ, sharedMemory, stream, params, extra),
      "cuLaunchKernel");
  if (timed) {
    INFINI_CUDA_CALL(state->driver.eventRecord(timed->stop, stream),
                     "cuEventRecord");
    if (!state->hasFailed())
      state->timedLaunches.push_back(std::move(*timed));
  }
}

INFINI_EXPORT CUstream mgpuStreamCreate() {
  CUstream stream = nullptr;
  // A blocking stream: its kernels wait for the Session's copies, which run
  // on the legacy default stream.
  INFINI_CUDA_CALL(state->driver.streamCreate(&stream, /*flags=*/0),
                   "cuStreamCreate");
  return stream;
}

INFINI_EXPORT void mgpuStreamSynchronize(CUstream stream) {
  submitQueuedLocked(stream);
  INFINI_CUDA_CALL(state->driver.streamSynchronize(stream),
                   "cuStreamSynchronize");
  if (state && !state->hasFailed()) {
    state->temporaries.streamFinished(stream);
    state->countTimedLaunches(stream);
  }
}

INFINI_EXPORT void mgpuStreamDestroy(CUstream stream) {
  if (!state || !stream)
    return;
  submitQueuedLocked(stream);
  // Host code synchronizes a stream before destroying it; should it not,
  // the blocks freed on it must wait for its kernels before reuse.
  if (state->temporaries.hasPending(stream))
    mgpuStreamSynchronize(stream);
  state->driver.streamDestroy(stream);
}

INFINI_EXPORT void mgpuStreamWaitEvent(CUstream stream, CUevent event) {
  submitQueuedLocked(stream);
  INFINI_CUDA_CALL(state->driver.streamWaitEvent(stream, event, 0),
                   "cuStreamWaitEvent");
}

INFINI_EXPORT CUevent mgpuEventCreate() {
  CUevent event = nullptr;
  // CU_EVENT_DISABLE_TIMING: events here only order work.
  INFINI_CUDA_CALL(state->driver.eventCreate(&event, 0x2), "cuEventCreate");
  return event;
}

INFINI_EXPORT void mgpuEventDestroy(CUevent event) {
  if (state && event)
    state->driver.eventDestroy(event);
}

INFINI_EXPORT void mgpuEventSynchronize(CUevent event) {
  INFINI_CUDA_CALL(state->driver.eventSynchronize(event), "cuEventSynchronize");
}

INFINI_EXPORT void mgpuEventRecord(CUevent event, CUstream stream) {
  submitQueuedLocked(stream);
  INFINI_CUDA_CALL(state->driver.eventRecord(event, stream), "cuEventRecord");
}

INFINI_EXPORT void *mgpuMemAlloc(uint64_t bytes, CUstream /*stream*/,
                                 bool /*isHostShared*/) {
  if (!state || state->hasFailed())
    return nullptr;
  void *block = state->temporaries.allocate(bytes);
  if (!block)
    state->check(state->rawTemporaries.lastFailure, "cuMemAlloc");
  return block;
}

INFINI_EXPORT void mgpuMemFree(void *pointer, CUstream stream) {
  if (state)
    state->temporaries.release(pointer, stream);
}

INFINI_EXPORT void mgpuMemcpy(void *destination, void *source, size_t bytes,
                              CUstream stream) {
  submitQueuedLocked(stream);
  INFINI_CUDA_CALL(state->driver.memcpyAsync(
                       reinterpret_cast<CUdeviceptr>(destination),
                       reinterpret_cast<CUdeviceptr>(source), bytes, stream),
                   "cuMemcpyAsync");
}

INFINI_EXPORT void mgpuMemset16(void *destination, unsigned short value,
                                size_t count, CUstream stream) {
  submitQueuedLocked(stream);
  INFINI_CUDA_CALL(
      state->driver.memsetD16Async(reinterpret_cast<CUdeviceptr>(destination),
                                   value, count, stream),
      "cuMemsetD16Async");
}

INFINI_EXPORT void mgpuMemset32(void *destination, unsigned int value,
                                size_t count, CUstream stream) {
  submitQueuedLocked(stream);
  INFINI_CUDA_CALL(
      state->driver.memsetD32Async(reinterpret_cast<CUdeviceptr>(destination),
                                   value, count, stream),
      "cuMemsetD32Async");
}
