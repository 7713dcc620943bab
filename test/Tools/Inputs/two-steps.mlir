// Two functions claim the input.
func.func @step(%x: tensor<?x4x8xf32> {infini.input}, %pos: i64 {infini.position},
                %valid: i64 {infini.valid_length})
    -> (tensor<?x4x8xf32> {infini.output}) {
  return %x : tensor<?x4x8xf32>
}
func.func @other(%x: tensor<?x4x8xf32> {infini.input}, %pos: i64 {infini.position},
                 %valid: i64 {infini.valid_length})
    -> (tensor<?x4x8xf32> {infini.output}) {
  return %x : tensor<?x4x8xf32>
}
