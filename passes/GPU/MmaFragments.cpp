//===- MmaFragments.cpp - Whole-warp tiles as mma.sync fragments ----------===//
//
// The whole-warp vectors of an infini.mma_fragments region get the per-lane
// types of their layout (see MmaFragments.h) in place, along with the
// vectors the enclosing loops carry between regions; element-wise ops,
// selects, conditionals and yields then hold as they are, and the ops whose
// meaning depends on the layout (constants, reads, products, reductions,
// broadcasts, tile joins, writes) are rewritten per lane.
//
//===----------------------------------------------------------------------===//

#include "passes/GPU/MmaFragments.h"
#include "passes/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;

/// The per-lane type of a whole-warp vector type, or null where `type` is
/// not one.
static VectorType laneType(Type type) {
  auto vector = dyn_cast<VectorType>(type);
  if (!vector)
    return {};
  ArrayRef<int64_t> shape = vector.getShape();
  Type element = vector.getElementType();
  if (shape == ArrayRef<int64_t>{16, 8})
    return VectorType::get({2, 2}, element);
  if (shape == ArrayRef<int64_t>{16, 16})
    return VectorType::get({4, 2}, element);
  if (shape == ArrayRef<int64_t>{16})
    return VectorType::get({2}, element);
  if (shape == ArrayRef<int64_t>{16, 1})
    return VectorType::get({2, 1}, element);
  // The right operand of a TF32 product (k x n): lane (g, t) holds rows 2t
  // and 2t + 1 of column g (see distributeTF32Contract), as mma.sync takes
  // them.
  if (shape == ArrayRef<int64_t>{8, 8})
    return VectorType::get({2, 1}, element);
  return {};
}

/// The 32-bit registers holding `fragment` (rows of two 16-bit values), as
/// nvvm.mma.sync takes bf16 multiplicands.
static SmallVector<Value> packedRegisters(OpBuilder &builder, Location loc,
                                          Value fragment) {
  auto type = cast<VectorType>(fragment.getType());
  SmallVector<Value> registers;
  for (int64_t row = 0; row < type.getDimSize(0); ++row) {
    Value pair = vector::ExtractOp::create(builder, loc, fragment, row);
    Value word = vector::BitCastOp::create(
        builder, loc, VectorType::get({1}, builder.getI32Type()), pair);
    registers.push_back(vector::ExtractOp::create(builder, loc, word, 0));
  }
  return registers;
}

Value infini::createBF16MmaSync(OpBuilder &builder, Location loc, Value a,
                                Value b, Value c) {
  auto accType = cast<VectorType>(c.getType());
  SmallVector<Value> accumulators;
  for (int64_t i = 0; i < accType.getDimSize(0); ++i)
    for (int64_t j = 0; j < accType.getDimSize(1); ++j)
      accumulators.push_back(
          vector::ExtractOp::create(builder, loc, c, ArrayRef<int64_t>{i, j}));
  Type f32 = builder.getF32Type();
  auto resultType = LLVM::LLVMStructType::getLiteral(
      builder.getContext(), SmallVector<Type>(accumulators.size(), f32));
  auto bf16 = NVVM::MMATypes::bf16;
  auto result = NVVM::MmaOp::create(
      builder, loc, resultType, packedRegisters(builder, loc, a),
      packedRegisters(builder, loc, b), accumulators, {16, 8, 16}, std::nullopt,
      std::nullopt, std::array<NVVM::MMATypes, 2>{bf16, bf16},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                     NVVM::MMALayout::col});
  SmallVector<Value> elements;
  for (int64_t i = 0; i < int64_t(accumulators.size()); ++i)
    elements.push_back(LLVM::ExtractValueOp::create(builder, loc, result, i));
  return vector::FromElementsOp::create(builder, loc, accType, elements);
}

namespace {
/// Rewrites one kernel's fragment regions; see distributeMmaFragments.
struct FragmentDistribution {
  IRRewriter &rewriter;
  /// The lane's coordinates in a fragment: g = lane / 4 (row), t = lane % 4.
  Value lane, group, thread;

