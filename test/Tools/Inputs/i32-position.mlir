// The position must be i64.
func.func @step(%x: tensor<?x4x8xf32> {infini.input}, %pos: i32 {infini.position},
                %valid: i64 {infini.valid_length})
    -> (tensor<?x4x8xf32> {infini.output}) {
  return %x : tensor<?x4x8xf32>
}
