//===- TileContractions.cpp - The infini-gpu-tile-contractions pass -------===//
//
// Converted to loops as they are, the matrix products of a model run one
// GPU thread per output element: two loads per multiply-add. This pass
// turns each bufferized contraction into a parallel loop whose iteration
// computes a register tile of `tile-rows` x `tile-columns` outputs, so that
// each loaded element of the left operand feeds `tile-columns` FMAs and each
// of the right operand `tile-rows`. The accumulators are the tile's values,
// carried in registers through the serial reduction loop in the output's
// element type (f32 for the model's products).
//
// The columns of one tile are strided by the number of column tiles, not
// contiguous: threads of a warp, which take consecutive column tiles (see
// infini-parallel-loops-to-gpu), then load consecutive elements of the
// right operand and store consecutive outputs (coalesced accesses), while
// they share the left operand's rows (a broadcast). Tile positions past the
// end of a dimension load a clamped, valid element and store nothing.
//
// With `tensor-cores=f16` (or bf16), large products stage f16 (bf16) copies
// of their inputs in shared memory and compute on tensor cores: each warp
// owns a grid of 16 x 8 tiles of the block's accumulators, carried in
// registers across the reduction's slices, and updates them with
// 16 x 8 x 16 `vector.contract`s (f32 accumulation; WarpTiles.h), which
// stage 3's infini-gpu-warp-mma turns into ldmatrix and mma.sync. With
// `tensor-cores=tf32x3` the staged tiles stay f32, each value split into
// two TF32 parts, and each product is three 16 x 8 x 8 contractions of the
// parts (splitsTF32): f32 accuracy on tensor cores.
//
// Large products also take over work around them: an input that
// element-wise ops wrote for the product alone is computed as it is staged
// (FusedOperands.h), and consecutive products of one left operand share one
// loop of blocks, hence one launch (sharesBlocks).
//
//===----------------------------------------------------------------------===//

#include "passes/GPU/FusedOperands.h"
#include "passes/GPU/WarpTiles.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace infini {
#define GEN_PASS_DEF_GPUTILECONTRACTIONS
#include "passes/Passes.h.inc"
} // namespace infini

using namespace mlir;
using namespace infini;
using infini::FusedOperand;
using infini::loadElements;
using infini::vectorAlignment;

namespace {
/// The dimensions a register tile spans.
struct TileDims {
  unsigned m, n, k;
};
} // namespace

/// The dimensions to tile when `op` is a contraction this pass handles: on
/// buffers, projected-permutation maps, one reduction dimension, and a
/// multiply-accumulate payload (checked by the contraction interface).
static std::optional<TileDims> matchContraction(linalg::LinalgOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || !linalg::isaContractionOpInterface(op))
    return std::nullopt;
  if (!llvm::all_of(op.getIndexingMapsArray(),
                    [](AffineMap map) { return map.isProjectedPermutation(); }))
    return std::nullopt;
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(op);
  if (failed(dims) || dims->k.size() != 1 || dims->m.empty() || dims->n.empty())
    return std::nullopt;
  // The innermost row and column dimensions; the others stay plain
  // parallel dimensions of the loop.
  return TileDims{dims->m.back(), dims->n.back(), dims->k.front()};
}

SmallVector<Value> infini::operandIndices(linalg::LinalgOp op,
                                          OpOperand &operand,
                                          ArrayRef<Value> point) {
  SmallVector<Value> indices;
  for (AffineExpr expr : op.getMatchingIndexingMap(&operand).getResults())
    indices.push_back(point[cast<AffineDimExpr>(expr).getPosition()]);
  return indices;
}

/// Whether `operand`'s indices depend on loop dimension `dim`.
static bool usesDim(linalg::LinalgOp op, OpOperand &operand, unsigned dim) {
  return op.getMatchingIndexingMap(&operand).isFunctionOfDim(dim);
}

/// The trip count of each of `op`'s loops, as index values before `op`.
static SmallVector<Value> loopSizes(IRRewriter &rewriter, linalg::LinalgOp op) {
  SmallVector<Value> sizes;
  for (Range range : op.createLoopRanges(rewriter, op.getLoc()))
    sizes.push_back(
        getValueOrCreateConstantIndexOp(rewriter, op.getLoc(), range.size));
  return sizes;
}

/// The parallel loop over the tiles of a contraction: `products` (if more
/// than one product shares the loop), every loop of `sizes` but m, n and k
/// (their dimensions returned in `outer`), then `rowTiles` and
/// `columnTiles` (columns innermost, the fastest across threads). The
/// insertion point is left inside its body.
static scf::ParallelOp buildTileGrid(IRRewriter &rewriter, Location loc,
                                     TileDims dims, ArrayRef<Value> sizes,
                                     Value rowTiles, Value columnTiles,
                                     SmallVector<unsigned> &outer,
                                     int64_t products = 1) {
  for (unsigned d = 0; d < sizes.size(); ++d)
    if (d != dims.m && d != dims.n && d != dims.k)
      outer.push_back(d);
  SmallVector<Value> upper;
  if (products > 1)
    upper.push_back(arith::ConstantIndexOp::create(rewriter, loc, products));
  for (unsigned d : outer)
    upper.push_back(sizes[d]);
  upper.push_back(rowTiles);
  upper.push_back(columnTiles);
  Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
  Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
  auto loop =
      scf::ParallelOp::create(rewriter, infini::kernelKindLoc(loc, "matmul"),
                              SmallVector<Value>(upper.size(), zero), upper,
                              SmallVector<Value>(upper.size(), one));
  rewriter.setInsertionPoint(loop.getBody()->getTerminator());
  return loop;
}

linalg::FillOp infini::fillRightBefore(linalg::LinalgOp op) {
  if (op.getNumDpsInits() != 1)
    return nullptr;
  Value output = op.getDpsInitOperand(0)->get();
  for (Operation *before = op->getPrevNode(); before;
       before = before->getPrevNode()) {
    if (auto fill = dyn_cast<linalg::FillOp>(before))
      return fill.getOutputs()[0] == output ? fill : nullptr;
    if (!isMemoryEffectFree(before))
      return nullptr;
  }
  return nullptr;
}

/// The zero fill of `op`'s output right before `op`, or null.
static linalg::FillOp zeroFillBefore(linalg::LinalgOp op) {
  linalg::FillOp fill = infini::fillRightBefore(op);
  if (!fill)
    return nullptr;
  Value value = fill.getInputs()[0];
  return matchPattern(value, m_PosZeroFloat()) || matchPattern(value, m_Zero())
             ? fill
             : nullptr;
}

