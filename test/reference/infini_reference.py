#!/usr/bin/env python3
"""Independent float64 reference of /work/shared/SPEC.md ("What the compiler computes").

Written straight from SPEC's formulas with PyTorch, for clarity first; vectorized over
batch, heads and tokens so a few thousand tokens take seconds. Nothing here is shared
with the compiler: it is the yardstick the compiled model is held to.

Library use:
    out, state = run_model(config, weights, inputs, state=None)
config: the model JSON as a dict; weights: name -> array (SPEC's names); inputs: int ids
[B,N] or float hidden states [B,N,D]; state: None or the dict an .npz holds
(`layers.{i}.memory`, `layers.{i}.norm`, `position`). Returns float64 numpy output and
the new state (float64 arrays and an int64 `position`).

CLI:
    infini_reference.py --config C.json --weights W.safetensors --input IN.npy \
        --output OUT.npy [--state-in S.npz] [--state-out S.npz] [--float64]
Files are written in SPEC's formats (float32 output and state) unless --float64.
"""

import argparse
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402
from model_config import Config, load_config, state_shapes, weight_shapes  # noqa: E402,F401

DTYPE = torch.float64


# ----------------------------------------------------------------------------
# Ops (SPEC "Ops")
# ----------------------------------------------------------------------------


def rmsnorm(x, w, eps):
    """x / sqrt(mean(x^2 over last dim) + eps) * w."""
    return x / torch.sqrt((x * x).mean(dim=-1, keepdim=True) + eps) * w


def rope(x, positions, theta=10000.0, layout="half_split", rotary_dim=None, factor=1.0):
    """Rotates feature pairs of x: [..., T, Dh] at absolute `positions`: [T].

    Pair i is (i, i + r/2) for half_split and (2i, 2i+1) for interleaved; its angle is
    (pos / factor) * theta^(-2i/r); (a, b) -> (a cos - b sin, b cos + a sin). Features
    r..Dh-1 pass through unchanged.
    """
    dh = x.shape[-1]
    r = dh if rotary_dim is None else rotary_dim
    half = r // 2
    i = torch.arange(half, dtype=DTYPE)
    inv_freq = theta ** (-2.0 * i / r)
    pos = torch.as_tensor(positions, dtype=DTYPE)
    angle = (pos / factor)[:, None] * inv_freq[None, :]  # [T, r/2]
    cos, sin = torch.cos(angle).to(x.dtype), torch.sin(angle).to(x.dtype)
    if layout == "half_split":
        a, b = x[..., :half], x[..., half:r]
    elif layout == "interleaved":
        a, b = x[..., 0:r:2], x[..., 1:r:2]
    else:
        raise ValueError(f"unknown rope layout {layout!r}")
    ra = a * cos - b * sin
    rb = b * cos + a * sin
    out = x.clone()
    if layout == "half_split":
        out[..., :half] = ra
        out[..., half:r] = rb
    else:
        out[..., 0:r:2] = ra
        out[..., 1:r:2] = rb
    return out


def causal_mask(t):
    """[T, T] bool, True where key j <= query i."""
    return torch.ones(t, t, dtype=torch.bool).tril()


def cope_positions(logits, npos):
    """p_ij = min(sum_{t=j..i} sigmoid(l_it), P-1) for j <= i (0 above the diagonal)."""
    t = logits.shape[-1]
    gates = torch.sigmoid(logits) * causal_mask(t).to(logits.dtype)
    # Reversed cumulative sum along keys: sum over t >= j of g_it (g_it = 0 for t > i).
    p = gates.flip(-1).cumsum(-1).flip(-1)
    return p.clamp(max=npos - 1)


def cope_bias(q, logits, pos_emb):
    """CoPE bias_ij = (1-w) z_i[floor p_ij] + w z_i[ceil p_ij], z_i = q_i . E (unscaled).

    q: [B,H,T,Dh]; logits: [B,H,T,T] scaled q.k (before any masking); pos_emb E: [Dh,P].
    """
    npos = pos_emb.shape[-1]
    p = cope_positions(logits, npos)
    z = q @ pos_emb  # [B,H,T,P]
    lo = torch.floor(p)
    hi = torch.ceil(p)
    w = p - lo
    z_lo = torch.gather(z, -1, lo.long())
    z_hi = torch.gather(z, -1, hi.long())
    return (1 - w) * z_lo + w * z_hi


def local_attention(q, k, v, pos_emb=None):
    """Causal softmax attention within one segment, scale 1/sqrt(Dh), optional CoPE."""
    dh = q.shape[-1]
    logits = (q @ k.transpose(-1, -2)) / math.sqrt(dh)
    if pos_emb is not None:
        logits = logits + cope_bias(q, logits, pos_emb)
    logits = logits.masked_fill(~causal_mask(q.shape[-2]), float("-inf"))
    return torch.softmax(logits, dim=-1) @ v


