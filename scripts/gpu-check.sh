#!/usr/bin/env bash
# Runs the CUDA numerical checks on a GPU machine that has no MLIR or LLVM,
# from artifacts built beforehand on a build machine.
#
#   scripts/gpu-check.sh pack DIR [CHIP]   # on the build machine (after setup.sh)
#   DIR/gpu-check.sh                       # on the GPU machine: numerics
#   DIR/benchmarks/gpu_bench.py            # on the GPU machine: vs PyTorch CUDA
#   DIR/benchmarks/gpu_bench.py --tensor-cores  # f16 tensor cores, both sides
#   DIR/benchmarks/gpu_bench.py --tf32x3   # f32 accuracy on tensor cores vs f32
#
# `pack` compiles every e2e config for CUDA (default chip sm_90) with
# infini-compile and copies them, the runtime-only infini-run and the
# float64 reference (test/reference, test/e2e/run_case.py) into DIR. On the
# GPU machine each artifact is checked against the reference with python3
# (numpy and torch), the memory state carried across a split run.
set -euo pipefail

if [ "${1:-}" != pack ] || [ -z "${2:-}" ]; then
  echo "usage: scripts/gpu-check.sh pack DIR [CHIP]" >&2
  exit 2
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$2"
chip="${3:-sm_90}"
mkdir -p "$out/bin" "$out/artifacts" "$out/artifacts-f16" "$out/artifacts-tf32x3" \
  "$out/bench-artifacts" "$out/bench-artifacts-f16" "$out/bench-artifacts-tf32x3" \
  "$out/test"
cp "$root/build/bin/infini-run" "$out/bin/"
cp -r "$root/test/reference" "$root/test/e2e" "$out/test/"
cp -r "$root/benchmarks" "$out/"
rm -rf "$out/test/e2e/Output"
for config in "$root"/benchmarks/configs/*.json; do
  "$root/build/bin/infini-compile" "$config" --target=cuda --chip="$chip" \
    -o "$out/bench-artifacts/$(basename "$config" .json).infini"
  "$root/build/bin/infini-compile" "$config" --target=cuda --chip="$chip" \
    --tensor-cores=f16 -o "$out/bench-artifacts-f16/$(basename "$config" .json).infini"
  "$root/build/bin/infini-compile" "$config" --target=cuda --chip="$chip" \
    --tensor-cores=tf32x3 -o "$out/bench-artifacts-tf32x3/$(basename "$config" .json).infini"
done
# Tensor-core (f16, and bf16 for a config without CoPE) artifacts of the
# configs whose products fill the tiles.
cp "$root/examples/tiny-lm.json" "$out/test/e2e/configs/"
for name in tensor_cores tiny-lm; do
  "$root/build/bin/infini-compile" "$out/test/e2e/configs/$name.json" \
    --target=cuda --chip="$chip" --tensor-cores=f16 \
    -o "$out/artifacts-f16/$name.infini"
done
# tf32x3 keeps SPEC's f32 bound.
for name in tensor_cores tiny-lm flash_attention; do
  "$root/build/bin/infini-compile" "$out/test/e2e/configs/$name.json" \
    --target=cuda --chip="$chip" --tensor-cores=tf32x3 \
    -o "$out/artifacts-tf32x3/$name.infini"
done
"$root/build/bin/infini-compile" "$out/test/e2e/configs/tensor_cores_rope.json" \
  --target=cuda --chip="$chip" --tensor-cores=bf16 \
  -o "$out/artifacts-f16/tensor_cores_rope.infini"
for config in "$root"/test/e2e/configs/*.json; do
  name="$(basename "$config" .json)"
  case "$name" in errors_*) continue ;; esac
  "$root/build/bin/infini-compile" "$config" --target=cuda --chip="$chip" \
    -o "$out/artifacts/$name.infini"
done

cat > "$out/gpu-check.sh" <<'RUNNER'
#!/usr/bin/env bash
# Checks every CUDA artifact here against the float64 reference.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-python3}"
failures=0
for artifact in "$here"/artifacts/*.infini "$here"/artifacts-tf32x3/*.infini; do
  name="$(basename "$artifact" .infini)"
  config="$here/test/e2e/configs/$name.json"
  "$python" "$here/test/e2e/run_case.py" --infini-run "$here/bin/infini-run" \
    --config "$config" --model "$artifact" --batch 2 --tokens 77 --seed 5 \
    || failures=$((failures + 1))
done
# f16 operands err in proportion to the terms summed (see
# test/e2e/gpu_tensor_cores.test for the bound).
for artifact in "$here"/artifacts-f16/*.infini; do
  name="$(basename "$artifact" .infini)"
  config="$here/test/e2e/configs/$name.json"
  "$python" "$here/test/e2e/run_case.py" --infini-run "$here/bin/infini-run" \
    --config "$config" --model "$artifact" --batch 2 --tokens 150 --seed 5 \
    --atol 5e-2 --rtol 5e-2 --atol-times-rms || failures=$((failures + 1))
done
echo "gpu-check: $failures failure(s)"
[ "$failures" -eq 0 ]
RUNNER
chmod +x "$out/gpu-check.sh"
echo "packed $(ls "$out/artifacts" "$out/artifacts-f16" | grep -c infini) artifacts for $chip into $out"
