//===- InfiniDialect.td - The infini dialect and its base op class ---------===//
//
// First-class ops for the pieces of long-context transformer blocks.
//
//===----------------------------------------------------------------------===//

#ifndef INFINI_DIALECT_INFINIDIALECT_TD
#define INFINI_DIALECT_INFINIDIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Infini_Dialect : Dialect {
  let name = "infini";
  let cppNamespace = "::infini";
  let summary = "Ops of long-context transformer blocks with compressive memory";
  let description = [{
    The `infini` dialect models one segment step of a segment-recurrent
    transformer: RMSNorm, rotary and contextual position encodings, causal
    local attention, Infini-attention's compressive memory and SwiGLU
    feed-forward layers, on ranked f32 tensors. Its semantics are those of the
    project's SPEC.md; where SPEC leaves a choice open, the op's description
    states it.

    Shape conventions: `B` batch (may be dynamic), `T` tokens in one segment,
    `D` model width, `H` heads, `Dh` head width, `F` feed-forward width, `P`
    CoPE positions. Linear weights use the `[out_features, in_features]`
    layout, `y = x W^T`.

    A model is a `func.func` taking one segment, the segment's absolute
    position, its valid length, each layer's memory state and the weights,
    and returning the segment's output and the new state. Arguments carry
    `infini.input`, `infini.position`, `infini.valid_length`,
    `infini.state = "<name>"` and `infini.weight = "<SPEC name>"`; results
    carry `infini.output` and `infini.state = "<name>"`. The runtime binds
    weights and state by these names.
  }];
  let useDefaultAttributePrinterParser = 1;
}

class Infini_Op<string mnemonic, list<Trait> traits = []>
    : Op<Infini_Dialect, mnemonic, traits>;

def Infini_RopeLayout : I32EnumAttr<"RopeLayout", "pairing of rotated features", [
    I32EnumAttrCase<"HalfSplit", 0, "half_split">,
    I32EnumAttrCase<"Interleaved", 1, "interleaved">
  ]> {
  let cppNamespace = "::infini";
  let genSpecializedAttr = 0;
}
def Infini_RopeLayoutAttr : EnumAttr<Infini_Dialect, Infini_RopeLayout, "rope_layout"> {
  let assemblyFormat = "`<` $value `>`";
}

def Infini_MemoryUpdateMode : I32EnumAttr<"MemoryUpdateMode",
    "rule that writes a segment into compressive memory", [
    I32EnumAttrCase<"Linear", 0, "linear">,
    I32EnumAttrCase<"Delta", 1, "delta">
  ]> {
  let cppNamespace = "::infini";
  let genSpecializedAttr = 0;
}
def Infini_MemoryUpdateModeAttr
    : EnumAttr<Infini_Dialect, Infini_MemoryUpdateMode, "memory_update"> {
  let assemblyFormat = "`<` $value `>`";
}

#endif // INFINI_DIALECT_INFINIDIALECT_TD