def elu_plus_one(x):
    """s(x) = elu(x) + 1."""
    return torch.nn.functional.elu(x) + 1


def memory_retrieve(q, mem, norm, eps):
    """A_mem = s(Q) M / (s(Q) z + eps).  q: [B,H,T,Dh]; mem: [B,H,Dh,Dh]; norm: [B,H,Dh]."""
    sq = elu_plus_one(q)
    return (sq @ mem) / ((sq @ norm.unsqueeze(-1)) + eps)


def memory_update(k, v, mem, norm, eps, kind):
    """The memory after one segment, from the memory before it.

    linear: M += s(K)^T V; delta: M += s(K)^T (V - s(K) M / (s(K) z + eps));
    both: z += sum over the segment's tokens of s(K_t).
    """
    sk = elu_plus_one(k)
    if kind == "linear":
        new_mem = mem + sk.transpose(-1, -2) @ v
    elif kind == "delta":
        new_mem = mem + sk.transpose(-1, -2) @ (v - memory_retrieve(k, mem, norm, eps))
    else:
        raise ValueError(f"unknown memory update {kind!r}")
    return new_mem, norm + sk.sum(dim=-2)


def swiglu(x, w_gate, w_up, w_down, beta=1.0):
    """(swish_beta(x Wg^T) * (x Wu^T)) Wd^T with swish_beta(a) = a * sigmoid(beta a)."""
    g = x @ w_gate.T
    return ((g * torch.sigmoid(beta * g)) * (x @ w_up.T)) @ w_down.T


# ----------------------------------------------------------------------------
# The block and the model (SPEC "The block and the model")
# ----------------------------------------------------------------------------


def split_heads(x, heads, head_dim):
    """[B,T,H*Dh] -> [B,H,T,Dh]."""
    b, t, _ = x.shape
    return x.reshape(b, t, heads, head_dim).transpose(1, 2)


def merge_heads(x):
    """[B,H,T,Dh] -> [B,T,H*Dh]."""
    b, h, t, dh = x.shape
    return x.transpose(1, 2).reshape(b, t, h * dh)


def block(c, lw, x, offset, mem_state):
    """One layer on one segment x: [B,T,D] starting at absolute position `offset`.

    lw: the layer's weights without the `layers.{i}.` prefix; mem_state: (M, z) or None.
    Returns (x, new mem_state).
    """
    t = x.shape[1]
    h = rmsnorm(x, lw["attn_norm.weight"], c.norm_eps)
    q = split_heads(h @ lw["attn.q_proj.weight"].T, c.heads, c.head_dim)
    k = split_heads(h @ lw["attn.k_proj.weight"].T, c.heads, c.head_dim)
    v = split_heads(h @ lw["attn.v_proj.weight"].T, c.heads, c.head_dim)

    if c.rope:
        positions = offset + torch.arange(t, dtype=DTYPE)
        rope_args = dict(theta=c.rope_theta, layout=c.rope_layout,
                         rotary_dim=c.rotary_dim, factor=c.rope_factor)
        qr, kr = rope(q, positions, **rope_args), rope(k, positions, **rope_args)
    else:
        qr, kr = q, k

    a = local_attention(qr, kr, v, lw["attn.cope_pos_emb"] if c.cope else None)

    if c.memory:
        qm, km = (qr, kr) if c.memory_uses_rope else (q, k)
        mem, norm = mem_state
        a_mem = memory_retrieve(qm, mem, norm, c.memory_eps)
        gate = torch.sigmoid(lw["attn.memory_gate"]).reshape(1, c.heads, 1, 1)
        a = gate * a_mem + (1 - gate) * a
        mem_state = memory_update(km, v, mem, norm, c.memory_eps, c.memory_update)

    x = x + merge_heads(a) @ lw["attn.o_proj.weight"].T
    h = rmsnorm(x, lw["ffn_norm.weight"], c.norm_eps)
    x = x + swiglu(h, lw["ffn.gate_proj.weight"], lw["ffn.up_proj.weight"],
                   lw["ffn.down_proj.weight"], c.swish_beta)
    return x, mem_state


def _as_tensor(a, dtype):
    if isinstance(a, torch.Tensor):
        return a.detach().to(dtype)
    return torch.from_numpy(np.asarray(a, dtype=np.float64)).to(dtype)


def check_weights(c, weights):
    """Raises ValueError if a weight SPEC names for `c` is missing or misshapen."""
    for name, shape in weight_shapes(c).items():
        if name not in weights:
            raise ValueError(f"weight '{name}' is missing")
        if tuple(weights[name].shape) != shape:
            raise ValueError(f"weight '{name}' has shape {list(weights[name].shape)}, "
                             f"expected {list(shape)}")


