// The verifier's message reaches the user as one line with its location.
func.func @step(%x: tensor<?x4x8xf32> {infini.input}, %pos: i64 {infini.position},
                %valid: i64 {infini.valid_length},
                %norm: tensor<16xf32> {infini.weight = "norm.weight"})
    -> (tensor<?x4x8xf32> {infini.output}) {
  %h = infini.rmsnorm %x, %norm : tensor<?x4x8xf32>, tensor<16xf32>
  return %h : tensor<?x4x8xf32>
}
