#!/usr/bin/env python3
"""Writes a valid case for a config, then breaks one file of it, for infini-run's error tests.

    make_bad.py --config CFG.json --kind KIND --out DIR

Writes DIR/W.safetensors, DIR/in.npy (B=2, N=10) and DIR/state.npz (a valid memory state
for that input), removes any DIR/out.npy and DIR/state_out.npz, and then applies KIND:
  good                  nothing broken
  missing-weight        drop 'layers.0.attn.q_proj.weight'
  misshapen-weight      'layers.0.attn.k_proj.weight' gets one column too many
  truncated-weights     W.safetensors loses its last 100 bytes
  garbage-header        W.safetensors' JSON header replaced by non-JSON bytes
  huge-header           W.safetensors' header length claims more bytes than the file has
  bad-npy               in.npy does not start with the .npy magic
  truncated-npy         in.npy loses half its data
  input-wrong-shape     hidden input [B,N,D+1] (or ids [B,N,1] for a vocabulary model)
  id-out-of-range       one id equals vocab_size
  id-negative           one id is -1
  state-wrong-shape     state.npz 'layers.0.memory' is [B,H,Dh,Dh+1]
  state-missing-key     state.npz lacks 'layers.0.norm'
"""

import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "reference"))
import make_case  # noqa: E402
import model_config  # noqa: E402
import safetensors_io  # noqa: E402

KINDS = ("good", "missing-weight", "misshapen-weight", "truncated-weights", "garbage-header",
         "huge-header", "bad-npy", "truncated-npy", "input-wrong-shape", "id-out-of-range",
         "id-negative", "state-wrong-shape", "state-missing-key")
BATCH, TOKENS = 2, 10


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--kind", required=True, choices=KINDS)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    with open(args.config) as f:
        config = json.load(f)
    cfg = model_config.Config(config)
    os.makedirs(args.out, exist_ok=True)
    path = lambda name: os.path.join(args.out, name)  # noqa: E731
    for stale in ("out.npy", "state_out.npz"):
        if os.path.exists(path(stale)):
            os.remove(path(stale))

    weights = make_case.make_weights(config, 0)
    inputs = make_case.make_input(config, BATCH, TOKENS, 0, "int64")
    state = {name: (np.array(TOKENS, dtype=np.int64) if name == "position"
                    else np.full(shape, 0.5, dtype=np.float32))
             for name, shape in model_config.state_shapes(cfg, BATCH).items()}
    kind = args.kind

    if kind == "missing-weight":
        del weights["layers.0.attn.q_proj.weight"]
    elif kind == "misshapen-weight":
        k = weights["layers.0.attn.k_proj.weight"]
        weights["layers.0.attn.k_proj.weight"] = np.concatenate([k, k[:, :1]], axis=1)
    elif kind == "input-wrong-shape":
        inputs = np.concatenate([inputs, inputs[..., :1]], axis=-1) if inputs.ndim == 3 \
            else inputs[..., None]
    elif kind in ("id-out-of-range", "id-negative"):
        if not cfg.vocab_size:
            parser.error(f"{kind} needs a vocabulary model")
        inputs[1, 3] = cfg.vocab_size if kind == "id-out-of-range" else -1
    elif kind == "state-wrong-shape":
        mem = state["layers.0.memory"]
        state["layers.0.memory"] = np.concatenate([mem, mem[..., :1]], axis=-1)
    elif kind == "state-missing-key":
        del state["layers.0.norm"]

    safetensors_io.write(path("W.safetensors"), weights)
    with open(path("in.npy"), "wb") as f:
        np.save(f, inputs)
    with open(path("state.npz"), "wb") as f:
        np.savez(f, **state)

    if kind in ("truncated-weights", "garbage-header", "huge-header"):
        with open(path("W.safetensors"), "rb") as f:
            blob = bytearray(f.read())
        if kind == "truncated-weights":
            blob = blob[:-100]
        elif kind == "garbage-header":
            n = int.from_bytes(blob[:8], "little")
            blob[8:8 + n] = (b"\x00garbage{not json" * n)[:n]
        else:
            blob[:8] = (len(blob) * 1000).to_bytes(8, "little")
        with open(path("W.safetensors"), "wb") as f:
            f.write(blob)
    elif kind in ("bad-npy", "truncated-npy"):
        with open(path("in.npy"), "rb") as f:
            blob = bytearray(f.read())
        if kind == "bad-npy":
            blob[:6] = b"NOTNPY"
        else:
            blob = blob[:len(blob) - inputs.nbytes // 2]
        with open(path("in.npy"), "wb") as f:
            f.write(blob)
    return 0


if __name__ == "__main__":
    sys.exit(main())
