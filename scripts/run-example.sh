#!/usr/bin/env bash
# Runs the shipped example: a 2-layer vocabulary model with RoPE, CoPE and
# delta-rule compressive memory (examples/tiny-lm.json) on 1,000 tokens of a
# batch of 2, in two runs that carry the memory state between them, and checks
# the logits against the float64 reference evaluation of SPEC.md.
#
# Usage: scripts/run-example.sh   (after scripts/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
work=build/example
mkdir -p "$work"
python=/usr/bin/python3

# Random unit-scale weights and token ids (deterministic seed).
$python test/reference/make_case.py --config examples/tiny-lm.json \
  --batch 2 --tokens 1000 --seed 1 --ids int64 \
  --weights "$work/tiny-lm.safetensors" --input "$work/ids.npy"
$python - "$work" <<'PY'
import sys, numpy as np
work = sys.argv[1]
ids = np.load(f"{work}/ids.npy")
np.save(f"{work}/ids.first.npy", ids[:, :640])   # 20 segments of 32
np.save(f"{work}/ids.rest.npy", ids[:, 640:])    # the rest, state restored
PY

echo "== infini-run, first 640 tokens, saving the memory state"
build/bin/infini-run examples/tiny-lm.json --weights "$work/tiny-lm.safetensors" \
  --input "$work/ids.first.npy" --output "$work/logits.first.npy" \
  --state-out "$work/state.npz" --dump-ir-dir "$work/ir" --time
echo "== infini-run, remaining 360 tokens, restoring it"
build/bin/infini-run examples/tiny-lm.json --weights "$work/tiny-lm.safetensors" \
  --input "$work/ids.rest.npy" --output "$work/logits.rest.npy" \
  --state-in "$work/state.npz" --time
echo "== IR of every stage in $work/ir: $(ls "$work/ir" | tr '\n' ' ')"

echo "== float64 reference of SPEC.md over all 1000 tokens in one run"
$python test/reference/infini_reference.py --config examples/tiny-lm.json \
  --weights "$work/tiny-lm.safetensors" --input "$work/ids.npy" \
  --output "$work/logits.reference.npy"
$python - "$work" <<'PY'
import sys, numpy as np
work = sys.argv[1]
got = np.concatenate([np.load(f"{work}/logits.first.npy"),
                      np.load(f"{work}/logits.rest.npy")], axis=1)
ref = np.load(f"{work}/logits.reference.npy")
err = np.abs(got - ref)
bound = 2e-3 + 2e-3 * np.abs(ref)
print(f"logits {got.shape}: max |err| {err.max():.2e}, "
      f"{'within' if (err <= bound).all() else 'OUTSIDE'} SPEC's bound")
sys.exit(0 if (err <= bound).all() else 1)
PY
