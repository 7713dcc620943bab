//===- WarpMma.cpp - The infini-gpu-warp-mma pass -------------------------===//
//
// The tensor-core tiles of infini-gpu-tile-contractions are warp-level
// vector code: every lane of a warp runs the same transfers and
// contractions of whole 16 x 8 tiles. This pass distributes that code over
// the lanes with upstream's vector-to-nvgpu conversion (each lane loads its
// fragments with ldmatrix, the warp multiplies with mma.sync, each lane
// stores its part of the accumulators).
//
// The conversion runs on each warp-level region alone: applied to a whole
// kernel, LLVM 22's convert-vector-to-gpu{use-nvgpu} also claims the
// kernel's scalar integer arithmetic as matrix element-wise ops and fails.
//
// A region may also carry accumulators in registers: it may read vectors
// defined outside it (the loop-carried accumulators of the slice loop) and
// yield vectors (the updated ones). Upstream only converts values it
// produces itself, so each outside vector is read through a distinct splat
// constant, which the conversion turns into a fragment constant; that
// fragment is then replaced by the outside value, retyped to the same
// per-lane fragment along with the loop that carries it, and each yielded
// contraction result by the mma.sync that replaced it. Loops over 16-deep
// steps inside a region are unrolled first, as upstream converts only
// straight-line code here.
//
// f32 tiles (TF32 parts, see infini-gpu-tile-contractions) convert as they
// are, to m16n8k8 products, which are then marked as TF32 ones.
//
// It has no bf16 fragments either, while mma.sync's bf16 form uses the very
// fragment layouts of the f16 one. So a bf16 region is converted as f16:
// its operand tiles are read through f16 views of the same shared memory
// (ldmatrix only moves 16-bit words), and each resulting f16 mma.sync is
// then rewritten as nvvm.mma.sync on bf16 multiplicands, fed the same
// registers.
//
//===----------------------------------------------------------------------===//

#include "passes/GPU/MmaFragments.h"
#include "passes/Passes.h"

#include "mlir/Conversion/VectorToGPU/VectorToGPU.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace infini {
#define GEN_PASS_DEF_GPUWARPMMA
#include "passes/Passes.h.inc"
} // namespace infini

using namespace mlir;

/// Reads the bf16 operand tiles of `region` through f16 views of the same
/// buffers, so that upstream's conversion takes them; returns whether the
/// region had any.
static bool punBF16AsF16(IRRewriter &rewriter, scf::ExecuteRegionOp region) {
  Type f16 = rewriter.getF16Type();
  DenseMap<Value, Value> views;
  bool punned = false;
  region.walk([&](vector::TransferReadOp read) {
    auto type = dyn_cast<MemRefType>(read.getBase().getType());
    if (!type || !type.getElementType().isBF16())
      return;
    Value &view = views[read.getBase()];
    if (!view) {
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPoint(region);
      MemRefType f16Type = MemRefType::get(
          type.getShape(), f16, type.getLayout(), type.getMemorySpace());
      view = UnrealizedConversionCastOp::create(rewriter, region.getLoc(),
                                                f16Type, read.getBase())
                 .getResult(0);
    }
    rewriter.setInsertionPoint(read);
    Value padding = arith::ConstantOp::create(rewriter, read.getLoc(),
                                              rewriter.getZeroAttr(f16));
    auto punnedRead = vector::TransferReadOp::create(
        rewriter, read.getLoc(),
        VectorType::get(read.getVectorType().getShape(), f16), view,
        read.getIndices(), padding, read.getPermutationMap(),
        read.getInBoundsValues());
    rewriter.replaceOp(read, punnedRead);
    punned = true;
  });
  return punned;
}

/// Rewrites the f16 m16n8k16 `mma` of a punned bf16 region as the bf16
/// nvvm.mma.sync on the same registers.
static void retypeAsBF16(IRRewriter &rewriter, nvgpu::MmaSyncOp mma) {
  rewriter.setInsertionPoint(mma);
  rewriter.replaceOp(
      mma, infini::createBF16MmaSync(rewriter, mma.getLoc(), mma.getMatrixA(),
                                     mma.getMatrixB(), mma.getMatrixC()));
}

