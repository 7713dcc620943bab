//===- FlashAttention.cpp - The infini-gpu-flash-attention pass -----------===//
//
// Causal attention on tensor cores with the scores in registers (the
// flash-attention-2 scheme). One GPU block per (batch, head, query tile) of
// 16 rows per warp; each warp owns its 16 query rows for the whole key walk:
// its scores, their online softmax and its output rows stay in the warp's
// registers as mma.sync fragments, and only the key and value tiles pass
// through shared memory, staged once per tile for all warps.
//
// The warps' work is written as warp-level vector code on whole 16 x 8 and
// 16 x 16 tiles (`infini.warp_level` regions marked `infini.mma_fragments`),
// which the host emulation runs as it is and infini-gpu-warp-mma distributes
// over the lanes in the mma.sync fragment layout: row reductions become two
// shuffles, a row's broadcast a register copy, and the probabilities become
// the left operand of the value product without leaving the registers.
//
// With tensor-cores=tf32x3 the tiles are f32, each staged as its two TF32
// parts, and each product of 16 x 8 by 8 x 8 tiles is three of the parts
// (see infini-gpu-tile-contractions); the probabilities are split in the
// registers. The kernel then keeps f32 accuracy.
//
// CoPE's bias is computed in the same registers: its gates' suffix sums are
// a product with a triangle of ones (a scan over each row's lanes once
// distributed), and z = q E, read at data-dependent positions, goes to a
// per-warp table in shared memory once per block.
//
//===----------------------------------------------------------------------===//

#include "dialect/InfiniOps.h"
#include "passes/LowerToLinalg/LoweringUtils.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>

namespace infini {
#define GEN_PASS_DEF_GPUFLASHATTENTION
#include "passes/Passes.h.inc"
} // namespace infini

using namespace mlir;

namespace {

/// Query rows per warp and keys per staged tile.
constexpr int64_t kWarpRows = 16, kKeyTile = 64;
/// Shared-memory tiles get this many extra 16-bit columns per row, so that
/// the eight 16-byte rows one ldmatrix reads fall in distinct banks.
constexpr int64_t kRowPadding = 8;

/// Builds the lowering of one attention op; `half` is the tensor cores'
/// operand type: f16, bf16, or f32 for TF32 parts.
struct FlashAttentionBuilder {
  IRRewriter &rewriter;
  Location loc;
  Type half;
  int64_t warps, tokens, headDim;
  /// CoPE's position count, or 0 without CoPE.
  int64_t positions = 0;
  Type f32 = rewriter.getF32Type();
  /// With CoPE: the warp's z = q E, `16 x positions` rows of a shared
  /// table, flattened (rows of the warp start at `warpRow * positions`).
  Value positionLogits, positionLogitsBase;

  /// Whether operands go as TF32 parts (two tiles each, three products).
  bool splits() const { return half.isF32(); }
  /// The depth of one product: k16 for 16-bit operands, k8 for TF32.
  int64_t depth() const { return splits() ? 8 : 16; }

  Value index(int64_t value) {
    return arith::ConstantIndexOp::create(rewriter, loc, value);
  }

  /// Stores `value` (f32, or already 16-bit) at `indices` into the operand
  /// tile `parts`: rounded to 16 bits, as its TF32 parts into two tiles, or
  /// as it is into one f32 tile (split as it is read).
  void storeParts(Value value, ArrayRef<Value> parts, ValueRange indices) {
    if (splits() && parts.size() == 1) {
      vector::StoreOp::create(rewriter, loc, value, parts[0], indices);
      return;
    }
    if (!splits()) {
      auto narrowType =
          VectorType::get(cast<VectorType>(value.getType()).getShape(), half);
      if (value.getType() != narrowType)
        value = arith::TruncFOp::create(rewriter, loc, narrowType, value);
      vector::StoreOp::create(rewriter, loc, value, parts[0], indices);
      return;
    }
    auto [high, low] = infini::splitTF32(rewriter, loc, value);
    vector::StoreOp::create(rewriter, loc, high, parts[0], indices);
    vector::StoreOp::create(rewriter, loc, low, parts[1], indices);
  }

  /// The type of a shared operand tile (of one part) of `rows` x `columns`
  /// elements. Rows are padded so that each lane's reads of a fragment fall
  /// in distinct banks: ldmatrix's 16-byte rows (8 16-bit elements), pairs
  /// of TF32 left operands and of K (8 f32), and TF32 right operands read
  /// a row apart for pairs of rows (V: 4 f32).
  MemRefType tileType(int64_t rows, int64_t columns, bool pairedRows) const {
    int64_t padding = splits() && pairedRows ? 4 : kRowPadding;
    return MemRefType::get({rows, columns + padding}, half);
  }

  /// The type of CoPE's table of the warps' z = q E.
  MemRefType tableType(int64_t queryRows) const {
    return MemRefType::get({queryRows, positions}, f32);
  }

  /// Bytes of shared memory a block of `queryRows` rows takes with
  /// `buffers` key and value tiles of 16-bit operands.
  int64_t sharedBytes(int64_t queryRows, int64_t buffers) const {
    using infini::sharedBufferBytes;
    int64_t total =
        sharedBufferBytes(tileType(queryRows, headDim, false)) +
        buffers * (sharedBufferBytes(tileType(kKeyTile, headDim, false)) +
                   sharedBufferBytes(tileType(kKeyTile, headDim, true)));
    if (positions)
      total += sharedBufferBytes(tileType(headDim, positions, false)) +
               sharedBufferBytes(tableType(queryRows));
    return total;
  }

