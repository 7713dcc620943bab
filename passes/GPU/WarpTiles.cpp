//===- WarpTiles.cpp - Warp-level tensor-core tiles of products -----------===//
//
// See WarpTiles.h.
//
//===----------------------------------------------------------------------===//

#include "passes/GPU/WarpTiles.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace infini;

Value infini::zeroOf(OpBuilder &builder, Location loc, Type type) {
  return arith::ConstantOp::create(builder, loc,
                                   cast<TypedAttr>(builder.getZeroAttr(type)));
}

SmallVector<Value> infini::parallelLoop(IRRewriter &rewriter, Location loc,
                                        ArrayRef<int64_t> upper) {
  SmallVector<Value> lbs, ubs, steps;
  for (int64_t bound : upper) {
    lbs.push_back(arith::ConstantIndexOp::create(rewriter, loc, 0));
    ubs.push_back(arith::ConstantIndexOp::create(rewriter, loc, bound));
    steps.push_back(arith::ConstantIndexOp::create(rewriter, loc, 1));
  }
  auto loop = scf::ParallelOp::create(rewriter, loc, lbs, ubs, steps);
  rewriter.setInsertionPoint(loop.getBody()->getTerminator());
  return loop.getInductionVars();
}

/// `value` rounded to TF32 (see splitTF32).
static Value roundToTF32(OpBuilder &builder, Location loc, Value value) {
  Type type = value.getType();
  Type bitsType = builder.getI32Type();
  if (auto vector = dyn_cast<VectorType>(type))
    bitsType = VectorType::get(vector.getShape(), bitsType);
  auto constant = [&](int32_t bits) -> Value {
    TypedAttr attr = builder.getI32IntegerAttr(bits);
    if (auto vector = dyn_cast<VectorType>(bitsType))
      attr = DenseElementsAttr::get(vector, attr);
    return arith::ConstantOp::create(builder, loc, attr);
  };
  Value bits = arith::BitcastOp::create(builder, loc, bitsType, value);
  // Half of the last kept bit, carried into it; then the 13 dropped bits
  // cleared.
  bits = arith::AddIOp::create(builder, loc, bits, constant(1 << 12));
  bits = arith::AndIOp::create(builder, loc, bits, constant(~0x1fff));
  return arith::BitcastOp::create(builder, loc, type, bits);
}

std::pair<Value, Value> infini::splitTF32(OpBuilder &builder, Location loc,
                                          Value value) {
  Value high = roundToTF32(builder, loc, value);
  return {high, roundToTF32(builder, loc,
                            arith::SubFOp::create(builder, loc, value, high))};
}

WarpTiling infini::warpTileShape(int64_t rows, int64_t columns, int64_t warps) {
  int64_t rowTiles = rows / kMmaRows, columnTiles = columns / kMmaColumns;
  int64_t perWarp = std::max<int64_t>(1, rowTiles * columnTiles / warps);
  int64_t r = 1, c = 1;
  while (r * c * 2 <= perWarp) {
    bool canWiden = columnTiles % (c * 2) == 0;
    bool canDeepen = rowTiles % (r * 2) == 0;
    if (canWiden && (c < 2 * r || !canDeepen))
      c *= 2;
    else if (canDeepen)
      r *= 2;
    else
      break;
  }
  return {r, c, rowTiles / r, columnTiles / c};
}

SmallVector<Value> infini::warpTileLoop(IRRewriter &rewriter, Location loc,
                                        const WarpTiling &tiling) {
  SmallVector<Value> t =
      parallelLoop(rewriter, loc, {tiling.down, tiling.across});
  t[0].getParentBlock()->getParentOp()->setAttr(infini::kWarpLevelAttrName,
                                                rewriter.getUnitAttr());
  return t;
}