/// With `fromZero`, the accumulators start from zero rather than from the
/// output (whose zero fill the caller erased).
static void tileContraction(IRRewriter &rewriter, linalg::LinalgOp op,
                            TileDims dims, int64_t rowTile, int64_t columnTile,
                            bool fromZero) {
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  unsigned numLoops = op.getNumLoops();
  SmallVector<Value> sizes = loopSizes(rewriter, op);
  auto index = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(rewriter, loc, value);
  };
  // A tile no larger than a static dimension.
  if (std::optional<int64_t> rows = getConstantIntValue(sizes[dims.m]))
    rowTile = std::max<int64_t>(1, std::min(rowTile, *rows));
  if (std::optional<int64_t> columns = getConstantIntValue(sizes[dims.n]))
    columnTile = std::max<int64_t>(1, std::min(columnTile, *columns));
  Value zero = index(0), one = index(1);
  Value rowTiles = rewriter.createOrFold<arith::CeilDivUIOp>(loc, sizes[dims.m],
                                                             index(rowTile));
  Value columnTiles = rewriter.createOrFold<arith::CeilDivUIOp>(
      loc, sizes[dims.n], index(columnTile));

  SmallVector<unsigned> outer;
  scf::ParallelOp loop =
      buildTileGrid(rewriter, loc, dims, sizes, rowTiles, columnTiles, outer);
  SmallVector<Value> ivs = loop.getInductionVars();

  // Rows and columns of the tile, and their clamped (always valid) forms.
  Value lastRow = arith::SubIOp::create(rewriter, loc, sizes[dims.m], one);
  Value lastColumn = arith::SubIOp::create(rewriter, loc, sizes[dims.n], one);
  Value rowBase =
      arith::MulIOp::create(rewriter, loc, ivs[outer.size()], index(rowTile));
  SmallVector<Value> rows, columns, clampedRows, clampedColumns;
  for (int64_t i = 0; i < rowTile; ++i) {
    rows.push_back(
        rewriter.createOrFold<arith::AddIOp>(loc, rowBase, index(i)));
    clampedRows.push_back(
        arith::MinUIOp::create(rewriter, loc, rows.back(), lastRow));
  }
  for (int64_t j = 0; j < columnTile; ++j) {
    Value offset =
        rewriter.createOrFold<arith::MulIOp>(loc, columnTiles, index(j));
    columns.push_back(rewriter.createOrFold<arith::AddIOp>(
        loc, ivs[outer.size() + 1], offset));
    clampedColumns.push_back(
        arith::MinUIOp::create(rewriter, loc, columns.back(), lastColumn));
  }
  // The iteration point of tile element (i, j) at reduction index `k`.
  auto point = [&](int64_t i, int64_t j, Value k) {
    SmallVector<Value> values(numLoops);
    for (auto [d, iv] : llvm::zip(outer, ivs))
      values[d] = iv;
    values[dims.m] = clampedRows[i];
    values[dims.n] = clampedColumns[j];
    values[dims.k] = k;
    return values;
  };

  OpOperand &init = op.getDpsInitsMutable()[0];
  Value output = init.get();
  SmallVector<Value> accumulators;
  Value zeroAccumulator =
      fromZero ? zeroOf(rewriter, loc, getElementTypeOrSelf(output.getType()))
               : Value();
  for (int64_t i = 0; i < rowTile; ++i)
    for (int64_t j = 0; j < columnTile; ++j)
      accumulators.push_back(
          fromZero ? zeroAccumulator
                   : memref::LoadOp::create(
                         rewriter, loc, output,
                         infini::operandIndices(op, init, point(i, j, zero)))
                         .getResult());

  // The reduction: each input element is loaded once per tile position it
  // depends on, then every tile element runs the op's payload.
  Block &payload = op->getRegion(0).front();
  auto reduction = scf::ForOp::create(
      rewriter, loc, zero, sizes[dims.k], one, accumulators,
      [&](OpBuilder &builder, Location loc, Value k, ValueRange iterArgs) {
        SmallVector<DenseMap<std::pair<int64_t, int64_t>, Value>> loads(
            op.getNumDpsInputs());
        SmallVector<Value> next;
        for (int64_t i = 0; i < rowTile; ++i) {
          for (int64_t j = 0; j < columnTile; ++j) {
            IRMapping mapping;
            for (OpOperand *input : op.getDpsInputOperands()) {
              unsigned n = input->getOperandNumber();
              std::pair<int64_t, int64_t> key = {
                  usesDim(op, *input, dims.m) ? i : 0,
                  usesDim(op, *input, dims.n) ? j : 0};
              Value &value = loads[n][key];
              if (!value)
                value = memref::LoadOp::create(
                    builder, loc, input->get(),
                    infini::operandIndices(op, *input, point(i, j, k)));
              mapping.map(payload.getArgument(n), value);
            }
            Value accumulator = iterArgs[i * columnTile + j];
            mapping.map(payload.getArgument(op.getNumDpsInputs()), accumulator);
            for (Operation &bodyOp : payload.without_terminator())
              builder.clone(bodyOp, mapping);
            next.push_back(
                mapping.lookup(payload.getTerminator()->getOperand(0)));
          }
        }
        scf::YieldOp::create(builder, loc, next);
      });

  // Tile elements past the end of a dimension are not stored.
  for (int64_t i = 0; i < rowTile; ++i) {
    for (int64_t j = 0; j < columnTile; ++j) {
      Value inRows = arith::CmpIOp::create(
          rewriter, loc, arith::CmpIPredicate::ult, rows[i], sizes[dims.m]);
      Value inColumns = arith::CmpIOp::create(
          rewriter, loc, arith::CmpIPredicate::ult, columns[j], sizes[dims.n]);
      Value inside = arith::AndIOp::create(rewriter, loc, inRows, inColumns);
      auto guard = scf::IfOp::create(rewriter, loc, inside, false);
      OpBuilder::InsertionGuard insertionGuard(rewriter);
      rewriter.setInsertionPoint(guard.thenBlock()->getTerminator());
      memref::StoreOp::create(
          rewriter, loc, reduction.getResult(i * columnTile + j), output,
          infini::operandIndices(op, init, point(i, j, zero)));
    }
  }
  rewriter.eraseOp(op);
}

/// Runs `op`'s payload on `a`, `b` and the accumulator `acc` at the
/// builder's insertion point and returns the new accumulator.
static Value applyPayload(OpBuilder &builder, linalg::LinalgOp op, Value a,
                          Value b, Value acc) {
  Block &payload = op->getRegion(0).front();
  IRMapping mapping;
  mapping.map(payload.getArgument(0), a);
  mapping.map(payload.getArgument(1), b);
  mapping.map(payload.getArgument(2), acc);
  for (Operation &bodyOp : payload.without_terminator())
    builder.clone(bodyOp, mapping);
  return mapping.lookup(payload.getTerminator()->getOperand(0));
}

