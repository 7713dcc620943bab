#!/usr/bin/env python3
"""GPU benchmark: CUDA artifacts of the benchmark models against PyTorch on the same GPU.

Runs on a GPU machine from a directory packed by `scripts/gpu-check.sh pack DIR`
(no MLIR or LLVM needed there, only python3 with numpy and a CUDA torch):

    DIR/benchmarks/gpu_bench.py [--tokens 8192] [--batch 1] [--repeats 3]
                                [--markdown OUT.md] [--profiles PROFILE_DIR]

For each model of benchmarks/configs it writes random weights and an 8,192-token
input (batch 1, or --batch sequences of it), runs the artifact with `infini-run --time` and the PyTorch peer
(benchmarks/torch_peer.py, eager float32 on cuda, scaled_dot_product_attention
where there is no CoPE), checks the two outputs agree within SPEC's bound, and
prints tokens/s and GFLOP/s of both and their ratio, measured in this run,
and infini's tokens/s with each kernel launched on its own (--cuda-graphs=false)
beside its default, a step's launches as one CUDA graph.
With --tensor-cores it runs the artifacts compiled with --tensor-cores=f16
against the peer under torch.autocast(float16), both on f16 tensor cores;
with --tf32x3 those compiled with --tensor-cores=tf32x3 (f32 accuracy on
tensor cores) against the same f32 peer and bound as the default.

A further run with `infini-run --profile-kernels` times each kernel on the
device; the fused attention kernels' time (kind `attention`) and the causal
attention FLOPs (QK^T and PV over the t(t+1)/2 pairs of each segment) give the
attention's TFLOP/s, reported as a share of the device's peak (dense f16
tensor-core peak with --tensor-cores, else the f32 peak; from PEAK_TFLOPS by
device name, or --peak-tflops).
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


def best_infini(runner, artifact, weights, inp, out, repeats, extra=()):
    """Best tokens/s over `repeats` runs, from infini-run --time (whole run)."""
    best = 0.0
    for _ in range(repeats):
        proc = subprocess.run([runner, artifact, "--weights", weights, "--input", inp,
                               "--output", out, "--time", *extra],
                              capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(proc.stderr.strip())
        best = max(best, float(proc.stdout.rsplit(":", 1)[1].split()[0]))
    return best


# Dense (no sparsity) peak TFLOP/s from NVIDIA's datasheets: f16 tensor cores
# with f32 accumulation, and f32 on CUDA cores. The first name that occurs in
# the device's name wins.
PEAK_TFLOPS = [
    ("H200", {"f16": 989.4, "f32": 66.9}),
    ("H100 PCIe", {"f16": 756.5, "f32": 51.2}),
    ("H100", {"f16": 989.4, "f32": 66.9}),
    ("A100", {"f16": 312.0, "f32": 19.5}),
    ("L40S", {"f16": 362.1, "f32": 91.6}),
    ("A10", {"f16": 125.0, "f32": 31.2}),
    ("L4", {"f16": 121.0, "f32": 30.3}),
]


def device_peak(device_name, precision):
    for name, peaks in PEAK_TFLOPS:
        if name in device_name:
            return peaks[precision]
    return None


def attention_seconds(runner, artifact, weights, inp, out, profile_path=None):
    """Device seconds of the `attention` kernels in one --profile-kernels run,
    or None where the model has no fused attention kernel. The whole table
    (time per kernel and per kind) goes to `profile_path` if given."""
    proc = subprocess.run([runner, artifact, "--weights", weights, "--input", inp,
                           "--output", out, "--profile-kernels"],
                          capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(proc.stderr.strip())
    if profile_path:
        with open(profile_path, "w") as f:
            f.write(proc.stdout)
    for line in proc.stdout.splitlines():
        fields = line.split()
        # "kind attention LAUNCHES TOTAL_MS MEAN_US SHARE%"
        if fields[:2] == ["kind", "attention"]:
            return float(fields[3]) * 1e-3
    return None


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
    p.add_argument("--batch", type=int, default=1,
                   help="sequences per run: batch 1 is the long-context case, a "
                        "larger batch gives the attention kernel enough blocks to "
                        "fill the device")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--runner", default=os.path.join(ROOT, "bin", "infini-run"))
    p.add_argument("--artifacts", help="the artifacts (default bench-artifacts, or "
                   "bench-artifacts-f16 with --tensor-cores)")
    p.add_argument("--tf32x3", action="store_true",
                   help="the artifacts compiled with --tensor-cores=tf32x3 (default "
                        "bench-artifacts-tf32x3), against PyTorch f32")
    p.add_argument("--tensor-cores", action="store_true",
                   help="the --tensor-cores=f16 artifacts against PyTorch under "
                        "autocast(float16); outputs agree within 5e-2 (rms + |ref|)")
    p.add_argument("--markdown", help="also write the table as Markdown here")
    p.add_argument("--device", default="cuda",
                   help="PyTorch's device (cpu: a smoke test with CPU artifacts)")
    p.add_argument("--profiles", help="write each model's kernel profile (infini-run "
                   "--profile-kernels) to DIR/MODEL.txt")
    p.add_argument("--peak-tflops", type=float,
                   help="the device's peak TFLOP/s for the attention's share (default: "
                        "from PEAK_TFLOPS by device name)")
    args = p.parse_args(argv)
    peak = args.peak_tflops
    if peak is None and args.device == "cuda":
        import torch
        peak = device_peak(torch.cuda.get_device_name(0),
                           "f16" if args.tensor_cores else "f32")
    if not args.artifacts:
        args.artifacts = os.path.join(
            ROOT, "bench-artifacts-f16" if args.tensor_cores
            else "bench-artifacts-tf32x3" if args.tf32x3 else "bench-artifacts")

    rows = [("model", "infini tok/s", "GFLOP/s", "no graphs tok/s",
             f"PyTorch {args.device} tok/s", "GFLOP/s", "infini/PyTorch",
             "max |err| / bound", "attention TFLOP/s", "% of peak")]
    work = tempfile.mkdtemp(prefix="infini-gpu-bench-")
    for name, (config_file, _) in MODELS.items():
        cfg_path = os.path.join(HERE, "configs", config_file)
        artifact = os.path.join(args.artifacts, os.path.splitext(config_file)[0] + ".infini")
        with open(cfg_path) as f:
            config = json.load(f)
        f_ = lambda base: os.path.join(work, f"{name}.{base}")  # noqa: E731
        make_case.write_case(config, args.batch, args.tokens, 0, f_("w.safetensors"),
                             f_("in.npy"))
        infini = best_infini(args.runner, artifact, f_("w.safetensors"), f_("in.npy"),
                             f_("infini.npy"), args.repeats)
        direct = best_infini(args.runner, artifact, f_("w.safetensors"), f_("in.npy"),
                             f_("direct.npy"), args.repeats, ["--cuda-graphs=false"])
        torch_s = best_torch(cfg_path, f_("w.safetensors"), f_("in.npy"), f_("torch.npy"),
                             args.repeats, args.device, args.tensor_cores)
        a, b = np.load(f_("infini.npy")), np.load(f_("torch.npy"))
        if args.tensor_cores:
            bound = 5e-2 * (np.sqrt(np.mean(b.astype(np.float64) ** 2)) + np.abs(b))
        else:
            bound = 2e-3 + 2e-3 * np.abs(b)
        worst = float(np.max(np.abs(a - b) / bound))
        tokens = args.batch * args.tokens
        torch_tps = tokens / torch_s
        model_flops = {kind: args.batch * value
                       for kind, value in flops(load_config(name), args.tokens).items()}
        total = model_flops["total"]
        attention_tflops, share = "n/a", "n/a"
        if args.device == "cuda":
            profile_path = None
            if args.profiles:
                os.makedirs(args.profiles, exist_ok=True)
                profile_path = os.path.join(args.profiles, f"{name}.txt")
            seconds = attention_seconds(args.runner, artifact, f_("w.safetensors"),
                                        f_("in.npy"), f_("profiled.npy"), profile_path)
            if seconds:
                tflops = model_flops["attn"] / seconds / 1e12
                attention_tflops = f"{tflops:,.1f}"
                if peak:
                    share = f"{100 * tflops / peak:.1f}%"
        rows.append((name, f"{infini:,.0f}", f"{total / tokens * infini / 1e9:,.0f}",
                     f"{direct:,.0f}", f"{torch_tps:,.0f}", f"{total / torch_s / 1e9:,.0f}",
                     f"{infini / torch_tps:.2f}x", f"{worst:.2f}", attention_tflops, share))
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
