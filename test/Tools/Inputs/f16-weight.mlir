// Weights are passed as f32 whatever their stored dtype; only prepared
// tensors (16-bit copies for tensor cores) may be f16 or bf16.
func.func @step(%x: tensor<?x4x8xf32> {infini.input}, %pos: i64 {infini.position},
                %valid: i64 {infini.valid_length},
                %norm: tensor<8xf16> {infini.weight = "norm.weight"})
    -> (tensor<?x4x8xf32> {infini.output}) {
  return %x : tensor<?x4x8xf32>
}
