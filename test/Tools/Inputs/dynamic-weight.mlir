// Weights have fully static shapes; only activations and state may have a
// dynamic batch.
func.func @step(%x: tensor<?x4x8xf32> {infini.input}, %pos: i64 {infini.position},
                %valid: i64 {infini.valid_length},
                %norm: tensor<?xf32> {infini.weight = "norm.weight"})
    -> (tensor<?x4x8xf32> {infini.output}) {
  return %x : tensor<?x4x8xf32>
}
