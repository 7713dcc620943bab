// The projection weight has no infini.weight name, so the runtime cannot
// bind it.
func.func @step(%x: tensor<?x4x8xf32> {infini.input},
                %pos: i64 {infini.position},
                %valid: i64 {infini.valid_length},
                %norm: tensor<8xf32> {infini.weight = "norm.weight"},
                %w: tensor<8x8xf32>)
    -> (tensor<?x4x8xf32> {infini.output}) {
  %h = infini.rmsnorm %x, %norm : tensor<?x4x8xf32>, tensor<8xf32>
  %p = infini.linear %h, %w : tensor<?x4x8xf32>, tensor<8x8xf32> -> tensor<?x4x8xf32>
  %y = arith.addf %x, %p : tensor<?x4x8xf32>
  return %y : tensor<?x4x8xf32>
}
