#!/usr/bin/env python3
"""Writes a random test case for a model config: weights (.safetensors) and input (.npy).

    make_case.py --config C.json --batch B --tokens N [--seed S] [--ids int32|int64]
                 [--weight-dtype f32|f16|bf16] --weights W.safetensors --input IN.npy

Weights are unit-scale random, every tensor SPEC names for the config: projections
N(0,1)/sqrt(in_features), norm weights 1 + 0.1 N(0,1), cope_pos_emb N(0,1), memory_gate
N(0,1), embed N(0,1), lm_head N(0,1)/sqrt(D). The input is float32 N(0,1) [B,N,D] for a
hidden-state model, or uniform int ids [B,N] in [0,V) for a vocabulary model.
Weights and input come from separate streams seeded by S, so they are reproducible.
"""

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model_config  # noqa: E402
import safetensors_io  # noqa: E402

WEIGHT_DTYPES = {"f32": "F32", "f16": "F16", "bf16": "BF16"}


def make_weights(config, seed):
    """name -> float32 array for every weight SPEC names for `config`."""
    rng = np.random.default_rng([seed, 0])
    weights = {}
    for name, shape in model_config.weight_shapes(config).items():
        normal = rng.standard_normal(shape)
        if name.endswith("norm.weight"):
            value = 1.0 + 0.1 * normal
        elif name in ("embed.weight",) or name.endswith(("cope_pos_emb", "memory_gate")):
            value = normal
        else:  # [out, in] projections, lm_head included
            value = normal / np.sqrt(shape[1])
        weights[name] = value.astype(np.float32)
    return weights


def make_input(config, batch, tokens, seed, ids="int64"):
    """Ids [B,N] (vocabulary models) or float32 hidden states [B,N,D]."""
    c = model_config.Config(config)
    rng = np.random.default_rng([seed, 1])
    if c.vocab_size:
        return rng.integers(0, c.vocab_size, size=(batch, tokens)).astype(ids)
    return rng.standard_normal((batch, tokens, c.hidden)).astype(np.float32)


def write_case(config, batch, tokens, seed, weights_path, input_path, ids="int64",
               weight_dtype="f32"):
    """Writes the weights and input files; returns (weights as stored, input)."""
    weights = make_weights(config, seed)
    safetensors_io.write(weights_path, weights, WEIGHT_DTYPES[weight_dtype],
                         metadata={"format": "pt", "seed": seed})
    inputs = make_input(config, batch, tokens, seed, ids)
    with open(input_path, "wb") as f:
        np.save(f, inputs)
    stored = {name: safetensors_io.stored_values(a, WEIGHT_DTYPES[weight_dtype])
              for name, a in weights.items()}
    return stored, inputs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--tokens", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ids", choices=("int32", "int64"), default="int64")
    parser.add_argument("--weight-dtype", choices=sorted(WEIGHT_DTYPES), default="f32")
    parser.add_argument("--weights", required=True, help="output .safetensors path")
    parser.add_argument("--input", required=True, help="output .npy path")
    args = parser.parse_args(argv)
    with open(args.config) as f:
        config = json.load(f)
    write_case(config, args.batch, args.tokens, args.seed, args.weights, args.input,
               args.ids, args.weight_dtype)
    return 0


if __name__ == "__main__":
    sys.exit(main())