  /// An f32 vector constant of `shape` filled with `value`.
  Value splat(ArrayRef<int64_t> shape, double value) {
    return arith::ConstantOp::create(
        rewriter, loc,
        DenseElementsAttr::get(VectorType::get(shape, f32),
                               rewriter.getF32FloatAttr(value)));
  }
  VectorType tileType() { return VectorType::get({kWarpRows, 8}, f32); }

  /// A parallel loop of `trips` iterations; the insertion point moves into
  /// its body.
  Value parallelLoop(int64_t trips) {
    auto loop =
        scf::ParallelOp::create(rewriter, loc, ValueRange{index(0)},
                                ValueRange{index(trips)}, ValueRange{index(1)});
    rewriter.setInsertionPointToStart(loop.getBody());
    return loop.getInductionVars()[0];
  }

  /// A block phase over a `rows` x `columns` tile `width` elements at a
  /// time, neighbouring iterations on neighbouring vectors of a row; the
  /// insertion point moves into its body. Returns the vector's row and first
  /// column.
  std::pair<Value, Value> vectorPhase(int64_t rows, int64_t columns,
                                      int64_t width) {
    int64_t vectors = columns / width;
    Value i = parallelLoop(rows * vectors);
    Value row = arith::DivUIOp::create(rewriter, loc, i, index(vectors));
    Value column = arith::MulIOp::create(
        rewriter, loc, arith::RemUIOp::create(rewriter, loc, i, index(vectors)),
        index(width));
    return {row, column};
  }

  /// A block phase that copies `rows` rows of each source (rank-4, at
  /// (batch, head, row0); f32, or 16-bit) into its shared tile's parts,
  /// times `scale`, 16 coalesced bytes per thread and step; rows past the
  /// segment, and all rows where `rowsExist` is false, are zero. Each
  /// thread loads a valid row (the last for those) and selects zeros, so
  /// that a 16-bit copy is a load and a store of the same vector, which
  /// infini-gpu-async-copies turns into a cp.async.
  void stageRows(ArrayRef<std::pair<Value, ArrayRef<Value>>> tiles, Value batch,
                 Value head, Value row0, int64_t rows, double scale = 1.0,
                 Value rowsExist = {}) {
    OpBuilder::InsertionGuard guard(rewriter);
    Type sourceType = getElementTypeOrSelf(tiles.front().first.getType());
    int64_t width = 16 / (sourceType.getIntOrFloatBitWidth() / 8);
    auto [row, column] = vectorPhase(rows, headDim, width);
    Value sourceRow = arith::AddIOp::create(rewriter, loc, row0, row);
    Value valid = arith::CmpIOp::create(
        rewriter, loc, arith::CmpIPredicate::ult, sourceRow, index(tokens));
    if (rowsExist)
      valid = arith::AndIOp::create(rewriter, loc, valid, rowsExist);
    Value loadedRow =
        arith::MinUIOp::create(rewriter, loc, sourceRow, index(tokens - 1));
    auto vectorType = VectorType::get({width}, sourceType);
    Value zeros = arith::ConstantOp::create(rewriter, loc,
                                            rewriter.getZeroAttr(vectorType));
    for (auto [source, parts] : tiles) {
      Value loaded =
          vector::LoadOp::create(rewriter, loc, vectorType, source,
                                 ValueRange{batch, head, loadedRow, column});
      Value staged =
          arith::SelectOp::create(rewriter, loc, valid, loaded, zeros);
      if (scale != 1.0)
        staged =
            arith::MulFOp::create(rewriter, loc, staged, splat({width}, scale));
      storeParts(staged, parts, ValueRange{row, column});
    }
  }

  /// A warp-level region of the fragment kind yielding `types`; the
  /// insertion point moves into its body.
  scf::ExecuteRegionOp fragmentRegion(TypeRange types) {
    auto region = scf::ExecuteRegionOp::create(rewriter, loc, types);
    region.setNoInline(true);
    region->setAttr(infini::kWarpLevelAttrName, rewriter.getUnitAttr());
    region->setAttr(infini::kMmaFragmentsAttrName, rewriter.getUnitAttr());
    rewriter.setInsertionPointToStart(&region.getRegion().emplaceBlock());
    return region;
  }

  Value readTile(Value tile, ArrayRef<int64_t> shape, Value row, Value column,
                 bool transposed = false) {
    AffineMap map = transposed
                        ? AffineMap::getPermutationMap(ArrayRef<unsigned>{1, 0},
                                                       rewriter.getContext())
                        : rewriter.getMultiDimIdentityMap(2);
    return vector::TransferReadOp::create(
        rewriter, loc, VectorType::get(shape, half), tile,
        ValueRange{row, column}, AffineMapAttr::get(map),
        arith::ConstantOp::create(rewriter, loc, rewriter.getZeroAttr(half)),
        Value(), rewriter.getBoolArrayAttr({true, true}));
  }