/// A parallel loop staging a `rows` x `columns` tile of `input`, whose rows
/// are loop dimension `rowDim` of `op`; returns the (row, column) in the
/// tile. Consecutive iterations (consecutive GPU
/// threads) take consecutive elements of the input in memory, so loads
/// coalesce: the innermost loop runs over whichever of the two dimensions
/// indexes the input's last dimension (a weight read as W[n][k] is staged
/// along k).
static SmallVector<Value> stagingLoop(IRRewriter &rewriter, Location loc,
                                      linalg::LinalgOp op, OpOperand *input,
                                      unsigned rowDim, int64_t rows,
                                      int64_t columns) {
  AffineMap map = op.getMatchingIndexingMap(input);
  bool alongRows = map.getNumResults() != 0 &&
                   map.getResults().back() == rewriter.getAffineDimExpr(rowDim);
  if (!alongRows)
    return parallelLoop(rewriter, loc, {rows, columns});
  SmallVector<Value> ji = parallelLoop(rewriter, loc, {columns, rows});
  return {ji[1], ji[0]};
}

/// Bytes a thread moves at once when it stages a tile or writes a block's
/// outputs: 16, the widest global access.
static constexpr int64_t kVectorAccessBytes = 16;

/// The elements a thread moves at once between `operand` and a tile whose
/// second index is loop dimension `innerDim` (`extent` wide), or 1: vector
/// accesses need `innerDim` to index the operand's last dimension, which
/// must be contiguous (identity layout) and a static multiple of the width,
/// as must the extent. Block and slice origins are multiples of the width then,
/// so a vector never straddles the end of the dimension, and identity layouts
/// start at the buffer's origin, which the runtime aligns to 64 bytes or
/// more.
static int64_t vectorAccessWidth(linalg::LinalgOp op, OpOperand *input,
                                 unsigned innerDim, int64_t extent) {
  auto type = dyn_cast<MemRefType>(input->get().getType());
  AffineMap map = op.getMatchingIndexingMap(input);
  if (!type || !type.getLayout().isIdentity() || type.getRank() == 0 ||
      map.getNumResults() == 0 ||
      map.getResults().back() != getAffineDimExpr(innerDim, op.getContext()))
    return 1;
  int64_t elementBytes = type.getElementTypeBitWidth() / 8;
  int64_t width = elementBytes ? kVectorAccessBytes / elementBytes : 0;
  int64_t size = type.getShape().back();
  if (width <= 1 || ShapedType::isDynamic(size) || size % width != 0 ||
      extent % width != 0)
    return 1;
  return width;
}

/// Stores `value`, a scalar or a vector, to `buffer` at `indices`.
static void storeElements(OpBuilder &builder, Location loc, Value value,
                          Value buffer, ValueRange indices,
                          llvm::MaybeAlign alignment = {}) {
  if (isa<VectorType>(value.getType()))
    vector::StoreOp::create(builder, loc, value, buffer, indices,
                            /*nontemporal=*/false, alignment);
  else
    memref::StoreOp::create(builder, loc, value, buffer, indices);
}

namespace {
/// How a large contraction is cut into shared-memory tiles and computed.
struct BlockTiling {
  /// Outputs of a block, and the depth of each staged reduction slice.
  int64_t rows, columns, depth;
  /// Outputs each thread computes per slice on CUDA cores.
  int64_t rowTile, columnTile;
  /// f16 or bf16: warps compute on tensor cores from tiles of that type;
  /// f32: from TF32 parts (splitsTF32); null: threads compute on CUDA cores.
  Type mmaType;
  /// Warps of the GPU block, which share the tensor-core phase.
  int64_t warps;
};
} // namespace

/// The phase of a slice on CUDA cores: each thread updates a `rowTile` x
/// `columnTile` register tile of the accumulators, its columns strided for
/// conflict-free shared-memory reads.
static void registerTilePhase(IRRewriter &rewriter, Location loc,
                              linalg::LinalgOp op, const BlockTiling &tiling,
                              Value lhsTile, Value rhsTile, Value accTile) {
  auto index = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(rewriter, loc, value);
  };
  int64_t columnThreads = tiling.columns / tiling.columnTile;
  SmallVector<Value> t = parallelLoop(
      rewriter, loc, {tiling.rows / tiling.rowTile, columnThreads});
  SmallVector<Value> rows, columns, accumulators;
  for (int64_t i = 0; i < tiling.rowTile; ++i)
    rows.push_back(arith::AddIOp::create(
        rewriter, loc,
        arith::MulIOp::create(rewriter, loc, t[0], index(tiling.rowTile)),
        index(i)));
  for (int64_t j = 0; j < tiling.columnTile; ++j)
    columns.push_back(
        arith::AddIOp::create(rewriter, loc, t[1], index(j * columnThreads)));
  for (Value row : rows)
    for (Value column : columns)
      accumulators.push_back(memref::LoadOp::create(rewriter, loc, accTile,
                                                    ValueRange{row, column}));
  auto depthLoop = scf::ForOp::create(
      rewriter, loc, index(0), index(tiling.depth), index(1), accumulators,
      [&](OpBuilder &builder, Location loc, Value kk, ValueRange iterArgs) {
        SmallVector<Value> a, b, next;
        for (Value row : rows)
          a.push_back(memref::LoadOp::create(builder, loc, lhsTile,
                                             ValueRange{row, kk}));
        for (Value column : columns)
          b.push_back(memref::LoadOp::create(builder, loc, rhsTile,
                                             ValueRange{kk, column}));
        for (int64_t i = 0; i < tiling.rowTile; ++i)
          for (int64_t j = 0; j < tiling.columnTile; ++j)
            next.push_back(applyPayload(builder, op, a[i], b[j],
                                        iterArgs[i * tiling.columnTile + j]));
        scf::YieldOp::create(builder, loc, next);
      });
  for (auto [i, row] : llvm::enumerate(rows))
    for (auto [j, column] : llvm::enumerate(columns))
      memref::StoreOp::create(rewriter, loc,
                              depthLoop.getResult(i * tiling.columnTile + j),
                              accTile, ValueRange{row, column});
}

