//===- EraseSelfCopies.cpp - The infini-erase-self-copies pass ------------===//
//
// Bufferizing a tile loop's tensor.insert_slice into the buffer its tile was
// extracted from leaves `memref.copy %a, %a` behind, once per tile. The copy
// does nothing, but it stays a call of the strided `memrefCopy` unless it
// is erased.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"

namespace infini {
#define GEN_PASS_DEF_ERASESELFCOPIES
#include "passes/Passes.h.inc"
} // namespace infini

using namespace mlir;

namespace {
struct EraseSelfCopiesPass
    : public infini::impl::EraseSelfCopiesBase<EraseSelfCopiesPass> {
  void runOnOperation() override {
    // Views of one buffer with equal offsets, sizes and strides are the
    // same view; the pipeline runs CSE first so they are one value.
    getOperation().walk([](memref::CopyOp copy) {
      if (copy.getSource() == copy.getTarget())
        copy.erase();
    });
  }
};
} // namespace
