//===- FakeCudaDriver.cpp - A libcuda.so.1 that runs no kernels -----------===//
//
// Built as `libcuda.so.1` in its own folder (lit's %fake_cuda_dir): a test
// puts that folder on LD_LIBRARY_PATH, and the runtime's CUDA backend, which
// dlopens the driver, runs a CUDA artifact against it on a machine without a
// GPU. "Device" memory is host memory and kernels are not run, so outputs
// mean nothing; what the test reads is how the runtime and the host code
// used the driver: every entry point the backend resolves is here, calls are
// checked (frees and copies of unknown memory, launch shapes, streams) and
// counted, and the counts are written at exit to the file named by
// INFINI_FAKE_CUDA_REPORT. Kernels launched through CUDA graphs count as
// launches too, and a digest of the kernels' names in the order they ran
// lets a test compare runs with and without graphs. Built with
// INFINI_FAKE_CUDA_NO_GRAPHS it has no graph API, as drivers before 12.4.
//
//===----------------------------------------------------------------------===//

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace {
using CUresult = int;
using CUdeviceptr = uint64_t;
constexpr CUresult kSuccess = 0;
constexpr CUresult kInvalidValue = 1;
constexpr CUresult kOutOfMemory = 2;

struct FakeDevice {
  std::mutex mutex;
  /// Live allocations: start address to size.
  std::map<uintptr_t, size_t> allocations;
  std::set<void *> streams;
  /// Live events: whether each can time (no CU_EVENT_DISABLE_TIMING) and
  /// when it was last recorded, if it was.
  struct Event {
    bool timing;
    bool recorded = false;
    uint64_t time = 0;
  };
  std::map<void *, Event> events;
  /// The fake device clock in microseconds: each launch takes one.
  uint64_t clock = 0;
  /// Kernel handles point at their interned names.
  std::set<std::string> kernelNames;
  /// Dynamic shared memory kernels were opted into beyond the default.
  std::map<const void *, int> sharedMemoryLimits;
  int memAllocs = 0, memFrees = 0, prepareLaunches = 0, stepLaunches = 0,
      largeSharedMemoryLaunches = 0, streamCreates = 0, streamSynchronizes = 0,
      graphLaunches = 0, graphsInstantiated = 0, invalidCalls = 0;
  std::string firstInvalid;
  /// FNV-1a over the names of the kernels run, in order.
  uint64_t kernelOrder = 14695981039346656037ull;
  /// Graphs and executable graphs: their kernels and shared memory.
  using Nodes = std::vector<std::pair<const void *, unsigned>>;
  std::map<const void *, Nodes> graphs, executables;

  /// Whether a launch is valid (recording why not).
  bool validLaunch(const void *function, unsigned gridX, unsigned gridY,
                   unsigned gridZ, uint64_t threads, unsigned sharedBytes,
                   void **params) {
    const std::string &name = *static_cast<const std::string *>(function);
    if (!kernelNames.count(name))
      invalid("launch of an unknown kernel");
    else if (!gridX || !gridY || !gridZ || !threads || threads > 1024)
      invalid("launch of " + name + " with an invalid shape");
    else if (!params)
      invalid("launch of " + name + " without parameters");
    else if (sharedBytes > 48 * 1024 &&
             int(sharedBytes) > sharedMemoryLimits[function])
      invalid("launch of " + name +
              " with more shared memory than it was opted into");
    else
      return true;
    return false;
  }
  /// Counts a kernel that runs now.
  void run(const void *function, unsigned sharedBytes) {
    const std::string &name = *static_cast<const std::string *>(function);
    ++(name.rfind("step_prepare_", 0) == 0 ? prepareLaunches : stepLaunches);
    largeSharedMemoryLaunches += sharedBytes > 48 * 1024;
    ++clock;
    for (char c : name)
      kernelOrder = (kernelOrder ^ uint8_t(c)) * 1099511628211ull;
  }

  void invalid(const std::string &what) {
    if (invalidCalls++ == 0)
      firstInvalid = what;
  }
  /// Whether [address, address + bytes) lies in one live allocation.
  bool isDeviceRange(CUdeviceptr address, size_t bytes) {
    auto after = allocations.upper_bound(address);
    if (after == allocations.begin())
      return false;
    auto block = std::prev(after);
    return address + bytes <= block->first + block->second;
  }

  ~FakeDevice() {
    const char *path = std::getenv("INFINI_FAKE_CUDA_REPORT");
    FILE *report = path ? std::fopen(path, "w") : nullptr;
    if (!report)
      return;
    std::fprintf(report,
                 "cuMemAlloc: %d\ncuMemFree: %d\nprepare launches: %d\n"
                 "step launches: %d\n"
                 "launches with more than 48 KiB of shared memory: %d\n"
                 "cuStreamCreate: %d\ncuStreamSynchronize: %d\n"
                 "graphs instantiated: %d\ngraph launches: %d\n"
                 "kernel order: %016llx\n"
                 "invalid calls: %d%s%s\n",
                 memAllocs, memFrees, prepareLaunches, stepLaunches,
                 largeSharedMemoryLaunches, streamCreates, streamSynchronizes,
                 graphsInstantiated, graphLaunches,
                 (unsigned long long)kernelOrder, invalidCalls,
                 invalidCalls ? ", first: " : "", firstInvalid.c_str());
    std::fclose(report);
  }
};

FakeDevice device;
int contextTag, moduleTag;
} // namespace

