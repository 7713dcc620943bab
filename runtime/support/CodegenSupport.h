//===- CodegenSupport.h - What lowered CPU code calls beyond libc -*- C++
//-*-===//
//
// The functions of runtime/support that compiled CPU code calls: strided
// memref copies and the temporary-buffer allocator. Artifacts link them into
// their host library; the JIT binds its code to these same definitions.
//
//===----------------------------------------------------------------------===//

#ifndef INFINI_RUNTIME_SUPPORT_CODEGENSUPPORT_H
#define INFINI_RUNTIME_SUPPORT_CODEGENSUPPORT_H

#include <cstddef>
#include <cstdint>

// Hidden: in an artifact they resolve inside its own host library.
#define INFINI_SUPPORT_API __attribute__((visibility("hidden")))

extern "C" {
/// `memref.copy` between non-contiguous memrefs: `source` and `destination`
/// point at MLIR unranked memref descriptors.
INFINI_SUPPORT_API void memrefCopy(int64_t elementSize, void *source,
                                   void *destination);

/// memref.alloc/dealloc as lowered by
/// finalize-memref-to-llvm{use-generic-functions=1}.
INFINI_SUPPORT_API void *_mlir_memref_to_llvm_alloc(size_t size);
INFINI_SUPPORT_API void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment,
                                                            size_t size);
INFINI_SUPPORT_API void _mlir_memref_to_llvm_free(void *data);
}

#endif // INFINI_RUNTIME_SUPPORT_CODEGENSUPPORT_H
