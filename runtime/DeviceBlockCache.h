//===- DeviceBlockCache.h - Step temporaries kept on the device -*- C++ -*-===//
//
// Host code lowered by gpu-to-llvm allocates every temporary of a step with
// `mgpuMemAlloc` and frees it with `mgpuMemFree`, a few dozen per segment.
// Straight to the driver, each is a cuMemAlloc/cuMemFree: tens of
// microseconds of host time, and cuMemFree waits for the device, so the host
// could not run ahead of the kernels it launches. This cache keeps freed
// blocks by size for the next allocation of that size, so from the second
// segment on a step calls the driver for no memory at all.
//
// A block freed on a stream may still be in use by kernels queued on that
// stream. It becomes reusable only once that stream is known to have
// finished (streamFinished, called after the stream was synchronized), so a
// block is never handed to another stream, another Session's say, while the
// kernels of the first may still touch it.
//
//===----------------------------------------------------------------------===//

#ifndef INFINI_RUNTIME_DEVICEBLOCKCACHE_H
#define INFINI_RUNTIME_DEVICEBLOCKCACHE_H

#include <cstddef>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace infini::rt {

/// Where the cache gets and returns its blocks: the driver, or a test's fake.
class RawDeviceAllocator {
public:
  virtual ~RawDeviceAllocator() = default;
  /// A new block of `bytes`, or null when the device has no room.
  virtual void *allocate(size_t bytes) = 0;
  virtual void release(void *block) = 0;
};

class DeviceBlockCache {
public:
  /// Sizes are rounded up to this many bytes, so that temporaries of nearly
  /// the same size share blocks.
  static constexpr size_t kGranule = 512;

  /// Keeps at most `maxCachedBytes` in free blocks; frees beyond it go back
  /// to `raw`.
  DeviceBlockCache(RawDeviceAllocator &raw, size_t maxCachedBytes)
      : raw(raw), maxCachedBytes(maxCachedBytes) {}
  DeviceBlockCache(const DeviceBlockCache &) = delete;
  DeviceBlockCache &operator=(const DeviceBlockCache &) = delete;
  /// Returns the free blocks; blocks still allocated are the caller's leak.
  ~DeviceBlockCache() { trim(); }

  /// A block of at least `bytes`: a free one of the same rounded size, else
  /// a new one; when the device is full, the free blocks are returned and the
  /// allocation retried once. Null when that fails too.
  void *allocate(size_t bytes);
  /// Frees `block` (from allocate) once the work queued so far on `stream`
  /// is done. A null stream means no work is pending: reusable at once.
  /// Pointers the cache did not hand out are ignored.
  void release(void *block, const void *stream);
  /// `stream` has finished all its work: its freed blocks become reusable.
  void streamFinished(const void *stream);
  /// Whether blocks freed on `stream` still wait for it.
  bool hasPending(const void *stream);
  /// Returns every free block to the raw allocator.
  void trim();

  /// Bytes in free, reusable blocks.
  size_t cachedBytes();

private:
  /// Moves blocks into the free lists, returning those beyond the limit.
  /// Callers hold the mutex; the returned blocks are released after it.
  std::vector<void *> addFree(const std::vector<void *> &blocks);
  void releaseRaw(const std::vector<void *> &blocks);

  RawDeviceAllocator &raw;
  const size_t maxCachedBytes;
  std::mutex mutex;
  /// Rounded size of every block handed out and not yet returned to `raw`.
  std::unordered_map<void *, size_t> blockSizes;
  /// Reusable blocks by rounded size.
  std::multimap<size_t, void *> freeBlocks;
  size_t freeBytes = 0;
  /// Blocks freed on a stream that has not finished yet.
  std::unordered_map<const void *, std::vector<void *>> pending;
};

} // namespace infini::rt

#endif // INFINI_RUNTIME_DEVICEBLOCKCACHE_H
