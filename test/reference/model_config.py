#!/usr/bin/env python3
"""SPEC's model description: the config JSON with its defaults, weight and state shapes.

Kept free of torch so the case writers start fast; infini_reference.py builds on it.
"""

import json


class Config:
    """The model description of SPEC's config JSON, with SPEC's defaults filled in."""

    def __init__(self, cfg):
        self.vocab_size = int(cfg.get("vocab_size") or 0)
        self.hidden = int(cfg["hidden_size"])
        self.heads = int(cfg["num_heads"])
        head_dim = cfg.get("head_dim")
        if head_dim is None:
            if self.hidden % self.heads:
                raise ValueError("hidden_size is not a multiple of num_heads; give head_dim")
            head_dim = self.hidden // self.heads
        self.head_dim = int(head_dim)
        self.ffn = int(cfg["intermediate_size"])
        self.layers = int(cfg["num_layers"])
        self.segment_len = int(cfg["segment_len"])
        # SPEC's example value; every test config states it explicitly.
        self.norm_eps = float(cfg.get("norm_eps", 1e-5))
        swish_beta = cfg.get("swish_beta")
        self.swish_beta = 1.0 if swish_beta is None else float(swish_beta)

        rope = cfg.get("rope")
        self.rope = rope is not None
        if self.rope:
            self.rope_theta = float(rope.get("theta", 10000.0))
            self.rope_layout = rope.get("layout", "half_split")
            if self.rope_layout not in ("half_split", "interleaved"):
                raise ValueError(f"unknown rope layout {self.rope_layout!r}")
            rd = rope.get("rotary_dim")
            self.rotary_dim = self.head_dim if rd is None else int(rd)
            if self.rotary_dim % 2 or not 0 < self.rotary_dim <= self.head_dim:
                raise ValueError("rotary_dim must be even and in (0, head_dim]")
            scaling = rope.get("scaling") or {}
            kind = scaling.get("type", "linear")
            if kind != "linear":
                raise ValueError(f"unsupported rope scaling type {kind!r}")
            self.rope_factor = float(scaling.get("factor", 1.0))

        cope = cfg.get("cope")
        self.cope = cope is not None
        if self.cope:
            self.cope_npos = int(cope["npos"])

        memory = cfg.get("memory")
        self.memory = memory is not None
        if self.memory:
            self.memory_update = memory.get("update", "linear")
            if self.memory_update not in ("linear", "delta"):
                raise ValueError(f"unknown memory update {self.memory_update!r}")
            eps = memory.get("eps")
            self.memory_eps = 1e-6 if eps is None else float(eps)
        self.memory_uses_rope = bool(cfg.get("memory_uses_rope") or False)


def weight_shapes(cfg):
    """SPEC's weight names and shapes for `cfg` (dict or Config), in a fixed order."""
    c = cfg if isinstance(cfg, Config) else Config(cfg)
    D, HD, F = c.hidden, c.heads * c.head_dim, c.ffn
    shapes = {}
    if c.vocab_size:
        shapes["embed.weight"] = (c.vocab_size, D)
    for i in range(c.layers):
        p = f"layers.{i}."
        shapes[p + "attn_norm.weight"] = (D,)
        shapes[p + "attn.q_proj.weight"] = (HD, D)
        shapes[p + "attn.k_proj.weight"] = (HD, D)
        shapes[p + "attn.v_proj.weight"] = (HD, D)
        shapes[p + "attn.o_proj.weight"] = (D, HD)
        if c.cope:
            shapes[p + "attn.cope_pos_emb"] = (c.head_dim, c.cope_npos)
        if c.memory:
            shapes[p + "attn.memory_gate"] = (c.heads,)
        shapes[p + "ffn_norm.weight"] = (D,)
        shapes[p + "ffn.gate_proj.weight"] = (F, D)
        shapes[p + "ffn.up_proj.weight"] = (F, D)
        shapes[p + "ffn.down_proj.weight"] = (D, F)
    if c.vocab_size:
        shapes["final_norm.weight"] = (D,)
        shapes["lm_head.weight"] = (c.vocab_size, D)
    return shapes


def state_shapes(cfg, batch):
    """The arrays of a memory-state .npz for `cfg` and batch size `batch`."""
    c = cfg if isinstance(cfg, Config) else Config(cfg)
    shapes = {}
    if c.memory:
        for i in range(c.layers):
            shapes[f"layers.{i}.memory"] = (batch, c.heads, c.head_dim, c.head_dim)
            shapes[f"layers.{i}.norm"] = (batch, c.heads, c.head_dim)
    shapes["position"] = ()
    return shapes


def load_config(path):
    with open(path) as f:
        return json.load(f)
