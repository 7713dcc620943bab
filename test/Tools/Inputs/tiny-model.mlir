// A hand-written model: one pre-norm residual projection, hidden states
// [B, 4, 8] in and out. Every argument and result carries its binding.
func.func @step(%x: tensor<?x4x8xf32> {infini.input},
                %pos: i64 {infini.position},
                %valid: i64 {infini.valid_length},
                %norm: tensor<8xf32> {infini.weight = "norm.weight"},
                %w: tensor<8x8xf32> {infini.weight = "proj.weight"})
    -> (tensor<?x4x8xf32> {infini.output}) {
  %h = infini.rmsnorm %x, %norm : tensor<?x4x8xf32>, tensor<8xf32>
  %p = infini.linear %h, %w : tensor<?x4x8xf32>, tensor<8x8xf32> -> tensor<?x4x8xf32>
  %y = arith.addf %x, %p : tensor<?x4x8xf32>
  return %y : tensor<?x4x8xf32>
}
