#!/usr/bin/env python3
"""Infini's benchmark: infini-run against PyTorch eager, IREE and OpenBLAS sgemm.

    /usr/bin/python3 benchmarks/run.py [--quick] [--models a,b] [--tokens N]
                                       [--markdown out.md] [--json out.json]

For each model (SPEC configs in benchmarks/configs/) it makes random unit-scale weights
and an input of N tokens, batch 1 (test/reference/make_case.py), then measures
  - infini-run: best of 3 of the time spent in compiled code (`--time`), JIT separately;
  - the PyTorch eager float32 peer (benchmarks/torch_peer.py) at 1 and 2 threads, best
    of 3 after one warm-up, reporting the faster thread count;
  - the IREE peer (benchmarks/iree_peer.py: the same step as hand-written linalg MLIR,
    llvm-cpu for the host CPU) the same way, when IREE can be installed into a venv;
  - OpenBLAS sgemm on the model's projection and FFN shapes (M = segment tokens),
    1 and 2 threads: the machine's practical matmul limit;
and checks once per model that each peer's output agrees with infini-run's within
2e-3 + 2e-3|ref| (SPEC's bound), asking the float64 reference which side is wrong when
not. Every engine is credited with the same analytical FLOP count (see flops()).
See benchmarks/README.md.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PY = sys.executable or "/usr/bin/python3"

# name -> (config file, one-line description); the order is the table's order.
MODELS = {
    "h512-seg128": ("h512-seg128.json", "D512 H8 F1408 L2, RoPE, delta memory, seg 128"),
    "h512-seg512": ("h512-seg512.json", "D512 H8 F1408 L2, RoPE, delta memory, seg 512"),
    "h512-seg2048": ("h512-seg2048.json", "D512 H8 F1408 L2, RoPE, delta memory, seg 2048"),
    "h512-cope64-seg512": ("h512-cope64-seg512.json",
                           "D512 H8 F1408 L2, RoPE, CoPE P64, delta memory, seg 512"),
    "h1024-seg512": ("h1024-seg512.json", "D1024 H16 F2816 L2, RoPE, delta memory, seg 512"),
}
QUICK_MODELS = ["h512-seg128", "h512-cope64-seg512"]
FULL_TOKENS, QUICK_TOKENS = 8192, 1024
THREADS = (1, 2)
ATOL = RTOL = 2e-3
IREE_PACKAGES = ["iree-base-compiler", "iree-base-runtime"]

TIME_RE = re.compile(r"lowering ([\d.]+) s, JIT ([\d.]+) s; (\d+) segments?, (\d+) tokens in "
                     r"([\d.]+) s \(([\d.]+) s in compiled code\)")


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def load_config(name):
    with open(os.path.join(HERE, "configs", MODELS[name][0])) as f:
        c = json.load(f)
    c.setdefault("head_dim", None)
    if c["head_dim"] is None:
        c["head_dim"] = c["hidden_size"] // c["num_heads"]
    return c


# ----------------------------------------------------------------------------------------
# FLOPs
# ----------------------------------------------------------------------------------------


def segment_lengths(c, tokens):
    seg = c["segment_len"]
    return [min(seg, tokens - s) for s in range(0, tokens, seg)]


def flops(c, tokens):
    """The model's FLOPs over `tokens` tokens, batch 1, by part (2 per multiply-add).

    Counted: every matrix product of the model —
      proj   Q, K, V, O projections: 2 N (3 D HD + HD D) per layer;
      ffn    gate, up, down: 2 N 3 D F per layer;
      attn   QK^T and PV over the causal triangle only (the t(t+1)/2 query-key pairs on
             or below the diagonal of each segment of t tokens): 2 * 2 H Dh t(t+1)/2;
      cope   z = q E: 2 N H Dh P (the gates, cumulative sum and interpolation are not
             counted);
      memory retrieve s(Q)M and s(Q)z: 2 N H (Dh^2 + Dh); update: linear s(K)^T V,
             2 N H Dh^2; delta adds the retrieval with K: 2 N H (2 Dh^2 + Dh).
    Not counted: elementwise work (RMSNorm, RoPE, softmax, SiLU, gates, residuals).
    """
    D, H, Dh, F, L = (c["hidden_size"], c["num_heads"], c["head_dim"],
                      c["intermediate_size"], c["num_layers"])
    HD, N = H * Dh, tokens
    parts = {"proj": 2 * N * (3 * D * HD + HD * D), "ffn": 2 * N * 3 * D * F,
             "attn": sum(2 * 2 * H * Dh * t * (t + 1) // 2 for t in segment_lengths(c, N)),
             "cope": 2 * N * H * Dh * int(c["cope"]["npos"]) if c.get("cope") else 0,
             "memory": 0}
    mem = c.get("memory")
    if mem:
        retrieve = 2 * N * H * (Dh * Dh + Dh)
        update = 2 * N * H * Dh * Dh
        if mem.get("update", "linear") == "delta":
            update += retrieve
        parts["memory"] = retrieve + update
    parts = {k: v * L for k, v in parts.items()}
    parts["total"] = sum(parts.values())
    return parts


def gemm_shapes(c, tokens):
    """(M, N, K) -> count per layer of the projection and FFN products, M = segment
    tokens (the whole input where it is shorter than one segment)."""
    T, D, HD, F = (min(c["segment_len"], tokens), c["hidden_size"],
                   c["num_heads"] * c["head_dim"], c["intermediate_size"])
    shapes = {}
    for shape, n in (((T, HD, D), 3), ((T, D, HD), 1), ((T, F, D), 2), ((T, D, F), 1)):
        shapes[shape] = shapes.get(shape, 0) + n
    return shapes


def ffn_block_mlir(c, tokens):
    """Layer 0's FFN block (RMSNorm, SwiGLU, residual add) as an infini model: the
    model's matrix-product-bound part, timed on its own against OpenBLAS on the same
    shapes."""
    T, D, F = min(c["segment_len"], tokens), c["hidden_size"], c["intermediate_size"]
    x, wn = f"tensor<?x{T}x{D}xf32>", f"tensor<{D}xf32>"
    wgu, wd = f"tensor<{F}x{D}xf32>", f"tensor<{D}x{F}xf32>"
    weight = 'infini.weight = "layers.0.{}"'
    return "\n".join([
        f"func.func @step(%x: {x} {{infini.input}}, %pos: i64 {{infini.position}},",
        "    %valid: i64 {infini.valid_length},",
        f"    %wn: {wn} {{{weight.format('ffn_norm.weight')}}},",
        f"    %wg: {wgu} {{{weight.format('ffn.gate_proj.weight')}}},",
        f"    %wu: {wgu} {{{weight.format('ffn.up_proj.weight')}}},",
        f"    %wd: {wd} {{{weight.format('ffn.down_proj.weight')}}})",
        f"    -> ({x} {{infini.output}}) {{",
        f"  %h = infini.rmsnorm %x, %wn {{eps = {float(c['norm_eps']):.9e} : f64}} : {x}, {wn}",
        f"  %f = infini.swiglu %h, %wg, %wu, %wd {{beta = {float(c['swish_beta']):.9e} : f64}}"
        f" : {x}, {wgu}, {wgu}, {wd}",
        f"  %y = arith.addf %x, %f : {x}",
        f"  return %y : {x}",
        "}", ""])


def ffn_shapes(c, tokens):
    """The FFN's (M, N, K) -> count per layer, as in gemm_shapes."""
    T, D, F = min(c["segment_len"], tokens), c["hidden_size"], c["intermediate_size"]
    return {(T, F, D): 2, (T, D, F): 1}