/// Gives `value`, a warp-level accumulator carried by an scf.for into a
/// warp-level region, the per-lane `fragmentType`: the loop's argument and
/// result, and its initial value, a splat constant, rewritten as the same
/// splat of the fragment; `warpTypes` keeps their warp-level type. A value
/// already of that type is left alone.
static LogicalResult retypeCarried(IRRewriter &rewriter, Value value,
                                   Type fragmentType,
                                   DenseMap<Value, Type> &warpTypes) {
  if (value.getType() == fragmentType)
    return success();
  auto argument = dyn_cast<BlockArgument>(value);
  auto loop = argument
                  ? dyn_cast<scf::ForOp>(argument.getOwner()->getParentOp())
                  : scf::ForOp();
  if (!loop || argument.getArgNumber() == 0)
    return failure();
  OpOperand *init = loop.getTiedLoopInit(argument);
  DenseElementsAttr splat;
  if (!matchPattern(init->get(), m_Constant(&splat)) || !splat.isSplat())
    return failure();
  rewriter.setInsertionPoint(loop);
  init->set(arith::ConstantOp::create(
      rewriter, loop.getLoc(),
      DenseElementsAttr::get(cast<ShapedType>(fragmentType),
                             splat.getSplatValue<Attribute>())));
  for (Value carried :
       {Value(argument), Value(loop.getTiedLoopResult(argument))}) {
    warpTypes[carried] = carried.getType();
    carried.setType(fragmentType);
  }
  return success();
}

namespace {
/// A splat constant read in a warp-level region in place of a vector from
/// outside it.
struct StandIn {
  double key;
  Value outside;
  /// The constant, of the outside vector's warp-level type; only read before
  /// the conversion, which adds the per-lane fragment constant beside it.
  arith::ConstantOp constant;
  VectorType warpType;
};
} // namespace

/// Reads each vector `region` uses but does not define through a distinct
/// splat constant inside it, of the vector's warp-level type (`warpTypes`
/// for vectors already retyped to fragments; see the file comment), or a
/// copy of it when it is a constant.
static SmallVector<StandIn>
standInForOutsideVectors(IRRewriter &rewriter, scf::ExecuteRegionOp region,
                         const DenseMap<Value, Type> &warpTypes) {
  SmallVector<StandIn> standIns;
  DenseMap<Value, Value> constants;
  rewriter.setInsertionPointToStart(&region.getRegion().front());
  region.walk([&](Operation *op) {
    for (OpOperand &operand : op->getOpOperands()) {
      Value value = operand.get();
      auto type = dyn_cast_if_present<VectorType>(warpTypes.lookup(value));
      if (!type)
        type = dyn_cast<VectorType>(value.getType());
      if (!type || region->isAncestor(value.getParentBlock()->getParentOp()))
        continue;
      Value &constant = constants[value];
      // Constants (accumulators starting at zero, say) are simply copied.
      if (!constant && value.getDefiningOp<arith::ConstantOp>())
        constant = rewriter.clone(*value.getDefiningOp())->getResult(0);
      if (!constant) {
        double key = standIns.size() + 1;
        auto standIn = arith::ConstantOp::create(
            rewriter, region.getLoc(),
            DenseElementsAttr::get(
                type, rewriter.getFloatAttr(type.getElementType(), key)));
        standIns.push_back({key, value, standIn, type});
        constant = standIn;
      }
      operand.set(constant);
    }
  });
  return standIns;
}

