//===- MemRefCopy.cpp - Strided copies for ahead-of-time code -------------===//
//
// Lowered `memref.copy` between non-contiguous memrefs calls
// `memrefCopy(elementSize, source, destination)` with unranked descriptors.
// An artifact cannot depend on MLIR's C runner utilities, so infini-compile
// links this implementation into every host library (hidden: it resolves
// inside the library only), and the JIT binds its code to it too.
//
//===----------------------------------------------------------------------===//

#include "runtime/support/CodegenSupport.h"

#include <cstring>

namespace {
/// MLIR's unranked memref: a rank and a pointer to a ranked descriptor
/// {allocated, aligned, offset, sizes[rank], strides[rank]}.
struct UnrankedDescriptor {
  int64_t rank;
  void *descriptor;
};

struct RankedView {
  char *base;
  const int64_t *sizes;
  const int64_t *strides;
};

RankedView viewOf(const UnrankedDescriptor &memref, int64_t elementSize) {
  auto *fields = static_cast<int64_t *>(memref.descriptor);
  char *aligned = reinterpret_cast<char *>(fields[1]);
  return {aligned + fields[2] * elementSize, fields + 3,
          fields + 3 + memref.rank};
}
} // namespace

void memrefCopy(int64_t elementSize, void *sourceMemref,
                void *destinationMemref) {
  auto *source = static_cast<UnrankedDescriptor *>(sourceMemref);
  auto *destination = static_cast<UnrankedDescriptor *>(destinationMemref);
  int64_t rank = source->rank;
  RankedView from = viewOf(*source, elementSize);
  RankedView to = viewOf(*destination, elementSize);
  for (int64_t d = 0; d < rank; ++d)
    if (from.sizes[d] == 0)
      return;
  if (rank == 0) {
    std::memcpy(to.base, from.base, elementSize);
    return;
  }
  // Walk the outer dimensions with an index counter; copy innermost rows,
  // as one memcpy when both sides are contiguous there.
  // infini code has memrefs of rank 5 at most.
  constexpr int kMaxRank = 16;
  if (rank > kMaxRank)
    __builtin_trap();
  int64_t index[kMaxRank] = {};
  int64_t inner = rank - 1;
  bool contiguous = from.strides[inner] == 1 && to.strides[inner] == 1;
  while (true) {
    int64_t fromOffset = 0, toOffset = 0;
    for (int64_t d = 0; d < inner; ++d) {
      fromOffset += index[d] * from.strides[d];
      toOffset += index[d] * to.strides[d];
    }
    char *src = from.base + fromOffset * elementSize;
    char *dst = to.base + toOffset * elementSize;
    if (contiguous) {
      std::memcpy(dst, src, from.sizes[inner] * elementSize);
    } else {
      for (int64_t i = 0; i < from.sizes[inner]; ++i)
        std::memcpy(dst + i * to.strides[inner] * elementSize,
                    src + i * from.strides[inner] * elementSize, elementSize);
    }
    int64_t d = inner - 1;
    for (; d >= 0; --d) {
      if (++index[d] < from.sizes[d])
        break;
      index[d] = 0;
    }
    if (d < 0)
      return;
  }
}