# ----------------------------------------------------------------------------------------
# Engines
# ----------------------------------------------------------------------------------------


def run_cmd(cmd, env=None, timeout=3600):
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(map(shlex.quote, cmd))} exited {proc.returncode}:\n"
                           f"{(proc.stderr or proc.stdout)[-3000:]}")
    return proc.stdout


# OpenBLAS picks its kernels for the CPU when it loads, unless OPENBLAS_CORETYPE
# names some. An environment that pins an older core (this project's machines set
# OPENBLAS_CORETYPE=Haswell: AVX2 kernels on an AVX-512 CPU, at half the speed)
# would handicap both yardsticks that use OpenBLAS: the sgemm limit and PyTorch,
# whose matrix products call it. The peers therefore run with OpenBLAS's own choice
# unless --openblas-coretype names one.
OPENBLAS_CORETYPE = None  # set by main(): None = OpenBLAS's own choice


def openblas_corename(coretype):
    """The core OpenBLAS uses with OPENBLAS_CORETYPE=coretype (None: unset), read in
    a child process (the choice is made when the library loads), or None."""
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    code = ("import ctypes; f = ctypes.CDLL('libopenblas.so.0').openblas_get_corename; "
            "f.restype = ctypes.c_char_p; print(f().decode())")
    try:
        return run_cmd([sys.executable, "-c", code], env=env).strip()
    except (RuntimeError, OSError):
        return None


def thread_env(n):
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(n)
    env.pop("OPENBLAS_CORETYPE", None)
    if OPENBLAS_CORETYPE:
        env["OPENBLAS_CORETYPE"] = OPENBLAS_CORETYPE
    return env


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError(f"no JSON result in:\n{text[-2000:]}")


def infini_has_threads(binary):
    """Whether this infini-run takes --num-threads (older builds are single-threaded)."""
    proc = subprocess.run([binary, "--help"], capture_output=True, text=True)
    return "--num-threads" in proc.stdout + proc.stderr


