#!/usr/bin/env python3
"""GPU benchmark: CUDA artifacts of the benchmark models against PyTorch on the same GPU.

Runs on a GPU machine from a directory packed by `scripts/gpu-check.sh pack DIR`
(no MLIR or LLVM needed there, only python3 with numpy and a CUDA torch):

    DIR/benchmarks/gpu_bench.py [--tokens 8192] [--repeats 3] [--markdown OUT.md]

For each model of benchmarks/configs it writes random weights and an 8,192-token
input (batch 1), runs the artifact with `infini-run --time` and the PyTorch peer
(benchmarks/torch_peer.py, eager float32 on cuda, scaled_dot_product_attention
where there is no CoPE), checks the two outputs agree within SPEC's bound, and
prints tokens/s and GFLOP/s of both and their ratio, measured in this run.
With --tensor-cores it runs the artifacts compiled with --tensor-cores=f16
against the peer under torch.autocast(float16), both on f16 tensor cores.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "test", "reference"))
import make_case  # noqa: E402
from run import MODELS, flops, load_config  # noqa: E402


def best_infini(runner, artifact, weights, inp, out, repeats):
    """Best tokens/s over `repeats` runs, from infini-run --time (whole run)."""
    best = 0.0
    for _ in range(repeats):
        proc = subprocess.run([runner, artifact, "--weights", weights, "--input", inp,
                               "--output", out, "--time"], capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(proc.stderr.strip())
        best = max(best, float(proc.stdout.rsplit(":", 1)[1].split()[0]))
    return best


def best_torch(cfg_path, weights, inp, out, repeats, device, autocast_f16):
    command = [sys.executable, os.path.join(HERE, "torch_peer.py"), "--config", cfg_path,
               "--weights", weights, "--input", inp, "--output", out, "--repeats",
               str(repeats), "--device", device]
    if autocast_f16:
        command.append("--autocast-f16")
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(proc.stderr.strip())
    return json.loads(proc.stdout.strip().splitlines()[-1])["best_s"]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tokens", type=int, default=8192)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--runner", default=os.path.join(ROOT, "bin", "infini-run"))
    p.add_argument("--artifacts", help="the artifacts (default bench-artifacts, or "
                   "bench-artifacts-f16 with --tensor-cores)")
    p.add_argument("--tensor-cores", action="store_true",
                   help="the --tensor-cores=f16 artifacts against PyTorch under "
                        "autocast(float16); outputs agree within 5e-2 (rms + |ref|)")
    p.add_argument("--markdown", help="also write the table as Markdown here")
    p.add_argument("--device", default="cuda",
                   help="PyTorch's device (cpu: a smoke test with CPU artifacts)")
    args = p.parse_args(argv)
    if not args.artifacts:
        args.artifacts = os.path.join(
            ROOT, "bench-artifacts-f16" if args.tensor_cores else "bench-artifacts")

    rows = [("model", "infini tok/s", "GFLOP/s", f"PyTorch {args.device} tok/s", "GFLOP/s",
             "infini/PyTorch", "max |err| / bound")]
    work = tempfile.mkdtemp(prefix="infini-gpu-bench-")
    for name, (config_file, _) in MODELS.items():
        cfg_path = os.path.join(HERE, "configs", config_file)
        artifact = os.path.join(args.artifacts, os.path.splitext(config_file)[0] + ".infini")
        with open(cfg_path) as f:
            config = json.load(f)
        f_ = lambda base: os.path.join(work, f"{name}.{base}")  # noqa: E731
        make_case.write_case(config, 1, args.tokens, 0, f_("w.safetensors"), f_("in.npy"))
        infini = best_infini(args.runner, artifact, f_("w.safetensors"), f_("in.npy"),
                             f_("infini.npy"), args.repeats)
        torch_s = best_torch(cfg_path, f_("w.safetensors"), f_("in.npy"), f_("torch.npy"),
                             args.repeats, args.device, args.tensor_cores)
        a, b = np.load(f_("infini.npy")), np.load(f_("torch.npy"))
        if args.tensor_cores:
            bound = 5e-2 * (np.sqrt(np.mean(b.astype(np.float64) ** 2)) + np.abs(b))
        else:
            bound = 2e-3 + 2e-3 * np.abs(b)
        worst = float(np.max(np.abs(a - b) / bound))
        torch_tps = args.tokens / torch_s
        total = flops(load_config(name), args.tokens)["total"]
        rows.append((name, f"{infini:,.0f}", f"{total / args.tokens * infini / 1e9:,.0f}",
                     f"{torch_tps:,.0f}", f"{total / torch_s / 1e9:,.0f}",
                     f"{infini / torch_tps:.2f}x", f"{worst:.2f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("| " + " | ".join(rows[0]) + " |\n|" + " --- |" * len(rows[0]) + "\n")
            for r in rows[1:]:
                f.write("| " + " | ".join(r) + " |\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
