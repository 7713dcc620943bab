//===- ApproximateMath.cpp - The infini-approximate-math pass -------------===//
//
// math.exp (and other f32 transcendentals) becomes MLIR's polynomial
// approximation (a few ulp, well inside SPEC's bound) instead of a call of
// libm's expf: plain arithmetic that LLVM vectorizes along with the rest of
// a softmax or sigmoid loop.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace infini {
#define GEN_PASS_DEF_APPROXIMATEMATH
#include "passes/Passes.h.inc"
} // namespace infini

using namespace mlir;

namespace {
struct ApproximateMathPass
    : public infini::impl::ApproximateMathBase<ApproximateMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    // The approximations apply to f32 only; f64 math (RoPE's angle table)
    // keeps its exact lowering.
    populateMathPolynomialApproximationPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