std::pair<scf::ExecuteRegionOp, WarpTile>
infini::warpRegion(IRRewriter &rewriter, Location loc, TypeRange resultTypes,
                   ArrayRef<Value> t, const WarpTiling &tiling) {
  auto region = scf::ExecuteRegionOp::create(rewriter, loc, resultTypes);
  region.setNoInline(true);
  region->setAttr(infini::kWarpLevelAttrName, rewriter.getUnitAttr());
  rewriter.setInsertionPointToStart(&region.getRegion().emplaceBlock());
  AffineExpr tile = rewriter.getAffineDimExpr(0);
  auto offset = [&](Value value, int64_t factor, int64_t plus) -> Value {
    return affine::AffineApplyOp::create(
        rewriter, loc, AffineMap::get(1, 0, tile * factor + plus), value);
  };
  WarpTile warpTile;
  int64_t tileRows = tiling.tileRows, tileColumns = tiling.tileColumns;
  for (int64_t i = 0; i < tileRows; ++i)
    warpTile.rows.push_back(offset(t[0], tileRows * kMmaRows, i * kMmaRows));
  for (int64_t j = 0; j < tileColumns; ++j)
    warpTile.columns.push_back(
        offset(t[1], tileColumns * kMmaColumns, j * kMmaColumns));
  return {region, warpTile};
}

Value infini::readTile(OpBuilder &builder, Location loc, Value buffer,
                       ArrayRef<int64_t> shape, Value row, Value column) {
  Type type = getElementTypeOrSelf(buffer.getType());
  return vector::TransferReadOp::create(
      builder, loc, VectorType::get(shape, type), buffer,
      ValueRange{row, column}, zeroOf(builder, loc, type),
      ArrayRef<bool>{true, true});
}

void infini::multiplyWarpTile(IRRewriter &rewriter, Location loc,
                              const WarpTile &warpTile, int64_t depth,
                              ArrayRef<Value> lhsTiles,
                              ArrayRef<Value> rhsTiles,
                              MutableArrayRef<Value> accs) {
  AffineExpr m, n, k;
  bindDims(rewriter.getContext(), m, n, k);
  int64_t tileColumns = warpTile.columns.size();
  auto index = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(rewriter, loc, value);
  };
  int64_t step = mmaDepth(getElementTypeOrSelf(lhsTiles[0].getType()));
  // Which parts of the left and right operands each product multiplies.
  SmallVector<std::pair<int, int>> terms = {{0, 0}};
  if (lhsTiles.size() == 2)
    terms = {{1, 0}, {0, 1}, {0, 0}};
  auto steps = scf::ForOp::create(
      rewriter, loc, index(0), index(depth), index(step), accs,
      [&](OpBuilder &builder, Location loc, Value offset, ValueRange carried) {
        // a[i][part], b[j][part]: the operands' fragments.
        SmallVector<SmallVector<Value, 2>> a, b;
        SmallVector<Value> next(carried);
        for (Value row : warpTile.rows)
          a.push_back(llvm::map_to_vector<2>(lhsTiles, [&](Value tile) {
            return readTile(builder, loc, tile, {kMmaRows, step}, row, offset);
          }));
        for (Value column : warpTile.columns)
          b.push_back(llvm::map_to_vector<2>(rhsTiles, [&](Value tile) {
            return readTile(builder, loc, tile, {step, kMmaColumns}, offset,
                            column);
          }));
        for (auto [i, lhs] : llvm::enumerate(a))
          for (auto [j, rhs] : llvm::enumerate(b))
            for (auto [lhsPart, rhsPart] : terms) {
              Value &acc = next[i * tileColumns + j];
              acc = vector::ContractionOp::create(
                  builder, loc, lhs[lhsPart], rhs[rhsPart], acc,
                  {{m, k}, {k, n}, {m, n}},
                  {vector::IteratorType::parallel,
                   vector::IteratorType::parallel,
                   vector::IteratorType::reduction});
            }
        scf::YieldOp::create(builder, loc, next);
      });
  llvm::copy(steps.getResults(), accs.begin());
}

void infini::writeWarpTile(IRRewriter &rewriter, Location loc,
                           const WarpTile &warpTile, ArrayRef<Value> accs,
                           Value buffer) {
  int64_t tileColumns = warpTile.columns.size();
  for (auto [i, row] : llvm::enumerate(warpTile.rows))
    for (auto [j, column] : llvm::enumerate(warpTile.columns))
      vector::TransferWriteOp::create(rewriter, loc, accs[i * tileColumns + j],
                                      buffer, ValueRange{row, column},
                                      ArrayRef<bool>{true, true});
}
