// No function has an infini.input argument.
func.func @step(%x: tensor<?x4x8xf32>, %pos: i64 {infini.position},
                %valid: i64 {infini.valid_length})
    -> (tensor<?x4x8xf32> {infini.output}) {
  return %x : tensor<?x4x8xf32>
}
