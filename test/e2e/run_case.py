#!/usr/bin/env python3
"""End-to-end check of infini-run against the float64 reference on one random case.

    run_case.py --infini-run PATH_OR_NAME --config CFG.json --batch B --tokens N
                [--ids int32|int64] [--weight-dtype f32|f16|bf16] [--seed S]
                [--split K[,K2...]] [--unaligned-split] [--workdir DIR]
                [--tool-arg ARG]... [--model MODEL.infini]
                [--atol A] [--rtol R] [--atol-times-rms]

Writes random weights and input (test/reference/make_case.py), runs
    infini-run CFG.json --weights W.safetensors --input IN.npy --output OUT.npy
               --state-out S.npz
and compares OUT.npy and S.npz with test/reference/infini_reference.py within SPEC's
bound (or --atol/--rtol, for runs that opt into lower precision). With --split K the stream is cut at token K: infini-run runs on [0,K) writing
--state-out, then on [K,N) with --state-in, and the concatenated output and the final
state are checked against ONE reference run over all N tokens, so K must be a multiple
of segment_len. --unaligned-split allows other cut points: the reference is then cut at
the same points too (each run starts a new segment), which checks that a run after an
unaligned cut starts a new segment while positions continue.

Prints one line PASS/FAIL; exits non-zero on a mismatch or a failing tool (whose stderr
is printed). Files go to --workdir (kept) or a temporary directory (removed on success).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
import compare  # noqa: E402
import infini_reference  # noqa: E402
import make_case  # noqa: E402
import safetensors_io  # noqa: E402

TOOL_TIMEOUT_S = 300


class ToolFailure(Exception):
    pass


def resolve_tool(name):
    if os.sep in name:
        path = os.path.abspath(name)
        if not os.access(path, os.X_OK):
            raise ToolFailure(f"{name} is not an executable file")
        return path
    found = shutil.which(name)
    if not found:
        raise ToolFailure(f"{name} not found on PATH")
    return found


def run_tool(tool, model_path, weights, inputs, output, state_out, state_in=None,
             extra=()):
    """Runs infini-run once; raises ToolFailure with its stderr if it fails."""
    cmd = [tool, model_path, "--weights", weights, "--input", inputs, "--output", output,
           "--state-out", state_out]
    if state_in:
        cmd += ["--state-in", state_in]
    cmd += list(extra)
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=TOOL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise ToolFailure(f"timed out after {TOOL_TIMEOUT_S}s: {' '.join(cmd)}") from None
    if proc.returncode != 0:
        raise ToolFailure(
            f"exit status {proc.returncode}: {' '.join(cmd)}\n"
            f"--- stderr ---\n{proc.stderr.decode(errors='replace')}"
            f"--- stdout ---\n{proc.stdout.decode(errors='replace')}")
    for path in (output, state_out):
        if not os.path.exists(path):
            raise ToolFailure(f"succeeded but wrote no {path}: {' '.join(cmd)}")


def parse_split(text, n, segment_len, unaligned):
    """The cut points of --split, checked: increasing, inside (0, N), aligned."""
    if not text:
        return []
    cuts = [int(s) for s in text.split(",")]
    if cuts != sorted(set(cuts)) or cuts[0] <= 0 or cuts[-1] >= n:
        raise SystemExit(f"run_case.py: --split {text}: need increasing cuts in (0, {n})")
    if not unaligned:
        for k in cuts:
            if k % segment_len:
                raise SystemExit(
                    f"run_case.py: --split {k} is not a multiple of segment_len "
                    f"{segment_len}; one reference run only matches aligned cuts "
                    f"(use --unaligned-split to cut the reference too)")
    return cuts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--infini-run", required=True, help="tool path or name on PATH")
    parser.add_argument("--config", required=True)
    parser.add_argument("--model", help="run this model file (an .infini artifact "
                        "compiled from --config, say) instead of the config itself")
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--tokens", type=int, required=True)
    parser.add_argument("--ids", choices=("int32", "int64"), default="int64")
    parser.add_argument("--weight-dtype", choices=sorted(make_case.WEIGHT_DTYPES),
                        default="f32")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", help="cut the stream at these tokens (comma list)")
    parser.add_argument("--unaligned-split", action="store_true",
                        help="allow cuts off segment boundaries; cut the reference too")
    parser.add_argument("--workdir", help="keep the case files here")
    parser.add_argument("--tool-arg", action="append", default=[],
                        help="extra argument for infini-run (repeatable)")
    parser.add_argument("--atol", type=float, default=compare.ATOL,
                        help="absolute bound (default SPEC's, for f32 results)")
    parser.add_argument("--rtol", type=float, default=compare.RTOL,
                        help="relative bound (default SPEC's, for f32 results)")
    parser.add_argument("--atol-times-rms", action="store_true",
                        help="scale --atol by each array's RMS (f16 products)")
    args = parser.parse_args(argv)

    with open(args.config) as f:
        config = json.load(f)
    cfg = infini_reference.Config(config)
    cuts = parse_split(args.split, args.tokens, cfg.segment_len, args.unaligned_split)
    name = (f"{os.path.basename(args.config)} B={args.batch} N={args.tokens} "
            f"ids={args.ids if cfg.vocab_size else '-'} w={args.weight_dtype} "
            f"seed={args.seed}" + (f" split={args.split}" if cuts else "")
            + (f" model={os.path.basename(args.model)}" if args.model else ""))

    try:
        tool = resolve_tool(args.infini_run)
    except ToolFailure as e:
        print(f"FAIL {name}: infini-run {e}")
        return 1

    if args.workdir:
        work = os.path.abspath(args.workdir)
        os.makedirs(work, exist_ok=True)
    else:
        work = tempfile.mkdtemp(prefix="infini-e2e-")
    f = lambda base: os.path.join(work, base)  # noqa: E731

    try:
        _, inputs = make_case.write_case(
            config, args.batch, args.tokens, args.seed, f("W.safetensors"), f("in.npy"),
            args.ids, args.weight_dtype)

        # infini-run, one run per piece of the stream, the state carried between them.
        bounds = [0] + cuts + [args.tokens]
        pieces = list(zip(bounds[:-1], bounds[1:]))
        outputs, state_in = [], None
        for idx, (lo, hi) in enumerate(pieces):
            if len(pieces) == 1:
                piece_in = f("in.npy")
            else:
                piece_in = f(f"in.{idx}.npy")
                with open(piece_in, "wb") as fh:
                    np.save(fh, inputs[:, lo:hi])
            out, state_out = f(f"out.{idx}.npy"), f(f"state.{idx}.npz")
            for stale in (out, state_out):
                if os.path.exists(stale):
                    os.remove(stale)
            model = os.path.abspath(args.model or args.config)
            run_tool(tool, model, f("W.safetensors"), piece_in, out, state_out, state_in,
                     args.tool_arg)
            outputs.append(compare.load_npy(out))
            state_in = state_out
        got_state = compare.load_npz(state_in)
        try:
            got = np.concatenate(outputs, axis=1) if len(outputs) > 1 else outputs[0]
        except ValueError:
            raise compare.Mismatch("output: the runs' outputs do not concatenate: shapes "
                                   f"{[list(o.shape) for o in outputs]}") from None

        # The reference, reading the files as written (the stored weight precision).
        ref_weights = safetensors_io.read(f("W.safetensors"))
        ref_inputs = np.load(f("in.npy"), allow_pickle=False)
        if args.unaligned_split:
            ref_outs, ref_state = [], None
            for lo, hi in pieces:
                o, ref_state = infini_reference.run_model(config, ref_weights,
                                                          ref_inputs[:, lo:hi], ref_state)
                ref_outs.append(o)
            ref = np.concatenate(ref_outs, axis=1)
        else:
            ref, ref_state = infini_reference.run_model(config, ref_weights, ref_inputs)

        lines = [compare.check_close("output", got, ref, args.atol, args.rtol,
                                     atol_times_rms=args.atol_times_rms)]
        lines += compare.check_state(got_state, ref_state, args.atol, args.rtol,
                                     atol_times_rms=args.atol_times_rms)
    except ToolFailure as e:
        print(f"FAIL {name}: infini-run {e}")
        print(f"case files kept in {work}")
        return 1
    except compare.Mismatch as e:
        print(f"FAIL {name}: {e}")
        print(f"case files kept in {work}")
        return 1

    worst = lines[0].split(": ", 1)[1]
    notes = "".join(f"; {line}" for line in lines if line.startswith("note:"))
    print(f"PASS {name}: output {worst}; state ok ({len(ref_state)} arrays){notes}")
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
