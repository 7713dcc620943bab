#!/usr/bin/env python3
"""The benchmark's IREE peer: the SPEC model's segment step as hand-written MLIR.

The step (all layers over one segment, batch 1) is emitted as linalg-on-tensors text —
`linalg.matmul` for the projections, `linalg.generic` contractions for attention and
the compressive memory, `linalg.softmax`, `iree_linalg_ext.scan` for CoPE's cumulative
sum — with the weights as `util.global`s bound to IREE parameters named as in SPEC
(`#stream.parameter.named<"model"::"layers.0.attn.q_proj.weight">`), so IREE can hoist
weight re-layouts (data tiling) out of the step. The safetensors file is given to IREE's
runtime as the parameter archive as it is. The host loop runs the step segment by
segment, carrying each layer's memory state as device arrays.

    iree_peer.py emit --config C.json [--tokens N] -o step.mlir   (no IREE needed)
    iree_peer.py compile --config C.json --tokens N --workdir DIR   (-> DIR/step.vmfb)
    iree_peer.py run --config C.json --weights W.safetensors --input IN.npy \
        [--vmfb DIR/step.vmfb] [--output OUT.npy] [--threads 1] [--repeats 3] [--warmup 1]

`compile` runs iree-compile for llvm-cpu at `--iree-llvmcpu-target-cpu=host` (with data
tiling, or without it if that fails) and prints {"vmfb", "compile_s", "flags"}; `run`
(compiling first unless given --vmfb) times the whole input on the local-task driver
with --threads workers and prints one JSON line: {"threads", "compile_s", "times_s",
"best_s", "driver"}. It needs the iree-base-compiler and iree-base-runtime packages
(run.py installs them into a venv under /tmp).

CoPE's reversed cumulative sum p_ij = sum_{t=j..i} g_it is one forward inclusive
`iree_linalg_ext.scan` over the gates read in reversed key order (a `tensor.extract` at
`T-1-j`: IREE 3.13 miscompiles the equivalent `T-1-d2` indexing map), read back the same
way, accumulating in f64 like torch's CPU cumsum. Both matter for SPEC's bound: the
forward-scan identity p_ij = C_ii - C_ij + g_ij loses too much to cancellation, and a
float32 running sum over up to T gates misses the bound near the P-1 clamp.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time

import numpy as np

def fl(x):
    """An f32 literal MLIR parses (always with a mantissa dot and an exponent)."""
    return f"{float(x):.9e}"


def tt(*shape, dtype="f32"):
    return "tensor<" + "x".join(str(s) for s in shape) + ("x" if shape else "") + dtype + ">"


def _operand(o):
    """(value, shape) or (value, shape, dtype) -> (value, shape, dtype)."""
    return o if len(o) == 3 else (o[0], o[1], "f32")


def amap(ndim, results):
    dims = ", ".join(f"d{i}" for i in range(ndim))
    return f"affine_map<({dims}) -> ({results})>"


class Emitter:
    """Writes MLIR text, one SSA value per helper call."""

    def __init__(self):
        self.lines = []
        self.n = 0

    def fresh(self, hint="v"):
        self.n += 1
        return f"%{hint}{self.n}"

    def emit(self, line):
        self.lines.append("    " + line)

    def const_f(self, value):
        v = self.fresh("c")
        self.emit(f"{v} = arith.constant {fl(value)} : f32" if isinstance(value, float)
                  else f"{v} = arith.constant {value} : f32")
        return v

    def empty(self, shape):
        v = self.fresh("e")
        self.emit(f"{v} = tensor.empty() : {tt(*shape)}")
        return v

    def zeros(self, shape, dtype="f32"):
        e = self.fresh("e")
        self.emit(f"{e} = tensor.empty() : {tt(*shape, dtype=dtype)}")
        z = self.fresh("zero")
        self.emit(f"{z} = arith.constant 0.0 : {dtype}")
        v = self.fresh("f")
        ty = tt(*shape, dtype=dtype)
        self.emit(f"{v} = linalg.fill ins({z} : {dtype}) outs({e} : {ty}) -> {ty}")
        return v

    def generic(self, ins, outs, maps, iters, body, out_shapes, hint="g"):
        """ins/outs: lists of (value, shape); maps: affine result strings (per operand);
        body(args) -> list of lines, yielding with `linalg.yield`; args are block args."""
        ins, outs = [_operand(o) for o in ins], [_operand(o) for o in outs]
        ndim = len(iters)
        v = self.fresh(hint)
        nres = len(outs)
        res = v if nres == 1 else f"{v}:{nres}"
        map_txt = ", ".join(amap(ndim, m) for m in maps)
        iter_txt = ", ".join(f'"{i}"' for i in iters)
        ins_txt = ", ".join(a for a, _, _ in ins)
        ins_ty = ", ".join(tt(*s, dtype=d) for _, s, d in ins)
        outs_txt = ", ".join(a for a, _, _ in outs)
        outs_ty = ", ".join(tt(*s, dtype=d) for _, s, d in outs)
        self.emit(f"{res} = linalg.generic {{indexing_maps = [{map_txt}], "
                  f"iterator_types = [{iter_txt}]}}"
                  + (f" ins({ins_txt} : {ins_ty})" if ins else "")
                  + f" outs({outs_txt} : {outs_ty}) {{")
        args = [f"%a{i}" for i in range(len(ins) + len(outs))]
        types = [d for _, _, d in ins + outs]
        self.lines.append("    ^bb0(" + ", ".join(f"{a}: {d}" for a, d in zip(args, types))
                          + "):")
        for line in body(args):
            self.emit("  " + line)
        self.emit("} -> " + ", ".join(tt(*s, dtype=d) for (_, _, d), s in zip(outs, out_shapes)))
        return v if nres == 1 else [f"{v}#{i}" for i in range(nres)]

    # -- building blocks --------------------------------------------------------------

    def linear(self, x, w, m, n, k):
        """x[m,k] W[n,k]^T (nn.Linear layout) -> [m,n]."""
        acc = self.zeros((m, n))
        v = self.fresh("mm")
        maps = ", ".join(amap(3, r) for r in ("d0, d2", "d1, d2", "d0, d1"))
        self.emit(f"{v} = linalg.matmul indexing_maps = [{maps}] ins({x}, {w} : "
                  f"{tt(m, k)}, {tt(n, k)}) outs({acc} : {tt(m, n)}) -> {tt(m, n)}")
        return v

    def rmsnorm(self, x, w, t, d, eps):
        acc = self.zeros((t,))
        ss = self.generic([(x, (t, d))], [(acc, (t,))], ["d0, d1", "d0"],
                          ["parallel", "reduction"],
                          lambda a: [f"%s = arith.mulf {a[0]}, {a[0]} : f32",
                                     f"%r = arith.addf %s, {a[1]} : f32",
                                     "linalg.yield %r : f32"], [(t,)], "ss")
        out = self.empty((t, d))
        return self.generic([(x, (t, d)), (ss, (t,)), (w, (d,))], [(out, (t, d))],
                            ["d0, d1", "d0", "d1", "d0, d1"], ["parallel", "parallel"],
                            lambda a: [f"%n = arith.constant {fl(float(d))} : f32",
                                       f"%e = arith.constant {fl(eps)} : f32",
                                       f"%m = arith.divf {a[1]}, %n : f32",
                                       "%me = arith.addf %m, %e : f32",
                                       "%r = math.rsqrt %me : f32",
                                       f"%y = arith.mulf {a[0]}, %r : f32",
                                       f"%yw = arith.mulf %y, {a[2]} : f32",
                                       "linalg.yield %yw : f32"], [(t, d)], "norm")

    def add(self, x, y, shape):
        out = self.empty(shape)
        idx = ", ".join(f"d{i}" for i in range(len(shape)))
        return self.generic([(x, shape), (y, shape)], [(out, shape)], [idx] * 3,
                            ["parallel"] * len(shape),
                            lambda a: [f"%r = arith.addf {a[0]}, {a[1]} : f32",
                                       "linalg.yield %r : f32"], [shape], "add")

    def expand(self, x, src, dst, reassoc):
        v = self.fresh("x")
        self.emit(f"{v} = tensor.expand_shape {x} {reassoc} output_shape "
                  f"[{', '.join(map(str, dst))}] : {tt(*src)} into {tt(*dst)}")
        return v

    def collapse(self, x, src, dst, reassoc):
        v = self.fresh("x")
        self.emit(f"{v} = tensor.collapse_shape {x} {reassoc} : {tt(*src)} into {tt(*dst)}")
        return v

    def rope(self, x, cos, sin, t, h, dh, layout):
        """x: [t,h,dh] (rotary_dim = dh); cos/sin: [t, dh/2]."""
        half = dh // 2
        if layout == "half_split":
            shape4 = (t, h, 2, half)
            x4 = self.expand(x, (t, h, dh), shape4, "[[0], [1], [2, 3]]")
            ma, mb, cs, sel = "d0, d1, 0, d3", "d0, d1, 1, d3", "d0, d3", 2
        else:
            shape4 = (t, h, half, 2)
            x4 = self.expand(x, (t, h, dh), shape4, "[[0], [1], [2, 3]]")
            ma, mb, cs, sel = "d0, d1, d2, 0", "d0, d1, d2, 1", "d0, d2", 3
        out = self.empty(shape4)
        r = self.generic([(x4, shape4), (x4, shape4), (cos, (t, half)), (sin, (t, half))],
                         [(out, shape4)], [ma, mb, cs, cs, "d0, d1, d2, d3"],
                         ["parallel"] * 4,
                         lambda a: [f"%i = linalg.index {sel} : index",
                                    "%c0 = arith.constant 0 : index",
                                    "%first = arith.cmpi eq, %i, %c0 : index",
                                    f"%ac = arith.mulf {a[0]}, {a[2]} : f32",
                                    f"%bs = arith.mulf {a[1]}, {a[3]} : f32",
                                    f"%bc = arith.mulf {a[1]}, {a[2]} : f32",
                                    f"%as = arith.mulf {a[0]}, {a[3]} : f32",
                                    "%r0 = arith.subf %ac, %bs : f32",
                                    "%r1 = arith.addf %bc, %as : f32",
                                    "%r = arith.select %first, %r0, %r1 : f32",
                                    "linalg.yield %r : f32"], [shape4], "rope")
        return self.collapse(r, shape4, (t, h, dh), "[[0], [1], [2, 3]]")

    def elu1(self, x, shape):
        """s(x) = elu(x) + 1."""
        out = self.empty(shape)
        idx = ", ".join(f"d{i}" for i in range(len(shape)))
        return self.generic([(x, shape)], [(out, shape)], [idx, idx],
                            ["parallel"] * len(shape),
                            lambda a: ["%z = arith.constant 0.0 : f32",
                                       "%one = arith.constant 1.0 : f32",
                                       f"%pos = arith.cmpf ogt, {a[0]}, %z : f32",
                                       f"%p = arith.addf {a[0]}, %one : f32",
                                       f"%e = math.exp {a[0]} : f32",
                                       "%r = arith.select %pos, %p, %e : f32",
                                       "linalg.yield %r : f32"], [shape], "elu")

    def retrieve(self, s, mem, z, t, h, dh, eps):
        """s(Q) M / (s(Q) z + eps) -> [t,h,dh]."""
        acc = self.zeros((t, h, dh))
        num = self.generic([(s, (t, h, dh)), (mem, (h, dh, dh))], [(acc, (t, h, dh))],
                           ["d0, d1, d3", "d1, d3, d2", "d0, d1, d2"],
                           ["parallel", "parallel", "parallel", "reduction"],
                           lambda a: [f"%p = arith.mulf {a[0]}, {a[1]} : f32",
                                      f"%r = arith.addf %p, {a[2]} : f32",
                                      "linalg.yield %r : f32"], [(t, h, dh)], "num")
        acc2 = self.zeros((t, h))
        den = self.generic([(s, (t, h, dh)), (z, (h, dh))], [(acc2, (t, h))],
                           ["d0, d1, d2", "d1, d2", "d0, d1"],
                           ["parallel", "parallel", "reduction"],
                           lambda a: [f"%p = arith.mulf {a[0]}, {a[1]} : f32",
                                      f"%r = arith.addf %p, {a[2]} : f32",
                                      "linalg.yield %r : f32"], [(t, h)], "den")
        return num, den

    # -- the block ---------------------------------------------------------------------

    def layer(self, c, i, x, cos, sin, mem, z, t):
        d, h, dh, f = c["hidden_size"], c["num_heads"], c["head_dim"], c["intermediate_size"]
        hd = h * dh
        eps = float(c.get("norm_eps", 1e-5))
        w = lambda name: f"%w{i}_{name.replace('.', '_')}"  # noqa: E731
        for name in self.layer_weight_names(c):
            self.emit(f"{w(name)} = util.global.load @layers_{i}_{name.replace('.', '_')} : "
                      f"{tt(*self.weight_shapes(c)[name])}")

        hn = self.rmsnorm(x, w("attn_norm.weight"), t, d, eps)
        q = self.expand(self.linear(hn, w("attn.q_proj.weight"), t, hd, d), (t, hd), (t, h, dh),
                        "[[0], [1, 2]]")
        k = self.expand(self.linear(hn, w("attn.k_proj.weight"), t, hd, d), (t, hd), (t, h, dh),
                        "[[0], [1, 2]]")
        v = self.expand(self.linear(hn, w("attn.v_proj.weight"), t, hd, d), (t, hd), (t, h, dh),
                        "[[0], [1, 2]]")
        rope = c.get("rope")
        if rope:
            layout = rope.get("layout", "half_split")
            qr = self.rope(q, cos, sin, t, h, dh, layout)
            kr = self.rope(k, cos, sin, t, h, dh, layout)
        else:
            qr, kr = q, k

        # Scores [h, i, j], scaled and causally masked.
        acc = self.zeros((h, t, t))
        s = self.generic([(qr, (t, h, dh)), (kr, (t, h, dh))], [(acc, (h, t, t))],
                         ["d1, d0, d3", "d2, d0, d3", "d0, d1, d2"],
                         ["parallel", "parallel", "parallel", "reduction"],
                         lambda a: [f"%p = arith.mulf {a[0]}, {a[1]} : f32",
                                    f"%r = arith.addf %p, {a[2]} : f32",
                                    "linalg.yield %r : f32"], [(h, t, t)], "qk")
        scale = 1.0 / math.sqrt(dh)
        mask_lines = ["%i = linalg.index 1 : index", "%j = linalg.index 2 : index",
                      "%ok = arith.cmpi ule, %j, %i : index",
                      "%ninf = arith.constant 0xFF800000 : f32"]
        out = self.empty((h, t, t))
        logits = self.generic([(s, (h, t, t))], [(out, (h, t, t))], ["d0, d1, d2"] * 2,
                              ["parallel"] * 3,
                              lambda a: mask_lines + [
                                  f"%sc = arith.constant {fl(scale)} : f32",
                                  f"%l = arith.mulf {a[0]}, %sc : f32",
                                  "%r = arith.select %ok, %l, %ninf : f32",
                                  "linalg.yield %r : f32"], [(h, t, t)], "logit")
        if c.get("cope"):
            logits = self.cope(c, i, logits, qr, t, h, dh, mask_lines)
        probs_init = self.empty((h, t, t))
        probs = self.fresh("softmax")
        self.emit(f"{probs} = linalg.softmax dimension(2) ins({logits} : {tt(h, t, t)}) "
                  f"outs({probs_init} : {tt(h, t, t)}) -> {tt(h, t, t)}")
        acc = self.zeros((t, h, dh))
        a_dot = self.generic([(probs, (h, t, t)), (v, (t, h, dh))], [(acc, (t, h, dh))],
                             ["d0, d1, d3", "d3, d0, d2", "d1, d0, d2"],
                             ["parallel", "parallel", "parallel", "reduction"],
                             lambda a: [f"%p = arith.mulf {a[0]}, {a[1]} : f32",
                                        f"%r = arith.addf %p, {a[2]} : f32",
                                        "linalg.yield %r : f32"], [(t, h, dh)], "pv")

        new_mem, new_z = mem, z
        if c.get("memory"):
            meps = float(c["memory"].get("eps") or 1e-6)
            qm, km = (qr, kr) if c.get("memory_uses_rope") else (q, k)
            sq = self.elu1(qm, (t, h, dh))
            num, den = self.retrieve(sq, mem, z, t, h, dh, meps)
            out = self.empty((t, h, dh))
            a_dot = self.generic(
                [(num, (t, h, dh)), (den, (t, h)), (a_dot, (t, h, dh)),
                 (w("attn.memory_gate"), (h,))], [(out, (t, h, dh))],
                ["d0, d1, d2", "d0, d1", "d0, d1, d2", "d1", "d0, d1, d2"], ["parallel"] * 3,
                lambda a: [f"%eps = arith.constant {fl(meps)} : f32",
                           "%one = arith.constant 1.0 : f32",
                           f"%de = arith.addf {a[1]}, %eps : f32",
                           f"%am = arith.divf {a[0]}, %de : f32",
                           f"%nb = arith.negf {a[3]} : f32",
                           "%ex = math.exp %nb : f32",
                           "%opx = arith.addf %one, %ex : f32",
                           "%g = arith.divf %one, %opx : f32",
                           f"%d = arith.subf %am, {a[2]} : f32",
                           "%gd = arith.mulf %g, %d : f32",
                           f"%r = arith.addf {a[2]}, %gd : f32",
                           "linalg.yield %r : f32"], [(t, h, dh)], "gate")
            sk = self.elu1(km, (t, h, dh))
            upd = c["memory"].get("update", "linear")
            if upd == "delta":
                num_k, den_k = self.retrieve(sk, mem, z, t, h, dh, meps)
                out = self.empty((t, h, dh))
                vd = self.generic([(v, (t, h, dh)), (num_k, (t, h, dh)), (den_k, (t, h))],
                                  [(out, (t, h, dh))],
                                  ["d0, d1, d2", "d0, d1, d2", "d0, d1", "d0, d1, d2"],
                                  ["parallel"] * 3,
                                  lambda a: [f"%eps = arith.constant {fl(meps)} : f32",
                                             f"%de = arith.addf {a[2]}, %eps : f32",
                                             f"%old = arith.divf {a[1]}, %de : f32",
                                             f"%r = arith.subf {a[0]}, %old : f32",
                                             "linalg.yield %r : f32"], [(t, h, dh)], "vd")
            else:
                vd = v
            # M[h,d,e] += sum_t s(K)[t,h,d] vd[t,h,e]; z[h,d] += sum_t s(K)[t,h,d].
            new_mem = self.generic([(sk, (t, h, dh)), (vd, (t, h, dh))], [(mem, (h, dh, dh))],
                                   ["d3, d0, d1", "d3, d0, d2", "d0, d1, d2"],
                                   ["parallel", "parallel", "parallel", "reduction"],
                                   lambda a: [f"%p = arith.mulf {a[0]}, {a[1]} : f32",
                                              f"%r = arith.addf %p, {a[2]} : f32",
                                              "linalg.yield %r : f32"], [(h, dh, dh)], "mem")
            new_z = self.generic([(sk, (t, h, dh))], [(z, (h, dh))],
                                 ["d2, d0, d1", "d0, d1"], ["parallel", "parallel", "reduction"],
                                 lambda a: [f"%r = arith.addf {a[0]}, {a[1]} : f32",
                                            "linalg.yield %r : f32"], [(h, dh)], "z")

        att = self.collapse(a_dot, (t, h, dh), (t, hd), "[[0], [1, 2]]")
        x = self.add(x, self.linear(att, w("attn.o_proj.weight"), t, d, hd), (t, d))
        hn = self.rmsnorm(x, w("ffn_norm.weight"), t, d, eps)
        gte = self.linear(hn, w("ffn.gate_proj.weight"), t, f, d)
        up = self.linear(hn, w("ffn.up_proj.weight"), t, f, d)
        beta = c.get("swish_beta")
        beta = 1.0 if beta is None else float(beta)
        out = self.empty((t, f))
        act = self.generic([(gte, (t, f)), (up, (t, f))], [(out, (t, f))],
                           ["d0, d1"] * 3, ["parallel"] * 2,
                           lambda a: [f"%b = arith.constant {fl(beta)} : f32",
                                      "%one = arith.constant 1.0 : f32",
                                      f"%bx = arith.mulf {a[0]}, %b : f32",
                                      "%nbx = arith.negf %bx : f32",
                                      "%ex = math.exp %nbx : f32",
                                      "%den = arith.addf %one, %ex : f32",
                                      f"%sw = arith.divf {a[0]}, %den : f32",
                                      f"%r = arith.mulf %sw, {a[1]} : f32",
                                      "linalg.yield %r : f32"], [(t, f)], "swiglu")
        x = self.add(x, self.linear(act, w("ffn.down_proj.weight"), t, d, f), (t, d))
        return x, new_mem, new_z

    def cope(self, c, i, logits, qr, t, h, dh, mask_lines):
        npos = int(c["cope"]["npos"])
        e = f"%w{i}_attn_cope_pos_emb"
        # Gates in reversed key order: G[h, i, j'] = g_{i, T-1-j'} (sigmoid on and below the
        # diagonal, 0 above), so that one forward inclusive scan gives the reversed
        # cumulative sum R[h, i, j'] = sum_{t >= T-1-j'} g_it = p_{i, T-1-j'} directly.
        # (The reversal is a tensor.extract at T-1-j: IREE 3.x miscompiles a `T-1-d2`
        # indexing map.)
        out = self.fresh("e")
        self.emit(f"{out} = tensor.empty() : {tt(h, t, t, dtype='f64')}")
        gates = self.generic([], [(out, (h, t, t), "f64")], ["d0, d1, d2"],
                             ["parallel"] * 3,
                             lambda a: [
                                 "%hh = linalg.index 0 : index",
                                 "%i = linalg.index 1 : index",
                                 "%jr = linalg.index 2 : index",
                                 f"%tm1 = arith.constant {t - 1} : index",
                                 "%j = arith.subi %tm1, %jr : index",
                                 "%ok = arith.cmpi ule, %j, %i : index",
                                 "%z = arith.constant 0.0 : f32",
                                 "%one = arith.constant 1.0 : f32",
                                 f"%l = tensor.extract {logits}[%hh, %i, %j] : {tt(h, t, t)}",
                                 "%nl = arith.negf %l : f32",
                                 "%ex = math.exp %nl : f32",
                                 "%den = arith.addf %one, %ex : f32",
                                 "%sg = arith.divf %one, %den : f32",
                                 "%r = arith.select %ok, %sg, %z : f32",
                                 "%rd = arith.extf %r : f32 to f64",
                                 "linalg.yield %rd : f64"], [(h, t, t)], "gates")
        # The scan accumulates in f64, as torch's CPU cumsum does for float32: a float32
        # running sum over up to T gates misses SPEC's bound near the P-1 clamp.
        f64 = lambda *shape: tt(*shape, dtype="f64")  # noqa: E731
        cum_init = self.zeros((h, t, t), "f64")
        last_init = self.zeros((h, t), "f64")
        cum = self.fresh("scan")
        self.emit(f"{cum}:2 = iree_linalg_ext.scan dimension(2) inclusive(true) "
                  f"ins({gates} : {f64(h, t, t)}) outs({cum_init}, {last_init} : "
                  f"{f64(h, t, t)}, {f64(h, t)}) {{")
        self.lines.append("    ^bb0(%s0: f64, %s1: f64):")
        self.emit("  %r = arith.addf %s0, %s1 : f64")
        self.emit("  iree_linalg_ext.yield %r : f64")
        self.emit(f"}} -> {f64(h, t, t)}, {f64(h, t)}")
        # z_i[n] = q_i . E[:, n]  -> [h, t, P]
        acc = self.zeros((h, t, npos))
        zq = self.generic([(qr, (t, h, dh)), (e, (dh, npos))], [(acc, (h, t, npos))],
                          ["d1, d0, d3", "d3, d2", "d0, d1, d2"],
                          ["parallel", "parallel", "parallel", "reduction"],
                          lambda a: [f"%p = arith.mulf {a[0]}, {a[1]} : f32",
                                     f"%r = arith.addf %p, {a[2]} : f32",
                                     "linalg.yield %r : f32"], [(h, t, npos)], "zq")
        out = self.empty((h, t, t))
        # p_ij = min(R[h, i, T-1-j], P-1).
        return self.generic(
            [(logits, (h, t, t))], [(out, (h, t, t))],
            ["d0, d1, d2", "d0, d1, d2"],
            ["parallel"] * 3,
            lambda a: mask_lines + [
                "%hh = linalg.index 0 : index",
                f"%tm1 = arith.constant {t - 1} : index",
                "%jr = arith.subi %tm1, %j : index",
                f"%prd = tensor.extract {cum}#0[%hh, %i, %jr] : {f64(h, t, t)}",
                "%pr = arith.truncf %prd : f64 to f32",
                "%zero = arith.constant 0.0 : f32",
                "%one = arith.constant 1.0 : f32",
                f"%pmax = arith.constant {fl(float(npos - 1))} : f32",
                "%p1 = arith.minimumf %pr, %pmax : f32",
                "%p = arith.maximumf %p1, %zero : f32",
                "%lo = math.floor %p : f32",
                "%hi = math.ceil %p : f32",
                "%wt = arith.subf %p, %lo : f32",
                "%loi = arith.fptosi %lo : f32 to i32",
                "%hii = arith.fptosi %hi : f32 to i32",
                "%lox = arith.index_cast %loi : i32 to index",
                "%hix = arith.index_cast %hii : i32 to index",
                f"%zlo = tensor.extract {zq}[%hh, %i, %lox] : {tt(h, t, npos)}",
                f"%zhi = tensor.extract {zq}[%hh, %i, %hix] : {tt(h, t, npos)}",
                "%omw = arith.subf %one, %wt : f32",
                "%b0 = arith.mulf %omw, %zlo : f32",
                "%b1 = arith.mulf %wt, %zhi : f32",
                "%bias = arith.addf %b0, %b1 : f32",
                f"%lb = arith.addf {a[0]}, %bias : f32",
                "%r = arith.select %ok, %lb, %ninf : f32",
                "linalg.yield %r : f32"], [(h, t, t)], "cope")

    @staticmethod
    def weight_shapes(c):
        d, h, dh, f = c["hidden_size"], c["num_heads"], c["head_dim"], c["intermediate_size"]
        s = {"attn_norm.weight": (d,), "attn.q_proj.weight": (h * dh, d),
             "attn.k_proj.weight": (h * dh, d), "attn.v_proj.weight": (h * dh, d),
             "attn.o_proj.weight": (d, h * dh), "ffn_norm.weight": (d,),
             "ffn.gate_proj.weight": (f, d), "ffn.up_proj.weight": (f, d),
             "ffn.down_proj.weight": (d, f)}
        if c.get("cope"):
            s["attn.cope_pos_emb"] = (dh, int(c["cope"]["npos"]))
        if c.get("memory"):
            s["attn.memory_gate"] = (h,)
        return s

    def layer_weight_names(self, c):
        return list(self.weight_shapes(c))


def normalize(config):
    c = dict(config)
    c.setdefault("head_dim", c["hidden_size"] // c["num_heads"])
    if c.get("head_dim") is None:
        c["head_dim"] = c["hidden_size"] // c["num_heads"]
    if c.get("vocab_size"):
        raise ValueError("the IREE peer takes hidden-state models (vocab_size 0)")
    rope = c.get("rope")
    if rope and (rope.get("rotary_dim") or c["head_dim"]) != c["head_dim"]:
        raise ValueError("the IREE peer implements rotary_dim == head_dim only")
    return c


def step_lengths(c, tokens):
    seg = c["segment_len"]
    lengths = [seg] if tokens >= seg else []
    if tokens % seg:
        lengths.append(tokens % seg)
    return lengths


def emit_module(config, tokens):
    """MLIR text: parameter globals plus one @step_T function per segment length T."""
    c = normalize(config)
    em = Emitter()
    shapes = Emitter.weight_shapes(c)
    head = ["module @infini_block {"]
    for i in range(c["num_layers"]):
        for name, shape in shapes.items():
            head.append(f"  util.global private @layers_{i}_{name.replace('.', '_')} = "
                        f'#stream.parameter.named<"model"::"layers.{i}.{name}"> : {tt(*shape)}')
    d, h, dh = c["hidden_size"], c["num_heads"], c["head_dim"]
    half = dh // 2
    body = []
    for t in step_lengths(c, tokens):
        em.lines = []
        args = [f"%x: {tt(t, d)}", f"%cos: {tt(t, half)}", f"%sin: {tt(t, half)}"]
        rets = [tt(t, d)]
        if c.get("memory"):
            for i in range(c["num_layers"]):
                args += [f"%mem{i}: {tt(h, dh, dh)}", f"%z{i}: {tt(h, dh)}"]
                rets += [tt(h, dh, dh), tt(h, dh)]
        x = "%x"
        outs = []
        for i in range(c["num_layers"]):
            mem, z = (f"%mem{i}", f"%z{i}") if c.get("memory") else (None, None)
            x, mem, z = em.layer(c, i, x, "%cos", "%sin", mem, z, t)
            if c.get("memory"):
                outs += [mem, z]
        em.emit(f"return {', '.join([x] + outs)} : {', '.join(rets)}")
        body.append(f"  func.func @step_{t}({', '.join(args)}) -> ({', '.join(rets)}) {{")
        body += em.lines
        body.append("  }")
    return "\n".join(head + body + ["}"]) + "\n"


def rope_tables(c, tokens):
    """cos, sin [N, Dh/2] float32 (angles in float64), zeros if the model has no RoPE."""
    dh = c["head_dim"]
    rope = c.get("rope")
    if not rope:
        z = np.zeros((tokens, dh // 2), np.float32)
        return z, z
    theta = float(rope.get("theta", 10000.0))
    factor = float((rope.get("scaling") or {}).get("factor", 1.0))
    inv = theta ** (-2.0 * np.arange(dh // 2, dtype=np.float64) / dh)
    ang = (np.arange(tokens, dtype=np.float64) / factor)[:, None] * inv[None, :]
    return np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)


COMPILE_FLAGS = ["--iree-hal-target-device=local",
                 "--iree-hal-local-target-device-backends=llvm-cpu",
                 "--iree-llvmcpu-target-cpu=host",
                 # Keep CoPE's f64 scan accumulator f64 (IREE demotes f64 by default).
                 "--iree-input-demote-f64-to-f32=false"]
# Data tiling (packed matmul layouts, weights re-laid out once at load) is tried first;
# without it if that compile fails.
DATA_TILING = ["--iree-opt-data-tiling"]


def compile_step(config_path, tokens, workdir, extra_flags=()):
    """Writes step.mlir, compiles step.vmfb; returns (vmfb path, compile seconds, flags)."""
    with open(config_path) as f:
        c = normalize(json.load(f))
    os.makedirs(workdir, exist_ok=True)
    mlir = os.path.join(workdir, "step.mlir")
    vmfb = os.path.join(workdir, "step.vmfb")
    with open(mlir, "w") as f:
        f.write(emit_module(c, tokens))
    compiler = os.path.join(os.path.dirname(sys.executable), "iree-compile")
    for variant in (DATA_TILING, []):
        flags = COMPILE_FLAGS + variant + list(extra_flags)
        t0 = time.perf_counter()
        proc = subprocess.run([compiler, mlir, "-o", vmfb] + flags,
                              capture_output=True, text=True)
        compile_s = time.perf_counter() - t0
        if proc.returncode == 0:
            return vmfb, compile_s, flags
        sys.stderr.write(f"iree-compile {' '.join(flags)} failed (exit {proc.returncode}):\n"
                         + proc.stderr[-2000:] + "\n")
    raise SystemExit("iree-compile failed")


def run(args):
    import iree.runtime as rt  # noqa: E402  (only the run command needs IREE)

    with open(args.config) as f:
        c = normalize(json.load(f))
    x = np.load(args.input).astype(np.float32)
    if x.ndim != 3 or x.shape[0] != 1:
        raise ValueError("the IREE peer runs batch 1: input [1, N, D]")
    x = x[0]
    n = x.shape[0]
    compile_s = None
    vmfb = args.vmfb
    if not vmfb:
        vmfb, compile_s, _ = compile_step(args.config, n, args.workdir, args.extra_flag)

    driver = "local-task"
    rt.flags.parse_flags(f"--task_topology_max_group_count={args.threads}")
    config = rt.Config(driver)
    index = rt.ParameterIndex()
    index.load(args.weights, format="safetensors")
    params = rt.create_io_parameters_module(config.vm_instance,
                                            index.create_provider(scope="model"))
    with open(vmfb, "rb") as f:
        vm_module = rt.VmModule.copy_buffer(config.vm_instance, f.read())
    modules = rt.load_vm_modules(params, rt.create_hal_module(config.vm_instance,
                                                              config.device),
                                 vm_module, config=config)
    step_mod = modules[-1]
    device = config.device

    seg = c["segment_len"]
    cos, sin = rope_tables(c, n)
    segs = []
    for s0 in range(0, n, seg):
        s1 = min(n, s0 + seg)
        segs.append((s1 - s0, [rt.asdevicearray(device, np.ascontiguousarray(a[s0:s1]))
                               for a in (x, cos, sin)]))
    h, dh, layers = c["num_heads"], c["head_dim"], c["num_layers"]
    zeros = []
    if c.get("memory"):
        for _ in range(layers):
            zeros += [rt.asdevicearray(device, np.zeros((h, dh, dh), np.float32)),
                      rt.asdevicearray(device, np.zeros((h, dh), np.float32))]
    fns = {t: step_mod[f"step_{t}"] for t, _ in segs}

    def forward():
        state = list(zeros)
        outs = []
        for t, ins in segs:
            res = fns[t](*ins, *state)
            if not isinstance(res, (list, tuple)):
                res = [res]
            outs.append(res[0])
            state = list(res[1:])
        return np.concatenate([o.to_host() for o in outs], axis=0)

    times = []
    for _ in range(args.warmup):
        y = forward()
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        y = forward()
        times.append(time.perf_counter() - t0)
    if args.output:
        np.save(args.output, y[None].astype(np.float32))
    print(json.dumps({"threads": args.threads, "compile_s": compile_s, "times_s": times,
                      "best_s": min(times) if times else None, "driver": driver}))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("emit", help="write the MLIR (no IREE needed)")
    e.add_argument("--config", required=True)
    e.add_argument("--tokens", type=int, default=None)
    e.add_argument("-o", "--output", required=True)
    cp = sub.add_parser("compile", help="emit and compile to WORKDIR/step.vmfb")
    cp.add_argument("--config", required=True)
    cp.add_argument("--tokens", type=int, required=True)
    cp.add_argument("--workdir", required=True)
    cp.add_argument("--extra-flag", action="append", default=[])
    r = sub.add_parser("run", help="(compile unless --vmfb and) time the model")
    r.add_argument("--config", required=True)
    r.add_argument("--weights", required=True)
    r.add_argument("--input", required=True)
    r.add_argument("--output")
    r.add_argument("--vmfb", help="a step.vmfb from `compile` for the same config and tokens")
    r.add_argument("--threads", type=int, default=1)
    r.add_argument("--repeats", type=int, default=3)
    r.add_argument("--warmup", type=int, default=1)
    r.add_argument("--workdir", default="/tmp/infini-iree-work")
    r.add_argument("--extra-flag", action="append", default=[],
                   help="an extra iree-compile flag (repeatable)")
    args = p.parse_args(argv)
    if args.cmd == "emit":
        with open(args.config) as f:
            c = json.load(f)
        with open(args.output, "w") as f:
            f.write(emit_module(c, args.tokens or c["segment_len"]))
    elif args.cmd == "compile":
        vmfb, compile_s, flags = compile_step(args.config, args.tokens, args.workdir,
                                              args.extra_flag)
        print(json.dumps({"vmfb": vmfb, "compile_s": compile_s, "flags": flags}))
    else:
        run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
