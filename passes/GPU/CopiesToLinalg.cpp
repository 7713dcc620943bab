//===- CopiesToLinalg.cpp - The infini-copies-to-linalg pass --------------===//
//
// A `memref.copy` lowers to a call of the host runtime's `memrefCopy`, which
// dereferences both buffers on the host. For the GPU each copy becomes a
// `linalg.copy` instead, so the loop conversion that follows makes it a
// parallel loop and then a kernel (or part of one, inside a kernel body).
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/IR/Builders.h"

namespace infini {
#define GEN_PASS_DEF_COPIESTOLINALG
#include "passes/Passes.h.inc"
} // namespace infini

using namespace mlir;

namespace {
struct CopiesToLinalgPass
    : public infini::impl::CopiesToLinalgBase<CopiesToLinalgPass> {
  void runOnOperation() override {
    getOperation().walk([](memref::CopyOp copy) {
      if (copy.getSource() != copy.getTarget()) {
        OpBuilder builder(copy);
        linalg::CopyOp::create(builder,
                               infini::kernelKindLoc(copy.getLoc(), "copy"),
                               copy.getSource(), copy.getTarget());
      }
      copy.erase();
    });
  }
};
} // namespace
