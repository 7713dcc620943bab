#!/usr/bin/env python3
"""Self-checks of the reference: properties SPEC implies whatever the implementation.

Run directly (exit status 0 on success) or through lit (test/e2e/reference-selfcheck.test).
They guard the yardstick itself: a wrong reference would pass a wrong compiler.
"""

import math
import os
import sys
import tempfile
import unittest

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402
import infini_reference as R  # noqa: E402
import make_case  # noqa: E402
import safetensors_io  # noqa: E402

F64 = torch.float64


def randn(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=F64)


def config(**overrides):
    base = {"vocab_size": 0, "hidden_size": 32, "num_heads": 2, "head_dim": 16,
            "intermediate_size": 48, "num_layers": 2, "segment_len": 8, "norm_eps": 1e-5,
            "swish_beta": 1.0,
            "rope": {"theta": 10000.0, "layout": "half_split", "rotary_dim": 16},
            "cope": {"npos": 6}, "memory": {"update": "delta", "eps": 1e-6},
            "memory_uses_rope": False}
    base.update(overrides)
    return base


def case(cfg, batch=2, tokens=24, seed=0):
    return make_case.make_weights(cfg, seed), make_case.make_input(cfg, batch, tokens, seed)


# Loop-by-loop versions of the trickier ops, written from SPEC's sentences, to check
# the vectorized ones.