#define FAKE_CUDA_API extern "C" __attribute__((visibility("default")))

FAKE_CUDA_API CUresult cuInit(unsigned) { return kSuccess; }
FAKE_CUDA_API CUresult cuDeviceGetCount(int *count) {
  *count = 1;
  return kSuccess;
}
FAKE_CUDA_API CUresult cuDeviceGet(int *handle, int ordinal) {
  *handle = ordinal;
  return ordinal == 0 ? kSuccess : kInvalidValue;
}
FAKE_CUDA_API CUresult cuDeviceGetName(char *name, int length, int) {
  std::snprintf(name, length, "fake CUDA driver (no kernels run)");
  return kSuccess;
}
// The compute capability is INFINI_FAKE_CUDA_COMPUTE_CAPABILITY (as 90 for
// sm_90), by default an H100's.
FAKE_CUDA_API CUresult cuDeviceGetAttribute(int *value, int attribute, int) {
  const char *setting = std::getenv("INFINI_FAKE_CUDA_COMPUTE_CAPABILITY");
  int capability = setting ? std::atoi(setting) : 90;
  if (attribute == 75) // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
    *value = capability / 10;
  else if (attribute == 76) // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR
    *value = capability % 10;
  else
    return kInvalidValue;
  return kSuccess;
}
FAKE_CUDA_API CUresult cuDevicePrimaryCtxRetain(void **context, int) {
  *context = &contextTag;
  return kSuccess;
}
FAKE_CUDA_API CUresult cuCtxSetCurrent(void *) { return kSuccess; }
FAKE_CUDA_API CUresult cuCtxSynchronize() { return kSuccess; }
FAKE_CUDA_API CUresult cuGetErrorString(CUresult result, const char **text) {
  *text = result == kOutOfMemory ? "out of memory" : "invalid value";
  return kSuccess;
}
FAKE_CUDA_API CUresult cuModuleLoadData(void **module, const void *image) {
  if (!image)
    return kInvalidValue;
  *module = &moduleTag;
  return kSuccess;
}
FAKE_CUDA_API CUresult cuModuleUnload(void *) { return kSuccess; }
FAKE_CUDA_API CUresult cuModuleGetFunction(void **function, void *module,
                                           const char *name) {
  std::lock_guard<std::mutex> lock(device.mutex);
  if (module != &moduleTag)
    return kInvalidValue;
  *function =
      const_cast<std::string *>(&*device.kernelNames.insert(name).first);
  return kSuccess;
}
FAKE_CUDA_API CUresult cuFuncSetAttribute(void *function, int attribute,
                                          int value) {
  std::lock_guard<std::mutex> lock(device.mutex);
  // CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, up to an H100's 227 KiB.
  if (attribute != 8 || value < 0 || value > 227 * 1024) {
    device.invalid("cuFuncSetAttribute with an unsupported attribute");
    return kInvalidValue;
  }
  device.sharedMemoryLimits[function] = value;
  return kSuccess;
}
FAKE_CUDA_API CUresult cuLaunchKernel(void *function, unsigned gridX,
                                      unsigned gridY, unsigned gridZ,
                                      unsigned blockX, unsigned blockY,
                                      unsigned blockZ, unsigned sharedBytes,
                                      void *stream, void **params, void **) {
  std::lock_guard<std::mutex> lock(device.mutex);
  if (device.validLaunch(function, gridX, gridY, gridZ,
                         uint64_t(blockX) * blockY * blockZ, sharedBytes,
                         params) &&
      stream && !device.streams.count(stream))
    device.invalid("launch on an unknown stream");
  device.run(function, sharedBytes);
  return kSuccess;
}
#ifndef INFINI_FAKE_CUDA_NO_GRAPHS
// The pipeline's kernels take 8-byte parameters only (pointers and
// indices), so that is every parameter's size here.
FAKE_CUDA_API CUresult cuFuncGetParamInfo(void *function, size_t index,
                                          size_t *offset, size_t *size) {
  std::lock_guard<std::mutex> lock(device.mutex);
  if (!device.kernelNames.count(*static_cast<const std::string *>(function)))
    return kInvalidValue;
  *offset = 8 * index;
  *size = 8;
  return kSuccess;
}
/// CUDA_KERNEL_NODE_PARAMS_v2.
struct KernelNodeParams {
  void *function;
  unsigned grid[3], block[3];
  unsigned sharedBytes;
  void **params;
  void **extra;
  void *kernel;
  void *context;
};
FAKE_CUDA_API CUresult cuGraphCreate(void **graph, unsigned) {
  std::lock_guard<std::mutex> lock(device.mutex);
  *graph = std::malloc(1);
  device.graphs[*graph];
  return kSuccess;
}
FAKE_CUDA_API CUresult cuGraphAddKernelNode_v2(void **node, void *graph,
                                               void *const *dependencies,
                                               size_t dependencyCount,
                                               const KernelNodeParams *params) {
  std::lock_guard<std::mutex> lock(device.mutex);
  auto found = device.graphs.find(graph);
  if (found == device.graphs.end() || !params || params->extra ||
      !device.validLaunch(
          params->function, params->grid[0], params->grid[1], params->grid[2],
          uint64_t(params->block[0]) * params->block[1] * params->block[2],
          params->sharedBytes, params->params)) {
    device.invalid("kernel node added to an unknown graph or invalid");
    return kInvalidValue;
  }
  // Nodes are tagged by their position, from 1; each may depend on nodes
  // before it only.
  for (size_t i = 0; i < dependencyCount; ++i)
    if (uintptr_t(dependencies[i]) - 1 >= found->second.size())
      device.invalid("kernel node depending on an unknown node");
  found->second.push_back({params->function, params->sharedBytes});
  *node = reinterpret_cast<void *>(uintptr_t(found->second.size()));
  return kSuccess;
}
FAKE_CUDA_API CUresult cuGraphInstantiateWithFlags(void **executable,
                                                   void *graph,
                                                   unsigned long long) {
  std::lock_guard<std::mutex> lock(device.mutex);
  auto found = device.graphs.find(graph);
  if (found == device.graphs.end()) {
    device.invalid("instantiation of an unknown graph");
    return kInvalidValue;
  }
  *executable = std::malloc(1);
  device.executables[*executable] = found->second;
  ++device.graphsInstantiated;
  return kSuccess;
}
FAKE_CUDA_API CUresult cuGraphLaunch(void *executable, void *stream) {
  std::lock_guard<std::mutex> lock(device.mutex);
  auto found = device.executables.find(executable);
  if (found == device.executables.end() ||
      (stream && !device.streams.count(stream))) {
    device.invalid("launch of an unknown graph or on an unknown stream");
    return kInvalidValue;
  }
  for (auto [function, sharedBytes] : found->second)
    device.run(function, sharedBytes);
  ++device.graphLaunches;
  return kSuccess;
}
FAKE_CUDA_API CUresult cuGraphExecDestroy(void *executable) {
  std::lock_guard<std::mutex> lock(device.mutex);
  if (!device.executables.erase(executable))
    device.invalid("destroy of an unknown executable graph");
  std::free(executable);
  return kSuccess;
}
FAKE_CUDA_API CUresult cuGraphDestroy(void *graph) {
  std::lock_guard<std::mutex> lock(device.mutex);
  if (!device.graphs.erase(graph))
    device.invalid("destroy of an unknown graph");
  std::free(graph);
  return kSuccess;
}
#endif // INFINI_FAKE_CUDA_NO_GRAPHS
FAKE_CUDA_API CUresult cuStreamCreate(void **stream, unsigned) {
  std::lock_guard<std::mutex> lock(device.mutex);
  *stream = std::malloc(1);
  device.streams.insert(*stream);
  ++device.streamCreates;
  return kSuccess;
}
FAKE_CUDA_API CUresult cuStreamDestroy_v2(void *stream) {
  std::lock_guard<std::mutex> lock(device.mutex);
  if (!device.streams.erase(stream))
    device.invalid("destroy of an unknown stream");
  std::free(stream);
  return kSuccess;
}
FAKE_CUDA_API CUresult cuStreamSynchronize(void *stream) {
  std::lock_guard<std::mutex> lock(device.mutex);
  if (stream && !device.streams.count(stream))
    device.invalid("synchronize of an unknown stream");
  ++device.streamSynchronizes;
  return kSuccess;
}
FAKE_CUDA_API CUresult cuStreamWaitEvent(void *, void *, unsigned) {
  return kSuccess;
}
FAKE_CUDA_API CUresult cuEventCreate(void **event, unsigned flags) {
  std::lock_guard<std::mutex> lock(device.mutex);
  *event = std::malloc(1);
  // CU_EVENT_DISABLE_TIMING
  device.events[*event] = {/*timing=*/(flags & 0x2) == 0};
  return kSuccess;
}
FAKE_CUDA_API CUresult cuEventDestroy_v2(void *event) {
  std::lock_guard<std::mutex> lock(device.mutex);
  if (!device.events.erase(event))
    device.invalid("destroy of an unknown event");
  std::free(event);
  return kSuccess;
}
FAKE_CUDA_API CUresult cuEventRecord(void *event, void *stream) {
  std::lock_guard<std::mutex> lock(device.mutex);
  auto found = device.events.find(event);
  if (found == device.events.end() ||
      (stream && !device.streams.count(stream))) {
    device.invalid("record of an unknown event or on an unknown stream");
    return kInvalidValue;
  }
  found->second.recorded = true;
  found->second.time = device.clock;
  return kSuccess;
}
FAKE_CUDA_API CUresult cuEventSynchronize(void *) { return kSuccess; }
FAKE_CUDA_API CUresult cuEventElapsedTime(float *milliseconds, void *start,
                                          void *stop) {
  std::lock_guard<std::mutex> lock(device.mutex);
  auto first = device.events.find(start), last = device.events.find(stop);
  if (first == device.events.end() || last == device.events.end() ||
      !first->second.timing || !last->second.timing ||
      !first->second.recorded || !last->second.recorded) {
    device.invalid("elapsed time of events that cannot time or were not "
                   "recorded");
    return kInvalidValue;
  }
  *milliseconds = (last->second.time - first->second.time) * 1e-3f;
  return kSuccess;
}