  Value index(Location loc, int64_t value) {
    return arith::ConstantIndexOp::create(rewriter, loc, value);
  }
  Value add(Location loc, Value a, Value b) {
    return rewriter.createOrFold<arith::AddIOp>(loc, a, b);
  }
  Value mul(Location loc, Value a, int64_t b) {
    return rewriter.createOrFold<arith::MulIOp>(loc, a, index(loc, b));
  }

  /// The per-lane value of `constant`, a whole-warp constant: a splat, or a
  /// 16 x 8 integer tile affine in its row and column.
  FailureOr<Value> laneConstant(Location loc, arith::ConstantOp constant) {
    auto wholeType = cast<VectorType>(constant.getType());
    VectorType type = laneType(wholeType);
    auto dense = dyn_cast<DenseElementsAttr>(constant.getValue());
    if (!dense)
      return failure();
    if (dense.isSplat())
      return Value(arith::ConstantOp::create(
          rewriter, loc,
          DenseElementsAttr::get(type, dense.getSplatValue<Attribute>())));
    if (wholeType.getShape() != ArrayRef<int64_t>{16, 8} ||
        !isa<IntegerType>(type.getElementType()))
      return failure();
    SmallVector<APInt> values(dense.getValues<APInt>());
    auto at = [&](int64_t r, int64_t c) {
      return values[r * 8 + c].getSExtValue();
    };
    int64_t base = at(0, 0), perRow = at(1, 0) - base,
            perColumn = at(0, 1) - base;
    for (int64_t r = 0; r < 16; ++r)
      for (int64_t c = 0; c < 8; ++c)
        if (at(r, c) != base + perRow * r + perColumn * c)
          return failure();
    SmallVector<Value> elements;
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t j = 0; j < 2; ++j) {
        Value row = add(loc, group, index(loc, 8 * i));
        Value column = add(loc, mul(loc, thread, 2), index(loc, j));
        Value element =
            add(loc, index(loc, base),
                add(loc, mul(loc, row, perRow), mul(loc, column, perColumn)));
        elements.push_back(arith::IndexCastOp::create(
            rewriter, loc, type.getElementType(), element));
      }
    return Value(vector::FromElementsOp::create(rewriter, loc, type, elements));
  }

  /// A view of a bf16 `buffer` as f16 (ldmatrix moves 16-bit words; the
  /// cast folds away in the LLVM lowering), or `buffer` itself.
  Value asF16(Location loc, Value buffer) {
    auto type = cast<MemRefType>(buffer.getType());
    if (!type.getElementType().isBF16())
      return buffer;
    return UnrealizedConversionCastOp::create(
               rewriter, loc,
               MemRefType::get(type.getShape(), rewriter.getF16Type(),
                               type.getLayout(), type.getMemorySpace()),
               buffer)
        .getResult(0);
  }

