//===- FusedOperands.cpp - Producers a GPU product recomputes -------------===//

#include "passes/GPU/FusedOperands.h"

#include "dialect/InfiniOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/SetVector.h"

#include <functional>

using namespace mlir;
using infini::FusedOperand;

Value infini::loadElements(OpBuilder &builder, Location loc, Value buffer,
                           ValueRange indices, int64_t width,
                           llvm::MaybeAlign alignment) {
  if (width == 1)
    return memref::LoadOp::create(builder, loc, buffer, indices);
  Type element = getElementTypeOrSelf(buffer.getType());
  return vector::LoadOp::create(builder, loc, VectorType::get({width}, element),
                                buffer, indices, /*nontemporal=*/false,
                                alignment);
}

llvm::MaybeAlign infini::vectorAlignment(Value buffer, int64_t width) {
  return llvm::MaybeAlign(
      width * getElementTypeOrSelf(buffer.getType()).getIntOrFloatBitWidth() /
      8);
}

/// Producers recomputed inside one another at most this deep.
static constexpr unsigned kMaxFusionDepth = 4;

/// The buffer `value` views, through any view ops.
static Value rootBuffer(Value value) {
  while (auto view = value.getDefiningOp<ViewLikeOpInterface>())
    value = view.getViewSource();
  return value;
}

/// Whether `root` is an argument of a function (of its entry block); its
/// attributes go to `attrs` if asked for.
static bool isFunctionArgument(Value root, DictionaryAttr *attrs = nullptr) {
  auto argument = dyn_cast<BlockArgument>(root);
  auto function =
      argument && argument.getOwner()->isEntryBlock()
          ? dyn_cast<func::FuncOp>(argument.getOwner()->getParentOp())
          : nullptr;
  if (function && attrs)
    *attrs = function.getArgAttrDict(argument.getArgNumber());
  return function != nullptr;
}

/// Whether `root` is a weight argument of the step: read-only, in a buffer
/// of its own.
static bool isWeight(Value root) {
  DictionaryAttr attrs;
  return isFunctionArgument(root, &attrs) && attrs &&
         (attrs.get(infini::kWeightAttr) || attrs.get(infini::kPreparedAttr));
}

/// Whether `root` is an argument of a function with a runtime binding
/// (`infini.input`, `infini.state`, ...): the runtime passes each such
/// argument in a buffer of its own.
static bool isBoundArgument(Value root) {
  DictionaryAttr attrs;
  return isFunctionArgument(root, &attrs) && attrs &&
         llvm::any_of(attrs, [](NamedAttribute attr) {
           return attr.getName().getValue().starts_with("infini.");
         });
}

/// The buffers `value` may be: its root through views, and through a
/// select (a grouped product's operand) the roots of either choice.
static void collectRoots(Value value, SmallVectorImpl<Value> &roots) {
  value = rootBuffer(value);
  if (auto select = value.getDefiningOp<arith::SelectOp>()) {
    collectRoots(select.getTrueValue(), roots);
    collectRoots(select.getFalseValue(), roots);
    return;
  }
  roots.push_back(value);
}

static bool isAllocation(Value root) {
  return root.getDefiningOp<memref::AllocOp>() ||
         root.getDefiningOp<memref::AllocaOp>();
}

/// Whether two roots may be one buffer. A root that is neither an
/// allocation nor a function argument has unknown provenance.
static bool rootsMayAlias(Value a, Value b) {
  if (a == b)
    return true;
  if (!(isAllocation(a) || isFunctionArgument(a)) ||
      !(isAllocation(b) || isFunctionArgument(b)))
    return true;
  if (isAllocation(a) || isAllocation(b) || isWeight(a) || isWeight(b))
    return false;
  return !(isBoundArgument(a) && isBoundArgument(b));
}

