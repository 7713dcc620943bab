//===- HoistWeightPreparation.cpp - Weight-only work out of the step ------===//
//
// Packing and transposing weights depends on the weights alone, yet the
// lowering emits it inside the step, which runs once per segment. This pass
// moves that work into a separate `<step>_prepare` function that the runtime
// calls once after loading the weights; the step receives its results as
// `infini.prepared` arguments, and no longer takes the weights it only read
// through them.
//
//===----------------------------------------------------------------------===//

#include "dialect/InfiniOps.h"
#include "passes/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"

namespace infini {
#define GEN_PASS_DEF_HOISTWEIGHTPREPARATION
#include "passes/Passes.h.inc"
} // namespace infini

using namespace mlir;
using namespace infini;

namespace {

/// Ops that only rearrange or copy a weight: safe and worth running once.
bool isWeightRearrangement(Operation *op) {
  return isa<linalg::TransposeOp, tensor::ExpandShapeOp,
             tensor::CollapseShapeOp, tensor::InsertSliceOp>(op);
}

/// Operand-free producers a hoisted op may also use (its destination).
bool isFreeProducer(Operation *op) {
  return op && op->getNumOperands() == 0 &&
         isa<tensor::EmptyOp, arith::ConstantOp>(op);
}

struct HoistWeightPreparationPass
    : public infini::impl::HoistWeightPreparationBase<
          HoistWeightPreparationPass> {
  void runOnOperation() override {
    SmallVector<func::FuncOp> steps;
    getOperation().walk([&](func::FuncOp func) {
      if (isModelStep(func))
        steps.push_back(func);
    });
    for (func::FuncOp step : steps)
      hoist(step);
  }

  void hoist(func::FuncOp step) {
    if (step.getBody().getBlocks().size() != 1)
      return;
    Block &body = step.getBody().front();
    // Values computed from weights alone, and the ops computing them.
    llvm::DenseSet<Value> weightOnly;
    SmallVector<unsigned> weightArgs;
    for (unsigned i = 0, e = step.getNumArguments(); i < e; ++i)
      if (step.getArgAttr(i, kWeightAttr)) {
        weightOnly.insert(step.getArgument(i));
        weightArgs.push_back(i);
      }
    llvm::SetVector<Operation *> hoisted;
    for (Operation &op : body.without_terminator()) {
      if (!isWeightRearrangement(&op))
        continue;
      bool readsWeight = false, onlyWeights = true;
      for (Value operand : op.getOperands()) {
        if (weightOnly.contains(operand))
          readsWeight = true;
        else if (!isFreeProducer(operand.getDefiningOp()))
          onlyWeights = false;
      }
      if (!readsWeight || !onlyWeights)
        continue;
      hoisted.insert(&op);
      for (Value result : op.getResults())
        weightOnly.insert(result);
    }
    // The hoisted values the rest of the step reads.
    SmallVector<Value> frontier;
    for (Operation *op : hoisted)
      for (Value result : op->getResults())
        if (llvm::any_of(result.getUsers(), [&](Operation *user) {
              return !hoisted.contains(user);
            }))
          frontier.push_back(result);
    if (frontier.empty())
      return;

    // @<step>_prepare(the weights it reads...) -> (frontier...).
    llvm::erase_if(weightArgs, [&](unsigned i) {
      return llvm::none_of(
          step.getArgument(i).getUsers(),
          [&](Operation *user) { return hoisted.contains(user); });
    });
    MLIRContext *ctx = step.getContext();
    OpBuilder builder(step);
    Location loc = step.getLoc();
    SmallVector<Type> weightTypes;
    for (unsigned i : weightArgs)
      weightTypes.push_back(step.getArgument(i).getType());
    SmallVector<Type> frontierTypes = llvm::to_vector(
        llvm::map_range(frontier, [](Value v) { return v.getType(); }));
    auto prepare = func::FuncOp::create(
        builder, loc, (step.getSymName() + "_prepare").str(),
        builder.getFunctionType(weightTypes, frontierTypes));
    prepare->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                     UnitAttr::get(ctx));
    Block *entry = prepare.addEntryBlock();
    IRMapping mapping;
    for (auto [index, argIndex] : llvm::enumerate(weightArgs)) {
      mapping.map(step.getArgument(argIndex), entry->getArgument(index));
      prepare.setArgAttrs(index, step.getArgAttrDict(argIndex));
    }
    OpBuilder prepareBuilder = OpBuilder::atBlockEnd(entry);
    for (Operation *op : hoisted) {
      for (Value operand : op->getOperands())
        if (!mapping.contains(operand))
          mapping.map(
              operand,
              prepareBuilder.clone(*operand.getDefiningOp())->getResult(0));
      prepareBuilder.clone(*op, mapping);
    }
    SmallVector<Value> returned = llvm::to_vector(
        llvm::map_range(frontier, [&](Value v) { return mapping.lookup(v); }));
    func::ReturnOp::create(prepareBuilder, loc, returned);

    // The step reads each frontier value from a new argument.
    for (auto [index, value] : llvm::enumerate(frontier)) {
      std::string name = "prepared." + std::to_string(index);
      prepare.setResultAttr(index, kPreparedAttr, StringAttr::get(ctx, name));
      unsigned argIndex = step.getNumArguments();
      if (failed(step.insertArgument(argIndex, value.getType(),
                                     DictionaryAttr::get(ctx), loc)))
        return signalPassFailure();
      step.setArgAttr(argIndex, kPreparedAttr, StringAttr::get(ctx, name));
      value.replaceAllUsesWith(step.getArgument(argIndex));
    }
    for (Operation *op : llvm::reverse(hoisted))
      if (op->use_empty())
        op->erase();
    // Weights only the prepare function reads leave the step, so that the
    // runtime can release them once it has run.
    llvm::BitVector unused(step.getNumArguments());
    for (unsigned i : weightArgs)
      unused[i] = step.getArgument(i).use_empty();
    if (failed(step.eraseArguments(unused)))
      return signalPassFailure();
  }
};

} // namespace
