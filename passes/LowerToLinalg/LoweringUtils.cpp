//===- LoweringUtils.cpp - Builders shared by the infini lowerings --------===//

#include "passes/LowerToLinalg/LoweringUtils.h"

#include "dialect/InfiniOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace infini::lowering {

int64_t largestDivisorAtMost(int64_t size, int64_t target) {
  for (int64_t candidate = std::min(size, target); candidate > 1; --candidate)
    if (size % candidate == 0)
      return candidate;
  return 1;
}

SmallVector<OpFoldResult> sizesOf(OpBuilder &b, Location loc, Value tensor) {
  return tensor::getMixedSizes(b, loc, tensor);
}

Value emptyTensor(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
                  Type elementType) {
  return tensor::EmptyOp::create(b, loc, sizes, elementType);
}

Value floatConstant(OpBuilder &b, Location loc, Type type, double value) {
  return arith::ConstantOp::create(b, loc, type, b.getFloatAttr(type, value));
}

Value filledTensor(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
                   Type elementType, double value) {
  Value empty = emptyTensor(b, loc, sizes, elementType);
  Value fillValue = floatConstant(b, loc, elementType, value);
  return linalg::FillOp::create(b, loc, fillValue, empty).getResult(0);
}

AffineMap projection(MLIRContext *ctx, unsigned rank, ArrayRef<unsigned> dims) {
  SmallVector<AffineExpr> exprs;
  for (unsigned dim : dims)
    exprs.push_back(getAffineDimExpr(dim, ctx));
  return AffineMap::get(rank, 0, exprs, ctx);
}

Value buildElementwise(OpBuilder &b, Location loc, ValueRange inputs,
                       ArrayRef<AffineMap> inputMaps, Value init,
                       BodyBuilder body) {
  auto initType = cast<RankedTensorType>(init.getType());
  unsigned rank = initType.getRank();
  SmallVector<AffineMap> maps(inputMaps);
  maps.push_back(b.getMultiDimIdentityMap(rank));
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, initType, inputs, init, maps, iterators,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        linalg::YieldOp::create(nested, nestedLoc,
                                body(nested, nestedLoc, args));
      });
  return generic.getResult(0);
}

Value buildRounding(OpBuilder &b, Location loc, Value value, FloatType type,
                    double scale) {
  Value init = emptyTensor(b, loc, sizesOf(b, loc, value), type);
  auto rank = cast<RankedTensorType>(value.getType()).getRank();
  return buildElementwise(
      b, loc, value, b.getMultiDimIdentityMap(rank), init,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) -> Value {
        Value element = args[0];
        if (scale != 1.0)
          element = arith::MulFOp::create(
              nested, nestedLoc, element,
              floatConstant(nested, nestedLoc, element.getType(), scale));
        return arith::TruncFOp::create(nested, nestedLoc, type, element);
      });
}

Value buildFold(OpBuilder &b, Location loc, unsigned numLoops,
                ValueRange inputs, ArrayRef<AffineMap> inputMaps, Value init,
                AffineMap outputMap, BodyBuilder combine) {
  SmallVector<AffineMap> maps(inputMaps);
  maps.push_back(outputMap);
  SmallVector<utils::IteratorType> iterators(numLoops,
                                             utils::IteratorType::reduction);
  for (AffineExpr expr : outputMap.getResults())
    iterators[cast<AffineDimExpr>(expr).getPosition()] =
        utils::IteratorType::parallel;
  auto generic = linalg::GenericOp::create(
      b, loc, init.getType(), inputs, init, maps, iterators,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        linalg::YieldOp::create(nested, nestedLoc,
                                combine(nested, nestedLoc, args));
      });
  return generic.getResult(0);
}

Value buildReduction(OpBuilder &b, Location loc, unsigned numLoops,
                     ValueRange inputs, ArrayRef<AffineMap> inputMaps,
                     Value init, AffineMap outputMap, BodyBuilder body) {
  return buildFold(
      b, loc, numLoops, inputs, inputMaps, init, outputMap,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) -> Value {
        Value term = body(nested, nestedLoc, args);
        return arith::AddFOp::create(nested, nestedLoc, args.back(), term);
      });
}