bool infini::buffersMayAlias(Value a, Value b) {
  SmallVector<Value> rootsA, rootsB;
  collectRoots(a, rootsA);
  collectRoots(b, rootsB);
  return llvm::any_of(rootsA, [&](Value rootA) {
    return llvm::any_of(
        rootsB, [&](Value rootB) { return rootsMayAlias(rootA, rootB); });
  });
}

/// Whether `op` or an op nested in it uses a buffer whose root is `root`,
/// other than to view it or ask its sizes.
static bool accesses(Operation *op, Value root) {
  return op
      ->walk([&](Operation *nested) {
        if (isa<ViewLikeOpInterface, memref::DimOp>(nested))
          return WalkResult::advance();
        for (Value operand : nested->getOperands()) {
          if (!isa<BaseMemRefType>(operand.getType()))
            continue;
          SmallVector<Value> roots;
          collectRoots(operand, roots);
          if (llvm::is_contained(roots, root))
            return WalkResult::interrupt();
        }
        return WalkResult::advance();
      })
      .wasInterrupted();
}

bool infini::forEachMemoryEffect(
    Operation *op,
    llvm::function_ref<bool(Operation *, const MemoryEffects::EffectInstance &)>
        onEffect) {
  return !op->walk([&](Operation *nested) {
              // Lanes exchange registers: no memory, though it is not
              // marked pure (it must not move out of control flow).
              if (isa<gpu::SubgroupReduceOp>(nested))
                return WalkResult::advance();
              auto effects = dyn_cast<MemoryEffectOpInterface>(nested);
              if (!effects)
                return nested->hasTrait<OpTrait::HasRecursiveMemoryEffects>()
                           ? WalkResult::advance()
                           : WalkResult::interrupt();
              SmallVector<MemoryEffects::EffectInstance> instances;
              effects.getEffects(instances);
              for (MemoryEffects::EffectInstance &instance : instances)
                if (!instance.getValue() || !onEffect(nested, instance))
                  return WalkResult::interrupt();
              return WalkResult::advance();
            }).wasInterrupted();
}

/// Calls `onWrite` with each op nested in `op` (or `op`) that may write or
/// free a buffer, and the buffer; false where an effect is unknown.
static bool forEachWrite(Operation *op,
                         llvm::function_ref<void(Operation *, Value)> onWrite) {
  return infini::forEachMemoryEffect(
      op, [&](Operation *nested, const MemoryEffects::EffectInstance &effect) {
        if (isa<MemoryEffects::Write, MemoryEffects::Free>(effect.getEffect()))
          onWrite(nested, effect.getValue());
        return true;
      });
}

/// Whether `op` writes every element of `buffer` without reading it.
static bool overwritesAll(Operation *op, Value buffer) {
  if (auto fill = dyn_cast<linalg::FillOp>(op))
    return fill.getOutputs()[0] == buffer;
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  if (!linalgOp || !linalgOp.hasPureBufferSemantics() ||
      linalgOp.getNumDpsInits() != 1 ||
      linalgOp.getNumParallelLoops() != linalgOp.getNumLoops())
    return false;
  OpOperand *init = linalgOp.getDpsInitOperand(0);
  return init->get() == buffer &&
         linalgOp.getMatchingIndexingMap(init).isPermutation() &&
         !linalgOp.payloadUsesValueFromOperand(init) &&
         llvm::none_of(linalgOp.getDpsInputOperands(), [&](OpOperand *input) {
           return isa<BaseMemRefType>(input->get().getType()) &&
                  rootBuffer(input->get()) == buffer;
         });
}

