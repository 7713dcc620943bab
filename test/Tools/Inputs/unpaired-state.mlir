// A state that is read must be written back.
func.func @step(%x: tensor<?x4x8xf32> {infini.input}, %pos: i64 {infini.position},
                %valid: i64 {infini.valid_length},
                %mem: tensor<?x2x4x4xf32> {infini.state = "layers.0.memory"})
    -> (tensor<?x4x8xf32> {infini.output}) {
  return %x : tensor<?x4x8xf32>
}
