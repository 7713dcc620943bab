#!/usr/bin/env bash
# Peak memory of infini-run against input length: a 2-layer model (RoPE, CoPE,
# delta memory; hidden 64) on 8,000 and 1,000,000 tokens. The runtime streams
# the input and output segment by segment, so the two peaks should match.
#
# Usage: benchmarks/flat_rss.sh [WORKDIR]     (needs ~600 MB of disk)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-$(mktemp -d)}
mkdir -p "$work"
cat > "$work/model.json" <<'JSON'
{"vocab_size": 0, "hidden_size": 64, "num_heads": 4, "intermediate_size": 172, "num_layers": 2,
 "segment_len": 128, "rope": {"layout": "half_split"}, "cope": {"npos": 32},
 "memory": {"update": "delta"}}
JSON
/usr/bin/python3 test/reference/make_case.py --config "$work/model.json" --batch 1 \
  --tokens 8000 --seed 1 --weights "$work/w.safetensors" --input "$work/in8k.npy"
/usr/bin/python3 - "$work/in1m.npy" <<'PY'
import sys, numpy as np
x = np.lib.format.open_memmap(sys.argv[1], mode="w+", dtype=np.float32,
                              shape=(1, 1_000_000, 64))
rng = np.random.default_rng(0)
for start in range(0, 1_000_000, 100_000):
    x[0, start:start + 100_000] = rng.standard_normal((100_000, 64), dtype=np.float32)
x.flush()
PY
for input in in8k in1m; do
  /usr/bin/time -f "$input: peak RSS %M KB, wall %e s" build/bin/infini-run \
    "$work/model.json" --weights "$work/w.safetensors" --input "$work/$input.npy" \
    --output "$work/out_$input.npy" --time
done