/// Whether `producer` computes all of its one output, `buffer`, element by
/// element from its inputs with pure scalar ops.
static bool isElementwiseProducer(linalg::LinalgOp producer, Value buffer) {
  if (!producer.hasPureBufferSemantics() || producer->getNumResults() != 0 ||
      producer.getNumDpsInits() != 1 ||
      producer.getNumParallelLoops() != producer.getNumLoops() ||
      producer->getNumRegions() != 1)
    return false;
  OpOperand *init = producer.getDpsInitOperand(0);
  if (init->get() != buffer ||
      !producer.getMatchingIndexingMap(init).isPermutation() ||
      producer.payloadUsesValueFromOperand(init))
    return false;
  for (OpOperand *input : producer.getDpsInputOperands())
    if (isa<BaseMemRefType>(input->get().getType()) &&
        !producer.getMatchingIndexingMap(input).isProjectedPermutation())
      return false;
  return llvm::all_of(producer->getRegion(0).front().without_terminator(),
                      [](Operation &op) {
                        return isa<linalg::IndexOp>(op) ||
                               (op.getNumRegions() == 0 && isPure(&op));
                      });
}

/// Whether indices of the view `view`'s result map to its source's with
/// static sizes: all but the first dimension of each reassociation group.
static bool hasStaticGroups(Operation *view) {
  ArrayRef<int64_t> shape;
  SmallVector<ReassociationIndices> groups;
  if (auto collapse = dyn_cast<memref::CollapseShapeOp>(view)) {
    shape = collapse.getSrcType().getShape();
    groups = collapse.getReassociationIndices();
  } else {
    auto expand = cast<memref::ExpandShapeOp>(view);
    shape = expand.getResultType().getShape();
    groups = expand.getReassociationIndices();
  }
  return llvm::all_of(groups, [&](const ReassociationIndices &group) {
    return llvm::none_of(llvm::drop_begin(group), [&](int64_t dim) {
      return ShapedType::isDynamic(shape[dim]);
    });
  });
}

FusedOperand FusedOperand::load(Value buffer) {
  FusedOperand plain;
  plain.buffer = buffer;
  return plain;
}

FusedOperand FusedOperand::analyze(Operation *product,
                                   linalg::LinalgOp consumer,
                                   OpOperand &operand) {
  return analyze(product, consumer, operand, /*depth=*/0);
}

FusedOperand FusedOperand::analyze(Operation *product,
                                   linalg::LinalgOp consumer,
                                   OpOperand &operand, unsigned depth) {
  FusedOperand plain = load(operand.get());
  if (!isa<MemRefType>(plain.buffer.getType()))
    return plain;

  // The collapse/expand views down to a fresh allocation.
  FusedOperand fused = plain;
  Value base = fused.buffer;
  while (Operation *view = base.getDefiningOp()) {
    if (!isa<memref::CollapseShapeOp, memref::ExpandShapeOp>(view))
      break;
    if (!hasStaticGroups(view))
      return plain;
    fused.views.push_back(view);
    base = view->getOperand(0);
  }
  if (!base.getDefiningOp<memref::AllocOp>())
    return plain;
  Block *block = product->getBlock();
  Operation *consumerInBlock = block->findAncestorOpInBlock(*consumer);
  if (!consumerInBlock)
    return plain;
  if (consumer == product &&
      llvm::any_of(consumer.getDpsInits(),
                   [&](Value init) { return rootBuffer(init) == base; }))
    return plain;

  // The producer: the last op before the consumer that accesses the buffer.
  Operation *last = consumerInBlock->getPrevNode();
  while (last && !accesses(last, base))
    last = last->getPrevNode();
  auto producer = dyn_cast_or_null<linalg::LinalgOp>(last);
  if (!producer || !isElementwiseProducer(producer, base))
    return plain;

  // Its inputs must keep their values until the product reads them.
  SmallVector<Value> inputBuffers;
  for (Value input : producer.getDpsInputs())
    if (isa<BaseMemRefType>(input.getType()))
      inputBuffers.push_back(input);
  for (Operation *op = producer->getNextNode(); op != product;
       op = op->getNextNode()) {
    bool clobbers = false;
    bool known = forEachWrite(op, [&](Operation *writer, Value written) {
      bool mayClobber = llvm::any_of(inputBuffers, [&](Value input) {
        return infini::buffersMayAlias(written, input);
      });
      if (!mayClobber)
        return;
      if (isa<memref::DeallocOp>(writer) && writer == op)
        fused.deallocations.push_back(writer);
      else
        clobbers = true;
    });
    if (!known || clobbers)
      return plain;
  }

  // The producer's values must be dead once the consumer has read them.
  for (Operation *op = consumerInBlock->getNextNode(); op;
       op = op->getNextNode()) {
    if (!accesses(op, base))
      continue;
    auto dealloc = dyn_cast<memref::DeallocOp>(op);
    if (!(dealloc && dealloc.getMemref() == base) && !overwritesAll(op, base))
      return plain;
    break;
  }

  fused.producer = producer;
  for (OpOperand *input : producer.getDpsInputOperands())
    fused.inputs.push_back(depth + 1 < kMaxFusionDepth
                               ? analyze(product, producer, *input, depth + 1)
                               : load(input->get()));
  return fused;
}