Value buildContraction(OpBuilder &b, Location loc, unsigned numLoops, Value lhs,
                       ArrayRef<unsigned> lhsDims, Value rhs,
                       ArrayRef<unsigned> rhsDims, Value init,
                       ArrayRef<unsigned> outDims) {
  MLIRContext *ctx = b.getContext();
  // A named linalg.contract (not a generic) so that the vectorizer can turn
  // its tiles into vector.contract ops directly.
  ArrayAttr maps = b.getAffineMapArrayAttr(
      {projection(ctx, numLoops, lhsDims), projection(ctx, numLoops, rhsDims),
       projection(ctx, numLoops, outDims)});
  return linalg::ContractOp::create(b, loc, TypeRange{init.getType()},
                                    ValueRange{lhs, rhs}, ValueRange{init},
                                    maps)
      .getResult(0);
}

/// Output columns per weight panel: one register tile's width (the default
/// column tile of infini-vectorize-contractions).

Value packWeightPanels(OpBuilder &b, Location loc, Value weight) {
  auto weightType = cast<RankedTensorType>(weight.getType());
  Type elementType = weightType.getElementType();
  int64_t panels = weightType.getDimSize(0) / kPanelWidth;
  int64_t inFeatures = weightType.getDimSize(1);
  auto splitType =
      RankedTensorType::get({panels, kPanelWidth, inFeatures}, elementType);
  Value split = tensor::ExpandShapeOp::create(
      b, loc, splitType, weight, ArrayRef<ReassociationIndices>{{0, 1}, {2}});
  return linalg::TransposeOp::create(
             b, loc, split,
             emptyTensor(b, loc,
                         {b.getIndexAttr(panels), b.getIndexAttr(inFeatures),
                          b.getIndexAttr(kPanelWidth)},
                         elementType),
             ArrayRef<int64_t>{0, 2, 1})
      .getResult()[0];
}

Value swishTimes(OpBuilder &b, Location loc, Value gate, Value up,
                 double beta) {
  Value scaled = arith::MulFOp::create(
      b, loc, gate, floatConstant(b, loc, gate.getType(), beta));
  Value swish = arith::MulFOp::create(b, loc, gate, sigmoid(b, loc, scaled));
  return arith::MulFOp::create(b, loc, swish, up);
}

Value buildLinear(OpBuilder &b, Location loc, Value x, Value weight) {
  auto weightType = cast<RankedTensorType>(weight.getType());
  Type elementType = weightType.getElementType();
  int64_t outFeatures = weightType.getDimSize(0);
  int64_t inFeatures = weightType.getDimSize(1);
  SmallVector<OpFoldResult> xSizes = sizesOf(b, loc, x);
  SmallVector<OpFoldResult> weightSizes = sizesOf(b, loc, weight);
  if (ShapedType::isDynamic(outFeatures) || ShapedType::isDynamic(inFeatures) ||
      outFeatures % kPanelWidth != 0) {
    // [O, I] -> [I, O]: the contraction's innermost (output column) loop
    // then walks the weight contiguously, which is what the vectorizer wants.
    Value transposed =
        linalg::TransposeOp::create(
            b, loc, weight,
            emptyTensor(b, loc, {weightSizes[1], weightSizes[0]}, elementType),
            ArrayRef<int64_t>{1, 0})
            .getResult()[0];
    Value init = filledTensor(b, loc, {xSizes[0], xSizes[1], weightSizes[0]},
                              elementType, 0.0);
    // Loops (b, t, o, i).
    return buildContraction(b, loc, 4, x, {0, 1, 3}, transposed, {3, 2}, init,
                            {0, 1, 2});
  }
  int64_t panels = outFeatures / kPanelWidth;
  Value packed = packWeightPanels(b, loc, weight);
  Value init = filledTensor(b, loc,
                            {xSizes[0], xSizes[1], b.getIndexAttr(panels),
                             b.getIndexAttr(kPanelWidth)},
                            elementType, 0.0);
  // Loops (b, t, panel, column, i).
  Value panelled = buildContraction(b, loc, 5, x, {0, 1, 4}, packed, {2, 4, 3},
                                    init, {0, 1, 2, 3});
  auto xType = cast<RankedTensorType>(x.getType());
  auto resultType = RankedTensorType::get(
      {xType.getDimSize(0), xType.getDimSize(1), outFeatures}, elementType);
  return tensor::CollapseShapeOp::create(
      b, loc, resultType, panelled,
      ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3}});
}

Value sigmoid(OpBuilder &b, Location loc, Value x) {
  Type type = x.getType();
  Value one = floatConstant(b, loc, type, 1.0);
  Value negated = arith::NegFOp::create(b, loc, x);
  Value denominator =
      arith::AddFOp::create(b, loc, one, math::ExpOp::create(b, loc, negated));
  return arith::DivFOp::create(b, loc, one, denominator);
}

Value expDifference(OpBuilder &b, Location loc, Value x, Value y) {
  return math::ExpOp::create(b, loc, arith::SubFOp::create(b, loc, x, y));
}

