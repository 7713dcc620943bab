#!/usr/bin/env python3
"""The benchmark's PyTorch peer: the SPEC model written the way a PyTorch user would.

Eager float32, `nn.Linear` projections, `F.scaled_dot_product_attention(is_causal=True)`
where the model has no CoPE and the installed torch has it (torch >= 2.0; otherwise the
classic masked softmax(QK^T)V), CoPE as in the paper's appendix code, and the
Infini-attention compressive memory with plain tensor ops. Module names follow SPEC's
weight names, so `load_state_dict` takes the safetensors file as it is.

Nothing is shared with the compiler or with test/reference: this is a second,
independent implementation of /work/shared/SPEC.md.

    torch_peer.py --config C.json --weights W.safetensors --input IN.npy \
        [--output OUT.npy] [--threads N] [--repeats 3] [--warmup 1] [--device cuda]
        [--autocast-f16]

Prints one JSON line: {"threads", "times_s": [...], "best_s", "attention": "sdpa"|"manual"}.
The parent (run.py) sets OMP_NUM_THREADS / OPENBLAS_NUM_THREADS to match --threads.
"""

import argparse
import contextlib
import json
import math
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

HAVE_SDPA = hasattr(F, "scaled_dot_product_attention")


def read_safetensors(path):
    """name -> float32 torch tensor (F32, F16 and BF16 storage)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = data[begin:end]
        dtype = info["dtype"]
        if dtype == "F32":
            a = np.frombuffer(raw, "<f4")
        elif dtype == "F16":
            a = np.frombuffer(raw, "<f2").astype(np.float32)
        elif dtype == "BF16":
            a = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise ValueError(f"{path}: tensor '{name}' has unsupported dtype {dtype}")
        out[name] = torch.from_numpy(a.reshape(info["shape"]).copy())
    return out


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class RotaryEmbedding(nn.Module):
    """cos/sin cache over absolute positions (angles computed in float64, stored f32)."""

    def __init__(self, rotary_dim, theta, factor, layout, max_pos):
        super().__init__()
        self.rotary_dim, self.layout = rotary_dim, layout
        inv_freq = theta ** (-torch.arange(0, rotary_dim, 2, dtype=torch.float64) / rotary_dim)
        t = torch.arange(max_pos, dtype=torch.float64) / factor
        ang = torch.outer(t, inv_freq)  # [P, r/2]
        self.register_buffer("cos", ang.cos().float(), persistent=False)
        self.register_buffer("sin", ang.sin().float(), persistent=False)

    def forward(self, x, offset):
        """x: [B,H,T,Dh] at positions offset..offset+T-1."""
        t, r = x.shape[-2], self.rotary_dim
        cos, sin = self.cos[offset:offset + t], self.sin[offset:offset + t]
        xr, xpass = x[..., :r], x[..., r:]
        if self.layout == "half_split":
            cos, sin = torch.cat((cos, cos), -1), torch.cat((sin, sin), -1)
            a, b = xr.chunk(2, dim=-1)
            rotated = xr * cos + torch.cat((-b, a), -1) * sin
        else:  # interleaved pairs (2i, 2i+1)
            a, b = xr[..., 0::2], xr[..., 1::2]
            rotated = torch.stack((a * cos - b * sin, b * cos + a * sin), -1).flatten(-2)
        return torch.cat((rotated, xpass), -1) if xpass.shape[-1] else rotated


class CoPE(nn.Module):
    """Contextual position encoding (Golovneva et al. 2024, appendix code)."""

    def __init__(self, npos, head_dim):
        super().__init__()
        self.npos = npos
        self.pos_emb = nn.Parameter(torch.zeros(head_dim, npos))

    def forward(self, query, attn_logits):
        gates = torch.sigmoid(attn_logits)
        pos = gates.flip(-1).cumsum(dim=-1).flip(-1)
        pos = pos.clamp(max=self.npos - 1)
        pos_ceil = pos.ceil().long()
        pos_floor = pos.floor().long()
        logits_int = torch.matmul(query, self.pos_emb)
        logits_ceil = logits_int.gather(-1, pos_ceil)
        logits_floor = logits_int.gather(-1, pos_floor)
        w = pos - pos_floor
        return logits_ceil * w + logits_floor * (1 - w)


class InfiniAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, h, dh = c["hidden_size"], c["num_heads"], c["head_dim"]
        self.heads, self.head_dim = h, dh
        self.q_proj = nn.Linear(d, h * dh, bias=False)
        self.k_proj = nn.Linear(d, h * dh, bias=False)
        self.v_proj = nn.Linear(d, h * dh, bias=False)
        self.o_proj = nn.Linear(h * dh, d, bias=False)
        self.cope = CoPE(c["cope"]["npos"], dh) if c.get("cope") else None
        mem = c.get("memory")
        self.memory_update = mem.get("update", "linear") if mem else None
        self.memory_eps = (mem.get("eps") or 1e-6) if mem else None
        self.memory_uses_rope = bool(c.get("memory_uses_rope"))
        if mem:
            self.memory_gate = nn.Parameter(torch.zeros(h))

    def local_attention(self, q, k, v):
        if self.cope is None:
            if HAVE_SDPA:
                return F.scaled_dot_product_attention(q, k, v, is_causal=True)
            t = q.shape[-2]
            scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim)
            mask = torch.ones(t, t, dtype=torch.bool, device=q.device).triu(1)
            return scores.masked_fill(mask, float("-inf")).softmax(-1) @ v
        t = q.shape[-2]
        logits = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim)
        logits = logits.masked_fill(
            torch.ones(t, t, dtype=torch.bool, device=logits.device).triu(1), float("-inf"))
        logits = logits + self.cope(q, logits)
        return logits.softmax(-1) @ v

    def forward(self, x, offset, rotary, memory):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        qr, kr = (rotary(q, offset), rotary(k, offset)) if rotary is not None else (q, k)
        a = self.local_attention(qr, kr, v)
        if self.memory_update is not None:
            qm, km = (qr, kr) if self.memory_uses_rope else (q, k)
            mem, z = memory  # [B,H,Dh,Dh], [B,H,Dh]
            sq = F.elu(qm) + 1
            a_mem = (sq @ mem) / (sq @ z.unsqueeze(-1) + self.memory_eps)
            g = torch.sigmoid(self.memory_gate).view(1, -1, 1, 1)
            a = g * a_mem + (1 - g) * a
            sk = F.elu(km) + 1
            if self.memory_update == "delta":
                v_old = (sk @ mem) / (sk @ z.unsqueeze(-1) + self.memory_eps)
                mem = mem + sk.transpose(-1, -2) @ (v - v_old)
            else:
                mem = mem + sk.transpose(-1, -2) @ v
            memory = (mem, z + sk.sum(-2))
        return self.o_proj(a.transpose(1, 2).reshape(b, t, -1)), memory


class SwiGLU(nn.Module):
    def __init__(self, d, f, beta):
        super().__init__()
        self.gate_proj = nn.Linear(d, f, bias=False)
        self.up_proj = nn.Linear(d, f, bias=False)
        self.down_proj = nn.Linear(f, d, bias=False)
        self.beta = beta

    def forward(self, x):
        g = self.gate_proj(x)
        act = F.silu(g) if self.beta == 1.0 else g * torch.sigmoid(self.beta * g)
        return self.down_proj(act * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        eps = c.get("norm_eps", 1e-5)
        self.attn_norm = RMSNorm(c["hidden_size"], eps)
        self.attn = InfiniAttention(c)
        self.ffn_norm = RMSNorm(c["hidden_size"], eps)
        beta = c.get("swish_beta")
        self.ffn = SwiGLU(c["hidden_size"], c["intermediate_size"], 1.0 if beta is None else beta)

    def forward(self, x, offset, rotary, memory):
        a, memory = self.attn(self.attn_norm(x), offset, rotary, memory)
        x = x + a
        return x + self.ffn(self.ffn_norm(x)), memory


class InfiniModel(nn.Module):
    """Hidden states [B,N,D] -> [B,N,D], segment by segment with per-layer memory."""

    def __init__(self, c, max_pos):
        super().__init__()
        c = dict(c)
        c.setdefault("head_dim", c["hidden_size"] // c["num_heads"])
        self.c = c
        if c.get("vocab_size"):
            raise ValueError("the benchmark peer takes hidden-state models (vocab_size 0)")
        self.layers = nn.ModuleList(Block(c) for _ in range(c["num_layers"]))
        rope = c.get("rope")
        if rope:
            scaling = rope.get("scaling") or {}
            self.rotary = RotaryEmbedding(rope.get("rotary_dim") or c["head_dim"],
                                          rope.get("theta", 10000.0),
                                          scaling.get("factor", 1.0),
                                          rope.get("layout", "half_split"), max_pos)
        else:
            self.rotary = None

    def load_spec_weights(self, weights):
        # SPEC's `attn.cope_pos_emb` lives at `attn.cope.pos_emb` here.
        sd = {k.replace("attn.cope_pos_emb", "attn.cope.pos_emb"): v for k, v in weights.items()}
        self.load_state_dict(sd, strict=True)

    def forward(self, x):
        b = x.shape[0]
        c = self.c
        h, dh, seg = c["num_heads"], c["head_dim"], c["segment_len"]
        memories = [(torch.zeros(b, h, dh, dh, device=x.device),
                     torch.zeros(b, h, dh, device=x.device)) if c.get("memory")
                    else None for _ in self.layers]
        outs = []
        for start in range(0, x.shape[1], seg):
            s = x[:, start:start + seg]
            for i, layer in enumerate(self.layers):
                s, memories[i] = layer(s, start, self.rotary, memories[i])
            outs.append(s)
        return torch.cat(outs, 1)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", required=True)
    p.add_argument("--weights", required=True)
    p.add_argument("--input", required=True)
    p.add_argument("--output")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--device", default="cpu", help="cpu, or cuda for the GPU benchmark")
    p.add_argument("--autocast-f16", action="store_true",
                   help="run under torch.autocast(float16): matrix products on f16 "
                        "tensor cores, the peer of infini's --tensor-cores=f16")
    args = p.parse_args(argv)
    device = torch.device(args.device)

    def synchronize():
        if device.type == "cuda":
            torch.cuda.synchronize()

    torch.set_num_threads(args.threads)
    with open(args.config) as f:
        config = json.load(f)
    x = torch.from_numpy(np.load(args.input).astype(np.float32))
    model = InfiniModel(config, max_pos=x.shape[1]).eval()
    model.load_spec_weights(read_safetensors(args.weights))
    model, x = model.to(device), x.to(device)

    times = []
    # Only entered when asked for: torch 1.13 rejects an f16 CPU autocast
    # even when disabled.
    autocast = (torch.autocast(device.type, dtype=torch.float16)
                if args.autocast_f16 else contextlib.nullcontext())
    with torch.inference_mode(), autocast:
        for _ in range(args.warmup):
            y = model(x)
        for _ in range(args.repeats):
            synchronize()
            t0 = time.perf_counter()
            y = model(x)
            synchronize()
            times.append(time.perf_counter() - t0)
    if args.output:
        np.save(args.output, y.float().cpu().numpy().astype(np.float32))
    has_cope = bool(config.get("cope"))
    print(json.dumps({"threads": args.threads, "times_s": times,
                      "best_s": min(times) if times else None,
                      "attention": "manual+cope" if has_cope else
                      ("sdpa" if HAVE_SDPA else "manual")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
