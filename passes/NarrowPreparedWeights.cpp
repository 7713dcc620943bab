//===- NarrowPreparedWeights.cpp - 16-bit operands for tensor cores -------===//
//
// With tensor cores, the GPU pipeline rounds both operands of a large
// matrix product to 16 bits as it stages them in shared memory. For the
// weight operand that rounding gives the same values every segment, so
// infini-narrow-prepared-weights does it once: the prepare function returns
// the 16-bit copy of each prepared weight that only feeds matrix products,
// and the step reads it in place of the f32 one. The device then holds and
// streams half the bytes per weight, and the results are unchanged
// (rounding a value twice to the same type is rounding it once).
//
// infini-narrow-shared-operands does the same for an activation that
// several projections read (the normalized hidden state that feeds Q, K
// and V): rounded once where it is computed rather than by every block of
// every product that stages it, it is written and read in half the bytes,
// and staged without conversion (cp.async).
//
//===----------------------------------------------------------------------===//

#include "dialect/InfiniOps.h"
#include "passes/LowerToLinalg/LoweringUtils.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"

namespace infini {
#define GEN_PASS_DEF_NARROWPREPAREDWEIGHTS
#define GEN_PASS_DEF_NARROWSHAREDOPERANDS
#include "passes/Passes.h.inc"
} // namespace infini

using namespace mlir;
using namespace infini;

/// Whether every use of `value` is an input of a contraction on tensors
/// (the model's projections), each reading it once.
static bool onlyFeedsContractions(Value value) {
  return !value.use_empty() &&
         llvm::all_of(value.getUses(), [&](OpOperand &use) {
           auto op = dyn_cast<linalg::LinalgOp>(use.getOwner());
           return op && op.hasPureTensorSemantics() && op.isDpsInput(&use) &&
                  linalg::isaContractionOpInterface(op) &&
                  llvm::count(op->getOperands(), value) == 1;
         });
}

/// Makes `op`, a contraction, read the 16-bit operand `index`: named ops are
/// generalized, then the operand's payload argument, now 16-bit, is widened
/// back to its old type where the payload reads it.
static void widenInPayload(IRRewriter &rewriter, linalg::LinalgOp op,
                           unsigned index) {
  if (!isa<linalg::GenericOp>(op)) {
    rewriter.setInsertionPoint(op);
    FailureOr<linalg::GenericOp> generic =
        linalg::generalizeNamedOp(rewriter, op);
    assert(succeeded(generic) && "contractions are generalizable");
    op = *generic;
  }
  OpOperand &operand = op->getOpOperand(index);
  BlockArgument argument = op.getMatchingBlockArgument(&operand);
  Type wide = argument.getType();
  argument.setType(getElementTypeOrSelf(operand.get().getType()));
  rewriter.setInsertionPointToStart(argument.getOwner());
  auto widened = arith::ExtFOp::create(rewriter, op.getLoc(), wide, argument);
  rewriter.replaceAllUsesExcept(argument, widened, widened);
}

/// The 16-bit type `name` names (f16 or bf16); null, with an error on
/// `module`, otherwise.
static FloatType parseNarrowType(ModuleOp module, StringRef name) {
  if (name == "f16")
    return Float16Type::get(module.getContext());
  if (name == "bf16")
    return BFloat16Type::get(module.getContext());
  module.emitError() << "unsupported element-type '" << name
                     << "'; expected f16 or bf16";
  return {};
}