  /// readTile of each part of an operand tile; of one f32 tile, its TF32
  /// parts split in the registers.
  SmallVector<Value, 2> readParts(ArrayRef<Value> parts,
                                  ArrayRef<int64_t> shape, Value row,
                                  Value column, bool transposed = false) {
    if (splits() && parts.size() == 1) {
      auto [high, low] = infini::splitTF32(
          rewriter, loc, readTile(parts[0], shape, row, column, transposed));
      return {high, low};
    }
    return llvm::map_to_vector<2>(parts, [&](Value tile) {
      return readTile(tile, shape, row, column, transposed);
    });
  }

  /// acc + lhs rhs from the operands' parts: one product, or of TF32 parts
  /// three, the small terms first.
  Value multiplyParts(ArrayRef<Value> lhs, ArrayRef<Value> rhs, Value acc) {
    if (lhs.size() == 1)
      return multiply(lhs[0], rhs[0], acc);
    acc = multiply(lhs[1], rhs[0], acc);
    acc = multiply(lhs[0], rhs[1], acc);
    return multiply(lhs[0], rhs[0], acc);
  }

  Value multiply(Value lhs, Value rhs, Value acc) {
    AffineExpr m, n, k;
    bindDims(rewriter.getContext(), m, n, k);
    return vector::ContractionOp::create(
        rewriter, loc, lhs, rhs, acc,
        ArrayRef<ArrayRef<AffineExpr>>{{m, k}, {k, n}, {m, n}},
        ArrayRef<vector::IteratorType>{vector::IteratorType::parallel,
                                       vector::IteratorType::parallel,
                                       vector::IteratorType::reduction});
  }

  /// `rows` (16) broadcast along the 8 columns of a tile.
  Value broadcastRows(Value rows) {
    Value column = vector::ShapeCastOp::create(
        rewriter, loc, VectorType::get({kWarpRows, 1}, f32), rows);
    return vector::BroadcastOp::create(rewriter, loc, tileType(), column);
  }

  /// 2^x: the scores are in base 2 (see lower), so that each probability
  /// is one ex2 instruction.
  Value exp2(Value x) {
    return math::Exp2Op::create(rewriter, loc, x, arith::FastMathFlags::afn);
  }