def bench_infini(binary, cfg_path, weights, inp, out, repeats, threads, extra_flags):
    """Best of `repeats` runs per thread count (None: the binary's own default)."""
    per = {}
    for n in threads:
        runs = []
        for _ in range(repeats):
            cmd = [binary, cfg_path, "--weights", weights, "--input", inp, "--output", out,
                   "--time"] + list(extra_flags)
            if n is not None:
                cmd.append(f"--num-threads={n}")
            text = run_cmd(cmd, env=thread_env(n) if n is not None else None)
            m = TIME_RE.search(text)
            if not m:
                raise RuntimeError(f"infini-run --time printed no timing line:\n{text}")
            runs.append({"lowering_s": float(m.group(1)), "jit_s": float(m.group(2)),
                         "wall_s": float(m.group(5)), "compiled_s": float(m.group(6))})
        per[n] = {"runs": runs, "best_s": min(r["compiled_s"] for r in runs),
                  "compile_s": min(r["lowering_s"] + r["jit_s"] for r in runs)}
    best = min(per, key=lambda n: per[n]["best_s"])
    return {"per_threads": per, "threads": best, "best_s": per[best]["best_s"],
            "compile_s": min(p["compile_s"] for p in per.values())}


def run_per_thread_count(cmd, repeats, out):
    """Runs a peer command once per thread count (writing its output on the
    first) and returns ({threads: result}, the fastest thread count)."""
    per = {}
    for n in THREADS:
        full = cmd + ["--threads", str(n), "--repeats", str(repeats), "--warmup", "1"]
        if n == THREADS[0]:
            full += ["--output", out]
        per[n] = last_json(run_cmd(full, env=thread_env(n)))
    return per, min(per, key=lambda n: per[n]["best_s"])


def bench_torch(cfg_path, weights, inp, out, repeats):
    per, best = run_per_thread_count(
        [PY, os.path.join(HERE, "torch_peer.py"), "--config", cfg_path, "--weights", weights,
         "--input", inp], repeats, out)
    return {"per_threads": per, "threads": best, "best_s": per[best]["best_s"],
            "attention": per[best]["attention"]}


def iree_python(venv):
    return os.path.join(venv, "bin", "python")


def ensure_iree(venv, install):
    """Returns (ok, reason or version)."""
    py = iree_python(venv)
    probe = [py, "-c", "import iree.runtime, iree.compiler.version as v; "
             "print(getattr(v, 'VERSION', '?'))"]
    if os.path.exists(py):
        r = subprocess.run(probe, capture_output=True, text=True)
        if r.returncode == 0:
            return True, r.stdout.strip()
    if not install:
        return False, f"no IREE in {venv} (run without --no-iree-install to pip-install it)"
    log(f"installing {' '.join(IREE_PACKAGES)} into {venv} (once; ~150 MB from PyPI)")
    try:
        if not os.path.exists(py):
            run_cmd([sys.executable, "-m", "venv", venv], timeout=300)
        run_cmd([py, "-m", "pip", "install", "--quiet", "--upgrade", "pip"], timeout=600)
        run_cmd([py, "-m", "pip", "install", "--quiet", "numpy"] + IREE_PACKAGES, timeout=1200)
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        return False, f"pip install {' '.join(IREE_PACKAGES)} failed: {str(e)[-300:]}"
    r = subprocess.run(probe, capture_output=True, text=True)
    if r.returncode:
        return False, f"IREE installed but does not import: {r.stderr.strip()[-300:]}"
    return True, r.stdout.strip()


def bench_iree(venv, cfg_path, tokens, weights, inp, out, workdir, repeats):
    py = iree_python(venv)
    script = os.path.join(HERE, "iree_peer.py")
    comp = last_json(run_cmd([py, script, "compile", "--config", cfg_path, "--tokens",
                              str(tokens), "--workdir", workdir]))
    per, best = run_per_thread_count(
        [py, script, "run", "--config", cfg_path, "--weights", weights, "--input", inp,
         "--vmfb", comp["vmfb"]], repeats, out)
    return {"per_threads": per, "threads": best, "best_s": per[best]["best_s"],
            "compile_s": comp["compile_s"], "flags": comp["flags"]}


def find_cblas_include():
    for d in ("/usr/include/x86_64-linux-gnu/openblas-pthread",
              "/usr/include/openblas", "/usr/include/x86_64-linux-gnu", "/usr/include"):
        if os.path.exists(os.path.join(d, "cblas.h")):
            return d
    return None


def build_sgemm(tmp):
    exe = os.path.join(tmp, "sgemm")
    inc = find_cblas_include()
    cmd = [os.environ.get("CC", "cc"), "-O2", os.path.join(HERE, "sgemm.c"), "-o", exe]
    if inc:
        cmd.insert(2, "-I" + inc)
    run_cmd(cmd + ["-lopenblas"])
    return exe


def bench_sgemm(exe, shapes):
    """{threads: {(M,N,K): (seconds, gflops)}}"""
    args = [str(v) for shape in shapes for v in shape]
    res = {}
    for n in THREADS:
        out = run_cmd([exe] + args, env=thread_env(n))
        res[n] = {}
        for line in out.strip().splitlines():
            m, nn, k, sec, gf = line.split()
            res[n][(int(m), int(nn), int(k))] = (float(sec), float(gf))
    return res