  /// ldmatrix for a whole-warp operand read `read` of `wholeType`.
  LogicalResult distributeRead(vector::TransferReadOp read,
                               VectorType wholeType) {
    Location loc = read.getLoc();
    rewriter.setInsertionPoint(read);
    auto source = dyn_cast<MemRefType>(read.getBase().getType());
    // (f32 tiles are read by plain loads, from any memory.)
    if (!source || source.getRank() != 2 ||
        !(source.getElementType().isF32() ||
          (source.getElementTypeBitWidth() == 16 &&
           gpu::GPUDialect::hasWorkgroupMemoryAddressSpace(source))))
      return read.emitOpError()
             << "in a fragment region must read 16-bit tiles from shared "
                "memory, or f32 tiles";
    Value row = read.getIndices()[0], column = read.getIndices()[1];
    AffineMap map = read.getPermutationMap();
    bool transposedMap = !map.isIdentity();
    if (transposedMap &&
        map != AffineMap::getPermutationMap(ArrayRef<unsigned>{1, 0},
                                            rewriter.getContext()))
      return read.emitOpError() << "reads through an unsupported map";
    if (source.getElementType().isF32())
      return distributeTF32Read(read, wholeType, transposedMap);
    int64_t tiles = 2;
    bool transpose = false;
    if (wholeType.getShape() == ArrayRef<int64_t>{16, 16} && !transposedMap) {
      // Left operand: lanes 0-15 address rows 0-15 of columns 0-7, lanes
      // 16-31 those of columns 8-15.
      tiles = 4;
      row =
          add(loc, row,
              rewriter.createOrFold<arith::RemUIOp>(loc, lane, index(loc, 16)));
      column = add(
          loc, column,
          mul(loc,
              rewriter.createOrFold<arith::DivUIOp>(loc, lane, index(loc, 16)),
              8));
    } else if (wholeType.getShape() == ArrayRef<int64_t>{16, 8} &&
               transposedMap) {
      // Right operand stored n-major (K for Q K^T): each 8 x 8 matrix is
      // 8 rows of n, read as they are.
      Value matrix = rewriter.createOrFold<arith::RemUIOp>(
          loc, rewriter.createOrFold<arith::DivUIOp>(loc, lane, index(loc, 8)),
          index(loc, 2));
      row =
          add(loc, row,
              rewriter.createOrFold<arith::RemUIOp>(loc, lane, index(loc, 8)));
      column = add(loc, column, mul(loc, matrix, 8));
    } else if (wholeType.getShape() == ArrayRef<int64_t>{16, 8}) {
      // Right operand stored k-major (V for P V): 16 rows of k, transposed
      // on the way in.
      transpose = true;
      row =
          add(loc, row,
              rewriter.createOrFold<arith::RemUIOp>(loc, lane, index(loc, 16)));
    } else {
      return read.emitOpError() << "reads a tile of no fragment layout";
    }
    Type f16 = rewriter.getF16Type();
    auto fragment = nvgpu::LdMatrixOp::create(
        rewriter, loc, VectorType::get({tiles, 2}, f16),
        asF16(loc, read.getBase()), ValueRange{row, column},
        rewriter.getBoolAttr(transpose), rewriter.getI32IntegerAttr(tiles));
    read.getResult().replaceAllUsesWith(fragment);
    rewriter.eraseOp(read);
    return success();
  }

  /// The lane's elements of an f32 operand tile (TF32 parts): of a 16 x 8
  /// left operand its accumulator-layout elements, rows g and g + 8,
  /// columns 2t and 2t + 1, two 8-byte loads; of an 8 x 8 right operand
  /// rows 2t and 2t + 1 of column g, neighbours where the tile is stored
  /// n-major (K, read transposed).
  LogicalResult distributeTF32Read(vector::TransferReadOp read,
                                   VectorType wholeType, bool transposedMap) {
    Location loc = read.getLoc();
    Value row = read.getIndices()[0], column = read.getIndices()[1];
    Type f32 = rewriter.getF32Type();
    auto pairType = VectorType::get({2}, f32);
    auto load = [&](Value atRow, Value atColumn) -> Value {
      return memref::LoadOp::create(rewriter, loc, read.getBase(),
                                    ValueRange{atRow, atColumn});
    };
    SmallVector<Value> elements;
    if (wholeType.getShape() == ArrayRef<int64_t>{16, 8} && !transposedMap) {
      Value pairColumn = add(loc, column, mul(loc, thread, 2));
      for (int64_t i = 0; i < 2; ++i) {
        Value pair = vector::LoadOp::create(
            rewriter, loc, pairType, read.getBase(),
            ValueRange{add(loc, row, add(loc, group, index(loc, 8 * i))),
                       pairColumn});
        for (int64_t j = 0; j < 2; ++j)
          elements.push_back(vector::ExtractOp::create(rewriter, loc, pair, j));
      }
    } else if (wholeType.getShape() == ArrayRef<int64_t>{8, 8}) {
      // Element (k, n) of a transposed read is the tile's (n, k).
      Value k = add(loc, transposedMap ? column : row, mul(loc, thread, 2));
      Value n = add(loc, transposedMap ? row : column, group);
      for (int64_t j = 0; j < 2; ++j) {
        Value kj = add(loc, k, index(loc, j));
        elements.push_back(transposedMap ? load(n, kj) : load(kj, n));
      }
    } else {
      return read.emitOpError() << "reads an f32 tile of no TF32 layout";
    }
    rewriter.replaceOpWithNewOp<vector::FromElementsOp>(
        read, cast<VectorType>(read.getType()), elements);
    return success();
  }