FAKE_CUDA_API CUresult cuMemAlloc_v2(CUdeviceptr *pointer, size_t bytes) {
  std::lock_guard<std::mutex> lock(device.mutex);
  ++device.memAllocs;
  void *block = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (!block)
    return kOutOfMemory;
  *pointer = reinterpret_cast<CUdeviceptr>(block);
  device.allocations.emplace(*pointer, bytes);
  return kSuccess;
}
FAKE_CUDA_API CUresult cuMemFree_v2(CUdeviceptr pointer) {
  std::lock_guard<std::mutex> lock(device.mutex);
  ++device.memFrees;
  if (!device.allocations.erase(pointer)) {
    device.invalid("free of memory cuMemAlloc did not return");
    return kInvalidValue;
  }
  std::free(reinterpret_cast<void *>(pointer));
  return kSuccess;
}

namespace {
/// Copies after checking that the device sides are live device memory.
CUresult copy(CUdeviceptr destination, bool destinationOnDevice,
              CUdeviceptr source, bool sourceOnDevice, size_t bytes,
              const char *call) {
  std::lock_guard<std::mutex> lock(device.mutex);
  if ((destinationOnDevice && !device.isDeviceRange(destination, bytes)) ||
      (sourceOnDevice && !device.isDeviceRange(source, bytes))) {
    device.invalid(std::string(call) + " outside device memory");
    return kInvalidValue;
  }
  std::memcpy(reinterpret_cast<void *>(destination),
              reinterpret_cast<const void *>(source), bytes);
  return kSuccess;
}

template <typename Element>
CUresult fill(CUdeviceptr destination, Element value, size_t count,
              const char *call) {
  std::lock_guard<std::mutex> lock(device.mutex);
  if (!device.isDeviceRange(destination, count * sizeof(Element))) {
    device.invalid(std::string(call) + " outside device memory");
    return kInvalidValue;
  }
  auto *elements = reinterpret_cast<Element *>(destination);
  for (size_t i = 0; i < count; ++i)
    elements[i] = value;
  return kSuccess;
}
} // namespace