def weighted_gflops(per_shape, counts):
    """FLOP-weighted (harmonic) average: all of the counted products' FLOPs / their time."""
    fl = sum(2 * m * n * k * cnt for (m, n, k), cnt in counts.items())
    sec = sum(per_shape[s][0] * cnt for s, cnt in counts.items())
    return fl / sec * 1e-9


# ----------------------------------------------------------------------------------------
# Checking
# ----------------------------------------------------------------------------------------


def bound_ratio(out, ref):
    """max |out-ref| / (ATOL + RTOL |ref|): <= 1 passes SPEC's bound."""
    if out.shape != ref.shape:
        return float("inf")
    ref = ref.astype(np.float64)
    err = np.abs(out.astype(np.float64) - ref)
    if not np.all(np.isfinite(out)):
        return float("inf")
    return float(np.max(err / (ATOL + RTOL * np.abs(ref)))) if err.size else 0.0


class Reference:
    """The float64 reference output, computed on first use."""

    def __init__(self, cfg_path, weights, inp, path):
        self.args = (cfg_path, weights, inp)
        self.path = path
        self.value = None

    def get(self):
        if self.value is None:
            cfg_path, weights, inp = self.args
            log("  running the float64 reference")
            run_cmd([PY, os.path.join(ROOT, "test", "reference", "infini_reference.py"),
                     "--config", cfg_path, "--weights", weights, "--input", inp,
                     "--output", self.path, "--float64"])
            self.value = np.load(self.path)
        return self.value


def check_peer(name, peer_out, infini_out, ref):
    """Compares a peer's output with infini-run's; on a mismatch asks the float64 ref.

    Without an infini-run output (it failed), the peer is held to the float64 reference.
    """
    if infini_out is None:
        r = bound_ratio(peer_out, ref.get())
        res = {"vs_f64_only": r, "vs_infini": r, "ok": r <= 1.0, "infini_vs_f64": None,
               "peer_vs_f64": r, "wrong": [] if r <= 1.0 else [name]}
        if r > 1.0:
            log(f"  MISMATCH: {name} vs float64: {r:.2f}x SPEC's bound")
        return res
    r = bound_ratio(peer_out, infini_out)
    res = {"vs_infini": r, "ok": r <= 1.0}
    if r > 1.0:
        f64 = ref.get()
        res["infini_vs_f64"] = bound_ratio(infini_out, f64)
        res["peer_vs_f64"] = bound_ratio(peer_out, f64)
        bad = [who for who, v in (("infini-run", res["infini_vs_f64"]),
                                  (name, res["peer_vs_f64"])) if v > 1.0]
        res["wrong"] = bad or ["neither (both within the bound of float64, not of each other)"]
        banner = "!" * 78
        log(banner)
        log(f"  MISMATCH: {name} vs infini-run: max error {r:.2f}x SPEC's bound; "
            f"vs float64: infini-run {res['infini_vs_f64']:.2f}x, "
            f"{name} {res['peer_vs_f64']:.2f}x -> wrong: {', '.join(res['wrong'])}")
        log(banner)
    return res


# ----------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------


def machine():
    cpu = platform.processor() or "unknown CPU"
    flags = ""
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
        m = re.search(r"^model name\s*:\s*(.+)$", info, re.M)
        if m:
            cpu = m.group(1).strip()
        fl = re.search(r"^flags\s*:\s*(.+)$", info, re.M)
        if fl:
            have = set(fl.group(1).split())
            flags = ", ".join(x for x in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile")
                              if x in have)
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(re.search(r"MemTotal:\s*(\d+)", f.read()).group(1))
        mem = f", {kb / 2**20:.0f} GiB RAM"
    except (OSError, AttributeError):
        pass
    return f"{cpu}, {os.cpu_count()} cores ({flags}){mem}"


def git_rev():
    try:
        return run_cmd(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]).strip()
    except (RuntimeError, OSError):
        return "unknown"


def fmt(x, spec="{:,.0f}"):
    return "n/a" if x is None else spec.format(x)