void FusedOperand::collectProducers(SmallVectorImpl<Operation *> &ops) const {
  if (!producer)
    return;
  ops.push_back(producer);
  for (const FusedOperand &input : inputs)
    input.collectProducers(ops);
}

/// Whether `map` uses loop dimension `dim` only as its last result.
static bool usesDimOnlyLast(AffineMap map, unsigned dim) {
  for (auto [i, result] : llvm::enumerate(map.getResults()))
    if (result.isFunctionOfDim(dim) && i + 1 != map.getNumResults())
      return false;
  return true;
}

/// The loop dimension of `producer` that its output's last dimension
/// indexes.
static unsigned vectorDim(linalg::LinalgOp producer) {
  AffineMap map =
      producer.getMatchingIndexingMap(producer.getDpsInitOperand(0));
  return map.getDimPosition(map.getNumResults() - 1);
}

/// Whether the last dimension of `shapedType` is a static multiple of
/// `width`.
static bool lastDimDivides(ShapedType shapedType, int64_t width) {
  return shapedType.getRank() > 0 &&
         !ShapedType::isDynamic(shapedType.getShape().back()) &&
         shapedType.getShape().back() % width == 0;
}

bool FusedOperand::canReadVectors(int64_t width) const {
  linalg::LinalgOp producer = this->producer;
  if (!producer) {
    auto type = dyn_cast<MemRefType>(buffer.getType());
    return type && type.getLayout().isIdentity() && lastDimDivides(type, width);
  }
  // A vector along a view's last dimension stays within the source's last
  // dimension: the width divides both (and the vector's first index).
  for (Operation *view : views)
    if (!lastDimDivides(cast<ShapedType>(view->getResultTypes()[0]), width) ||
        !lastDimDivides(cast<ShapedType>(view->getOperandTypes()[0]), width))
      return false;
  // Vectors run along the loop dimension of the output's last dimension.
  unsigned dim = vectorDim(producer);
  for (Operation &op : producer->getRegion(0).front().without_terminator()) {
    if (auto index = dyn_cast<linalg::IndexOp>(op)) {
      if (index.getDim() == dim)
        return false;
    } else if (!OpTrait::hasElementwiseMappableTraits(&op)) {
      return false;
    }
  }
  for (auto [input, fusedInput] :
       llvm::zip(producer.getDpsInputOperands(), inputs)) {
    if (!isa<MemRefType>(input->get().getType()))
      continue;
    AffineMap map = producer.getMatchingIndexingMap(input);
    if (!usesDimOnlyLast(map, dim))
      return false;
    if (map.isFunctionOfDim(dim) && !fusedInput.canReadVectors(width))
      return false;
  }
  return true;
}

