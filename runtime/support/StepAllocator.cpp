//===- StepAllocator.cpp - Temporary buffers that outlive one step --------===//
//
// The CPU pipeline lowers memref.alloc/dealloc to
// `_mlir_memref_to_llvm_alloc`/`_mlir_memref_to_llvm_free`
// (finalize-memref-to-llvm's generic functions), implemented here. A step
// allocates the same temporaries every segment, several MB each. From
// malloc they are fresh mmap'd pages each time, and the page faults alone
// cost up to 40% of a step (h512, 512-token segments). Freed blocks are kept
// by exact size, so the next step gets the same, already mapped, memory.
//
// The artifacts link this file (hidden: it resolves inside each library);
// the JIT binds its code to the same functions.
//
//===----------------------------------------------------------------------===//

#include "runtime/support/CodegenSupport.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

// Only header-only parts of the C++ library: the artifacts link this file
// with the C compiler driver and do not depend on libstdc++.

namespace {

/// Every block starts with this header, 64 bytes so the data stays aligned
/// for the widest vector loads. `raw` is what aligned_alloc returned; `next`
/// chains the block into its size's free list while it is cached.
struct alignas(64) BlockHeader {
  void *raw;
  size_t size;
  size_t alignment;
  BlockHeader *next;
};

/// Free blocks of one (size, alignment).
struct FreeList {
  size_t size = 0;
  size_t alignment = 0;
  BlockHeader *head = nullptr;
};

/// A step has a few dozen distinct temporary sizes; blocks of sizes beyond
/// this many, and bytes beyond kMaxCachedBytes, go back to the C library.
constexpr int kMaxFreeLists = 256;
constexpr size_t kMaxCachedBytes = size_t(2) << 30;

std::atomic_flag lock = ATOMIC_FLAG_INIT;
FreeList freeLists[kMaxFreeLists];
int usedFreeLists = 0;
size_t cachedBytes = 0;

/// Held for a few instructions: a spin lock suits the OpenMP threads that
/// allocate their blocks' temporaries at once.
struct LockGuard {
  LockGuard() {
    while (lock.test_and_set(std::memory_order_acquire))
      ;
  }
  ~LockGuard() { lock.clear(std::memory_order_release); }
};

/// The free list of (size, alignment), created when `create` is set and
/// there is room; null otherwise. Callers hold the lock.
FreeList *findFreeList(size_t size, size_t alignment, bool create) {
  for (int i = 0; i < usedFreeLists; ++i)
    if (freeLists[i].size == size && freeLists[i].alignment == alignment)
      return &freeLists[i];
  if (!create || usedFreeLists == kMaxFreeLists)
    return nullptr;
  FreeList &list = freeLists[usedFreeLists++];
  list.size = size;
  list.alignment = alignment;
  return &list;
}

void *allocate(size_t size, size_t alignment) {
  if (alignment < alignof(BlockHeader))
    alignment = alignof(BlockHeader);
  {
    LockGuard guard;
    FreeList *list = findFreeList(size, alignment, /*create=*/false);
    if (list && list->head) {
      BlockHeader *header = list->head;
      list->head = header->next;
      cachedBytes -= size;
      return header + 1;
    }
  }
  // The data follows the header at the next multiple of `alignment`.
  size_t offset = (sizeof(BlockHeader) + alignment - 1) / alignment * alignment;
  size_t total = (offset + size + alignment - 1) / alignment * alignment;
  void *raw = std::aligned_alloc(alignment, total);
  if (!raw)
    return nullptr;
  char *data = static_cast<char *>(raw) + offset;
  auto *header = reinterpret_cast<BlockHeader *>(data) - 1;
  *header = {raw, size, alignment, nullptr};
  return data;
}

} // namespace

void *_mlir_memref_to_llvm_alloc(size_t size) {
  return allocate(size, alignof(BlockHeader));
}

void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment, size_t size) {
  return allocate(size, alignment);
}

void _mlir_memref_to_llvm_free(void *data) {
  if (!data)
    return;
  BlockHeader *header = static_cast<BlockHeader *>(data) - 1;
  {
    LockGuard guard;
    if (cachedBytes + header->size <= kMaxCachedBytes)
      if (FreeList *list =
              findFreeList(header->size, header->alignment, /*create=*/true)) {
        header->next = list->head;
        list->head = header;
        cachedBytes += header->size;
        return;
      }
  }
  std::free(header->raw);
}