def build_tables(results, meta):
    """Returns (main, per-thread, sgemm) tables: lists of rows of strings, headers first."""
    head = ["model", "tokens", "MFLOP/token", "infini tok/s (thr)", "infini GFLOP/s",
            "infini JIT s", "PyTorch tok/s (thr)", "infini/PyTorch", "IREE tok/s (thr)",
            "infini/IREE", "% of OpenBLAS bound", "checks"]
    rows = [head]
    for r in results:
        n, fl = r["tokens"], r["flops"]["total"]
        inf = r.get("infini")
        tor = r.get("torch")
        ire = r.get("iree")
        inf_tps = n / inf["best_s"] if inf else None
        row = [r["model"], f"{n:,}", f"{fl / n / 1e6:.1f}",
               (f"{inf_tps:,.0f} ({inf['threads'] or 1})" if inf else
                ("FAILED" if r.get("infini_error") else "n/a")),
               fmt(fl / inf["best_s"] * 1e-9 if inf else None, "{:.1f}"),
               fmt(inf["compile_s"] if inf else None, "{:.2f}")]
        if tor:
            row += [f"{n / tor['best_s']:,.0f} ({tor['threads']})",
                    f"{tor['best_s'] / inf['best_s']:.2f}x" if inf else "n/a"]
        else:
            row += [r.get("torch_error", "n/a"), "n/a"]
        if ire:
            row += [f"{n / ire['best_s']:,.0f} ({ire['threads']})",
                    f"{ire['best_s'] / inf['best_s']:.2f}x" if inf else "n/a"]
        else:
            reason = r.get("iree_error") or meta.get("iree_reason", "n/a")
            row += [f"not measured: {reason}", "n/a"]
        sg = r.get("sgemm")
        if sg and inf:
            row.append(f"{100 * sg['bound_s'][inf['threads'] or 1] / inf['best_s']:.0f}%")
        else:
            row.append("n/a")
        checks = []
        for peer in ("torch", "iree"):
            ck = r.get(f"check_{peer}")
            if ck:
                what = "vs float64 " if "vs_f64_only" in ck else ""
                v = ck["vs_infini"]
                checks.append(f"{peer} {what}{'ok' if ck['ok'] else 'MISMATCH'} "
                              f"({v:.2f})" if v >= 0.01 else f"{peer} {what}ok ({v:.0e})")
        row.append(", ".join(checks) or "n/a")
        rows.append(row)

    thr_rows = [["model", "engine", "1 thread tok/s", "2 threads tok/s", "compile s"]]
    for r in results:
        n = r["tokens"]
        for key, label in (("infini", "infini-run"), ("torch", "PyTorch eager"),
                           ("iree", "IREE llvm-cpu")):
            e = r.get(key)
            if not e:
                continue
            per = e["per_threads"]
            if None in per:  # an infini-run without --num-threads: single-threaded
                per = {1: per[None]}
            thr_rows.append([r["model"], label] + [
                f"{n / per[t]['best_s']:,.0f}" if t in per else "n/a" for t in THREADS]
                + [f"{e['compile_s']:.2f}" if e.get("compile_s") is not None else "-"])

    sg_rows = [["model", "M x N x K (count/layer)", "1 thread GFLOP/s", "2 threads GFLOP/s"]]
    for r in results:
        sg = r.get("sgemm")
        if not sg:
            continue
        for shape, cnt in sg["counts"].items():
            sg_rows.append([r["model"], f"{shape[0]} x {shape[1]} x {shape[2]} ({cnt})",
                            f"{sg['per_shape'][1][shape][1]:.1f}",
                            f"{sg['per_shape'][2][shape][1]:.1f}"])
        sg_rows.append([r["model"], "**FLOP-weighted**", f"**{sg['weighted'][1]:.1f}**",
                        f"**{sg['weighted'][2]:.1f}**"])
        ffn = r.get("ffn_block")
        if ffn:
            if None in ffn:
                ffn = {1: ffn[None]}
            sg_rows.append([r["model"], "infini-run FFN block (% of OpenBLAS on its shapes)"] + [
                f"{ffn[t]['gflops']:.1f} ({100 * ffn[t]['gflops'] / ffn[t]['openblas_gflops']:.0f}%)"
                if t in ffn else "n/a" for t in THREADS])
    return rows, thr_rows, sg_rows