  /// An scf.if on `condition` yielding `types`, its branches built by
  /// `thenBody` and `elseBody`; the insertion point stays after it.
  scf::IfOp ifElse(Value condition, TypeRange types,
                   function_ref<SmallVector<Value>()> thenBody,
                   function_ref<SmallVector<Value>()> elseBody) {
    auto ifOp = scf::IfOp::create(rewriter, loc, types, condition,
                                  /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(rewriter);
    for (auto [block, body] : {std::pair(ifOp.thenBlock(), thenBody),
                               std::pair(ifOp.elseBlock(), elseBody)}) {
      rewriter.setInsertionPointToEnd(block);
      scf::YieldOp::create(rewriter, loc, body());
    }
    return ifOp;
  }

  Value indexToI32(Value value) {
    return arith::IndexCastOp::create(rewriter, loc, rewriter.getI32Type(),
                                      value);
  }

  /// The warp's step over the staged key tile at `key0`, given its first
  /// query row `warpRow` (absolute) and `localRow` (in the query tile):
  /// `carried` holds the output's 16 x 8 tiles, then the running row
  /// maximum and row sum, then with CoPE the sum of each row's gates in the
  /// key tiles already walked (right of this one); returns their updates.
  SmallVector<Value> keyStep(ValueRange carried, Value localRow, Value warpRow,
                             Value key0, ArrayRef<Value> queryTile,
                             ArrayRef<Value> keyTile,
                             ArrayRef<Value> valueTile) {
    int64_t outputTiles = headDim / 8, depthSteps = headDim / depth();
    int64_t scoreTiles = kKeyTile / 8;
    SmallVector<Value> output(carried.take_front(outputTiles));
    Value runningMax = carried[outputTiles],
          runningSum = carried[outputTiles + 1];

    // Scores: the warp's rows of Q times each 8-key slice of K^T, read
    // from the key tile as stored (key-major).
    SmallVector<SmallVector<Value, 2>> queries;
    for (int64_t k = 0; k < depthSteps; ++k)
      queries.push_back(readParts(queryTile, {kWarpRows, depth()}, localRow,
                                  index(depth() * k)));
    // (Q was scaled by log2(e) / sqrt(Dh) as it was staged: the scores are
    // the logits in base 2.)
    SmallVector<Value> scores;
    for (int64_t n = 0; n < scoreTiles; ++n) {
      Value tile = splat({kWarpRows, 8}, 0.0);
      for (int64_t k = 0; k < depthSteps; ++k)
        tile = multiplyParts(queries[k],
                             readParts(keyTile, {depth(), 8}, index(8 * n),
                                       index(depth() * k),
                                       /*transposed=*/true),
                             tile);
      scores.push_back(tile);
    }

    // Causal mask, on tiles that reach past the warp's first row: key
    // key0 + 8n + c is visible from row warpRow + r iff
    // c - r <= warpRow - key0 - 8n.
    Value reachesPast = arith::CmpIOp::create(
        rewriter, loc, arith::CmpIPredicate::ugt,
        arith::AddIOp::create(rewriter, loc, key0, index(kKeyTile - 1)),
        warpRow);
    // CoPE's gates sigmoid(l), l = S ln(2) the logit, zero where masked.
    SmallVector<Value> gates;
    if (positions)
      for (Value tile : scores)
        gates.push_back(sigmoid(arith::MulFOp::create(
            rewriter, loc, tile, splat({kWarpRows, 8}, M_LN2))));
    SmallVector<Type> maskedTypes(scoreTiles + gates.size(), tileType());
    scf::IfOp masked = ifElse(
        reachesPast, maskedTypes,
        [&] {
          SmallVector<int32_t> columnMinusRow;
          for (int64_t r = 0; r < kWarpRows; ++r)
            for (int64_t c = 0; c < 8; ++c)
              columnMinusRow.push_back(int32_t(c - r));
          auto offsetsType =
              VectorType::get({kWarpRows, 8}, rewriter.getI32Type());
          Value offsets = arith::ConstantOp::create(
              rewriter, loc,
              DenseElementsAttr::get(offsetsType,
                                     ArrayRef<int32_t>(columnMinusRow)));
          Value lead =
              indexToI32(arith::SubIOp::create(rewriter, loc, warpRow, key0));
          Value hidden = splat({kWarpRows, 8}, -INFINITY);
          SmallVector<Value> maskedScores, maskedGates;
          for (int64_t n = 0; n < scoreTiles; ++n) {
            Value limit = arith::SubIOp::create(
                rewriter, loc, lead,
                arith::ConstantIntOp::create(rewriter, loc, 8 * n, 32));
            Value visible = arith::CmpIOp::create(
                rewriter, loc, arith::CmpIPredicate::sle, offsets,
                vector::BroadcastOp::create(rewriter, loc, offsetsType, limit));
            maskedScores.push_back(arith::SelectOp::create(
                rewriter, loc, visible, scores[n], hidden));
            if (positions)
              maskedGates.push_back(
                  arith::SelectOp::create(rewriter, loc, visible, gates[n],
                                          splat({kWarpRows, 8}, 0.0)));
          }
          llvm::append_range(maskedScores, maskedGates);
          return maskedScores;
        },
        [&] {
          SmallVector<Value> unmasked(scores);
          llvm::append_range(unmasked, gates);
          return unmasked;
        });
    scores.assign(masked.getResults().begin(),
                  masked.getResults().begin() + scoreTiles);
    gates.assign(masked.getResults().begin() + scoreTiles,
                 masked.getResults().end());
    Value gateCarry;
    if (positions)
      gateCarry = addCopeBias(scores, gates, carried.back());

    // Online softmax: m' = max(m, rowmax S), c = 2^(m - m'),
    // P = 2^(S - m'), l' = l c + rowsum P.
    Value tileMax = scores[0];
    for (Value tile : ArrayRef(scores).drop_front())
      tileMax = arith::MaximumFOp::create(rewriter, loc, tileMax, tile);
    Value newMax = vector::MultiDimReductionOp::create(
        rewriter, loc, tileMax, runningMax, ArrayRef<bool>{false, true},
        vector::CombiningKind::MAXIMUMF);
    Value correction =
        exp2(arith::SubFOp::create(rewriter, loc, runningMax, newMax));
    Value maxTile = broadcastRows(newMax);
    SmallVector<Value> probabilities;
    Value tileSum;
    for (Value tile : scores) {
      Value probability =
          exp2(arith::SubFOp::create(rewriter, loc, tile, maxTile));
      probabilities.push_back(probability);
      tileSum = tileSum
                    ? arith::AddFOp::create(rewriter, loc, tileSum, probability)
                    : probability;
    }
    Value newSum = vector::MultiDimReductionOp::create(
        rewriter, loc, tileSum,
        arith::MulFOp::create(rewriter, loc, runningSum, correction),
        ArrayRef<bool>{false, true}, vector::CombiningKind::ADD);

    // O' = O c + P V, P rounded to 16 bits as the left operand: two
    // neighbouring 16 x 8 score tiles make one 16 x 16 operand tile. Its
    // TF32 parts are of each 16 x 8 tile.
    Value correctionTile = broadcastRows(correction);
    for (Value &tile : output)
      tile = arith::MulFOp::create(rewriter, loc, tile, correctionTile);
    for (int64_t n = 0; splits() && n < scoreTiles; ++n) {
      auto [high, low] = infini::splitTF32(rewriter, loc, probabilities[n]);
      for (int64_t j = 0; j < outputTiles; ++j)
        output[j] = multiplyParts(
            {high, low},
            readParts(valueTile, {8, 8}, index(8 * n), index(8 * j)),
            output[j]);
    }
    for (int64_t k = 0; !splits() && k < kKeyTile / 16; ++k) {
      Value pair = splat({kWarpRows, 16}, 0.0);
      for (int64_t side = 0; side < 2; ++side)
        pair = vector::InsertStridedSliceOp::create(
            rewriter, loc, probabilities[2 * k + side], pair,
            ArrayRef<int64_t>{0, 8 * side}, ArrayRef<int64_t>{1, 1});
      Value operand = arith::TruncFOp::create(
          rewriter, loc, VectorType::get({kWarpRows, 16}, half), pair);
      for (int64_t j = 0; j < outputTiles; ++j)
        output[j] = multiply(
            operand,
            readTile(valueTile[0], {16, 8}, index(16 * k), index(8 * j)),
            output[j]);
    }
    output.push_back(newMax);
    output.push_back(newSum);
    if (positions)
      output.push_back(gateCarry);
    return output;
  }

  Value sigmoid(Value x) {
    Value one = splat({kWarpRows, 8}, 1.0);
    Value negated = arith::NegFOp::create(rewriter, loc, x);
    return arith::DivFOp::create(
        rewriter, loc, one,
        arith::AddFOp::create(rewriter, loc, one,
                              math::ExpOp::create(rewriter, loc, negated,
                                                  arith::FastMathFlags::afn)));
  }

  /// Adds CoPE's bias, in base 2, to the key tile's `scores` given its
  /// masked `gates` and `carry`, the sum of each row's gates in the key
  /// tiles right of this one (the walk goes right to left); returns the
  /// carry for the next tile. p = carry + the gates from each key to the
  /// tile's end (the tiles right of its 8-key slice, summed as row
  /// vectors, and a suffix sum within the slice, a product with a constant
  /// triangle of ones), clamped to P - 1; the bias interpolates z = q E at
  /// floor(p) and ceil(p), read from the warp's table.
  Value addCopeBias(MutableArrayRef<Value> scores, ArrayRef<Value> gates,
                    Value carry) {
    int64_t slices = gates.size();
    SmallVector<Value> rightOf(slices);
    Value right = carry;
    for (int64_t n = slices - 1; n >= 0; --n) {
      rightOf[n] = right;
      right = vector::MultiDimReductionOp::create(
          rewriter, loc, gates[n], right, ArrayRef<bool>{false, true},
          vector::CombiningKind::ADD);
    }
    SmallVector<float> triangle;
    for (int64_t t = 0; t < 8; ++t)
      for (int64_t c = 0; c < 8; ++c)
        triangle.push_back(t >= c ? 1.0f : 0.0f);
    Value suffixOnes = arith::ConstantOp::create(
        rewriter, loc,
        DenseElementsAttr::get(VectorType::get({8, 8}, f32),
                               ArrayRef<float>(triangle)));
    SmallVector<int32_t> rowStarts;
    for (int64_t r = 0; r < kWarpRows; ++r)
      for (int64_t c = 0; c < 8; ++c)
        rowStarts.push_back(int32_t(r * positions));
    auto indexType = VectorType::get({kWarpRows, 8}, rewriter.getI32Type());
    Value rowOffsets = arith::ConstantOp::create(
        rewriter, loc,
        DenseElementsAttr::get(indexType, ArrayRef<int32_t>(rowStarts)));
    Value all = arith::ConstantOp::create(
        rewriter, loc,
        DenseElementsAttr::get(
            VectorType::get({kWarpRows, 8}, rewriter.getI1Type()), true));
    auto read = [&](Value position) -> Value {
      Value at = arith::AddIOp::create(
          rewriter, loc,
          arith::FPToSIOp::create(rewriter, loc, indexType, position),
          rowOffsets);
      return vector::GatherOp::create(rewriter, loc, tileType(), positionLogits,
                                      ValueRange{positionLogitsBase}, at, all,
                                      splat({kWarpRows, 8}, 0.0));
    };
    for (int64_t n = 0; n < slices; ++n) {
      Value position = arith::AddFOp::create(
          rewriter, loc,
          multiply(gates[n], suffixOnes, splat({kWarpRows, 8}, 0.0)),
          broadcastRows(rightOf[n]));
      position = arith::MinimumFOp::create(
          rewriter, loc, position,
          splat({kWarpRows, 8}, double(positions - 1)));
      Value lower = math::FloorOp::create(rewriter, loc, position);
      Value upper = math::CeilOp::create(rewriter, loc, position);
      Value weight = arith::SubFOp::create(rewriter, loc, position, lower);
      Value zLower = read(lower), zUpper = read(upper);
      Value bias = arith::AddFOp::create(
          rewriter, loc, zLower,
          arith::MulFOp::create(
              rewriter, loc, weight,
              arith::SubFOp::create(rewriter, loc, zUpper, zLower)));
      scores[n] = arith::AddFOp::create(
          rewriter, loc, scores[n],
          arith::MulFOp::create(rewriter, loc, bias,
                                splat({kWarpRows, 8}, M_LOG2E)));
    }
    return right;
  }

  /// A block phase that copies the `rows` x `columns` matrix `source` into
  /// the shared tile `parts`, four elements at a time.
  void stageMatrix(Value source, ArrayRef<Value> parts, int64_t rows,
                   int64_t columns) {
    OpBuilder::InsertionGuard guard(rewriter);
    auto [row, column] = vectorPhase(rows, columns, 4);
    Value quad =
        vector::LoadOp::create(rewriter, loc, VectorType::get({4}, f32), source,
                               ValueRange{row, column});
    storeParts(quad, parts, ValueRange{row, column});
  }

  /// A fragment region writing the warp's z = q E (CoPE's position logits,
  /// undoing the scale Q was staged with) to its rows of `table`.
  void writePositionLogits(ArrayRef<Value> queryTile,
                           ArrayRef<Value> embeddingTile, Value table,
                           Value localRow, double queryScale) {
    OpBuilder::InsertionGuard guard(rewriter);
    fragmentRegion({});
    SmallVector<SmallVector<Value, 2>> queries;
    for (int64_t k = 0; k < headDim / depth(); ++k)
      queries.push_back(readParts(queryTile, {kWarpRows, depth()}, localRow,
                                  index(depth() * k)));
    Value unscale = splat({kWarpRows, 8}, 1.0 / queryScale);
    for (int64_t n = 0; n < positions / 8; ++n) {
      Value tile = splat({kWarpRows, 8}, 0.0);
      for (auto [k, query] : llvm::enumerate(queries))
        tile =
            multiplyParts(query,
                          readParts(embeddingTile, {depth(), 8},
                                    index(depth() * int64_t(k)), index(8 * n)),
                          tile);
      vector::TransferWriteOp::create(
          rewriter, loc, arith::MulFOp::create(rewriter, loc, tile, unscale),
          table, ValueRange{localRow, index(8 * n)},
          ArrayRef<bool>{true, true});
    }
    scf::YieldOp::create(rewriter, loc);
  }

  /// Lowers `op` (no bias but CoPE's `cope`, if given; static heads, tokens
  /// and head size) at the insertion point; returns its result.
  Value lower(infini::LocalAttentionOp op, infini::CopeOp cope) {
    auto type = op.getQuery().getType();
    int64_t heads = type.getDimSize(1);
    int64_t queryRows = kWarpRows * warps;
    // The softmax scale goes into Q once, rather than into every score, and
    // with it log2(e): exp(x / sqrt(Dh)) = 2^(x log2(e) / sqrt(Dh)).
    double queryScale = M_LOG2E / std::sqrt(double(headDim));
    // 16-bit operands are rounded once, by element-wise ops before the
    // kernel (which infini-fuse-narrowing folds into their producers, RoPE
    // for Q and K): each block then stages half the bytes, and copies them
    // to shared memory unconverted (cp.async).
    Value queryTensor = op.getQuery(), keyTensor = op.getKey(),
          valueTensor = op.getValue();
    double stagingScale = queryScale;
    if (!splits()) {
      queryTensor = infini::lowering::buildRounding(
          rewriter, loc, queryTensor, cast<FloatType>(half), queryScale);
      keyTensor = infini::lowering::buildRounding(rewriter, loc, keyTensor,
                                                  cast<FloatType>(half));
      valueTensor = infini::lowering::buildRounding(rewriter, loc, valueTensor,
                                                    cast<FloatType>(half));
      stagingScale = 1.0;
    }
    auto buffer = [&](Value tensor) -> Value {
      auto bufferType = MemRefType::get(
          type.getShape(), getElementTypeOrSelf(tensor.getType()),
          StridedLayoutAttr::get(rewriter.getContext(), ShapedType::kDynamic,
                                 {ShapedType::kDynamic, ShapedType::kDynamic,
                                  ShapedType::kDynamic, 1}));
      return bufferization::ToBufferOp::create(rewriter, loc, bufferType,
                                               tensor, /*read_only=*/true);
    };
    Value query = buffer(queryTensor), key = buffer(keyTensor),
          value = buffer(valueTensor);
    Value embedding;
    if (cope)
      embedding = bufferization::ToBufferOp::create(
          rewriter, loc,
          MemRefType::get(cope.getPosEmb().getType().getShape(), f32,
                          StridedLayoutAttr::get(rewriter.getContext(),
                                                 ShapedType::kDynamic,
                                                 {ShapedType::kDynamic, 1})),
          cope.getPosEmb(), /*read_only=*/true);
    Value batches = tensor::DimOp::create(rewriter, loc, op.getQuery(), 0);
    Value output = memref::AllocOp::create(
        rewriter, loc, MemRefType::get(type.getShape(), f32),
        ValueRange{batches});

    // One block per (batch, head, query tile), named for its kind.
    auto blocks = scf::ParallelOp::create(
        rewriter, infini::kernelKindLoc(loc, "attention"),
        ValueRange{index(0), index(0), index(0)},
        ValueRange{batches, index(heads),
                   index(llvm::divideCeil(tokens, queryRows))},
        ValueRange{index(1), index(1), index(1)});
    OpBuilder::InsertionGuard guard(rewriter);
    rewriter.setInsertionPointToStart(blocks.getBody());
    Value batch = blocks.getInductionVars()[0],
          head = blocks.getInductionVars()[1];
    Value query0 = arith::MulIOp::create(
        rewriter, loc, blocks.getInductionVars()[2], index(queryRows));
    // An operand tile in shared memory: one, or a tile per TF32 part.
    auto sharedTile = [&](int64_t rows, int64_t columns, bool pairedRows,
                          bool parts) -> SmallVector<Value, 2> {
      MemRefType type = tileType(rows, columns, pairedRows);
      SmallVector<Value, 2> tiles = {
          memref::AllocOp::create(rewriter, loc, type)};
      if (splits() && parts)
        tiles.push_back(memref::AllocOp::create(rewriter, loc, type));
      return tiles;
    };
    // 16-bit key and value tiles are double-buffered where shared memory
    // allows: while the warps work on one, the next is copied into the
    // other, and a key tile takes one barrier rather than two.
    bool doubleBuffered = !splits() && sharedBytes(queryRows, /*buffers=*/2) <=
                                           infini::kSharedMemoryBytes;
    // With TF32 parts Q is one f32 tile, split as each warp reads it (at
    // every key tile), and E is read from global memory where z = q E is
    // computed (once): two tiles each would take the kernel past the
    // shared memory a block gets.
    SmallVector<Value, 2> queryTile = sharedTile(queryRows, headDim, false,
                                                 /*parts=*/false);
    SmallVector<SmallVector<Value, 2>, 2> keyTiles, valueTiles;
    for (int buffers = doubleBuffered ? 2 : 1; buffers > 0; --buffers) {
      keyTiles.push_back(sharedTile(kKeyTile, headDim, false, true));
      valueTiles.push_back(sharedTile(kKeyTile, headDim, true, true));
    }
    SmallVector<Value, 2> embeddingTile;
    Value table;
    if (cope) {
      if (splits())
        embeddingTile = {embedding};
      else
        embeddingTile = sharedTile(headDim, positions, false, true);
      table = memref::AllocOp::create(rewriter, loc, tableType(queryRows));
    }

    // One iteration per warp, whose fragments stay in its registers across
    // the block's staging phases.
    Value warp = parallelLoop(warps);
    rewriter.getInsertionBlock()->getParentOp()->setAttr(
        infini::kWarpLevelAttrName, rewriter.getUnitAttr());
    Value localRow =
        arith::MulIOp::create(rewriter, loc, warp, index(kWarpRows));
    Value warpRow = arith::AddIOp::create(rewriter, loc, query0, localRow);
    stageRows({{query, queryTile}}, batch, head, query0, queryRows,
              stagingScale);
    if (cope) {
      if (!splits())
        stageMatrix(embedding, embeddingTile, headDim, positions);
      writePositionLogits(queryTile, embeddingTile, table, localRow,
                          queryScale);
      positionLogits = memref::CollapseShapeOp::create(
          rewriter, loc, table, ArrayRef<ReassociationIndices>{{0, 1}});
      positionLogitsBase =
          arith::MulIOp::create(rewriter, loc, localRow, index(positions));
    }
    // Causal: keys up to the tile's last row; with CoPE from the last tile
    // to the first, so that each continues the gate sums of the one before
    // (the online softmax takes any order).
    Value keyEnd = arith::MinUIOp::create(
        rewriter, loc,
        arith::AddIOp::create(rewriter, loc, query0, index(queryRows)),
        index(tokens));
    SmallVector<Value> init(headDim / 8, splat({kWarpRows, 8}, 0.0));
    init.push_back(splat({kWarpRows}, -INFINITY));
    init.push_back(splat({kWarpRows}, 0.0));
    if (cope)
      init.push_back(splat({kWarpRows}, 0.0));
    // The key tile at walk offset `walked` (a multiple of kKeyTile): with
    // CoPE counted from the last tile.
    Value lastTile = arith::MulIOp::create(
        rewriter, loc,
        arith::DivUIOp::create(
            rewriter, loc,
            arith::SubIOp::create(rewriter, loc, keyEnd, index(1)),
            index(kKeyTile)),
        index(kKeyTile));
    auto tileAt = [&](Value walked) -> Value {
      if (!cope)
        return walked;
      return arith::SubIOp::create(rewriter, loc, lastTile, walked);
    };
    // Whether the walk has a tile at offset `walked`.
    auto inWalk = [&](Value walked) -> Value {
      return arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::ult,
                                   walked, keyEnd);
    };
    auto stageKeys = [&](int64_t buffer, Value walked, Value exists) {
      stageRows({{key, keyTiles[buffer]}, {value, valueTiles[buffer]}}, batch,
                head, tileAt(walked), kKeyTile, 1.0, exists);
    };
    // Double-buffered: the first tile before the loop, and each iteration
    // walks two, staging the one after each while it is worked on.
    int64_t buffers = keyTiles.size();
    if (doubleBuffered)
      stageKeys(0, index(0), Value());
    auto keyLoop = scf::ForOp::create(rewriter, loc, index(0), keyEnd,
                                      index(kKeyTile * buffers), init);
    {
      OpBuilder::InsertionGuard loopGuard(rewriter);
      rewriter.setInsertionPointToEnd(keyLoop.getBody());
      SmallVector<Value> carried(keyLoop.getRegionIterArgs());
      for (int64_t buffer = 0; buffer < buffers; ++buffer) {
        Value walked = arith::AddIOp::create(
            rewriter, loc, keyLoop.getInductionVar(), index(kKeyTile * buffer));
        Value exists = inWalk(walked);
        if (doubleBuffered) {
          Value next =
              arith::AddIOp::create(rewriter, loc, walked, index(kKeyTile));
          stageKeys(1 - buffer, next, inWalk(next));
        } else {
          stageKeys(buffer, walked, Value());
        }
        Value key0 = tileAt(walked);
        scf::ExecuteRegionOp step =
            fragmentRegion(TypeRange(ValueRange(carried)));
        // Warps whose rows all precede the tile skip it, as do all past the
        // last tile.
        Value reaches = arith::AndIOp::create(
            rewriter, loc, exists,
            arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::ult,
                                  key0,
                                  arith::AddIOp::create(rewriter, loc, warpRow,
                                                        index(kWarpRows))));
        scf::IfOp ifReaches = ifElse(
            reaches, TypeRange(ValueRange(carried)),
            [&] {
              return keyStep(carried, localRow, warpRow, key0, queryTile,
                             keyTiles[buffer], valueTiles[buffer]);
            },
            [&] { return carried; });
        scf::YieldOp::create(rewriter, loc, ifReaches.getResults());
        rewriter.setInsertionPointAfter(step);
        carried.assign(step.getResults().begin(), step.getResults().end());
      }
      scf::YieldOp::create(rewriter, loc, carried);
    }