/// Stores `value`, of the staged tiles' element type, at `ij` into
/// `tiles`: the one tile, or with TF32 parts its hi and lo tiles.
static void storeStaged(OpBuilder &builder, Location loc, Value value,
                        ArrayRef<Value> tiles, ValueRange ij) {
  if (tiles.size() == 1) {
    storeElements(builder, loc, value, tiles[0], ij);
    return;
  }
  auto [high, low] = infini::splitTF32(builder, loc, value);
  storeElements(builder, loc, high, tiles[0], ij);
  storeElements(builder, loc, low, tiles[1], ij);
}

/// The phase of a slice on tensor cores with the accumulators in `accTile`:
/// a warp-level parallel loop (see infini-parallel-loops-to-gpu) over warp
/// tiles of `warpTileShape` 16 x 8 tiles, each a warp-level region that
/// reads its tiles, multiplies (multiplyWarpTile) and writes them back. All
/// the warp's lanes run the same vector code, which infini-gpu-warp-mma
/// distributes over them (ldmatrix, mma.sync).
static void warpTilePhase(IRRewriter &rewriter, Location loc,
                          const BlockTiling &tiling, ArrayRef<Value> lhsTiles,
                          ArrayRef<Value> rhsTiles, Value accTile) {
  WarpTiling warpTiling =
      warpTileShape(tiling.rows, tiling.columns, tiling.warps);
  SmallVector<Value> t = warpTileLoop(rewriter, loc, warpTiling);
  OpBuilder::InsertionGuard guard(rewriter);
  auto [region, warpTile] = warpRegion(rewriter, loc, {}, t, warpTiling);
  SmallVector<Value> accs;
  for (Value row : warpTile.rows)
    for (Value column : warpTile.columns)
      accs.push_back(readTile(rewriter, loc, accTile, {kMmaRows, kMmaColumns},
                              row, column));
  multiplyWarpTile(rewriter, loc, warpTile, tiling.depth, lhsTiles, rhsTiles,
                   accs);
  writeWarpTile(rewriter, loc, warpTile, accs, accTile);
  scf::YieldOp::create(rewriter, loc);
}

/// Elements each row of a tensor-core tile of `mmaType` is padded by. With
/// 16-bit elements rows then start 16 bytes apart modulo 128, so the eight
/// rows an ldmatrix reads fall in distinct shared-memory banks. TF32 left
/// operands are read so too (ldmatrix moves them as pairs of 16-bit
/// halves), hence 4 f32; the right ones element by element, lane (g, t)
/// reading row t and column g, so rows 8 banks apart.
static int64_t mmaRowPadding(Type mmaType, bool isLhs) {
  return splitsTF32(mmaType) && isLhs ? 4 : 8;
}

/// The shared tiles an operand is staged in for products on `mmaType`
/// (null: CUDA cores): one of `type`, or the TF32 parts of f32 values (hi,
/// lo).
static SmallVector<Value> allocateStaged(OpBuilder &builder, Location loc,
                                         MemRefType type, Type mmaType) {
  SmallVector<Value> tiles = {memref::AllocOp::create(builder, loc, type)};
  if (splitsTF32(mmaType))
    tiles.push_back(memref::AllocOp::create(builder, loc, type));
  return tiles;
}

/// Stages a slice of `input` into `tile` (the left operand's rows x depth,
/// or the right operand's depth x columns), converted to the tile's element
/// type and zero past the reduction's end. Each iteration moves
/// vectorAccessWidth consecutive elements along the input's last
/// dimension with one vector load, clamped to a whole vector inside it,
/// where that is possible (for `reader` too); otherwise one element, in the
/// order that keeps loads coalesced (stagingLoop). `reader` loads the
/// elements or computes them from their producers' inputs. `point` gives
/// the clamped iteration point of a tile element.
static void stageSlice(
    IRRewriter &rewriter, Location loc, linalg::LinalgOp op, OpOperand *input,
    const FusedOperand &reader, ArrayRef<Value> tiles, bool isLhs,
    TileDims dims, const BlockTiling &tiling,
    llvm::function_ref<SmallVector<Value>(OpBuilder &, Value, Value, Value)>
        point,
    Value rowBase, Value columnBase, Value sliceBase, Value depthK) {
  int64_t rows = isLhs ? tiling.rows : tiling.depth;
  int64_t extent = isLhs ? tiling.depth : tiling.columns;
  int64_t width = vectorAccessWidth(op, input, isLhs ? dims.k : dims.n, extent);
  if (!reader.canReadVectors(width))
    width = 1;
  // The tile row and column of the (first) element.
  SmallVector<Value> ij;
  if (width > 1) {
    ij = parallelLoop(rewriter, loc, {rows, extent / width});
    ij[1] = arith::MulIOp::create(
        rewriter, loc, ij[1],
        arith::ConstantIndexOp::create(rewriter, loc, width));
  } else {
    ij = stagingLoop(rewriter, loc, op, input, isLhs ? dims.m : dims.k, rows,
                     extent);
  }
  Value depth =
      arith::AddIOp::create(rewriter, loc, sliceBase, isLhs ? ij[1] : ij[0]);
  Value row =
      isLhs ? arith::AddIOp::create(rewriter, loc, rowBase, ij[0]) : rowBase;
  Value column =
      isLhs
          ? columnBase
          : arith::AddIOp::create(rewriter, loc, columnBase, ij[1]).getResult();
  SmallVector<Value> indices =
      infini::operandIndices(op, *input, point(rewriter, row, column, depth));
  auto type = cast<MemRefType>(input->get().getType());
  if (width > 1) {
    // The unclamped index along the last dimension, clamped to a whole
    // vector (the dimension is a multiple of `width`).
    indices.back() = arith::MinUIOp::create(
        rewriter, loc, isLhs ? depth : column,
        arith::ConstantIndexOp::create(rewriter, loc,
                                       type.getShape().back() - width));
  }
  Value value = reader.read(rewriter, loc, indices, width);
  Type staged = getElementTypeOrSelf(tiles[0].getType());
  if (staged != type.getElementType()) {
    Type convertedType = staged;
    if (width > 1)
      convertedType = VectorType::get({width}, staged);
    value = arith::TruncFOp::create(rewriter, loc, convertedType, value);
  }
  // A vector along the reduction lies wholly before or past its end.
  Value inside = arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::ult,
                                       depth, depthK);
  value = arith::SelectOp::create(rewriter, loc, inside, value,
                                  zeroOf(rewriter, loc, value.getType()));
  storeStaged(rewriter, loc, value, tiles, ij);
}