/// Upstream stores only accumulators it computed: each stand-in `region`
/// writes to memory as it is first goes through a 16 x 8 x 16 product of
/// zeros (one mma.sync adding nothing).
static void passStandInsThroughProducts(IRRewriter &rewriter,
                                        ArrayRef<StandIn> standIns) {
  AffineExpr m, n, k;
  bindDims(rewriter.getContext(), m, n, k);
  for (const StandIn &standIn : standIns) {
    if (standIn.warpType.getShape() != ArrayRef<int64_t>{16, 8})
      continue;
    for (Operation *user :
         llvm::make_early_inc_range(standIn.constant->getUsers())) {
      auto write = dyn_cast<vector::TransferWriteOp>(user);
      if (!write)
        continue;
      rewriter.setInsertionPoint(write);
      Location loc = write.getLoc();
      auto zeros = [&](ArrayRef<int64_t> shape) -> Value {
        auto zeroType = VectorType::get(shape, rewriter.getF16Type());
        return arith::ConstantOp::create(
            rewriter, loc, cast<TypedAttr>(rewriter.getZeroAttr(zeroType)));
      };
      Value product = vector::ContractionOp::create(
          rewriter, loc, zeros({16, 16}), zeros({16, 8}), write.getVector(),
          ArrayRef<ArrayRef<AffineExpr>>{{m, k}, {k, n}, {m, n}},
          ArrayRef<vector::IteratorType>{vector::IteratorType::parallel,
                                         vector::IteratorType::parallel,
                                         vector::IteratorType::reduction});
      write.getValueToStoreMutable().set(product);
    }
  }
}

/// Whether `constant` is a splat of the float `key`.
static bool isSplatOf(arith::ConstantOp constant, double key) {
  auto value = dyn_cast<DenseElementsAttr>(constant.getValue());
  if (!value || !value.isSplat())
    return false;
  auto element = dyn_cast<FloatAttr>(value.getSplatValue<Attribute>());
  return element && element.getValueAsDouble() == key;
}