  /// A TF32 product, 16 x 8 by 8 x 8: mma.sync m16n8k8. The left operand is
  /// in the accumulator layout, lane (g, t) holding columns 2t and 2t + 1,
  /// which mma.sync takes as its columns t and t + 4; the right operand's
  /// rows 2t and 2t + 1 (distributeTF32Read) go in as its rows t and t + 4,
  /// so that the pairs meet and the sum over k is the product's.
  LogicalResult distributeTF32Contract(vector::ContractionOp contract) {
    Location loc = contract.getLoc();
    Value lhs = contract.getLhs(), rhs = contract.getRhs();
    if (cast<VectorType>(lhs.getType()).getShape() != ArrayRef<int64_t>{2, 2} ||
        cast<VectorType>(rhs.getType()).getShape() != ArrayRef<int64_t>{2, 1})
      return contract.emitOpError()
             << "multiplies f32 tiles other than 16 x 8 by 8 x 8";
    Type f32 = rewriter.getF32Type();
    auto element = [&](Value vector, int64_t i, int64_t j) -> Value {
      return vector::ExtractOp::create(rewriter, loc, vector,
                                       ArrayRef<int64_t>{i, j});
    };
    Value a = vector::FromElementsOp::create(
        rewriter, loc, VectorType::get({4, 1}, f32),
        ValueRange{element(lhs, 0, 0), element(lhs, 1, 0), element(lhs, 0, 1),
                   element(lhs, 1, 1)});
    auto mma = nvgpu::MmaSyncOp::create(
        rewriter, loc, a, rhs, contract.getAcc(), ArrayRef<int64_t>{16, 8, 8});
    mma.setTf32Enabled(true);
    rewriter.replaceOp(contract, mma.getRes());
    return success();
  }

  LogicalResult distributeContract(vector::ContractionOp contract) {
    Location loc = contract.getLoc();
    MLIRContext *context = rewriter.getContext();
    AffineExpr m, n, k;
    bindDims(context, m, n, k);
    auto maps = AffineMap::inferFromExprList(
        ArrayRef<ArrayRef<AffineExpr>>{{m, k}, {k, n}, {m, n}}, context);
    if (contract.getIndexingMapsArray() != maps ||
        contract.getKind() != vector::CombiningKind::ADD)
      return contract.emitOpError()
             << "in a fragment region must be a row-major product";
    rewriter.setInsertionPoint(contract);
    if (isSuffixOnes(contract.getRhs()))
      return distributeSuffixSum(contract);
    if (getElementTypeOrSelf(contract.getLhs()).isF32())
      return distributeTF32Contract(contract);
    Value lhs = contract.getLhs(), rhs = contract.getRhs();
    Value product;
    if (bf16)
      product =
          infini::createBF16MmaSync(rewriter, loc, lhs, rhs, contract.getAcc());
    else
      product =
          nvgpu::MmaSyncOp::create(rewriter, loc, lhs, rhs, contract.getAcc(),
                                   ArrayRef<int64_t>{16, 8, 16});
    rewriter.replaceOp(contract, product);
    return success();
  }

  /// Whether `value` is the 8 x 8 constant of ones on and below the
  /// diagonal (t >= c): a 16 x 8 tile times it is the tile's suffix sums
  /// along its rows.
  static bool isSuffixOnes(Value value) {
    DenseElementsAttr ones;
    auto type = dyn_cast<VectorType>(value.getType());
    if (!type || type.getShape() != ArrayRef<int64_t>{8, 8} ||
        !type.getElementType().isF32() ||
        !matchPattern(value, m_Constant(&ones)))
      return false;
    SmallVector<APFloat> values(ones.getValues<APFloat>());
    for (int64_t t = 0; t < 8; ++t)
      for (int64_t c = 0; c < 8; ++c)
        if (values[t * 8 + c].convertToDouble() != (t >= c ? 1.0 : 0.0))
          return false;
    return true;
  }