/// Rewrites a large contraction into the shared-memory tiled form: one
/// iteration of an outer parallel loop per `rows` x `columns` output tile
/// (a GPU block after infini-parallel-loops-to-gpu), whose accumulators live
/// in a shared tile; for each `depth`-deep slice of the reduction the block
/// stages both inputs' slices in shared tiles (coalesced loads, zero past
/// the end of the reduction, rounded to 16 bits for tensor cores), then
/// updates the accumulators from them, per thread or per warp. Each phase
/// is a nested parallel loop, which the cooperative launch spreads over the
/// block's threads with barriers in between.
static void blockTileContraction(IRRewriter &rewriter,
                                 ArrayRef<linalg::LinalgOp> group,
                                 TileDims dims, const BlockTiling &tiling,
                                 bool fromZero) {
  linalg::LinalgOp op = group.front();
  // Element-wise producers of either input that the staging recomputes
  // (for a product of its own).
  OpOperand *lhs = op.getDpsInputOperand(0), *rhs = op.getDpsInputOperand(1);
  FusedOperand lhsReader = FusedOperand::load(lhs->get());
  FusedOperand rhsReader = FusedOperand::load(rhs->get());
  if (group.size() == 1) {
    lhsReader = FusedOperand::analyze(op, op, *lhs);
    rhsReader = FusedOperand::analyze(op, op, *rhs);
  }
  SmallVector<Operation *> lhsProducers, rhsProducers;
  lhsReader.collectProducers(lhsProducers);
  rhsReader.collectProducers(rhsProducers);
  // A producer of both inputs (one temporary read twice) stays: each read
  // would see it erased by the other's fusion.
  if (llvm::any_of(rhsProducers, [&](Operation *producer) {
        return llvm::is_contained(lhsProducers, producer);
      })) {
    lhsReader = FusedOperand::load(lhs->get());
    rhsReader = FusedOperand::load(rhs->get());
  }
  lhsReader.moveDeallocationsAfter(op);
  rhsReader.moveDeallocationsAfter(op);

  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  unsigned numLoops = op.getNumLoops();
  SmallVector<Value> sizes = loopSizes(rewriter, op);
  auto index = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(rewriter, loc, value);
  };
  Value zero = index(0), one = index(1);
  Value rowsM = sizes[dims.m], columnsN = sizes[dims.n], depthK = sizes[dims.k];
  Value lastRow = arith::SubIOp::create(rewriter, loc, rowsM, one);
  Value lastColumn = arith::SubIOp::create(rewriter, loc, columnsN, one);
  Value lastDepth = arith::SubIOp::create(rewriter, loc, depthK, one);

  SmallVector<unsigned> outer;
  scf::ParallelOp blocks = buildTileGrid(
      rewriter, loc, dims, sizes,
      rewriter.createOrFold<arith::CeilDivUIOp>(loc, rowsM, index(tiling.rows)),
      rewriter.createOrFold<arith::CeilDivUIOp>(loc, columnsN,
                                                index(tiling.columns)),
      outer, group.size());
  SmallVector<Value> blockIvs(blocks.getInductionVars());
  // A group's blocks pick their product's right operand and output.
  Value output = op.getDpsInitOperand(0)->get();
  if (group.size() > 1) {
    Value which = blockIvs.front();
    blockIvs.erase(blockIvs.begin());
    Value rhsBuffer = rhs->get();
    for (auto [k, groupMember] : llvm::enumerate(llvm::drop_begin(group))) {
      linalg::LinalgOp member = groupMember;
      Value isMember = arith::CmpIOp::create(
          rewriter, loc, arith::CmpIPredicate::eq, which, index(k + 1));
      rhsBuffer = arith::SelectOp::create(rewriter, loc, isMember,
                                          member.getDpsInputOperand(1)->get(),
                                          rhsBuffer);
      output = arith::SelectOp::create(
          rewriter, loc, isMember, member.getDpsInitOperand(0)->get(), output);
    }
    rhsReader = FusedOperand::load(rhsBuffer);
  }
  Value rowBase = arith::MulIOp::create(rewriter, loc, blockIvs[outer.size()],
                                        index(tiling.rows));
  Value columnBase = arith::MulIOp::create(
      rewriter, loc, blockIvs[outer.size() + 1], index(tiling.columns));
  // The iteration point at (row, column, depth), clamped to valid indices.
  auto point = [&](OpBuilder &builder, Value row, Value column, Value depth) {
    SmallVector<Value> values(numLoops);
    for (auto [d, iv] : llvm::zip(outer, blockIvs))
      values[d] = iv;
    values[dims.m] = arith::MinUIOp::create(builder, loc, row, lastRow);
    values[dims.n] = arith::MinUIOp::create(builder, loc, column, lastColumn);
    values[dims.k] = arith::MinUIOp::create(builder, loc, depth, lastDepth);
    return values;
  };

  OpOperand &init = op.getDpsInitsMutable()[0];
  Type accType = getElementTypeOrSelf(init.get().getType());
  auto stagedType = [&](OpOperand *input) {
    return tiling.mmaType ? tiling.mmaType
                          : getElementTypeOrSelf(input->get().getType());
  };
  auto padding = [&](bool isLhs) -> int64_t {
    return tiling.mmaType ? mmaRowPadding(tiling.mmaType, isLhs) : 0;
  };
  // Only loaded and stored, so they go to shared memory.
  SmallVector<Value> lhsTiles = allocateStaged(
      rewriter, loc,
      MemRefType::get({tiling.rows, tiling.depth + padding(true)},
                      stagedType(lhs)),
      tiling.mmaType);
  SmallVector<Value> rhsTiles = allocateStaged(
      rewriter, loc,
      MemRefType::get({tiling.depth, tiling.columns + padding(false)},
                      stagedType(rhs)),
      tiling.mmaType);
  Value accTile = memref::AllocOp::create(
      rewriter, loc,
      MemRefType::get({tiling.rows, tiling.columns + padding(false)}, accType));
  // Double-buffered where the reduction is a static, even number of
  // slices and shared memory allows: slice 0 is staged before the loop, and
  // each iteration takes two slices, staging the one after each into the
  // other buffers while it is multiplied (no barrier between the two
  // phases, which touch different buffers; see infini-gpu-async-copies).
  // TF32 parts are split as they are staged, so they keep one buffer.
  SmallVector<SmallVector<Value>, 2> lhsBuffers = {lhsTiles},
                                     rhsBuffers = {rhsTiles};
  std::optional<int64_t> staticDepth = getConstantIntValue(depthK);
  int64_t stagedBytes = 0;
  for (Value tile : llvm::concat<Value>(lhsTiles, rhsTiles))
    stagedBytes += sharedBufferBytes(cast<MemRefType>(tile.getType()));
  bool doubleBuffered =
      !splitsTF32(tiling.mmaType) && staticDepth &&
      *staticDepth % (2 * tiling.depth) == 0 &&
      2 * stagedBytes +
              sharedBufferBytes(cast<MemRefType>(accTile.getType())) <=
          kSharedMemoryBytes;
  if (doubleBuffered) {
    lhsBuffers.push_back(allocateStaged(rewriter, loc,
                                        cast<MemRefType>(lhsTiles[0].getType()),
                                        tiling.mmaType));
    rhsBuffers.push_back(allocateStaged(rewriter, loc,
                                        cast<MemRefType>(rhsTiles[0].getType()),
                                        tiling.mmaType));
  }
  Block *body = rewriter.getInsertionBlock();
  Block::iterator bodyPoint = rewriter.getInsertionPoint();

  // With exactly one warp tile per warp, each warp keeps its accumulators
  // in registers across the slices (loop-carried vectors, zero at first)
  // and adds them to the output at the end; otherwise the accumulators
  // start from the output in `accTile` and are updated there every slice.
  WarpTiling warpTiling =
      warpTileShape(tiling.rows, tiling.columns, tiling.warps);
  bool inRegisters = tiling.mmaType && warpTiling.count() == tiling.warps;
  auto accVectorType = VectorType::get({kMmaRows, kMmaColumns}, accType);
  SmallVector<Value> warp, zeros;
  if (inRegisters) {
    warp = warpTileLoop(rewriter, loc, warpTiling);
    Value zeroTile = zeroOf(rewriter, loc, accVectorType);
    zeros.assign(warpTiling.tileRows * warpTiling.tileColumns, zeroTile);
  } else {
    SmallVector<Value> ij =
        parallelLoop(rewriter, loc, {tiling.rows, tiling.columns});
    Value value;
    if (fromZero) {
      value = zeroOf(rewriter, loc, accType);
    } else {
      Value row = arith::AddIOp::create(rewriter, loc, rowBase, ij[0]);
      Value column = arith::AddIOp::create(rewriter, loc, columnBase, ij[1]);
      value = memref::LoadOp::create(
          rewriter, loc, output,
          infini::operandIndices(op, init, point(rewriter, row, column, zero)));
    }
    memref::StoreOp::create(rewriter, loc, value, accTile, ij);
    rewriter.setInsertionPoint(body, bodyPoint);
  }

  // Stages both inputs' slices at `sliceBase` into buffer `buffer`; past
  // the reduction's end they are zero.
  auto stage = [&](int64_t buffer, Value sliceBase) {
    OpBuilder::InsertPoint insertion = rewriter.saveInsertionPoint();
    stageSlice(rewriter, loc, op, lhs, lhsReader, lhsBuffers[buffer],
               /*isLhs=*/true, dims, tiling, point, rowBase, columnBase,
               sliceBase, depthK);
    rewriter.restoreInsertionPoint(insertion);
    stageSlice(rewriter, loc, op, rhs, rhsReader, rhsBuffers[buffer],
               /*isLhs=*/false, dims, tiling, point, rowBase, columnBase,
               sliceBase, depthK);
    rewriter.restoreInsertionPoint(insertion);
  };
  if (doubleBuffered)
    stage(0, zero);

  int64_t buffers = lhsBuffers.size();
  auto slices = scf::ForOp::create(rewriter, loc, zero, depthK,
                                   index(tiling.depth * buffers), zeros);
  Block *sliceBody = slices.getBody();
  if (inRegisters) {
    rewriter.setInsertionPointToEnd(sliceBody);
    scf::YieldOp::create(rewriter, loc, slices.getRegionIterArgs());
  }
  SmallVector<Value> accs(slices.getRegionIterArgs());
  for (int64_t buffer = 0; buffer < buffers; ++buffer) {
    rewriter.setInsertionPoint(sliceBody->getTerminator());
    Value sliceBase = arith::AddIOp::create(
        rewriter, loc, slices.getInductionVar(), index(tiling.depth * buffer));
    if (doubleBuffered)
      stage(1 - buffer, arith::AddIOp::create(rewriter, loc, sliceBase,
                                              index(tiling.depth)));
    else
      stage(buffer, sliceBase);
    ArrayRef<Value> lhsSlice = lhsBuffers[buffer],
                    rhsSlice = rhsBuffers[buffer];
    if (inRegisters) {
      // The warp's tiles, multiplied in a warp-level region from the
      // slice's accumulators.
      auto [region, warpTile] =
          warpRegion(rewriter, loc, slices.getResultTypes(), warp, warpTiling);
      multiplyWarpTile(rewriter, loc, warpTile, tiling.depth, lhsSlice,
                       rhsSlice, accs);
      scf::YieldOp::create(rewriter, loc, accs);
      accs.assign(region.getResults().begin(), region.getResults().end());
    } else if (tiling.mmaType) {
      warpTilePhase(rewriter, loc, tiling, lhsSlice, rhsSlice, accTile);
    } else {
      registerTilePhase(rewriter, loc, op, tiling, lhsSlice[0], rhsSlice[0],
                        accTile);
    }
  }
  if (inRegisters) {
    // After the last slice, the accumulators go to `accTile`.
    sliceBody->getTerminator()->setOperands(accs);
    rewriter.setInsertionPointAfter(slices);
    auto [epilogue, outputTile] =
        warpRegion(rewriter, loc, {}, warp, warpTiling);
    writeWarpTile(rewriter, loc, outputTile,
                  SmallVector<Value>(slices.getResults()), accTile);
    scf::YieldOp::create(rewriter, loc);
  }

  // The block's outputs inside the product's bounds (with registers, the
  // output plus the products).
  if (inRegisters)
    rewriter.setInsertionPointAfter(warp[0].getParentBlock()->getParentOp());
  else
    rewriter.setInsertionPointAfter(slices);
  {
    // 16 bytes at a time where the output's rows allow it, as in staging (a
    // vector lies wholly inside or past the last column).
    int64_t width = vectorAccessWidth(op, &init, dims.n, tiling.columns);
    SmallVector<Value> ij =
        parallelLoop(rewriter, loc, {tiling.rows, tiling.columns / width});
    if (width > 1)
      ij[1] = arith::MulIOp::create(rewriter, loc, ij[1], index(width));
    Value row = arith::AddIOp::create(rewriter, loc, rowBase, ij[0]);
    Value column = arith::AddIOp::create(rewriter, loc, columnBase, ij[1]);
    Value inside = arith::AndIOp::create(
        rewriter, loc,
        arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::ult, row,
                              rowsM),
        arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::ult, column,
                              columnsN));
    auto guard = scf::IfOp::create(rewriter, loc, inside, false);
    rewriter.setInsertionPoint(guard.thenBlock()->getTerminator());
    SmallVector<Value> outputIndices =
        infini::operandIndices(op, init, point(rewriter, row, column, zero));
    Value value = loadElements(rewriter, loc, accTile, ij, width);
    if (inRegisters && !fromZero)
      value = arith::AddFOp::create(
          rewriter, loc,
          loadElements(rewriter, loc, output, outputIndices, width), value);
    storeElements(rewriter, loc, value, output, outputIndices,
                  width > 1 ? vectorAlignment(output, width)
                            : llvm::MaybeAlign());
  }
  for (linalg::LinalgOp member : group)
    rewriter.eraseOp(member);
  lhsReader.eraseProducers(rewriter);
  rhsReader.eraseProducers(rewriter);
}