namespace {
struct NarrowPreparedWeightsPass
    : public infini::impl::NarrowPreparedWeightsBase<
          NarrowPreparedWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    FloatType type = parseNarrowType(getOperation(), elementType);
    if (!type)
      return signalPassFailure();
    SymbolTable symbols(getOperation());
    for (auto step : getOperation().getOps<func::FuncOp>()) {
      if (!isModelStep(step))
        continue;
      auto prepare =
          symbols.lookup<func::FuncOp>((step.getSymName() + "_prepare").str());
      if (prepare && !prepare.isExternal())
        narrow(step, prepare, type);
    }
  }

  void narrow(func::FuncOp step, func::FuncOp prepare, FloatType type) {
    // The prepare function's results by name.
    llvm::StringMap<unsigned> resultIndex;
    for (unsigned i = 0, e = prepare.getNumResults(); i < e; ++i)
      if (auto name = prepare.getResultAttrOfType<StringAttr>(i, kPreparedAttr))
        resultIndex[name.getValue()] = i;
    auto returnOp =
        cast<func::ReturnOp>(prepare.getBody().back().getTerminator());
    IRRewriter rewriter(&getContext());
    SmallVector<Type> resultTypes(prepare.getResultTypes());
    for (BlockArgument argument : step.getArguments()) {
      auto name = step.getArgAttrOfType<StringAttr>(argument.getArgNumber(),
                                                    kPreparedAttr);
      auto tensorType = dyn_cast<RankedTensorType>(argument.getType());
      if (!name || !tensorType || !tensorType.getElementType().isF32() ||
          !onlyFeedsContractions(argument))
        continue;
      auto result = resultIndex.find(name.getValue());
      if (result == resultIndex.end())
        continue;
      // The prepare function returns the rounded copy...
      unsigned index = result->second;
      rewriter.setInsertionPoint(returnOp);
      Value rounded = lowering::buildRounding(rewriter, returnOp.getLoc(),
                                              returnOp.getOperand(index), type);
      returnOp.setOperand(index, rounded);
      resultTypes[index] = rounded.getType();
      // ...which the step's products read.
      SmallVector<std::pair<linalg::LinalgOp, unsigned>> uses;
      for (OpOperand &use : argument.getUses())
        uses.push_back(
            {cast<linalg::LinalgOp>(use.getOwner()), use.getOperandNumber()});
      argument.setType(rounded.getType());
      for (auto [op, operand] : uses)
        widenInPayload(rewriter, op, operand);
    }
    prepare.setFunctionType(FunctionType::get(
        &getContext(), prepare.getArgumentTypes(), resultTypes));
    step.setFunctionType(FunctionType::get(
        &getContext(), step.getBody().front().getArgumentTypes(),
        step.getResultTypes()));
  }
};
} // namespace

/// Whether `use` is the input of a contraction on tensors whose other input
/// is already of the 16-bit `type` (a projection over narrowed weights).
static bool isProjectionInput(OpOperand &use, FloatType type) {
  auto op = dyn_cast<linalg::LinalgOp>(use.getOwner());
  if (!op || !op.hasPureTensorSemantics() || !op.isDpsInput(&use) ||
      !linalg::isaContractionOpInterface(op) || op.getNumDpsInputs() != 2)
    return false;
  OpOperand *other = op.getDpsInputOperand(0) == &use
                         ? op.getDpsInputOperand(1)
                         : op.getDpsInputOperand(0);
  return getElementTypeOrSelf(other->get().getType()) == type;
}

namespace {
struct NarrowSharedOperandsPass
    : public infini::impl::NarrowSharedOperandsBase<NarrowSharedOperandsPass> {
  using Base::Base;
  void runOnOperation() override {
    FloatType type = parseNarrowType(getOperation(), elementType);
    if (!type)
      return signalPassFailure();
    IRRewriter rewriter(&getContext());
    for (auto step : getOperation().getOps<func::FuncOp>()) {
      if (!isModelStep(step))
        continue;
      // f32 results of element-wise generics that two or more projections,
      // and nothing else, read. (A product's input of its own is computed
      // as it is staged instead; see infini-gpu-tile-contractions.)
      SmallVector<Value> shared;
      step.walk([&](linalg::GenericOp producer) {
        if (producer->getNumResults() != 1 ||
            producer.getNumParallelLoops() != producer.getNumLoops())
          return;
        Value result = producer->getResult(0);
        if (getElementTypeOrSelf(result.getType()).isF32() &&
            llvm::range_size(result.getUses()) >= 2 &&
            onlyFeedsContractions(result) &&
            llvm::all_of(result.getUses(), [&](OpOperand &use) {
              return isProjectionInput(use, type);
            }))
          shared.push_back(result);
      });
      for (Value value : shared) {
        SmallVector<std::pair<linalg::LinalgOp, unsigned>> uses;
        for (OpOperand &use : value.getUses())
          uses.push_back(
              {cast<linalg::LinalgOp>(use.getOwner()), use.getOperandNumber()});
        rewriter.setInsertionPointAfterValue(value);
        Value rounded =
            lowering::buildRounding(rewriter, value.getLoc(), value, type);
        for (auto [op, operand] : uses) {
          op->setOperand(operand, rounded);
          widenInPayload(rewriter, op, operand);
        }
      }
    }
  }
};
} // namespace