namespace {
struct GPUWarpMmaPass : public infini::impl::GPUWarpMmaBase<GPUWarpMmaPass> {
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    for (auto kernel : getOperation().getOps<gpu::GPUFuncOp>()) {
      FailureOr<bool> distributed =
          infini::distributeMmaFragments(rewriter, kernel);
      if (failed(distributed))
        return signalPassFailure();
      if (*distributed)
        alignSharedMemory(kernel);
    }
    SmallVector<scf::ExecuteRegionOp> regions;
    getOperation()->walk([&](scf::ExecuteRegionOp region) {
      if (region->hasAttr(infini::kWarpLevelAttrName) &&
          !region->hasAttr(infini::kMmaFragmentsAttrName))
        regions.push_back(region);
    });
    // Warp-level types of the accumulators retyped to fragments.
    DenseMap<Value, Type> warpTypes;
    for (scf::ExecuteRegionOp region : regions) {
      if (!region.getRegion().hasOneBlock()) {
        region.emitOpError() << "warp-level region must have one block";
        return signalPassFailure();
      }
      SmallVector<scf::ForOp> steps;
      region.walk([&](scf::ForOp loop) { steps.push_back(loop); });
      for (scf::ForOp loop : steps)
        if (failed(loopUnrollFull(loop))) {
          loop.emitOpError() << "in a warp-level region needs constant bounds";
          return signalPassFailure();
        }
      SmallVector<StandIn> standIns =
          standInForOutsideVectors(rewriter, region, warpTypes);
      passStandInsThroughProducts(rewriter, standIns);
      bool bf16 = punBF16AsF16(rewriter, region);
      RewritePatternSet patterns(&getContext());
      populatePrepareVectorToMMAPatterns(patterns, /*useNvGpu=*/true);
      // The stand-ins must stay distinct.
      GreedyRewriteConfig config;
      config.enableConstantCSE(false);
      if (failed(applyPatternsGreedily(region, std::move(patterns), config)))
        return signalPassFailure();
      SmallVector<vector::ContractionOp> contracts;
      region.walk([&](vector::ContractionOp contract) {
        contracts.push_back(contract);
      });
      // The yield is set aside: upstream takes any scf.yield of a product
      // for an scf.for's.
      Block &body = region.getRegion().front();
      auto yield = cast<scf::YieldOp>(body.getTerminator());
      SmallVector<int64_t> yielded;
      for (Value value : yield.getOperands()) {
        auto contract = value.getDefiningOp<vector::ContractionOp>();
        auto position = llvm::find(contracts, contract);
        if (!contract || position == contracts.end()) {
          region.emitOpError() << "yields a value that is not a product";
          return signalPassFailure();
        }
        yielded.push_back(position - contracts.begin());
      }
      yield->setOperands({});
      if (failed(convertVectorToNVVMCompatibleMMASync(rewriter, region)))
        return signalPassFailure();
      // Each stand-in's fragment becomes the outside value, retyped.
      for (const StandIn &standIn : standIns) {
        SmallVector<arith::ConstantOp> fragments;
        region.walk([&](arith::ConstantOp constant) {
          if (constant.getType() != standIn.warpType &&
              !constant->use_empty() && isSplatOf(constant, standIn.key))
            fragments.push_back(constant);
        });
        if (fragments.size() != 1 ||
            failed(retypeCarried(rewriter, standIn.outside,
                                 fragments[0].getType(), warpTypes))) {
          region.emitOpError()
              << "reads a vector from outside that is not a splat-initialized "
                 "loop-carried accumulator of its tiles";
          return signalPassFailure();
        }
        rewriter.replaceAllUsesWith(fragments[0], standIn.outside);
      }
      // Yielded products become their mma.sync's, in the same order.
      SmallVector<Value> products;
      region.walk(
          [&](nvgpu::MmaSyncOp mma) { products.push_back(mma.getRes()); });
      if (!yielded.empty() && products.size() != contracts.size()) {
        region.emitOpError() << "has products that are not tensor-core tiles";
        return signalPassFailure();
      }
      for (auto [result, index] : llvm::zip(region->getResults(), yielded)) {
        yield->insertOperands(yield->getNumOperands(), products[index]);
        warpTypes[result] = result.getType();
        result.setType(products[index].getType());
      }
      // The conversion leaves the vector ops it replaced in place, dead.
      SmallVector<Operation *> ops;
      region.walk([&](Operation *op) {
        if (op != region && !isa<scf::YieldOp>(op))
          ops.push_back(op);
      });
      for (Operation *op : llvm::reverse(ops))
        if (isOpTriviallyDead(op))
          rewriter.eraseOp(op);
      WalkResult left = region.walk([](vector::ContractionOp contract) {
        contract.emitOpError() << "could not be lowered to mma.sync; expected "
                                  "16x16 by 16x8 f16 or 16x8 by 8x8 f32 tiles "
                                  "read from memory";
        return WalkResult::interrupt();
      });
      if (left.wasInterrupted())
        return signalPassFailure();
      if (bf16)
        region.walk([&](nvgpu::MmaSyncOp mma) { retypeAsBF16(rewriter, mma); });
      // f32 operands are TF32 parts already (infini-gpu-tile-contractions'
      // tf32x3), which mma.sync multiplies exactly.
      region.walk([&](nvgpu::MmaSyncOp mma) {
        if (cast<VectorType>(mma.getMatrixA().getType())
                .getElementType()
                .isF32())
          mma.setTf32Enabled(true);
      });
      alignSharedMemory(region->getParentOfType<gpu::GPUFuncOp>());
      if (region.getNumResults() != 0)
        continue;
      rewriter.eraseOp(body.getTerminator());
      rewriter.inlineBlockBefore(&body, region);
      rewriter.eraseOp(region);
    }
  }

  /// ldmatrix reads rows of 16 bytes at 16-byte aligned addresses, which the
  /// padded tiles' row strides keep only if the tiles themselves start
  /// aligned; a workgroup buffer is otherwise aligned to its element type
  /// alone.
  static void alignSharedMemory(gpu::GPUFuncOp kernel) {
    if (!kernel)
      return;
    Builder builder(kernel.getContext());
    for (unsigned i = 0; i < kernel.getNumWorkgroupAttributions(); ++i)
      kernel.setWorkgroupAttributionAttr(i,
                                         LLVM::LLVMDialect::getAlignAttrName(),
                                         builder.getI64IntegerAttr(16));
  }
};
} // namespace