def text_table(rows):
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    out = []
    for k, r in enumerate(rows):
        out.append("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def md_table(rows):
    out = ["| " + " | ".join(rows[0]) + " |", "|" + "|".join(" --- " for _ in rows[0]) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows[1:]]
    return "\n".join(out)


def notes(meta, names):
    return [
        f"Command: `{meta['command']}`",
        "Models: " + "; ".join(f"{n} = {MODELS[n][1]}" for n in names) + ".",
        f"Machine: {meta['machine']}; commit {meta['commit']}, {meta['date']}.",
        f"Versions: PyTorch {meta['torch']}, IREE {meta.get('iree_version', 'n/a')}, "
        f"{meta['openblas']}.",
        "Batch 1, random unit-scale weights and input (seed 0), hidden-state models "
        "(vocab 0), 2 layers.",
        "Times are the best of 3 after a warm-up (infini-run: best of 3 runs, its time in "
        "compiled code; JIT = lowering + LLVM, best of all its runs). "
        + ("Every engine is shown at its faster thread count (thr) of 1 and 2"
           if meta.get("infini_threads") else
           "infini-run is single-threaded (no --num-threads); PyTorch and IREE are shown at "
           "their faster thread count (thr) of 1 and 2")
        + (f"; infini-run flags: {' '.join(meta['infini_flags'])}"
           if meta.get("infini_flags") else "")
        + ". `infini/X` = X's time / infini-run's time (> 1: infini-run is faster).",
        "GFLOP/s = the model's analytical FLOPs (matrix products only; attention over the "
        "causal triangle; see benchmarks/README.md) / time, the same count for every engine.",
        "% of OpenBLAS bound = (projection + FFN FLOPs / OpenBLAS's FLOP-weighted sgemm "
        "rate on the model's shapes at infini-run's thread count) / infini-run's time: the "
        "share of infini-run's time that its dense products alone would take at OpenBLAS "
        "speed.",
        "infini-run FFN block: layer 0's RMSNorm, SwiGLU (gate and up as one product, down) "
        "and residual add compiled alone (benchmarks/run.py ffn_block_mlir), its FFN FLOPs "
        "/ time, beside OpenBLAS's FLOP-weighted rate on the same three products; the "
        "norm, the activation and the add run in its time, not in OpenBLAS's.",
        "checks: each peer's output against infini-run's, as max error / SPEC's bound "
        "(2e-3 + 2e-3|ref|); <= 1 is a match.",
        "PyTorch peer: benchmarks/torch_peer.py, eager float32 nn.Module; attention "
        + ("F.scaled_dot_product_attention(is_causal=True) where no CoPE"
           if meta.get("torch_sdpa") else
           "masked softmax(QK^T)V (this torch has no F.scaled_dot_product_attention)")
        + "; CoPE as in the paper's appendix code.",
        "IREE peer: benchmarks/iree_peer.py, the segment step as hand-written linalg MLIR, "
        "weights as IREE parameters, local-task driver; iree-compile "
        + (" ".join(f"`{f}`" for f in meta["iree_flags"]) if meta.get("iree_flags")
           else "n/a") + ".",
    ]


# ----------------------------------------------------------------------------------------


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help=f"smoke run: {QUICK_TOKENS} tokens, models {', '.join(QUICK_MODELS)}")
    p.add_argument("--models", help="comma-separated subset of: " + ", ".join(MODELS))
    p.add_argument("--tokens", type=int, help=f"input length (default {FULL_TOKENS})")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per engine (best of)")
    p.add_argument("--markdown", help="also write the tables as Markdown to this file")
    p.add_argument("--json", help="also write all measurements as JSON to this file")
    p.add_argument("--infini-run", default=os.path.join(ROOT, "build", "bin", "infini-run"))
    p.add_argument("--infini-flag", action="append", default=[],
                   help="an extra infini-run flag, e.g. --infini-flag=--fuse-attention "
                        "(repeatable)")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch peer")
    p.add_argument("--no-iree", action="store_true", help="skip the IREE peer")
    p.add_argument("--iree-venv", default="/tmp/infini-bench-iree-venv",
                   help="venv holding iree-base-compiler/runtime (created if missing)")
    p.add_argument("--no-iree-install", action="store_true",
                   help="do not pip-install IREE when the venv lacks it")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    p.add_argument("--openblas-coretype",
                   help="OPENBLAS_CORETYPE for the OpenBLAS sgemm limit and PyTorch "
                        "(default: OpenBLAS's own choice for the CPU, whatever the "
                        "environment says)")
    args = p.parse_args(argv)

    names = (args.models.split(",") if args.models
             else QUICK_MODELS if args.quick else list(MODELS))
    for n in names:
        if n not in MODELS:
            p.error(f"unknown model {n!r}; choose from {', '.join(MODELS)}")
    tokens = args.tokens or (QUICK_TOKENS if args.quick else FULL_TOKENS)
    if not os.access(args.infini_run, os.X_OK):
        p.error(f"{args.infini_run} not found: build first (cmake -G Ninja -S . -B build && "
                "ninja -C build)")

    import torch  # noqa: E402  (only for its version string)
    meta = {"command": " ".join(["/usr/bin/python3", "benchmarks/run.py"]
                                + [shlex.quote(a) for a in (argv or sys.argv[1:])]),
            "machine": machine(), "commit": git_rev(),
            "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
            "torch": torch.__version__, "tokens": tokens,
            "torch_sdpa": hasattr(torch.nn.functional, "scaled_dot_product_attention")}
    try:
        meta["openblas"] = "OpenBLAS " + run_cmd(
            ["dpkg-query", "-W", "-f=${Version}", "libopenblas0-pthread"]).strip()
    except (RuntimeError, OSError):
        meta["openblas"] = "OpenBLAS"
    global OPENBLAS_CORETYPE
    OPENBLAS_CORETYPE = args.openblas_coretype
    core = openblas_corename(OPENBLAS_CORETYPE)
    pinned = os.environ.get("OPENBLAS_CORETYPE")
    if core:
        meta["openblas"] += (f" ({core} kernels, "
                             + ("--openblas-coretype" if OPENBLAS_CORETYPE else
                                "its own choice for this CPU")
                             + (f"; the environment's OPENBLAS_CORETYPE={pinned} is not used"
                                if pinned and not OPENBLAS_CORETYPE else "") + ")")
        log(f"OpenBLAS (sgemm and PyTorch): {core} kernels"
            + (f" (the environment's OPENBLAS_CORETYPE={pinned} is dropped)"
               if pinned and not OPENBLAS_CORETYPE else ""))

    infini_threads = THREADS if infini_has_threads(args.infini_run) else (None,)
    meta["infini_threads"] = infini_threads != (None,)
    meta["infini_flags"] = args.infini_flag
    iree_ok = False
    if args.no_iree:
        meta["iree_reason"] = "skipped (--no-iree)"
    else:
        iree_ok, info = ensure_iree(args.iree_venv, not args.no_iree_install)
        if iree_ok:
            meta["iree_version"] = info
        else:
            meta["iree_reason"] = info
            log(f"IREE not measured: {info}")

    tmp = tempfile.mkdtemp(prefix="infini-bench-")
    results = []
    try:
        sgemm_exe = None
        try:
            sgemm_exe = build_sgemm(tmp)
        except (RuntimeError, OSError) as e:
            log(f"OpenBLAS sgemm not measured: {e}")
        for name in names:
            c = load_config(name)
            cfg_path = os.path.join(HERE, "configs", MODELS[name][0])
            d = os.path.join(tmp, name)
            os.makedirs(d)
            w, x = os.path.join(d, "w.safetensors"), os.path.join(d, "in.npy")
            r = {"model": name, "description": MODELS[name][1], "tokens": tokens,
                 "flops": flops(c, tokens), "config": c}
            results.append(r)
            log(f"{name}: {MODELS[name][1]}, {tokens} tokens")
            run_cmd([PY, os.path.join(ROOT, "test", "reference", "make_case.py"), "--config",
                     cfg_path, "--batch", "1", "--tokens", str(tokens), "--seed", "0",
                     "--weights", w, "--input", x])
            ref = Reference(cfg_path, w, x, os.path.join(d, "ref.npy"))

            t0 = time.time()
            try:
                r["infini"] = bench_infini(args.infini_run, cfg_path, w, x,
                                           os.path.join(d, "infini.npy"), args.repeats,
                                           infini_threads, args.infini_flag)
                infini_out = np.load(os.path.join(d, "infini.npy"))
                log(f"  infini-run  {tokens / r['infini']['best_s']:9.1f} tok/s  "
                    f"({r['infini']['threads'] or 'default'} thr, JIT "
                    f"{r['infini']['compile_s']:.2f} s; {time.time() - t0:.0f} s)")
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                # The peers are still timed, and checked against float64 instead.
                r["infini_error"] = str(e).strip().splitlines()[-1][:300]
                log(f"  INFINI-RUN FAILED: {e}")
                infini_out = None

            if not args.no_torch:
                t0 = time.time()
                try:
                    r["torch"] = bench_torch(cfg_path, w, x, os.path.join(d, "torch.npy"),
                                             args.repeats)
                    r["check_torch"] = check_peer("pytorch", np.load(os.path.join(
                        d, "torch.npy")), infini_out, ref)
                    log(f"  PyTorch     {tokens / r['torch']['best_s']:9.1f} tok/s  "
                        f"({r['torch']['threads']} thr; {time.time() - t0:.0f} s)")
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    r["torch_error"] = f"failed: {str(e).splitlines()[0][:80]}"
                    log(f"  PyTorch peer failed: {e}")

            if iree_ok:
                t0 = time.time()
                try:
                    r["iree"] = bench_iree(args.iree_venv, cfg_path, tokens, w, x,
                                           os.path.join(d, "iree.npy"),
                                           os.path.join(d, "iree"), args.repeats)
                    meta.setdefault("iree_flags", r["iree"]["flags"])
                    r["check_iree"] = check_peer("iree", np.load(os.path.join(
                        d, "iree.npy")), infini_out, ref)
                    log(f"  IREE        {tokens / r['iree']['best_s']:9.1f} tok/s  "
                        f"({r['iree']['threads']} thr, compile {r['iree']['compile_s']:.1f} s; "
                        f"{time.time() - t0:.0f} s)")
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    r["iree_error"] = f"failed ({str(e).splitlines()[0][:60]})"
                    log(f"  IREE peer failed: {e}")

            if sgemm_exe:
                counts = gemm_shapes(c, tokens)
                per_shape = bench_sgemm(sgemm_exe, list(counts))
                weighted = {n: weighted_gflops(per_shape[n], counts) for n in THREADS}
                dense = r["flops"]["proj"] + r["flops"]["ffn"]
                r["sgemm"] = {"counts": counts, "per_shape": per_shape, "weighted": weighted,
                              "bound_s": {n: dense / (weighted[n] * 1e9) for n in THREADS}}
                log(f"  OpenBLAS    {weighted[1]:.1f} / {weighted[2]:.1f} GFLOP/s (1/2 thr)")
                # The matrix-product-bound part alone: the FFN block in infini-run
                # against OpenBLAS on the FFN's shapes, thread count by thread count.
                ffn_path = os.path.join(d, "ffn.mlir")
                with open(ffn_path, "w") as f:
                    f.write(ffn_block_mlir(c, tokens))
                try:
                    ffn = bench_infini(args.infini_run, ffn_path, w, x,
                                       os.path.join(d, "ffn.npy"), args.repeats,
                                       infini_threads, args.infini_flag)
                    fl = 2 * 3 * c["hidden_size"] * c["intermediate_size"] * tokens
                    fc = ffn_shapes(c, tokens)
                    r["ffn_block"] = {
                        n: {"gflops": fl / p["best_s"] * 1e-9,
                            "openblas_gflops": weighted_gflops(per_shape[n or 1], fc)}
                        for n, p in ffn["per_threads"].items()}
                    log("  FFN block   " + ", ".join(
                        f"{v['gflops']:.1f} GFLOP/s = "
                        f"{100 * v['gflops'] / v['openblas_gflops']:.0f}% of OpenBLAS "
                        f"({n or 'default'} thr)" for n, v in r["ffn_block"].items()))
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    log(f"  FFN block not measured: {e}")
    finally:
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    rows, thr_rows, sg_rows = build_tables(results, meta)
    print(text_table(rows))
    print()
    print("Per thread count (best of runs):")
    print(text_table(thr_rows))
    print()
    if len(sg_rows) > 1:
        print("OpenBLAS sgemm, C = A B^T (nn.Linear layout), M = segment tokens:")
        print(text_table(sg_rows))
        print()
    for line in notes(meta, names):
        print(line)
    failures = [f"{r['model']}: {r['infini_error']}" for r in results if r.get("infini_error")]
    for f_ in failures:
        print(f"!!! infini-run FAILED on {f_}")
    mismatches = [f"{r['model']}: {peer}" for r in results for peer in ("torch", "iree")
                  if r.get(f"check_{peer}") and not r[f"check_{peer}"]["ok"]]
    if mismatches:
        print()
        print("!!! OUTPUT MISMATCH (see the log above for which side the float64 reference "
              "blames): " + "; ".join(mismatches))
        for r in results:
            for peer in ("torch", "iree"):
                ck = r.get(f"check_{peer}")
                if ck and not ck["ok"] and ck["infini_vs_f64"] is not None:
                    print(f"!!!   {r['model']}: {peer} vs infini-run {ck['vs_infini']:.2f}x "
                          f"bound; vs float64: infini-run {ck['infini_vs_f64']:.2f}x, "
                          f"{peer} {ck['peer_vs_f64']:.2f}x -> wrong: {', '.join(ck['wrong'])}")

    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(f"### Benchmark: {tokens:,} tokens, batch 1\n\n")
            f.write(md_table(rows) + "\n\n")
            f.write("Per thread count:\n\n" + md_table(thr_rows) + "\n\n")
            if len(sg_rows) > 1:
                f.write("OpenBLAS sgemm GFLOP/s on the models' projection and FFN shapes "
                        "(C = A B^T, M = segment tokens):\n\n")
                f.write(md_table(sg_rows) + "\n\n")
            for line in notes(meta, names):
                f.write(f"- {line}\n")
            for f_ in failures:
                f.write(f"\n**infini-run failed** on {f_}\n")
            if mismatches:
                f.write("\n**Output mismatch** (max error / SPEC's bound):\n\n")
                for r in results:
                    for peer in ("torch", "iree"):
                        ck = r.get(f"check_{peer}")
                        if not ck or ck["ok"]:
                            continue
                        if ck["infini_vs_f64"] is None:
                            f.write(f"- {r['model']}: {peer} vs float64 {ck['vs_infini']:.2f}\n")
                        else:
                            f.write(f"- {r['model']}: {peer} vs infini-run {ck['vs_infini']:.2f}; "
                                    f"vs float64: infini-run {ck['infini_vs_f64']:.2f}, {peer} "
                                    f"{ck['peer_vs_f64']:.2f} -> wrong: "
                                    f"{', '.join(ck['wrong'])}\n")
        log(f"wrote {args.markdown}")
    if args.json:
        def enc(o):
            if isinstance(o, dict):
                return {(" x ".join(map(str, k)) if isinstance(k, tuple) else str(k)): enc(v)
                        for k, v in o.items()}
            if isinstance(o, (list, tuple)):
                return [enc(v) for v in o]
            return o
        with open(args.json, "w") as f:
            json.dump(enc({"meta": meta, "results": results}), f, indent=1)
        log(f"wrote {args.json}")
    return 1 if mismatches or failures else 0


if __name__ == "__main__":
    sys.exit(main())