Value eluPlusOne(OpBuilder &b, Location loc, Value x) {
  Type type = x.getType();
  Value zero = floatConstant(b, loc, type, 0.0);
  Value one = floatConstant(b, loc, type, 1.0);
  Value positive =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, x, zero);
  // exp(min(x, 0)) keeps the unselected branch finite for large x.
  Value clamped = arith::MinimumFOp::create(b, loc, x, zero);
  Value expBranch = math::ExpOp::create(b, loc, clamped);
  Value linearBranch = arith::AddFOp::create(b, loc, x, one);
  return arith::SelectOp::create(b, loc, positive, linearBranch, expBranch);
}

Value interpolateCopeBias(OpBuilder &b, Location loc, Value z,
                          ValueRange leadingIndices, Value position,
                          int64_t positions) {
  Type positionType = position.getType();
  Type elementType = cast<RankedTensorType>(z.getType()).getElementType();
  Value clamped = arith::MinimumFOp::create(
      b, loc, position, floatConstant(b, loc, positionType, positions - 1));
  Value lower = math::FloorOp::create(b, loc, clamped);
  Value upper = math::CeilOp::create(b, loc, clamped);
  Value weight = arith::TruncFOp::create(
      b, loc, elementType, arith::SubFOp::create(b, loc, clamped, lower));
  auto read = [&](Value at) -> Value {
    SmallVector<Value> indices(leadingIndices);
    indices.push_back(arith::IndexCastOp::create(
        b, loc, b.getIndexType(),
        arith::FPToSIOp::create(b, loc, b.getI64Type(), at)));
    return tensor::ExtractOp::create(b, loc, z, indices);
  };
  Value zLower = read(lower), zUpper = read(upper);
  // (1 - w) zLower + w zUpper = zLower + w (zUpper - zLower).
  return arith::AddFOp::create(
      b, loc, zLower,
      arith::MulFOp::create(b, loc, weight,
                            arith::SubFOp::create(b, loc, zUpper, zLower)));
}

std::pair<Value, Value> buildRopeAngleTables(OpBuilder &b, Location loc,
                                             RopeOp op, OpFoldResult tokens,
                                             Type elementType) {
  int64_t pairs = op.getRotaryDimOrDefault() / 2;
  Type f64 = b.getF64Type();
  double theta = op.getTheta().convertToDouble();
  double factor = op.getScalingFactor().convertToDouble();
  double rotaryDim = static_cast<double>(op.getRotaryDimOrDefault());
  SmallVector<OpFoldResult> sizes = {tokens, b.getIndexAttr(pairs)};
  Value cosInit = emptyTensor(b, loc, sizes, elementType);
  Value sinInit = emptyTensor(b, loc, sizes, elementType);
  Value offset = op.getOffset();
  AffineMap identity = b.getMultiDimIdentityMap(2);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{cosInit.getType(), sinInit.getType()}, ValueRange{},
      ValueRange{cosInit, sinInit}, ArrayRef<AffineMap>{identity, identity},
      SmallVector<utils::IteratorType>(2, utils::IteratorType::parallel),
      [&](OpBuilder &nb, Location l, ValueRange) {
        Value token = arith::IndexCastOp::create(
            nb, l, nb.getI64Type(), linalg::IndexOp::create(nb, l, 0));
        Value position = arith::SIToFPOp::create(
            nb, l, f64, arith::AddIOp::create(nb, l, offset, token));
        Value pair = arith::UIToFPOp::create(
            nb, l, f64,
            arith::IndexCastUIOp::create(nb, l, nb.getI64Type(),
                                         linalg::IndexOp::create(nb, l, 1)));
        // theta^(-2i/r) = exp(-2i/r * ln(theta)).
        Value exponent = arith::MulFOp::create(
            nb, l, pair,
            floatConstant(nb, l, f64, -2.0 * std::log(theta) / rotaryDim));
        Value frequency = math::ExpOp::create(nb, l, exponent);
        Value scaled = arith::DivFOp::create(nb, l, position,
                                             floatConstant(nb, l, f64, factor));
        Value angle = arith::MulFOp::create(nb, l, scaled, frequency);
        Value cosine = arith::TruncFOp::create(
            nb, l, elementType, math::CosOp::create(nb, l, angle));
        Value sine = arith::TruncFOp::create(nb, l, elementType,
                                             math::SinOp::create(nb, l, angle));
        linalg::YieldOp::create(nb, l, ValueRange{cosine, sine});
      });
  return {generic.getResult(0), generic.getResult(1)};
}

} // namespace infini::lowering
