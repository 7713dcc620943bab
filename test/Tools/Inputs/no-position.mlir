// The step needs exactly one infini.position argument.
func.func @step(%x: tensor<?x4x8xf32> {infini.input}, %valid: i64 {infini.valid_length})
    -> (tensor<?x4x8xf32> {infini.output}) {
  return %x : tensor<?x4x8xf32>
}