def initial_state(c, batch, dtype=DTYPE):
    """Zero memory, position 0."""
    state = {"position": 0}
    if c.memory:
        for i in range(c.layers):
            state[f"layers.{i}.memory"] = torch.zeros(batch, c.heads, c.head_dim, c.head_dim,
                                                      dtype=dtype)
            state[f"layers.{i}.norm"] = torch.zeros(batch, c.heads, c.head_dim, dtype=dtype)
    return state


def run_model(config, weights, inputs, state=None, dtype=DTYPE):
    """Runs the model of `config` over `inputs` segment by segment.

    Returns (output as numpy in `dtype`, new state: name -> numpy, `position` int64).
    `dtype` float32 gives an f32 evaluation of the same formulas (used to check that the
    accuracy bound is attainable); the reference proper is float64.
    """
    c = config if isinstance(config, Config) else Config(config)
    check_weights(c, weights)
    w = {name: _as_tensor(weights[name], dtype) for name in weight_shapes(c)}
    inputs = np.asarray(inputs)

    if c.vocab_size:
        if inputs.ndim != 2 or inputs.dtype.kind not in "iu":
            raise ValueError(f"a vocabulary model takes int ids [B,N], got {inputs.dtype} "
                             f"{list(inputs.shape)}")
        if inputs.size and (inputs.min() < 0 or inputs.max() >= c.vocab_size):
            raise ValueError(f"token id out of range [0, {c.vocab_size})")
        x = w["embed.weight"][torch.from_numpy(inputs.astype(np.int64))]
    else:
        if inputs.ndim != 3 or inputs.shape[2] != c.hidden or inputs.dtype.kind != "f":
            raise ValueError(f"a hidden-state model takes float [B,N,{c.hidden}], got "
                             f"{inputs.dtype} {list(inputs.shape)}")
        x = _as_tensor(inputs, dtype)
    batch, n = x.shape[0], x.shape[1]

    # The memory state carried in, checked against SPEC's shapes.
    expected = state_shapes(c, batch)
    cur = initial_state(c, batch, dtype)
    if state is not None:
        for name, shape in expected.items():
            if name not in state:
                raise ValueError(f"state '{name}' is missing")
            if tuple(np.shape(state[name])) != shape:
                raise ValueError(f"state '{name}' has shape {list(np.shape(state[name]))}, "
                                 f"expected {list(shape)}")
            cur[name] = (int(np.asarray(state[name])) if name == "position"
                         else _as_tensor(state[name], dtype))
    position = cur["position"]
    mems = [(cur[f"layers.{i}.memory"], cur[f"layers.{i}.norm"]) if c.memory else None
            for i in range(c.layers)]
    layer_weights = [{name[len(f"layers.{i}."):]: t for name, t in w.items()
                      if name.startswith(f"layers.{i}.")} for i in range(c.layers)]

    outs = []
    for start in range(0, n, c.segment_len):
        seg = x[:, start:start + c.segment_len]
        for i in range(c.layers):
            seg, mems[i] = block(c, layer_weights[i], seg, position + start, mems[i])
        outs.append(seg)
    y = torch.cat(outs, dim=1) if outs else x
    if c.vocab_size:
        y = rmsnorm(y, w["final_norm.weight"], c.norm_eps) @ w["lm_head.weight"].T

    new_state = {}
    if c.memory:
        for i in range(c.layers):
            new_state[f"layers.{i}.memory"] = mems[i][0].numpy()
            new_state[f"layers.{i}.norm"] = mems[i][1].numpy()
    new_state["position"] = np.array(position + n, dtype=np.int64)
    return y.numpy(), new_state


# ----------------------------------------------------------------------------
# Files
# ----------------------------------------------------------------------------


def load_state(path):
    with np.load(path, allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def save_state(path, state, float_dtype=np.float32):
    arrays = {name: (np.asarray(a, dtype=np.int64) if name == "position"
                     else np.asarray(a, dtype=float_dtype)) for name, a in state.items()}
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def run_files(config_path, weights_path, input_path, state_in=None):
    """Runs the reference on files; returns (output float64, state float64)."""
    config = load_config(config_path)
    weights = safetensors_io.read(weights_path)
    inputs = np.load(input_path, allow_pickle=False)
    state = load_state(state_in) if state_in else None
    return run_model(config, weights, inputs, state)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--weights", required=True)
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--state-in")
    parser.add_argument("--state-out")
    parser.add_argument("--float64", action="store_true",
                        help="write float64 output and state instead of SPEC's float32")
    args = parser.parse_args(argv)
    out, state = run_files(args.config, args.weights, args.input, args.state_in)
    fdt = np.float64 if args.float64 else np.float32
    with open(args.output, "wb") as f:
        np.save(f, out.astype(fdt))
    if args.state_out:
        save_state(args.state_out, state, fdt)
    return 0


if __name__ == "__main__":
    sys.exit(main())