/// The shared-memory tile: 64 x 64 outputs of a block (64 x 32 for
/// 32-column panels, see blockColumns), 16-deep slices of the reduction on
/// CUDA cores (24 KiB of f32 tiles), 64-deep on tensor cores (about 35 KiB:
/// 16-bit input tiles and the f32 accumulators, padded), 32-deep with TF32
/// parts (about 54 KiB: hi and lo f32 tiles of both inputs).
static constexpr int64_t kBlockRows = 64, kBlockColumns = 64, kBlockDepth = 16;
static int64_t mmaBlockDepth(Type mmaType) {
  return splitsTF32(mmaType) ? 32 : 64;
}

/// Whether the product fills shared-memory tiles: dimensions of unknown
/// size count as large.
static bool isLarge(linalg::LinalgOp op, TileDims dims) {
  SmallVector<int64_t> bounds = op.getStaticLoopRanges();
  auto atLeast = [&](unsigned dim, int64_t size) {
    return ShapedType::isDynamic(bounds[dim]) || bounds[dim] >= size;
  };
  return atLeast(dims.m, kBlockRows / 2) &&
         atLeast(dims.n, kBlockColumns / 2) && atLeast(dims.k, kBlockDepth);
}

/// The columns of a block's output tile: 64, or 32 where the innermost
/// column dimension has no more (the projections' 32-column weight
/// panels, whose other columns are an outer loop), so that no block
/// computes columns past its dimension's end.
static int64_t blockColumns(linalg::LinalgOp op, TileDims dims) {
  int64_t columns = op.getStaticLoopRanges()[dims.n];
  return !ShapedType::isDynamic(columns) && columns <= kBlockColumns / 2
             ? kBlockColumns / 2
             : kBlockColumns;
}