FAKE_CUDA_API CUresult cuMemcpyHtoD_v2(CUdeviceptr destination,
                                       const void *source, size_t bytes) {
  return copy(destination, true, reinterpret_cast<CUdeviceptr>(source), false,
              bytes, "cuMemcpyHtoD");
}
FAKE_CUDA_API CUresult cuMemcpyDtoH_v2(void *destination, CUdeviceptr source,
                                       size_t bytes) {
  return copy(reinterpret_cast<CUdeviceptr>(destination), false, source, true,
              bytes, "cuMemcpyDtoH");
}
FAKE_CUDA_API CUresult cuMemcpyAsync(CUdeviceptr destination,
                                     CUdeviceptr source, size_t bytes, void *) {
  return copy(destination, true, source, true, bytes, "cuMemcpyAsync");
}
FAKE_CUDA_API CUresult cuMemsetD8_v2(CUdeviceptr destination,
                                     unsigned char value, size_t count) {
  return fill<unsigned char>(destination, value, count, "cuMemsetD8");
}
FAKE_CUDA_API CUresult cuMemsetD16Async(CUdeviceptr destination,
                                        unsigned short value, size_t count,
                                        void *) {
  return fill<unsigned short>(destination, value, count, "cuMemsetD16Async");
}
FAKE_CUDA_API CUresult cuMemsetD32Async(CUdeviceptr destination, unsigned value,
                                        size_t count, void *) {
  return fill<unsigned>(destination, value, count, "cuMemsetD32Async");
}
