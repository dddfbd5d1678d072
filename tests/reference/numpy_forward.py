#!/usr/bin/env python3
"""An independent float64 forward pass of an HF Llama-family checkpoint
(Llama, Mistral, Qwen2 biases, Qwen3 per-head q/k RMSNorm), written for the
tests from the architectures' definitions, not from kvsim's code. Prints JSON:
per layer the post-RoPE q [H, T, d], k and v [G, T, d].

usage: numpy_forward.py MODEL_DIR TOKEN_IDS_FILE
"""
import json
import struct
import sys

import numpy as np


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        raw = data[a:b]
        if info["dtype"] == "F32":
            values = np.frombuffer(raw, dtype="<f4")
        elif info["dtype"] == "F16":
            values = np.frombuffer(raw, dtype="<f2")
        elif info["dtype"] == "BF16":  # the upper half of a float32
            values = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view("<f4")
        else:
            raise ValueError(info["dtype"])
        out[name] = values.reshape(info["shape"]).astype(np.float64)
    return out


def rms_norm(x, weight, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * weight


def inverse_frequencies(d, theta, scaling):
    """RoPE frequencies, with the linear or Llama-3 scaling of the config
    (Meta's Llama 3.1 definition: low frequencies divided by `factor`, high
    ones kept, a linear blend of the two in between)."""
    inv = theta ** (-np.arange(0, d, 2, dtype=np.float64) / d)
    if not scaling:
        return inv
    kind = scaling.get("rope_type", scaling.get("type"))
    if kind == "linear":
        return inv / scaling["factor"]
    assert kind == "llama3", kind
    factor, low, high = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"]
    old = scaling["original_max_position_embeddings"]
    out = []
    for f in inv:
        wavelen = 2 * np.pi / f
        if wavelen < old / high:
            out.append(f)
        elif wavelen > old / low:
            out.append(f / factor)
        else:
            smooth = (old / wavelen - low) / (high - low)
            out.append((1 - smooth) * f / factor + smooth * f)
    return np.array(out)


def rope(x, positions, theta, scaling=None):  # x [..., T, d], HF rotate_half pairing
    d = x.shape[-1]
    inv = inverse_frequencies(d, theta, scaling)
    angles = np.outer(positions, inv)
    cos = np.concatenate([np.cos(angles)] * 2, axis=-1)
    sin = np.concatenate([np.sin(angles)] * 2, axis=-1)
    rotated = np.concatenate([-x[..., d // 2:], x[..., : d // 2]], axis=-1)
    return x * cos + rotated * sin


def main():
    model_dir, ids_file = sys.argv[1], sys.argv[2]
    c = json.load(open(model_dir + "/config.json"))
    t = read_safetensors(model_dir + "/model.safetensors")
    ids = [int(x) for x in open(ids_file).read().split()]
    D, H, G = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
    d = c.get("head_dim", D // H)
    eps, theta, T = c["rms_norm_eps"], c.get("rope_theta", 10000.0), len(ids)
    qwen2, qwen3 = c["architectures"][0] == "Qwen2ForCausalLM", c["architectures"][0] == "Qwen3ForCausalLM"
    x = t["model.embed_tokens.weight"][ids]
    pos = np.arange(T)
    out = {"layers": []}
    for l in range(c["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = rms_norm(x, t[p + "input_layernorm.weight"], eps)
        q, k, v = (h @ t[p + f"self_attn.{n}_proj.weight"].T for n in "qkv")
        if qwen2:
            q, k, v = (a + t[p + f"self_attn.{n}_proj.bias"] for a, n in zip((q, k, v), "qkv"))
        q = q.reshape(T, H, d).transpose(1, 0, 2)
        k = k.reshape(T, G, d).transpose(1, 0, 2)
        v = v.reshape(T, G, d).transpose(1, 0, 2)
        if qwen3:
            q = rms_norm(q, t[p + "self_attn.q_norm.weight"], eps)
            k = rms_norm(k, t[p + "self_attn.k_norm.weight"], eps)
        q, k = rope(q, pos, theta, c.get("rope_scaling")), rope(k, pos, theta, c.get("rope_scaling"))
        out["layers"].append({"q": q.tolist(), "k": k.tolist(), "v": v.tolist()})
        r = H // G
        att = np.zeros((H, T, d))
        mask = np.triu(np.full((T, T), -np.inf), 1)
        for hh in range(H):
            s = q[hh] @ k[hh // r].T / np.sqrt(d) + mask
            s = np.exp(s - s.max(axis=-1, keepdims=True))
            att[hh] = (s / s.sum(axis=-1, keepdims=True)) @ v[hh // r]
        x = x + att.transpose(1, 0, 2).reshape(T, H * d) @ t[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, t[p + "post_attention_layernorm.weight"], eps)
        gate, up = h @ t[p + "mlp.gate_proj.weight"].T, h @ t[p + "mlp.up_proj.weight"].T
        x = x + (gate / (1 + np.exp(-gate)) * up) @ t[p + "mlp.down_proj.weight"].T
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