/// The indices into `view`'s source of the element at `indices` of its
/// result (hasStaticGroups holds).
static SmallVector<Value> sourceIndices(OpBuilder &builder, Location loc,
                                        Operation *view, ValueRange indices) {
  auto constant = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(builder, loc, value);
  };
  if (auto collapse = dyn_cast<memref::CollapseShapeOp>(view)) {
    ArrayRef<int64_t> shape = collapse.getSrcType().getShape();
    SmallVector<Value> source(shape.size());
    for (auto [group, index] :
         llvm::zip(collapse.getReassociationIndices(), indices)) {
      Value rest = index;
      for (int64_t dim : llvm::reverse(llvm::drop_begin(group))) {
        source[dim] =
            arith::RemUIOp::create(builder, loc, rest, constant(shape[dim]));
        rest = arith::DivUIOp::create(builder, loc, rest, constant(shape[dim]));
      }
      source[group.front()] = rest;
    }
    return source;
  }
  auto expand = cast<memref::ExpandShapeOp>(view);
  ArrayRef<int64_t> shape = expand.getResultType().getShape();
  SmallVector<Value> source;
  for (const ReassociationIndices &group : expand.getReassociationIndices()) {
    Value linear = indices[group.front()];
    for (int64_t dim : llvm::drop_begin(group))
      linear = arith::AddIOp::create(
          builder, loc,
          arith::MulIOp::create(builder, loc, linear, constant(shape[dim])),
          indices[dim]);
    source.push_back(linear);
  }
  return source;
}

Value FusedOperand::read(OpBuilder &builder, Location loc, ValueRange indices,
                         int64_t width) const {
  // Op handles are values: a copy allows their non-const methods.
  linalg::LinalgOp producer = this->producer;
  if (!producer)
    return loadElements(builder, loc, buffer, indices, width,
                        width > 1 ? vectorAlignment(buffer, width)
                                  : llvm::MaybeAlign());
  SmallVector<Value> outputIndices(indices);
  for (Operation *view : views)
    outputIndices = sourceIndices(builder, loc, view, outputIndices);
  AffineMap outputMap =
      producer.getMatchingIndexingMap(producer.getDpsInitOperand(0));
  SmallVector<Value> point(producer.getNumLoops());
  for (auto [position, index] : llvm::enumerate(outputIndices))
    point[outputMap.getDimPosition(position)] = index;
  return compute(builder, loc, point, width);
}

Value FusedOperand::compute(OpBuilder &builder, Location loc,
                            ArrayRef<Value> point, int64_t width) const {
  linalg::LinalgOp producer = this->producer;
  Block &payload = producer->getRegion(0).front();
  unsigned dim = vectorDim(producer);
  IRMapping mapping;
  for (auto [position, input] :
       llvm::enumerate(producer.getDpsInputOperands())) {
    Value value = input->get();
    if (isa<MemRefType>(value.getType())) {
      bool alongVector =
          width > 1 &&
          producer.getMatchingIndexingMap(input).isFunctionOfDim(dim);
      value = inputs[position].read(
          builder, loc, infini::operandIndices(producer, *input, point),
          alongVector ? width : 1);
    }
    mapping.map(payload.getArgument(position), value);
  }
  // Ops on scalars only stay scalar (once per vector); the others take
  // vectors, scalars broadcast into them.
  auto vectorOf = [&](Type type) { return VectorType::get({width}, type); };
  auto broadcast = [&](Value value) -> Value {
    if (isa<VectorType>(value.getType()))
      return value;
    return vector::BroadcastOp::create(builder, loc, vectorOf(value.getType()),
                                       value);
  };
  for (Operation &op : payload.without_terminator()) {
    if (auto index = dyn_cast<linalg::IndexOp>(op)) {
      mapping.map(index.getResult(), point[index.getDim()]);
      continue;
    }
    bool onVectors = llvm::any_of(op.getOperands(), [&](Value operand) {
      return isa<VectorType>(mapping.lookupOrDefault(operand).getType());
    });
    if (!onVectors) {
      builder.clone(op, mapping);
      continue;
    }
    OperationState state(loc, op.getName());
    for (Value operand : op.getOperands())
      state.addOperands(broadcast(mapping.lookupOrDefault(operand)));
    for (Type type : op.getResultTypes())
      state.addTypes(vectorOf(type));
    state.addAttributes(op.getAttrs());
    Operation *vectorOp = builder.create(state);
    mapping.map(op.getResults(), vectorOp->getResults());
  }
  Value result =
      mapping.lookupOrDefault(payload.getTerminator()->getOperand(0));
  return width > 1 ? broadcast(result) : result;
}