/// Whether tensor cores can compute `op`: a product into f32 of f32 values
/// (the model's), whose multiply-add payload a contraction of `mmaType`
/// copies with f32 accumulation approximates, or of values already of
/// `mmaType` (weights infini-narrow-prepared-weights rounded).
static bool suitsTensorCores(linalg::LinalgOp op, Type mmaType) {
  auto elementType = [](OpOperand *operand) {
    return getElementTypeOrSelf(operand->get().getType());
  };
  return elementType(op.getDpsInitOperand(0)).isF32() &&
         llvm::all_of(op.getDpsInputOperands(), [&](OpOperand *input) {
           Type type = elementType(input);
           return type.isF32() || type == mmaType;
         });
}

unsigned infini::countEnclosingParallelLoops(Operation *op) {
  unsigned depth = 0;
  for (Operation *parent = op->getParentOp(); parent;
       parent = parent->getParentOp())
    depth += isa<scf::ParallelOp, scf::ForallOp>(parent);
  return depth;
}

/// Whether `op`, a product nested in a GPU block's loop (the fused
/// attention's tiles), can run as warp-level tensor-core tiles in place:
/// static sizes that are whole 16 x 8 x 16 tiles, no other loops, f32
/// values, and an output that is itself a row-major (m, n) buffer the tiles
/// can be read from and written to.
static bool fitsWarpTiles(linalg::LinalgOp op, TileDims dims, Type mmaType) {
  if (op.getNumLoops() != 3 || !suitsTensorCores(op, mmaType))
    return false;
  SmallVector<int64_t> bounds = op.getStaticLoopRanges();
  if (ShapedType::isDynamicShape(bounds) || bounds[dims.m] % kMmaRows != 0 ||
      bounds[dims.n] % kMmaColumns != 0 ||
      bounds[dims.k] % mmaDepth(mmaType) != 0)
    return false;
  OpOperand &init = op.getDpsInitsMutable()[0];
  auto type = dyn_cast<MemRefType>(init.get().getType());
  AffineMap map = op.getMatchingIndexingMap(&init);
  return type && type.getLayout().isIdentity() && map.getNumResults() == 2 &&
         map.getDimPosition(0) == dims.m && map.getDimPosition(1) == dims.n;
}

/// Rewrites a nested product that fitsWarpTiles into block phases: the
/// block's threads stage 16-bit copies of both inputs (padded rows), then its
/// warps update the output in place, 16 x 8 tiles at a time.
static void warpTileContraction(IRRewriter &rewriter, linalg::LinalgOp op,
                                TileDims dims, Type mmaType, int64_t warps) {
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  SmallVector<int64_t> bounds = op.getStaticLoopRanges();
  BlockTiling tiling{bounds[dims.m], bounds[dims.n], bounds[dims.k], 1, 1,
                     mmaType,        warps};
  auto stage = [&](OpOperand *input, unsigned rowDim, unsigned columnDim,
                   int64_t rows, int64_t columns, bool isLhs) {
    SmallVector<Value> tiles = allocateStaged(
        rewriter, loc,
        MemRefType::get({rows, columns + mmaRowPadding(mmaType, isLhs)},
                        mmaType),
        mmaType);
    OpBuilder::InsertionGuard guard(rewriter);
    SmallVector<Value> ij =
        stagingLoop(rewriter, loc, op, input, rowDim, rows, columns);
    SmallVector<Value> point(3);
    point[rowDim] = ij[0];
    point[columnDim] = ij[1];
    Value value = memref::LoadOp::create(
        rewriter, loc, input->get(), infini::operandIndices(op, *input, point));
    if (value.getType() != mmaType)
      value = arith::TruncFOp::create(rewriter, loc, mmaType, value);
    storeStaged(rewriter, loc, value, tiles, ij);
    return tiles;
  };
  SmallVector<Value> lhsTiles =
      stage(op.getDpsInputOperand(0), dims.m, dims.k, tiling.rows, tiling.depth,
            /*isLhs=*/true);
  SmallVector<Value> rhsTiles =
      stage(op.getDpsInputOperand(1), dims.k, dims.n, tiling.depth,
            tiling.columns, /*isLhs=*/false);
  warpTilePhase(rewriter, loc, tiling, lhsTiles, rhsTiles,
                op.getDpsInitsMutable()[0].get());
  rewriter.eraseOp(op);
}

