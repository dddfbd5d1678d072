#!/usr/bin/env python3
"""Writes a tiny random-weight HF checkpoint (config.json + model.safetensors)
of a Llama-family architecture, for tests/test_model_architectures.cpp.

usage: random_hf_checkpoint.py OUT_DIR ARCHITECTURE SEED [LAYERS HIDDEN [DTYPE [ROPE_SCALING]]]
ARCHITECTURE: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM
LAYERS, HIDDEN (default 2, 32): a larger model for memory benchmarks (heads of 32)
DTYPE (default F32): F32, F16 or BF16 storage of every tensor (BF16: float32
rounded to nearest even in its upper 16 bits)
ROPE_SCALING (default none): linear (factor 4) or llama3 (factor 8, low 1,
high 4, original context 64: some frequencies kept, some divided, some
interpolated, as in Llama-3.x's config with a short original context)
"""
import json
import os
import struct
import sys

import numpy as np


def encode(array, dtype):
    a = np.ascontiguousarray(array, dtype="<f4")
    if dtype == "F32":
        return a.tobytes()
    if dtype == "F16":
        return a.astype("<f2").tobytes()
    bits = a.view("<u4").astype(np.uint64)  # BF16: round to nearest even on the upper half
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype("<u2").tobytes()


def write_safetensors(path, tensors, dtype="F32"):
    header, offset, blobs = {}, 0, []
    for name in sorted(tensors):
        data = encode(tensors[name], dtype)
        header[name] = {"dtype": dtype, "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def main():
    out, arch, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rng = np.random.default_rng(seed)
    D, H, G, d, F, V, L = 32, 4, 2, 16, 48, 97, 2  # head_dim != D / H for Qwen3, as in the real ones
    if len(sys.argv) > 5 and int(sys.argv[4]) > 0:
        L, D = int(sys.argv[4]), int(sys.argv[5])
        H, d = D // 32, 32
        G, F, V = max(1, H // 2), D * 3, 1000
    dtype = sys.argv[6] if len(sys.argv) > 6 else "F32"
    scaling = sys.argv[7] if len(sys.argv) > 7 else "none"
    config = {
        "architectures": [arch], "hidden_size": D, "num_attention_heads": H, "num_key_value_heads": G,
        "head_dim": d, "intermediate_size": F, "vocab_size": V, "num_hidden_layers": L,
        "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": arch == "Qwen3ForCausalLM",
        "max_position_embeddings": 256, "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32",
    }
    if scaling == "linear":
        config["rope_scaling"] = {"rope_type": "linear", "factor": 4.0}
    elif scaling == "llama3":
        config["rope_scaling"] = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                  "high_freq_factor": 4.0, "original_max_position_embeddings": 64}
    t = {}
    w = lambda *shape, s=0.2: (rng.standard_normal(shape) * s).astype(np.float32)
    t["model.embed_tokens.weight"] = w(V, D, s=1.0)
    t["model.norm.weight"] = (1 + w(D, s=0.1))
    if not config["tie_word_embeddings"]:
        t["lm_head.weight"] = w(V, D)
    for l in range(L):
        p = f"model.layers.{l}."
        t[p + "input_layernorm.weight"] = 1 + w(D, s=0.1)
        t[p + "post_attention_layernorm.weight"] = 1 + w(D, s=0.1)
        t[p + "self_attn.q_proj.weight"] = w(H * d, D)
        t[p + "self_attn.k_proj.weight"] = w(G * d, D)
        t[p + "self_attn.v_proj.weight"] = w(G * d, D)
        t[p + "self_attn.o_proj.weight"] = w(D, H * d)
        if arch == "Qwen2ForCausalLM":
            for x, n in (("q", H * d), ("k", G * d), ("v", G * d)):
                t[p + f"self_attn.{x}_proj.bias"] = w(n)
        if arch == "Qwen3ForCausalLM":
            t[p + "self_attn.q_norm.weight"] = 1 + w(d, s=0.3)
            t[p + "self_attn.k_norm.weight"] = 1 + w(d, s=0.3)
        t[p + "mlp.gate_proj.weight"] = w(F, D)
        t[p + "mlp.up_proj.weight"] = w(F, D)
        t[p + "mlp.down_proj.weight"] = w(D, F)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f)
    write_safetensors(os.path.join(out, "model.safetensors"), t, dtype)


if __name__ == "__main__":
    main()