    // O / l, each warp its rows, straight from its registers.
    rewriter.setInsertionPointAfter(keyLoop);
    fragmentRegion({});
    Value inSegment = arith::CmpIOp::create(
        rewriter, loc, arith::CmpIPredicate::ult, warpRow, index(tokens));
    auto write = scf::IfOp::create(rewriter, loc, inSegment, false);
    rewriter.setInsertionPointToStart(write.thenBlock());
    Value sumTile = broadcastRows(keyLoop.getResult(headDim / 8 + 1));
    auto rowsType = MemRefType::get(
        {tokens, headDim}, f32,
        StridedLayoutAttr::get(rewriter.getContext(), ShapedType::kDynamic,
                               {headDim, 1}));
    Value rows = memref::SubViewOp::create(
        rewriter, loc, rowsType, output,
        ArrayRef<OpFoldResult>{batch, head, rewriter.getIndexAttr(0),
                               rewriter.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{
            rewriter.getIndexAttr(1), rewriter.getIndexAttr(1),
            rewriter.getIndexAttr(tokens), rewriter.getIndexAttr(headDim)},
        ArrayRef<OpFoldResult>(
            SmallVector<OpFoldResult>(4, rewriter.getIndexAttr(1))));
    for (int64_t j = 0; j < headDim / 8; ++j)
      vector::TransferWriteOp::create(
          rewriter, loc,
          arith::DivFOp::create(rewriter, loc, keyLoop.getResult(j), sumTile),
          rows, ValueRange{warpRow, index(8 * j)}, ArrayRef<bool>{true, true});
    rewriter.setInsertionPointAfter(write);
    scf::YieldOp::create(rewriter, loc);

    rewriter.setInsertionPointAfter(blocks);
    return bufferization::ToTensorOp::create(rewriter, loc, type, output,
                                             /*restrict=*/true,
                                             /*writable=*/true);
  }
};

struct GPUFlashAttentionPass
    : public infini::impl::GPUFlashAttentionBase<GPUFlashAttentionPass> {
  using GPUFlashAttentionBase::GPUFlashAttentionBase;
  void runOnOperation() override {
    Type half;
    if (tensorCores == "f16")
      half = Float16Type::get(&getContext());
    else if (tensorCores == "bf16")
      half = BFloat16Type::get(&getContext());
    else if (tensorCores == "tf32x3")
      half = Float32Type::get(&getContext());
    else {
      getOperation().emitError()
          << "infini-gpu-flash-attention: tensor-cores must be f16, bf16 or "
             "tf32x3, not '"
          << tensorCores << "'";
      return signalPassFailure();
    }
    if (warps < 1) {
      getOperation().emitError()
          << "infini-gpu-flash-attention: warps must be at least 1, not "
          << warps;
      return signalPassFailure();
    }
    IRRewriter rewriter(&getContext());
    SmallVector<infini::LocalAttentionOp> ops;
    getOperation().walk([&](infini::LocalAttentionOp op) {
      auto type = op.getQuery().getType();
      // Others (another bias, odd sizes) keep the generic fusion.
      if ((!op.getBias() || fusableCope(op)) && type.getElementType().isF32() &&
          !ShapedType::isDynamic(type.getDimSize(1)) &&
          !ShapedType::isDynamic(type.getDimSize(2)) &&
          !ShapedType::isDynamic(type.getDimSize(3)) &&
          type.getDimSize(2) % kWarpRows == 0 && type.getDimSize(3) % 16 == 0 &&
          type.getDimSize(3) <= kMaximumHeadDim)
        ops.push_back(op);
    });
    for (infini::LocalAttentionOp op : ops) {
      rewriter.setInsertionPoint(op);
      auto type = op.getQuery().getType();
      infini::CopeOp cope = fusableCope(op);
      FlashAttentionBuilder builder{
          rewriter, op.getLoc(),        half,
          warps,    type.getDimSize(2), type.getDimSize(3)};
      if (cope)
        builder.positions = cope.getPosEmb().getType().getDimSize(1);
      rewriter.replaceOp(op, builder.lower(op, cope));
      if (cope)
        rewriter.eraseOp(cope);
    }
  }

  /// The CoPE op whose bias `op` adds, where it is fused too: computed from
  /// the same query and key for this op alone, with a multiple of 8
  /// positions up to 128 (the warps' tables of z = q E take 16 x P f32
  /// each).
  static infini::CopeOp fusableCope(infini::LocalAttentionOp op) {
    auto cope = op.getBias() ? op.getBias().getDefiningOp<infini::CopeOp>()
                             : infini::CopeOp();
    if (!cope || !cope->hasOneUse() || cope.getQuery() != op.getQuery() ||
        cope.getKey() != op.getKey())
      return {};
    int64_t positions = cope.getPosEmb().getType().getDimSize(1);
    if (ShapedType::isDynamic(positions) || positions % 8 != 0 ||
        positions > 128)
      return {};
    return cope;
  }
  /// A lane holds 4 registers of each 16 x 8 output tile: 64 at head size
  /// 128, beside the 32 of a key tile's scores.
  static constexpr int64_t kMaximumHeadDim = 128;
};

} // namespace