/// Whether `candidate` can join `group`, consecutive products that one
/// loop of blocks computes (the Q, K and V projections, SwiGLU's gate and
/// up projections): the same left operand, maps, types and payload as the
/// group's first, right after the group's last with nothing in between but
/// allocations, ops free of memory effects and its own zero fill (one
/// before each member or none), and an output of its own: a fresh
/// allocation no other member or operand uses. One launch then fills the
/// device with all the members' blocks.
static bool sharesBlocks(ArrayRef<linalg::LinalgOp> group,
                         linalg::LinalgOp candidate) {
  linalg::LinalgOp first = group.front(), last = group.back();
  if (candidate->getBlock() != last->getBlock() ||
      candidate->getName() != first->getName() ||
      candidate.getDpsInputOperand(0)->get() !=
          first.getDpsInputOperand(0)->get() ||
      candidate->getOperandTypes() != first->getOperandTypes() ||
      candidate.getIndexingMapsArray() != first.getIndexingMapsArray() ||
      candidate.getIteratorTypesArray() != first.getIteratorTypesArray() ||
      !OperationEquivalence::isRegionEquivalentTo(
          &candidate->getRegion(0), &first->getRegion(0),
          OperationEquivalence::IgnoreLocations) ||
      (zeroFillBefore(candidate) != nullptr) !=
          (zeroFillBefore(first) != nullptr))
    return false;
  linalg::FillOp fill = zeroFillBefore(candidate);
  for (Operation *between = last->getNextNode(); between != candidate;
       between = between->getNextNode()) {
    if (!between)
      return false;
    if (between != fill.getOperation() && !isa<memref::AllocOp>(between) &&
        !isMemoryEffectFree(between))
      return false;
  }
  // Outputs: distinct fresh allocations that no operand of the group reads.
  Value output = candidate.getDpsInitOperand(0)->get();
  if (!output.getDefiningOp<memref::AllocOp>())
    return false;
  for (linalg::LinalgOp member : group) {
    Value memberOutput = member.getDpsInitOperand(0)->get();
    if (memberOutput == output ||
        llvm::is_contained(member.getDpsInputs(), output) ||
        llvm::is_contained(candidate.getDpsInputs(), memberOutput))
      return false;
  }
  return !llvm::is_contained(candidate.getDpsInputs(), output);
}

/// Moves the ops between a group's members (their zero fills erased) before
/// the first member, where the group's loop goes: the later members'
/// outputs are allocated there.
static void gatherBefore(ArrayRef<linalg::LinalgOp> group) {
  if (group.size() < 2)
    return;
  Operation *first = group.front();
  for (Operation *op = first->getNextNode(); op != group.back();) {
    Operation *next = op->getNextNode();
    if (!llvm::is_contained(group, op))
      op->moveBefore(first);
    op = next;
  }
}

namespace {
struct GPUTileContractionsPass
    : public infini::impl::GPUTileContractionsBase<GPUTileContractionsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (rowTile < 1 || columnTile < 1) {
      getOperation().emitError() << "register tile sizes must be positive";
      return signalPassFailure();
    }
    if (warps < 1) {
      getOperation().emitError() << "warps must be positive";
      return signalPassFailure();
    }
    Type mmaType;
    if (tensorCores == "f16") {
      mmaType = Float16Type::get(&getContext());
    } else if (tensorCores == "bf16") {
      mmaType = BFloat16Type::get(&getContext());
    } else if (tensorCores == "tf32x3") {
      mmaType = Float32Type::get(&getContext());
    } else if (tensorCores != "none") {
      getOperation().emitError() << "unsupported tensor-cores '" << tensorCores
                                 << "'; expected none, f16, bf16 or tf32x3";
      return signalPassFailure();
    }
    // Products inside a parallel loop (the fused attention's tiles) are
    // shared by a block's threads as they are, or with tensor cores by its
    // warps; only the outermost ones get a loop of their own.
    SmallVector<std::pair<linalg::LinalgOp, TileDims>> contractions, nested;
    getOperation().walk([&](linalg::LinalgOp op) {
      std::optional<TileDims> dims = matchContraction(op);
      if (!dims)
        return;
      if (!op->getParentOfType<scf::ParallelOp>() &&
          !op->getParentOfType<scf::ForallOp>())
        contractions.push_back({op, *dims});
      else if (mmaType && infini::countEnclosingParallelLoops(op) == 1 &&
               fitsWarpTiles(op, *dims, mmaType))
        nested.push_back({op, *dims});
    });
    IRRewriter rewriter(&getContext());
    for (auto [op, dims] : nested)
      warpTileContraction(rewriter, op, dims, mmaType, warps);
    for (size_t i = 0; i < contractions.size();) {
      auto [op, dims] = contractions[i];
      // A zero fill of the output right before the product becomes the
      // product's initial value: one kernel and one pass over the output
      // fewer.
      bool fromZero = zeroFillBefore(op) != nullptr;
      int64_t columns = blockColumns(op, dims);
      BlockTiling tiling{kBlockRows, columns, mmaBlockDepth(mmaType), 1, 1,
                         mmaType,    warps};
      if (!mmaType || !suitsTensorCores(op, mmaType))
        tiling = {kBlockRows, columns, kBlockDepth, rowTile,
                  columnTile, Type(),  warps};
      // Register tiles must divide the shared-memory tile.
      if (!sharedMemoryTiles || !isLarge(op, dims) ||
          (!tiling.mmaType &&
           (kBlockRows % rowTile != 0 || columns % columnTile != 0))) {
        if (fromZero)
          rewriter.eraseOp(zeroFillBefore(op));
        tileContraction(rewriter, op, dims, rowTile, columnTile, fromZero);
        ++i;
        continue;
      }
      SmallVector<linalg::LinalgOp> group = {op};
      while (i + group.size() < contractions.size() &&
             sharesBlocks(group, contractions[i + group.size()].first))
        group.push_back(contractions[i + group.size()].first);
      i += group.size();
      if (fromZero)
        for (linalg::LinalgOp member : group)
          rewriter.eraseOp(zeroFillBefore(member));
      gatherBefore(group);
      blockTileContraction(rewriter, group, dims, tiling, fromZero);
    }
  }
};
} // namespace
