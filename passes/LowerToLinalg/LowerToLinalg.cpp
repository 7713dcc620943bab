//===- LowerToLinalg.cpp - The infini-lower-to-linalg pass ----------------===//

#include "dialect/InfiniDialect.h"
#include "passes/Passes.h"

#include "mlir/Transforms/DialectConversion.h"

namespace infini {
#define GEN_PASS_DEF_LOWERTOLINALG
#include "passes/Passes.h.inc"
} // namespace infini

using namespace mlir;
using namespace infini;

void infini::populateLowerToLinalgPatterns(RewritePatternSet &patterns) {
  populateLowerNormAndFeedForwardPatterns(patterns);
  populateLowerRopePatterns(patterns);
  populateLowerCopePatterns(patterns);
  populateLowerAttentionPatterns(patterns);
  populateLowerMemoryPatterns(patterns);
}

namespace {
struct LowerToLinalgPass
    : public infini::impl::LowerToLinalgBase<LowerToLinalgPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    ConversionTarget target(*ctx);
    target.addIllegalDialect<InfiniDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(ctx);
    populateLowerToLinalgPatterns(patterns);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