  /// acc + the suffix sums along the rows of a 16 x 8 f32 tile (times the
  /// triangle of ones): the lane's pair, then the pairs of the lanes right
  /// of it in its row by two shuffles down (a Hillis-Steele scan over the
  /// row's four lanes).
  LogicalResult distributeSuffixSum(vector::ContractionOp contract) {
    Location loc = contract.getLoc();
    Value tile = contract.getLhs(), acc = contract.getAcc();
    if (tile.getType() != acc.getType() ||
        cast<VectorType>(tile.getType()).getShape() != ArrayRef<int64_t>{2, 2})
      return contract.emitOpError()
             << "sums a tile of no accumulator layout along its rows";
    Value zero = arith::ConstantOp::create(
        rewriter, loc, rewriter.getZeroAttr(getElementTypeOrSelf(tile)));
    SmallVector<Value> sums;
    for (int64_t i = 0; i < 2; ++i) {
      auto element = [&](Value vector, int64_t j) -> Value {
        return vector::ExtractOp::create(rewriter, loc, vector,
                                         ArrayRef<int64_t>{i, j});
      };
      Value first = element(tile, 0), second = element(tile, 1);
      Value pair = arith::AddFOp::create(rewriter, loc, first, second);
      Value suffix = pair;
      for (int32_t offset : {1, 2}) {
        Value right =
            gpu::ShuffleOp::create(rewriter, loc, suffix, offset,
                                   infini::kWarpSize, gpu::ShuffleMode::DOWN)
                .getShuffleResult();
        Value inRow = arith::CmpIOp::create(
            rewriter, loc, arith::CmpIPredicate::ult,
            add(loc, thread, index(loc, offset)), index(loc, 4));
        suffix = arith::AddFOp::create(
            rewriter, loc, suffix,
            arith::SelectOp::create(rewriter, loc, inRow, right, zero));
      }
      // Column 2t sums from itself on: the inclusive scan; column 2t + 1
      // leaves out column 2t.
      sums.push_back(
          arith::AddFOp::create(rewriter, loc, element(acc, 0), suffix));
      sums.push_back(arith::AddFOp::create(
          rewriter, loc, element(acc, 1),
          arith::SubFOp::create(rewriter, loc, suffix, first)));
    }
    rewriter.replaceOpWithNewOp<vector::FromElementsOp>(
        contract, cast<VectorType>(acc.getType()), sums);
    return success();
  }