def naive_rope(x, positions, theta, layout, r, factor):
    out = x.clone()
    for t, pos in enumerate(positions):
        for i in range(r // 2):
            ang = (pos / factor) * theta ** (-2 * i / r)
            ia, ib = (i, i + r // 2) if layout == "half_split" else (2 * i, 2 * i + 1)
            a, b = x[..., t, ia], x[..., t, ib]
            out[..., t, ia] = a * math.cos(ang) - b * math.sin(ang)
            out[..., t, ib] = b * math.cos(ang) + a * math.sin(ang)
    return out


def naive_cope_attention(q, k, v, emb):
    """One head: q, k, v [T, Dh], emb [Dh, P]."""
    t_len, dh = q.shape
    npos = emb.shape[1]
    out = torch.zeros_like(v)
    for i in range(t_len):
        logit = [float(q[i] @ k[j]) / math.sqrt(dh) for j in range(i + 1)]
        gate = [1 / (1 + math.exp(-l)) for l in logit]
        z = [float(q[i] @ emb[:, n]) for n in range(npos)]
        scores = []
        for j in range(i + 1):
            p = min(sum(gate[j:i + 1]), npos - 1)
            lo, hi = math.floor(p), math.ceil(p)
            w = p - lo
            scores.append(logit[j] + (1 - w) * z[lo] + w * z[hi])
        m = max(scores)
        e = [math.exp(s - m) for s in scores]
        for j in range(i + 1):
            out[i] += e[j] / sum(e) * v[j]
    return out


def naive_model(cfg, weights, x, position=0):
    """SPEC's block pseudo-code token by token and head by head, for hidden models."""
    w = {n: torch.from_numpy(a.astype(np.float64)) for n, a in weights.items()}
    d, n_heads = cfg["hidden_size"], cfg["num_heads"]
    dh, seg_len, eps = cfg["head_dim"], cfg["segment_len"], cfg["norm_eps"]
    rope, cope, memory = cfg.get("rope"), cfg.get("cope"), cfg.get("memory")
    s = lambda t: torch.where(t > 0, t + 1, torch.exp(t))  # elu(t) + 1
    norm = lambda v, g: v / math.sqrt(float((v * v).mean()) + eps) * g
    batch, n_tok = x.shape[:2]
    out = torch.zeros(batch, n_tok, d, dtype=F64)
    for b in range(batch):
        mem = [[torch.zeros(dh, dh, dtype=F64) for _ in range(n_heads)] for _ in range(cfg["num_layers"])]
        zs = [[torch.zeros(dh, dtype=F64) for _ in range(n_heads)] for _ in range(cfg["num_layers"])]
        for start in range(0, n_tok, seg_len):
            xs = [torch.from_numpy(x[b, t].astype(np.float64)) for t in range(start, min(start + seg_len, n_tok))]
            for i in range(cfg["num_layers"]):
                p = f"layers.{i}."
                hs = [norm(v, w[p + "attn_norm.weight"]) for v in xs]
                attn = [torch.zeros(n_heads * dh, dtype=F64) for _ in xs]
                for h in range(n_heads):
                    rows = slice(h * dh, (h + 1) * dh)
                    q = torch.stack([w[p + "attn.q_proj.weight"][rows] @ v for v in hs])
                    k = torch.stack([w[p + "attn.k_proj.weight"][rows] @ v for v in hs])
                    v = torch.stack([w[p + "attn.v_proj.weight"][rows] @ v for v in hs])
                    qr, kr = q, k
                    if rope:
                        pos = [position + start + t for t in range(len(xs))]
                        factor = (rope.get("scaling") or {}).get("factor", 1.0)
                        args = (pos, rope["theta"], rope["layout"], rope["rotary_dim"], factor)
                        qr, kr = naive_rope(q, *args), naive_rope(k, *args)
                    if cope:
                        a_dot = naive_cope_attention(qr, kr, v, w[p + "attn.cope_pos_emb"])
                    else:
                        a_dot = naive_cope_attention(qr, kr, v, torch.zeros(dh, 1, dtype=F64))
                    if memory:
                        qm, km = (qr, kr) if cfg.get("memory_uses_rope") else (q, k)
                        m_old, z_old = mem[i][h].clone(), zs[i][h].clone()
                        gate = 1 / (1 + math.exp(-float(w[p + "attn.memory_gate"][h])))
                        for t in range(len(xs)):
                            a_mem = (s(qm[t]) @ m_old) / (float(s(qm[t]) @ z_old) + memory["eps"])
                            a_dot[t] = gate * a_mem + (1 - gate) * a_dot[t]
                        for t in range(len(xs)):
                            val = v[t]
                            if memory["update"] == "delta":
                                val = v[t] - (s(km[t]) @ m_old) / (float(s(km[t]) @ z_old) + memory["eps"])
                            mem[i][h] += torch.outer(s(km[t]), val)
                            zs[i][h] += s(km[t])
                    for t in range(len(xs)):
                        attn[t][rows] = a_dot[t]
                beta = cfg.get("swish_beta", 1.0)
                for t in range(len(xs)):
                    xs[t] = xs[t] + w[p + "attn.o_proj.weight"] @ attn[t]
                    hn = norm(xs[t], w[p + "ffn_norm.weight"])
                    g = w[p + "ffn.gate_proj.weight"] @ hn
                    u = w[p + "ffn.up_proj.weight"] @ hn
                    xs[t] = xs[t] + w[p + "ffn.down_proj.weight"] @ (g * torch.sigmoid(beta * g) * u)
            for t, v in enumerate(xs):
                out[b, start + t] = v
    return out.numpy()


class Ops(unittest.TestCase):
    def test_rmsnorm(self):
        x = randn(3, 10)
        w = randn(10, seed=1)
        want = x / torch.sqrt((x ** 2).mean(-1, keepdim=True) + 1e-5) * w
        torch.testing.assert_close(R.rmsnorm(x, w, 1e-5), want)
        c = torch.full((1, 8), -3.0, dtype=F64)
        torch.testing.assert_close(R.rmsnorm(c, torch.ones(8, dtype=F64), 0.0), -torch.ones(1, 8, dtype=F64))

    def test_rope_position_zero_is_identity(self):
        x = randn(2, 3, 5, 16)
        for layout in ("half_split", "interleaved"):
            for r in (16, 8):
                y = R.rope(x, torch.zeros(5, dtype=F64), 10000.0, layout, r, 3.0)
                self.assertTrue(torch.equal(y, x))

    def test_rope_matches_loops(self):
        x = randn(1, 2, 6, 12)
        pos = torch.arange(6, dtype=F64) + 37
        for layout in ("half_split", "interleaved"):
            for r, factor in ((12, 1.0), (8, 2.5)):
                got = R.rope(x, pos, 500.0, layout, r, factor)
                torch.testing.assert_close(got, naive_rope(x, pos.tolist(), 500.0, layout, r, factor))
                # Features r..Dh-1 pass through.
                self.assertTrue(torch.equal(got[..., r:], x[..., r:]))

    def test_rope_half_split_is_permuted_interleaved(self):
        x = randn(2, 2, 7, 16)
        pos = torch.arange(7, dtype=F64) * 3 + 5
        for r in (16, 10):
            # perm puts the half_split pair (i, i+r/2) at interleaved slots (2i, 2i+1).
            perm = [j for i in range(r // 2) for j in (i, i + r // 2)] + list(range(r, 16))
            half = R.rope(x, pos, 10000.0, "half_split", r, 1.0)
            inter = R.rope(x[..., perm], pos, 10000.0, "interleaved", r, 1.0)
            torch.testing.assert_close(half[..., perm], inter)

    def test_rope_scaling_divides_positions(self):
        x = randn(1, 1, 4, 8)
        pos = torch.tensor([0.0, 4.0, 8.0, 100.0], dtype=F64)
        torch.testing.assert_close(R.rope(x, pos, 10000.0, "half_split", 8, 4.0),
                                   R.rope(x, pos / 4, 10000.0, "half_split", 8, 1.0))

    def test_rope_relative(self):
        # q(m).k(n) depends only on m - n.
        q, k = randn(8, seed=1).reshape(1, 8), randn(8, seed=2).reshape(1, 8)
        dots = [float(R.rope(q, torch.tensor([m + 0.0], dtype=F64), layout="interleaved")[0]
                      @ R.rope(k, torch.tensor([m - 3.0], dtype=F64), layout="interleaved")[0])
                for m in (3, 10, 500)]
        self.assertAlmostEqual(dots[0], dots[1], places=10)
        self.assertAlmostEqual(dots[0], dots[2], places=10)

    def test_cope_positions(self):
        logits = torch.log(torch.tensor([[1.0, 1.0, 1.0], [1.0, 3.0, 1.0], [1.0, 1.0, 1.0]],
                                        dtype=F64))  # gates 0.5 or 0.75
        p = R.cope_positions(logits, 10)
        want = torch.tensor([[0.5, 0, 0], [1.25, 0.75, 0], [1.5, 1.0, 0.5]], dtype=F64)
        torch.testing.assert_close(p, want)
        torch.testing.assert_close(R.cope_positions(logits, 2), want.clamp(max=1))

    def test_cope_attention_matches_loops(self):
        q, k, v = randn(1, 2, 7, 4, seed=1) * 2, randn(1, 2, 7, 4, seed=2) * 2, randn(1, 2, 7, 4, seed=3)
        for npos in (3, 8):
            emb = randn(4, npos, seed=4)
            got = R.local_attention(q, k, v, emb)
            for h in range(2):
                torch.testing.assert_close(got[0, h], naive_cope_attention(q[0, h], k[0, h], v[0, h], emb))

    def test_cope_with_one_position_is_plain_attention(self):
        # P = 1 clamps every position to 0: the bias q_i.E[:,0] is constant along a row.
        q, k, v = randn(2, 2, 9, 4, seed=1), randn(2, 2, 9, 4, seed=2), randn(2, 2, 9, 4, seed=3)
        torch.testing.assert_close(R.local_attention(q, k, v, randn(4, 1, seed=4)),
                                   R.local_attention(q, k, v))
        torch.testing.assert_close(R.local_attention(q, k, v, torch.zeros(4, 5, dtype=F64)),
                                   R.local_attention(q, k, v))

    def test_attention_is_causal(self):
        q, k, v = randn(1, 1, 6, 4, seed=1), randn(1, 1, 6, 4, seed=2), randn(1, 1, 6, 4, seed=3)
        emb = randn(4, 4, seed=4)
        full = R.local_attention(q, k, v, emb)
        torch.testing.assert_close(full[..., :4, :], R.local_attention(q[..., :4, :], k[..., :4, :], v[..., :4, :], emb))
        torch.testing.assert_close(full[..., 0, :], v[..., 0, :])

    def test_empty_memory_retrieves_zero(self):
        q = randn(2, 3, 5, 4)
        got = R.memory_retrieve(q, torch.zeros(2, 3, 4, 4, dtype=F64), torch.zeros(2, 3, 4, dtype=F64), 1e-6)
        self.assertTrue(torch.equal(got, torch.zeros_like(got)))

    def test_memory_updates(self):
        k, v = randn(2, 3, 5, 4, seed=1), randn(2, 3, 5, 4, seed=2)
        mem0, z0 = torch.zeros(2, 3, 4, 4, dtype=F64), torch.zeros(2, 3, 4, dtype=F64)
        sk = torch.nn.functional.elu(k) + 1
        for kind in ("linear", "delta"):  # identical from an empty memory
            mem, z = R.memory_update(k, v, mem0, z0, 1e-6, kind)
            torch.testing.assert_close(mem, torch.einsum("bhtd,bhte->bhde", sk, v))
            torch.testing.assert_close(z, sk.sum(2))
        # Delta with V equal to what the memory retrieves for K leaves M unchanged.
        mem, z = R.memory_update(k, v, mem0, z0, 1e-6, "linear")
        k2 = randn(2, 3, 6, 4, seed=5)
        v2 = R.memory_retrieve(k2, mem, z, 1e-6)
        mem2, z2 = R.memory_update(k2, v2, mem, z, 1e-6, "delta")
        torch.testing.assert_close(mem2, mem, rtol=0, atol=1e-12)
        torch.testing.assert_close(z2, z + (torch.nn.functional.elu(k2) + 1).sum(2))

    def test_swiglu(self):
        x, wg, wu, wd = randn(3, 8), randn(5, 8, seed=1), randn(5, 8, seed=2), randn(8, 5, seed=3)
        torch.testing.assert_close(R.swiglu(x, wg, wu, wd),
                                   (torch.nn.functional.silu(x @ wg.T) * (x @ wu.T)) @ wd.T)
        g = x @ wg.T
        torch.testing.assert_close(R.swiglu(x, wg, wu, wd, 1.7),
                                   (g / (1 + torch.exp(-1.7 * g)) * (x @ wu.T)) @ wd.T)


class Model(unittest.TestCase):
    def test_matches_token_by_token_model(self):
        for overrides in (
                {"memory_uses_rope": True, "swish_beta": 1.6, "cope": {"npos": 3},
                 "rope": {"theta": 100.0, "layout": "interleaved", "rotary_dim": 10,
                          "scaling": {"type": "linear", "factor": 2.0}}},
                {"memory": {"update": "linear", "eps": 1e-6}, "cope": None,
                 "rope": {"theta": 10000.0, "layout": "half_split", "rotary_dim": 16}},
                {"memory": None, "rope": None, "hidden_size": 20, "head_dim": 6}):
            cfg = config(segment_len=4, **overrides)
            w, x = case(cfg, batch=2, tokens=10)
            got, _ = R.run_model(cfg, w, x[:, 3:], {
                n: (np.array(3) if n == "position" else np.zeros(s))
                for n, s in R.state_shapes(cfg, 2).items()})
            np.testing.assert_allclose(got, naive_model(cfg, w, x[:, 3:], 3), rtol=1e-10, atol=1e-10)
    def test_first_segment_memory_is_gate_scaled_attention(self):
        # In segment 1 the memory retrieves 0, so A = (1 - sigmoid(beta_h)) A_dot: the
        # same as no memory with o_proj's columns of head h scaled by that factor.
        cfg = config(num_layers=1)
        w, x = case(cfg, tokens=8)
        out, _ = R.run_model(cfg, w, x)
        c = R.Config(cfg)
        w2 = dict(w)
        keep = 1 - 1 / (1 + np.exp(-w["layers.0.attn.memory_gate"].astype(np.float64)))
        w2["layers.0.attn.o_proj.weight"] = w["layers.0.attn.o_proj.weight"] * np.repeat(keep, c.head_dim)[None, :]
        out2, _ = R.run_model(config(num_layers=1, memory=None), w2, x)
        np.testing.assert_allclose(out, out2, rtol=1e-12, atol=1e-12)

    def test_segments_equal_separate_calls(self):
        for overrides in ({}, {"memory": {"update": "linear"}, "memory_uses_rope": True},
                          {"rope": None}, {"memory": None}, {"vocab_size": 11}):
            cfg = config(**overrides)
            w, x = case(cfg, tokens=24)
            whole, s_whole = R.run_model(cfg, w, x)
            a, s = R.run_model(cfg, w, x[:, :8])
            b, s = R.run_model(cfg, w, x[:, 8:16], s)
            c, s = R.run_model(cfg, w, x[:, 16:], s)
            np.testing.assert_allclose(np.concatenate([a, b, c], 1), whole, rtol=1e-12, atol=1e-12)
            self.assertEqual(sorted(s), sorted(s_whole))
            for name in s:
                np.testing.assert_allclose(s[name], s_whole[name], rtol=1e-12, atol=1e-12)
            self.assertEqual(int(s["position"]), 24)

    def test_unaligned_cut_starts_a_new_segment(self):
        # After a cut at 5 (segment_len 8) the second run's segments are [5,13), [13,...):
        # its first token attends to nothing earlier, but its position is still 5.
        cfg = config(memory=None, num_layers=1)
        w, x = case(cfg, tokens=13)
        _, s = R.run_model(cfg, w, x[:, :5])
        second, _ = R.run_model(cfg, w, x[:, 5:], s)
        c = R.Config(cfg)
        lw = {n[len("layers.0."):]: torch.from_numpy(a.astype(np.float64)) for n, a in w.items()}
        want, _ = R.block(c, lw, torch.from_numpy(x[:, 5:].astype(np.float64)), 5, None)
        np.testing.assert_allclose(second, want.numpy(), rtol=1e-12, atol=1e-12)
        whole, _ = R.run_model(cfg, w, x)
        self.assertFalse(np.allclose(second, whole[:, 5:]))

    def test_position_offsets_rope(self):
        # With rope and no memory, a state holding position p shifts every rope angle.
        cfg = config(memory=None, cope=None, num_layers=1)
        w, x = case(cfg, tokens=8)
        out0, _ = R.run_model(cfg, w, x, {"position": np.array(0)})
        out5, _ = R.run_model(cfg, w, x, {"position": np.array(5)})
        # Relative positions alone matter inside one segment, so the outputs agree.
        np.testing.assert_allclose(out0, out5, rtol=1e-10, atol=1e-10)
        # Local attention without CoPE sees relative positions only, so with memory reading pre-RoPE
        # Q, K a whole multi-segment run is invariant to its starting position, and with
        # memory_uses_rope it is not.
        for uses_rope in (False, True):
            cfg_m = config(memory_uses_rope=uses_rope, cope=None)  # z_i = q_i.E sees RoPE
            w, x = case(cfg_m, tokens=24)
            start = {n: np.zeros(s) for n, s in R.state_shapes(cfg_m, 2).items()}
            a, sa = R.run_model(cfg_m, w, x, start)
            start["position"] = np.array(100)
            b, sb = R.run_model(cfg_m, w, x, start)
            same = np.allclose(a, b, rtol=1e-10, atol=1e-10) and np.allclose(
                sa["layers.1.memory"], sb["layers.1.memory"], rtol=1e-10, atol=1e-10)
            self.assertEqual(same, not uses_rope)

    def test_vocab_model(self):
        cfg = config(vocab_size=13, memory=None)
        w, ids = case(cfg, tokens=9)
        out, _ = R.run_model(cfg, w, ids)
        self.assertEqual(out.shape, (2, 9, 13))
        hidden, _ = R.run_model(config(memory=None), w, w["embed.weight"][ids])
        h = torch.from_numpy(hidden)
        logits = R.rmsnorm(h, torch.from_numpy(w["final_norm.weight"].astype(np.float64)), 1e-5) \
            @ torch.from_numpy(w["lm_head.weight"].astype(np.float64)).T
        np.testing.assert_allclose(out, logits.numpy(), rtol=1e-12, atol=1e-12)
        out32, _ = R.run_model(cfg, w, ids.astype(np.int32))
        np.testing.assert_array_equal(out, out32)
        with self.assertRaises(ValueError):
            R.run_model(cfg, w, np.full((1, 2), 13))

    def test_head_dim_not_hidden_over_heads(self):
        cfg = config(hidden_size=24, num_heads=3, head_dim=10, rope={"layout": "interleaved", "rotary_dim": 6})
        w, x = case(cfg, tokens=10)
        self.assertEqual(w["layers.0.attn.q_proj.weight"].shape, (30, 24))
        out, s = R.run_model(cfg, w, x)
        self.assertEqual(out.shape, (2, 10, 24))
        self.assertEqual(s["layers.1.memory"].shape, (2, 3, 10, 10))

    def test_defaults(self):
        explicit = config(head_dim=16, swish_beta=1.0,
                          rope={"theta": 10000.0, "layout": "half_split", "rotary_dim": 16,
                                "scaling": {"type": "linear", "factor": 1.0}},
                          memory={"update": "delta", "eps": 1e-6})
        implicit = dict(explicit)
        del implicit["head_dim"], implicit["swish_beta"], implicit["memory_uses_rope"]
        implicit["rope"] = {"layout": "half_split"}
        implicit["memory"] = {"update": "delta"}
        w, x = case(explicit)
        np.testing.assert_array_equal(R.run_model(explicit, w, x)[0], R.run_model(implicit, w, x)[0])
        off = dict(explicit)
        for key in ("rope", "cope", "memory"):
            del off[key]
        nulls = dict(explicit, rope=None, cope=None, memory=None)
        w, x = case(off)
        np.testing.assert_array_equal(R.run_model(off, w, x)[0], R.run_model(nulls, w, x)[0])

    def test_f32_evaluation_meets_the_bound(self):
        # The accuracy bound is attainable: the same formulas in f32 pass compare.
        cfg = config(vocab_size=50, num_layers=3, swish_beta=1.3, memory_uses_rope=True,
                     rope={"layout": "interleaved", "rotary_dim": 8, "scaling": {"factor": 2.0}})
        w, ids = case(cfg, tokens=40)
        ref, s = R.run_model(cfg, w, ids)
        got, s32 = R.run_model(cfg, w, ids, dtype=torch.float32)
        compare.check_close("output", got.astype(np.float32), ref)
        compare.check_state({k: (v.astype(np.float32) if k != "position" else v) for k, v in s32.items()}, s)


class Files(unittest.TestCase):
    def test_safetensors_round_trip(self):
        x = np.random.default_rng(0).standard_normal((3, 5)).astype(np.float32)
        x[0, 0] = 1 + 2 ** -8  # a bf16 tie: rounds to even (1.0)
        x[0, 1] = 1 + 3 * 2 ** -8  # a bf16 tie: rounds to even (1 + 2^-6)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "w.safetensors")
            for dt, want in (("F32", x), ("F16", x.astype(np.float16).astype(np.float32)),
                             ("BF16", torch.from_numpy(x).to(torch.bfloat16).float().numpy())):
                safetensors_io.write(path, {"a": x, "b": x[:1]}, dt, {"k": "v"})
                back, dtypes = safetensors_io.read_with_dtypes(path)
                self.assertEqual(dtypes, {"a": dt, "b": dt})
                np.testing.assert_array_equal(back["a"].astype(np.float32), want)
                np.testing.assert_array_equal(back["b"].astype(np.float32), want[:1])
                np.testing.assert_array_equal(safetensors_io.stored_values(x, dt), want)
                with open(path, "rb") as f:
                    blob = f.read()
                self.assertEqual((8 + int.from_bytes(blob[:8], "little")) % 8, 0)
        self.assertEqual(float(safetensors_io.stored_values(np.float32([x[0, 0]]), "BF16")[0]), 1.0)

    def test_safetensors_rejects_corruption(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "w.safetensors")
            safetensors_io.write(path, {"a": np.ones((4, 4), np.float32)})
            with open(path, "rb") as f:
                blob = f.read()
            for bad in (blob[:-3], blob[:6], blob[:8] + b"{garbage" + blob[16:],
                        (10 ** 9).to_bytes(8, "little") + blob[8:]):
                with open(path, "wb") as f:
                    f.write(bad)
                with self.assertRaises(safetensors_io.SafetensorsError):
                    safetensors_io.read(path)

    def test_make_case_names_every_weight(self):
        cfg = config(vocab_size=7)
        w = make_case.make_weights(cfg, 3)
        names = {"embed.weight", "final_norm.weight", "lm_head.weight"}
        for i in range(2):
            names |= {f"layers.{i}.{n}" for n in (
                "attn_norm.weight", "attn.q_proj.weight", "attn.k_proj.weight", "attn.v_proj.weight",
                "attn.o_proj.weight", "attn.cope_pos_emb", "attn.memory_gate", "ffn_norm.weight",
                "ffn.gate_proj.weight", "ffn.up_proj.weight", "ffn.down_proj.weight")}
        self.assertEqual(set(w), names)
        self.assertEqual(w["layers.1.attn.cope_pos_emb"].shape, (16, 6))
        self.assertEqual(w["layers.0.attn.o_proj.weight"].shape, (32, 32))
        self.assertEqual(w["lm_head.weight"].shape, (7, 32))
        self.assertEqual(set(make_case.make_weights(config(cope=None, memory=None), 0)),
                         {n for n in names if n.startswith("layers.") and "cope" not in n and "memory" not in n})
        ids = make_case.make_input(cfg, 2, 50, 0, "int32")
        self.assertEqual((ids.dtype, ids.shape), (np.int32, (2, 50)))
        self.assertTrue(0 <= ids.min() and ids.max() < 7)

    def test_compare(self):
        ref = np.array([1.0, -2.0, 0.0])
        compare.check_close("x", np.float32([1.002, -2.005, 0.0019]), ref)
        for bad in (np.float32([1.0041, -2.0, 0.0]), np.float32([np.nan, -2, 0]),
                    np.float64([1.0, -2.0, 0.0]), np.float32([1.0, -2.0])):
            with self.assertRaises(compare.Mismatch):
                compare.check_close("x", bad, ref)
        with self.assertRaises(compare.Mismatch):
            compare.check_state({"position": np.int64(3)}, {"position": np.int64(4)})
        with self.assertRaises(compare.Mismatch):
            compare.check_state({"position": np.int32(4)}, {"position": np.int64(4)})
        with self.assertRaises(compare.Mismatch):
            compare.check_state({"position": np.int64(4)}, {"position": np.int64(4), "layers.0.norm": ref})


if __name__ == "__main__":
    unittest.main(verbosity=1)
