#!/usr/bin/env python3
"""Compares a model's output (and memory state) with the reference within SPEC's bound.

    compare.py OUT.npy REF.npy [--state S.npz --ref-state REF_S.npz] [--atol A] [--rtol R]

Passes when every element satisfies |out - ref| <= atol + rtol |ref| (SPEC: 2e-3 both).
Fails on a missing or unreadable file, a shape mismatch, a dtype other than SPEC's
(float32 output and state arrays, int64 scalar `position`), NaN or infinity, a missing
state array or a different `position`. Prints the max abs error and the worst element;
exits 1 on failure.
"""

import argparse
import sys

import numpy as np

ATOL = 2e-3
RTOL = 2e-3


class Mismatch(Exception):
    """A comparison failure; its message says what and where."""


def check_close(name, got, ref, atol=ATOL, rtol=RTOL, dtype=np.float32,
                atol_times_rms=False):
    """Checks `got` against float reference `ref`; returns a one-line summary.

    With `atol_times_rms` the absolute bound is atol times the RMS of `ref`:
    the scale of errors from rounding the operands of sums (lower-precision
    matrix products), which cancellation does not shrink with the result.
    Raises Mismatch naming the worst element (largest err / bound) on failure.
    """
    got = np.asarray(got)
    ref = np.asarray(ref)
    if got.dtype != np.dtype(dtype):
        raise Mismatch(f"{name}: dtype {got.dtype}, expected {np.dtype(dtype)}")
    if got.shape != ref.shape:
        raise Mismatch(f"{name}: shape {list(got.shape)}, expected {list(ref.shape)}")
    if not np.all(np.isfinite(ref)):
        raise Mismatch(f"{name}: the reference itself is not finite")
    finite = np.isfinite(got)
    if not np.all(finite):
        bad = tuple(int(i) for i in np.argwhere(~finite)[0])
        raise Mismatch(f"{name}: {int((~finite).sum())} non-finite values, first at "
                       f"{list(bad)} = {got[bad]}")
    if got.size == 0:
        return f"{name}: empty, ok"
    g = got.astype(np.float64)
    r = ref.astype(np.float64)
    err = np.abs(g - r)
    if atol_times_rms:
        atol = atol * float(np.sqrt(np.mean(r * r)))
    bound = atol + rtol * np.abs(r)
    worst = np.unravel_index(np.argmax(err / bound), err.shape)
    max_err = float(err.max())
    n_bad = int((err > bound).sum())
    w = tuple(int(i) for i in worst)
    detail = (f"max abs err {max_err:.3g}, worst at {list(w)}: got {g[w]:.7g} "
              f"ref {r[w]:.7g} (err {err[w]:.3g} vs bound {bound[w]:.3g})")
    if n_bad:
        raise Mismatch(f"{name}: {n_bad} of {err.size} elements out of bound; {detail}")
    return f"{name}: {detail}"


def check_state(got, ref, atol=ATOL, rtol=RTOL, atol_times_rms=False):
    """Checks a state dict (name -> array) against the reference state; returns lines."""
    lines = []
    for name in ref:
        if name not in got:
            raise Mismatch(f"state: '{name}' is missing")
        if name == "position":
            pos = np.asarray(got[name])
            if pos.dtype != np.int64 or pos.shape != ():
                raise Mismatch(f"state 'position': {pos.dtype} {list(pos.shape)}, "
                               f"expected an int64 scalar")
            if int(pos) != int(ref[name]):
                raise Mismatch(f"state 'position': {int(pos)}, expected {int(ref[name])}")
            lines.append(f"state 'position' = {int(pos)}, ok")
        else:
            lines.append(check_close(f"state '{name}'", got[name], ref[name], atol, rtol,
                                     atol_times_rms=atol_times_rms))
    extra = sorted(set(got) - set(ref))
    if extra:
        lines.append(f"note: state has arrays the reference does not: {extra}")
    return lines


def load_npy(path):
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise Mismatch(f"cannot read {path}: {e}") from None


def load_npz(path):
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except (OSError, ValueError, EOFError) as e:
        raise Mismatch(f"cannot read {path}: {e}") from None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("output")
    parser.add_argument("reference")
    parser.add_argument("--state", help="state .npz written by the model")
    parser.add_argument("--ref-state", help="reference state .npz")
    parser.add_argument("--atol", type=float, default=ATOL)
    parser.add_argument("--rtol", type=float, default=RTOL)
    args = parser.parse_args(argv)
    if bool(args.state) != bool(args.ref_state):
        parser.error("--state and --ref-state go together")
    try:
        lines = [check_close("output", load_npy(args.output), load_npy(args.reference),
                             args.atol, args.rtol)]
        if args.state:
            lines += check_state(load_npz(args.state), load_npz(args.ref_state),
                                 args.atol, args.rtol)
    except Mismatch as e:
        print(f"FAIL {e}")
        return 1
    for line in lines:
        print(line)
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