void FusedOperand::moveDeallocationsAfter(Operation *product) const {
  llvm::SetVector<Operation *> moved;
  std::function<void(const FusedOperand &)> collect =
      [&](const FusedOperand &operand) {
        moved.insert(operand.deallocations.begin(),
                     operand.deallocations.end());
        for (const FusedOperand &input : operand.inputs)
          collect(input);
      };
  collect(*this);
  for (Operation *dealloc : moved)
    dealloc->moveAfter(product);
}

/// Replaces each `memref.dim` of a constant dimension of `buffer` (a view
/// or an allocation) by the size it reads, computed from the view's source
/// or the allocation's sizes, so that nothing but accesses hold on to it.
static void resolveDims(RewriterBase &rewriter, Value buffer) {
  for (Operation *user : llvm::make_early_inc_range(buffer.getUsers())) {
    auto dim = dyn_cast<memref::DimOp>(user);
    std::optional<int64_t> position =
        dim ? dim.getConstantIndex() : std::nullopt;
    if (!position)
      continue;
    rewriter.setInsertionPoint(dim);
    Location loc = dim.getLoc();
    auto sizeOf = [&](OpFoldResult size) {
      return getValueOrCreateConstantIndexOp(rewriter, loc, size);
    };
    Value size;
    Operation *definition = buffer.getDefiningOp();
    if (auto allocation = dyn_cast<memref::AllocOp>(definition)) {
      size = sizeOf(allocation.getMixedSizes()[*position]);
    } else if (auto expand = dyn_cast<memref::ExpandShapeOp>(definition)) {
      size = sizeOf(expand.getMixedOutputShape()[*position]);
    } else {
      auto collapse = cast<memref::CollapseShapeOp>(definition);
      SmallVector<OpFoldResult> sourceSizes =
          memref::getMixedSizes(rewriter, loc, collapse.getSrc());
      size = arith::ConstantIndexOp::create(rewriter, loc, 1);
      for (int64_t sourceDim : collapse.getReassociationIndices()[*position])
        size = arith::MulIOp::create(rewriter, loc, size,
                                     sizeOf(sourceSizes[sourceDim]));
    }
    rewriter.replaceOp(dim, size);
  }
}

void FusedOperand::eraseProducers(RewriterBase &rewriter) const {
  llvm::SmallPtrSet<Operation *, 8> erased;
  eraseProducers(rewriter, erased);
}

void FusedOperand::eraseProducers(
    RewriterBase &rewriter, llvm::SmallPtrSetImpl<Operation *> &erased) const {
  // A producer read twice (x * x) appears twice in the tree.
  if (!producer || !erased.insert(producer).second)
    return;
  rewriter.eraseOp(producer);
  for (const FusedOperand &input : inputs)
    input.eraseProducers(rewriter, erased);
  // The views and the allocation, unless used elsewhere (their sizes aside:
  // the product's loop bounds may read them).
  Value base = buffer;
  for (Operation *view : views) {
    resolveDims(rewriter, base);
    base = view->getOperand(0);
    if (!view->use_empty())
      return;
    rewriter.eraseOp(view);
  }
  resolveDims(rewriter, base);
  Operation *allocation = base.getDefiningOp();
  if (!llvm::all_of(base.getUsers(), [](Operation *user) {
        return isa<memref::DeallocOp>(user);
      }))
    return;
  for (Operation *user : llvm::make_early_inc_range(base.getUsers()))
    rewriter.eraseOp(user);
  rewriter.eraseOp(allocation);
}
