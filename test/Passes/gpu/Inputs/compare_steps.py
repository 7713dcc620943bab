#!/usr/bin/env python3
"""Run a model's step in two compiled libraries on the same random case.

Usage: compare_steps.py SIGNATURES.mlir LIB_A.so LIB_B.so [--batch B]

SIGNATURES.mlir is the model after bufferization (memref signatures of
@step and, if present, @step_prepare with their infini.* binding
attributes). Each library exports the C interface `_mlir_ciface_step`
(and `_mlir_ciface_step_prepare`). Random weights, input and state go to
both, for two steps: a segment from position 0, then one from its new state
at the next position with a shorter valid length. The outputs and new
states must agree within 1e-3 + 1e-3 |a|. Prints
one line per compared buffer and exits non-zero on a mismatch.
"""

import argparse
import ctypes
import re
import sys

import numpy as np

DTYPES = {'f32': np.float32, 'f64': np.float64, 'i32': np.int32,
          'i64': np.int64}
ARG = re.compile(r'%[\w]+: (memref<[^>]*>|i64)(?: \{([^}]*)\})?')


def signature(text, name):
    match = re.search(r'func\.func @' + name + r'\((.*?)\)(?: attributes|\s*\{)',
                      text)
    if not match:
        return None
    args = []
    for type_text, attrs in ARG.findall(match.group(1)):
        binding = re.match(r'infini\.(\w+)(?: = "([^"]*)")?', attrs or '')
        kind, key = (binding.group(1), binding.group(2)) if binding else ('', '')
        args.append((type_text, kind, key))
    return args


def shape_of(type_text, batch):
    body = type_text[len('memref<'):-1]
    parts = body.split('x')
    dims = [batch if p == '?' else int(p) for p in parts[:-1]]
    return dims, DTYPES[parts[-1]]


def descriptor(array):
    rank = array.ndim
    fields = [('allocated', ctypes.c_void_p), ('aligned', ctypes.c_void_p),
              ('offset', ctypes.c_int64)]
    if rank:
        fields += [('sizes', ctypes.c_int64 * rank),
                   ('strides', ctypes.c_int64 * rank)]
    Desc = type('Desc', (ctypes.Structure,), {'_fields_': fields})
    desc = Desc()
    desc.allocated = desc.aligned = array.ctypes.data
    desc.offset = 0
    for i in range(rank):
        desc.sizes[i] = array.shape[i]
        desc.strides[i] = array.strides[i] // array.itemsize
    return desc


def call(lib, name, values):
    args = []
    keep = []
    for value in values:
        if isinstance(value, np.ndarray):
            desc = descriptor(value)
            keep.append(desc)
            args.append(ctypes.pointer(desc))
        else:
            args.append(ctypes.c_int64(value))
    getattr(lib, '_mlir_ciface_' + name)(*args)


def make_case(step, prepare, batch, rng):
    weights, inputs = {}, []
    vocab = 1
    for type_text, kind, key in step:
        if kind == 'weight' and key == 'embed.weight':
            vocab = shape_of(type_text, batch)[0][0]
    tokens = 1
    seen_state = set()
    for type_text, kind, key in step:
        if type_text == 'i64':
            inputs.append(('scalar', kind, key, None))
            continue
        dims, dtype = shape_of(type_text, batch)
        if kind == 'input':
            tokens = dims[1]
            value = (rng.integers(0, vocab, dims).astype(dtype)
                     if dtype == np.int32 else
                     rng.standard_normal(dims).astype(dtype))
        elif kind == 'weight':
            value = weights.setdefault(
                key, (0.2 * rng.standard_normal(dims)).astype(dtype))
        elif kind == 'state' and key not in seen_state:
            seen_state.add(key)
            value = (0.1 * rng.standard_normal(dims)).astype(dtype)
        else:  # prepared, output, new state: written by the callee
            value = np.zeros(dims, dtype)
        inputs.append(('array', kind, key, value))
    # Weights only the prepare function reads.
    for type_text, kind, key in prepare or []:
        if kind == 'weight':
            dims, dtype = shape_of(type_text, batch)
            weights.setdefault(
                key, (0.2 * rng.standard_normal(dims)).astype(dtype))
    scalars = {'position': 0, 'valid_length': tokens}
    return weights, inputs, scalars


def run(lib, step, prepare, case):
    """Prepares the weights, then runs two steps: a whole segment from
    position 0, and one continuing from its state at the next position with
    a shorter valid length (padding at the end). Returns the outputs and
    new states of both."""
    weights, inputs, scalars = case
    prepared = {}
    if prepare:
        pvalues = []
        for type_text, kind, key in prepare:
            dims, dtype = shape_of(type_text, 1)
            if kind == 'weight':
                pvalues.append(weights[key])
            else:
                prepared[key] = np.zeros(dims, dtype)
                pvalues.append(prepared[key])
        call(lib, 'step_prepare', pvalues)
    tokens = scalars['valid_length']
    runs = [dict(scalars),
            {'position': tokens, 'valid_length': max(1, tokens - 5)}]
    out = []
    state = {}
    for number, run_scalars in enumerate(runs):
        values, results = [], []
        seen = set()
        for what, kind, key, value in inputs:
            if what == 'scalar':
                values.append(run_scalars[kind])
                continue
            if kind == 'prepared':
                value = prepared[key]
            elif kind == 'state' and key not in seen and key in state:
                value = state[key].copy()
            else:
                value = value.copy()
            if kind == 'state':
                seen.add(key)
            values.append(value)
            results.append((kind, key, value))
        call(lib, 'step', values)
        # Outputs and new states are the out-parameters: after the output.
        tail = False
        for kind, key, value in results:
            tail = tail or kind == 'output'
            if not tail:
                continue
            if kind == 'state':
                state[key] = value
            name = 'output' if kind == 'output' else 'state ' + key
            out.append((f'step{number} {name}', value))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('signatures')
    parser.add_argument('lib_a')
    parser.add_argument('lib_b')
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    text = open(args.signatures).read()
    step = signature(text, 'step')
    prepare = signature(text, 'step_prepare')
    case = make_case(step, prepare, args.batch, np.random.default_rng(args.seed))
    a = run(ctypes.CDLL(args.lib_a), step, prepare, case)
    b = run(ctypes.CDLL(args.lib_b), step, prepare, case)
    ok = True
    for (name, x), (_, y) in zip(a, b):
        err = np.abs(x.astype(np.float64) - y)
        bound = 1e-3 + 1e-3 * np.abs(x.astype(np.float64))
        good = bool(np.all(err <= bound)) and np.all(np.isfinite(y))
        ok = ok and good
        print(f'{"match" if good else "MISMATCH"} {name} '
              f'max_abs_err={err.max():.3g} max_abs={np.abs(x).max():.3g}')
    return 0 if ok and a else 1


if __name__ == '__main__':
    sys.exit(main())