  /// A gather of a tile from a 1-D buffer with all lanes active: each lane
  /// loads its four elements.
  LogicalResult distributeGather(vector::GatherOp gather) {
    Location loc = gather.getLoc();
    DenseElementsAttr mask;
    auto type = cast<VectorType>(gather.getType());
    if (type.getShape() != ArrayRef<int64_t>{2, 2} ||
        gather.getBase().getType().getRank() != 1 ||
        !matchPattern(gather.getMask(), m_Constant(&mask)) || !mask.isSplat() ||
        !mask.getSplatValue<bool>())
      return gather.emitOpError()
             << "in a fragment region must gather a whole tile from a "
                "vector of elements";
    rewriter.setInsertionPoint(gather);
    SmallVector<Value> elements;
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t j = 0; j < 2; ++j) {
        Value offset = arith::IndexCastOp::create(
            rewriter, loc, rewriter.getIndexType(),
            vector::ExtractOp::create(rewriter, loc, gather.getIndices(),
                                      ArrayRef<int64_t>{i, j}));
        Value address = add(loc, gather.getOffsets()[0], offset);
        elements.push_back(
            memref::LoadOp::create(rewriter, loc, gather.getBase(), address)
                .getResult());
      }
    rewriter.replaceOpWithNewOp<vector::FromElementsOp>(gather, type, elements);
    return success();
  }

  /// A reduction of each row of a tile into a row vector: the lane's two
  /// columns, then the four lanes of the row by xor shuffles.
  LogicalResult distributeReduction(vector::MultiDimReductionOp reduction) {
    Location loc = reduction.getLoc();
    if (reduction.getReductionDims() != ArrayRef<int64_t>{1} ||
        (reduction.getKind() != vector::CombiningKind::ADD &&
         reduction.getKind() != vector::CombiningKind::MAXIMUMF))
      return reduction.emitOpError()
             << "in a fragment region must sum or maximize a tile's rows";
    rewriter.setInsertionPoint(reduction);
    auto combine = [&](Value a, Value b) -> Value {
      if (reduction.getKind() == vector::CombiningKind::ADD)
        return arith::AddFOp::create(rewriter, loc, a, b);
      return arith::MaximumFOp::create(rewriter, loc, a, b);
    };
    SmallVector<Value> rows;
    for (int64_t i = 0; i < 2; ++i) {
      Value partial = combine(
          vector::ExtractOp::create(rewriter, loc, reduction.getSource(),
                                    ArrayRef<int64_t>{i, 0}),
          vector::ExtractOp::create(rewriter, loc, reduction.getSource(),
                                    ArrayRef<int64_t>{i, 1}));
      for (int32_t mask : {1, 2})
        partial = combine(partial, gpu::ShuffleOp::create(
                                       rewriter, loc, partial, mask,
                                       infini::kWarpSize, gpu::ShuffleMode::XOR)
                                       .getShuffleResult());
      rows.push_back(combine(
          vector::ExtractOp::create(rewriter, loc, reduction.getAcc(), i),
          partial));
    }
    rewriter.replaceOpWithNewOp<vector::FromElementsOp>(
        reduction, cast<VectorType>(reduction.getType()), rows);
    return success();
  }

  /// A broadcast to a tile: of a scalar, or of a row vector (through its
  /// 16 x 1 shape cast); each lane repeats its rows' values.
  LogicalResult distributeBroadcast(vector::BroadcastOp broadcast) {
    Location loc = broadcast.getLoc();
    auto type = cast<VectorType>(broadcast.getType());
    if (type.getShape() != ArrayRef<int64_t>{2, 2})
      return broadcast.emitOpError() << "broadcasts to no fragment tile";
    rewriter.setInsertionPoint(broadcast);
    Value source = broadcast.getSource();
    SmallVector<Value> elements;
    if (!isa<VectorType>(source.getType())) {
      elements.assign(4, source);
    } else {
      auto cast = source.getDefiningOp<vector::ShapeCastOp>();
      if (!cast || cast.getSource().getType() !=
                       VectorType::get({2}, type.getElementType()))
        return broadcast.emitOpError()
               << "broadcasts a vector other than a row vector";
      for (int64_t i = 0; i < 2; ++i) {
        Value row =
            vector::ExtractOp::create(rewriter, loc, cast.getSource(), i);
        elements.append({row, row});
      }
    }
    rewriter.replaceOpWithNewOp<vector::FromElementsOp>(broadcast, type,
                                                        elements);
    return success();
  }

  /// Joins two 16 x 8 tiles into a 16 x 16 one: the right half is the
  /// left operand's registers 2 and 3.
  LogicalResult distributeInsert(vector::InsertStridedSliceOp insert) {
    SmallVector<int64_t> offsets;
    for (Attribute offset : insert.getOffsets())
      offsets.push_back(cast<IntegerAttr>(offset).getInt());
    if (insert.getSourceVectorType().getShape() != ArrayRef<int64_t>{2, 2} ||
        insert.getDestVectorType().getShape() != ArrayRef<int64_t>{4, 2} ||
        offsets.size() != 2 || offsets[0] != 0 || offsets[1] % 8 != 0)
      return insert.emitOpError()
             << "in a fragment region must join 16 x 8 tiles";
    // Row by row: the LLVM lowering takes 1-D inserts into 2-D vectors.
    rewriter.setInsertionPoint(insert);
    Location loc = insert.getLoc();
    Value joined = insert.getDest();
    for (int64_t i = 0; i < 2; ++i)
      joined = vector::InsertOp::create(
          rewriter, loc,
          vector::ExtractOp::create(rewriter, loc, insert.getValueToStore(), i),
          joined, offsets[1] / 4 + i);
    rewriter.replaceOp(insert, joined);
    return success();
  }

  /// Each lane stores its two row pairs of a 16 x 8 f32 tile.
  LogicalResult distributeWrite(vector::TransferWriteOp write) {
    Location loc = write.getLoc();
    auto type = cast<VectorType>(write.getVector().getType());
    auto target = dyn_cast<MemRefType>(write.getBase().getType());
    if (type.getShape() != ArrayRef<int64_t>{2, 2} || !target ||
        target.getRank() != 2 || !write.getPermutationMap().isIdentity() ||
        write.hasOutOfBoundsDim() || write.getMask())
      return write.emitOpError()
             << "in a fragment region must write in-bounds 16 x 8 tiles to "
                "a matrix";
    rewriter.setInsertionPoint(write);
    Value column = add(loc, write.getIndices()[1], mul(loc, thread, 2));
    for (int64_t i = 0; i < 2; ++i) {
      Value row =
          add(loc, write.getIndices()[0], add(loc, group, index(loc, 8 * i)));
      vector::StoreOp::create(
          rewriter, loc,
          vector::ExtractOp::create(rewriter, loc, write.getVector(), i),
          write.getBase(), ValueRange{row, column});
    }
    rewriter.eraseOp(write);
    return success();
  }

  /// Whether the multiplicands are bf16 (whose reads now give f16 words).
  bool bf16 = false;
};
} // namespace

/// Whether `op` keeps its meaning when its whole-warp vectors become the
/// lanes' parts: element-wise ops, and structure.
static bool holdsPerLane(Operation *op) {
  if (isa<scf::IfOp, scf::YieldOp, scf::ExecuteRegionOp>(op))
    return true;
  // A row vector as a 16 x 1 tile, to broadcast it.
  if (auto cast = dyn_cast<vector::ShapeCastOp>(op))
    return cast.getSourceVectorType().getShape() == ArrayRef<int64_t>{2} &&
           cast.getResultVectorType().getShape() == ArrayRef<int64_t>{2, 1};
  if (op->hasTrait<OpTrait::Elementwise>() ||
      op->hasTrait<OpTrait::ConstantLike>())
    return true;
  // Scalar code (indices) is the same in every lane.
  return llvm::none_of(op->getResultTypes(),
                       [](Type type) { return isa<VectorType>(type); }) &&
         llvm::none_of(op->getOperandTypes(),
                       [](Type type) { return isa<VectorType>(type); });
}

FailureOr<bool> infini::distributeMmaFragments(IRRewriter &rewriter,
                                               gpu::GPUFuncOp kernel) {
  SmallVector<scf::ExecuteRegionOp> regions;
  kernel.walk([&](scf::ExecuteRegionOp region) {
    if (region->hasAttr(kMmaFragmentsAttrName))
      regions.push_back(region);
  });
  if (regions.empty())
    return false;

  // The whole-warp values: those of the regions, and those the loops
  // around them carry from one region to the next.
  llvm::SetVector<Value> whole;
  for (scf::ExecuteRegionOp region : regions) {
    for (Value result : region.getResults())
      whole.insert(result);
    region.walk([&](Operation *op) {
      if (op == region.getOperation())
        return;
      // (The triangle of ones stays whole: its products become scans.)
      for (Value result : op->getResults())
        if (laneType(result.getType()) &&
            !FragmentDistribution::isSuffixOnes(result))
          whole.insert(result);
    });
  }
  SmallVector<scf::ForOp> loops;
  kernel.walk([&](scf::ForOp loop) { loops.push_back(loop); });
  DenseSet<OpOperand *> loopInits;
  for (bool changed = true; changed;) {
    changed = false;
    for (scf::ForOp loop : loops)
      for (auto [i, argument] : llvm::enumerate(loop.getRegionIterArgs())) {
        Value yielded = loop.getYieldedValues()[i];
        Value result = loop.getResult(i);
        if (!whole.contains(yielded) && !whole.contains(argument) &&
            !whole.contains(result))
          continue;
        for (Value value : {yielded, Value(argument), result})
          changed |= whole.insert(value);
        loopInits.insert(&loop.getInitArgsMutable()[i]);
      }
  }

  FragmentDistribution distribution{rewriter, {}, {}, {}};
  Location loc = kernel.getLoc();
  rewriter.setInsertionPointToStart(&kernel.getBody().front());
  distribution.lane = gpu::LaneIdOp::create(rewriter, loc, nullptr);
  distribution.group = arith::DivUIOp::create(rewriter, loc, distribution.lane,
                                              distribution.index(loc, 4));
  distribution.thread = arith::RemUIOp::create(rewriter, loc, distribution.lane,
                                               distribution.index(loc, 4));

  // Whole-warp vectors from outside (constants, loop inits) get per-lane
  // copies where they are used.
  auto localize = [&](OpOperand &operand) -> LogicalResult {
    Value value = operand.get();
    if (whole.contains(value) || !laneType(value.getType()) ||
        FragmentDistribution::isSuffixOnes(value))
      return success();
    auto constant = value.getDefiningOp<arith::ConstantOp>();
    if (!constant)
      return operand.getOwner()->emitOpError()
             << "reads a whole-warp vector from outside its fragment regions "
                "that is not a constant";
    rewriter.setInsertionPoint(operand.getOwner());
    FailureOr<Value> lane =
        distribution.laneConstant(operand.getOwner()->getLoc(), constant);
    if (failed(lane))
      return constant.emitOpError()
             << "is neither a splat nor affine in a tile's rows and columns";
    operand.set(*lane);
    return success();
  };
  for (OpOperand *init : loopInits)
    if (failed(localize(*init)))
      return failure();
  SmallVector<Operation *> ops;
  for (scf::ExecuteRegionOp region : regions)
    region.walk([&](Operation *op) {
      if (op != region.getOperation())
        ops.push_back(op);
    });
  for (Operation *op : ops)
    for (OpOperand &operand : op->getOpOperands())
      if (failed(localize(operand)))
        return failure();

  // Retype in place, keeping the whole-warp types the rewrites need.
  DenseMap<Value, VectorType> wholeTypes;
  for (Value value : whole) {
    VectorType type = laneType(value.getType());
    if (!type)
      return kernel.emitOpError()
             << "carries a vector of no fragment layout between fragment "
                "regions";
    wholeTypes[value] = cast<VectorType>(value.getType());
    value.setType(type);
  }
  for (Operation *op : ops)
    if (auto read = dyn_cast<vector::TransferReadOp>(op))
      distribution.bf16 |= getElementTypeOrSelf(read.getBase()).isBF16();
  for (Operation *op : ops) {
    if (auto constant = dyn_cast<arith::ConstantOp>(op)) {
      if (!wholeTypes.count(constant.getResult()))
        continue;
      // Rebuilt from its attribute, which still has the whole-warp type.
      constant.getResult().setType(wholeTypes[constant.getResult()]);
      rewriter.setInsertionPoint(constant);
      FailureOr<Value> lane =
          distribution.laneConstant(constant.getLoc(), constant);
      if (failed(lane))
        return constant.emitOpError()
               << "is neither a splat nor affine in a tile's rows and "
                  "columns";
      rewriter.replaceOp(constant, *lane);
      continue;
    }
    LogicalResult result =
        TypeSwitch<Operation *, LogicalResult>(op)
            .Case([&](vector::TransferReadOp read) {
              return distribution.distributeRead(read,
                                                 wholeTypes[read.getResult()]);
            })
            .Case([&](vector::ContractionOp contract) {
              return distribution.distributeContract(contract);
            })
            .Case([&](vector::MultiDimReductionOp reduction) {
              return distribution.distributeReduction(reduction);
            })
            .Case([&](vector::BroadcastOp broadcast) {
              return distribution.distributeBroadcast(broadcast);
            })
            .Case([&](vector::InsertStridedSliceOp insert) {
              return distribution.distributeInsert(insert);
            })
            .Case([&](vector::TransferWriteOp write) {
              return distribution.distributeWrite(write);
            })
            .Case([&](vector::GatherOp gather) {
              return distribution.distributeGather(gather);
            })
            .Default([](Operation *other) -> LogicalResult {
              if (holdsPerLane(other))
                return success();
              return other->emitOpError()
                     << "cannot be distributed over a warp's lanes";
            });
    if (failed(result))
      return failure();
  }
  return true;
}
