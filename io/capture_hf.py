#!/usr/bin/env python3
"""Capture a kvdump v1 file (DESIGN.md section 1) from a PyTorch/transformers model.

For people who run their models under transformers (e.g. on a GPU); the C++
`kvsim capture` does the same on CPU without Python. Both write the same layout:
post-RoPE q and k exactly as the model computes them, v, pre-RoPE q, the norm
of the hidden state entering each layer, and the o_proj weight.

How tensors are taken from the model (no re-implementation of the model):
  * q_proj / v_proj forward hooks give pre-RoPE q and v;
  * the modeling module's own `apply_rotary_pos_emb` is wrapped, so the
    post-RoPE q/k recorded are the very tensors the attention uses (k before
    GQA repetition: one per KV head);
  * an input_layernorm pre-hook gives the hidden-state norms;
  * o_proj.weight is copied (bf16 -> float16/float32 as --dtype says).

Generation is greedy (argmax, first maximum) with the KV cache; recording is a
second, cache-free forward pass over prompt + generated tokens, whose causal
masking makes it equal to the incremental run.

usage:
  capture_hf.py --model DIR_or_HUB_ID (--prompt-file F [--question-file Q] |
                --tokens-file F [--context-len C]) [--generate N] [--dtype f32|f16]
                [--device cpu|cuda] [--torch-dtype float32|bfloat16|float16] --out dump.h5

Needs torch, transformers, h5py, numpy. Supports Llama, Mistral, Qwen2 and
other models whose attention calls a module-level apply_rotary_pos_emb.
"""
import argparse
import sys
import time


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="HF checkpoint directory or hub id")
    p.add_argument("--prompt-file", help="UTF-8 context text (BOS is prepended)")
    p.add_argument("--question-file", help="text appended after the context (future queries)")
    p.add_argument("--tokens-file", help="whitespace-separated token ids, fed as given")
    p.add_argument("--context-len", type=int, help="with --tokens-file: tokens [0, C) are the context")
    p.add_argument("--generate", type=int, default=32, help="greedy tokens to generate (default 32)")
    p.add_argument("--ignore-eos", action="store_true", help="keep generating past EOS")
    p.add_argument("--no-bos", action="store_true", help="with --prompt-file: no BOS token")
    p.add_argument("--dtype", choices=["f32", "f16"], default="f32", help="storage type in the dump")
    p.add_argument("--device", default="cpu", help="torch device (cpu, cuda, cuda:1, ...)")
    p.add_argument("--torch-dtype", choices=["float32", "bfloat16", "float16"], default="float32",
                   help="dtype the model runs in (float32 matches kvsim capture)")
    p.add_argument("--model-name", help="`model` attribute (default: --model's last path part)")
    p.add_argument("--out", required=True, help="output .h5")
    args = p.parse_args(argv)
    if (args.prompt_file is None) == (args.tokens_file is None):
        p.error("give exactly one of --prompt-file and --tokens-file")
    if args.question_file and not args.prompt_file:
        p.error("--question-file needs --prompt-file")
    if args.context_len is not None and not args.tokens_file:
        p.error("--context-len needs --tokens-file")
    if args.generate < 0:
        p.error("--generate must be >= 0")
    return args


def read_text(path):
    with open(path, encoding="utf-8") as f:
        return f.read().rstrip("\r\n")


def prompt_tokens(args, tokenizer, config):
    """Returns (tokens, context_len) following kvsim capture's conventions."""
    if args.tokens_file:
        with open(args.tokens_file) as f:
            ids = [int(w) for w in f.read().split()]
        if not ids:
            sys.exit(f"capture_hf: {args.tokens_file}: no token ids")
        context = args.context_len if args.context_len is not None else len(ids)
    else:
        ids = []
        if not args.no_bos and config.bos_token_id is not None:
            ids.append(int(config.bos_token_id))
        ids += tokenizer.encode(read_text(args.prompt_file), add_special_tokens=False)
        context = len(ids)
        if args.question_file:
            ids += tokenizer.encode(read_text(args.question_file), add_special_tokens=False)
    if not 1 <= context <= len(ids):
        sys.exit(f"capture_hf: context length {context} must be in [1, {len(ids)}]")
    return ids, context


def greedy_generate(torch, model, ids, n, stop_ids, device):
    generated = []
    with torch.no_grad():
        out = model(torch.tensor([ids], device=device), use_cache=True)
        for _ in range(n):
            nxt = int(torch.argmax(out.logits[0, -1].float()))
            generated.append(nxt)
            if nxt in stop_ids:
                break
            out = model(torch.tensor([[nxt]], device=device), past_key_values=out.past_key_values,
                        use_cache=True)
    return generated


class Recorder:
    """Hooks that keep every layer's tensors from one forward pass."""

    def __init__(self, torch, model):
        self.torch = torch
        self.layers = model.model.layers
        self.current = None
        self.rec = [dict() for _ in self.layers]
        self.handles = []
        self.patched = []
        for i, layer in enumerate(self.layers):
            attn = layer.self_attn
            self.handles.append(attn.register_forward_pre_hook(self._enter(i)))
            self.handles.append(attn.q_proj.register_forward_hook(self._keep(i, "q_pre_rope")))
            self.handles.append(attn.v_proj.register_forward_hook(self._keep(i, "v")))
            self.handles.append(layer.input_layernorm.register_forward_pre_hook(self._norm(i)))
            module = sys.modules[type(attn).__module__]
            if not hasattr(module, "apply_rotary_pos_emb"):
                sys.exit(f"capture_hf: {module.__name__} has no apply_rotary_pos_emb to hook")
            if all(m is not module for m, _ in self.patched):
                original = module.apply_rotary_pos_emb
                self.patched.append((module, original))
                module.apply_rotary_pos_emb = self._rope(original)

    def _enter(self, i):
        def hook(mod, args):
            self.current = i
        return hook

    def _keep(self, i, name):
        def hook(mod, args, output):
            self.rec[i][name] = output.detach()
        return hook

    def _norm(self, i):
        def hook(mod, args):
            self.rec[i]["hidden_norm"] = args[0].detach().float().norm(dim=-1)
        return hook

    def _rope(self, original):
        def wrapped(q, k, *args, **kwargs):
            q_rot, k_rot = original(q, k, *args, **kwargs)
            self.rec[self.current]["q"] = q_rot.detach()  # [B, H, T, d]
            self.rec[self.current]["k"] = k_rot.detach()  # [B, G, T, d]
            return q_rot, k_rot
        return wrapped

    def close(self):
        for h in self.handles:
            h.remove()
        for module, original in self.patched:
            module.apply_rotary_pos_emb = original


def write_dump(path, attrs, tokens, token_text, layers, np_dtype):
    import h5py
    import numpy as np
    T, d = attrs["n_tokens"], attrs["head_dim"]
    chunk_t = min(T, 1024)
    with h5py.File(path + ".partial", "w") as f:
        f.attrs["kvdump_version"] = np.int64(1)
        f.attrs["model"] = attrs["model"]
        f.attrs["source"] = "hf-transformers"
        for name in ["n_layers", "n_heads", "n_kv_heads", "head_dim", "hidden_size", "n_tokens"]:
            f.attrs[name] = np.int64(attrs[name])
        if attrs["context_len"] < T:  # kvdump requires C < T; otherwise replay uses --window
            f.attrs["context_len"] = np.int64(attrs["context_len"])
        f.attrs["rope_theta"] = float(attrs["rope_theta"])
        f.attrs["attn_scale"] = float(attrs["attn_scale"])
        f.create_dataset("tokens", data=np.asarray(tokens, dtype=np.int32))
        if token_text is not None:
            f.create_dataset("token_text", data=token_text, dtype=h5py.string_dtype())
        for i, rec in enumerate(layers):
            g = f.create_group(f"layers/{i}")
            for name in ["q", "k", "v", "q_pre_rope"]:
                g.create_dataset(name, data=rec[name].astype(np_dtype), chunks=(1, chunk_t, d))
            g.create_dataset("o_proj", data=rec["o_proj"].astype(np_dtype))
            g.create_dataset("hidden_norm", data=rec["hidden_norm"].astype(np_dtype))
    import os
    os.replace(path + ".partial", path)  # complete files only


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    import numpy as np
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    start = time.time()
    torch_dtype = getattr(torch, args.torch_dtype)
    model = AutoModelForCausalLM.from_pretrained(args.model, torch_dtype=torch_dtype,
                                                 attn_implementation="eager").to(args.device).eval()
    config = model.config
    try:
        tokenizer = AutoTokenizer.from_pretrained(args.model)
    except Exception as e:  # tokens-file captures work without one
        if args.prompt_file:
            raise
        print(f"capture_hf: no tokenizer ({e}); no /token_text", file=sys.stderr)
        tokenizer = None

    ids, context_len = prompt_tokens(args, tokenizer, config)
    eos = config.eos_token_id
    stop = set() if args.ignore_eos or eos is None else set(eos if isinstance(eos, list) else [eos])
    print(f"capture_hf: prefill {len(ids)} tokens, generate up to {args.generate}", file=sys.stderr)
    generated = greedy_generate(torch, model, ids, args.generate, stop, args.device)
    tokens = ids + generated

    recorder = Recorder(torch, model)
    try:
        with torch.no_grad():
            model(torch.tensor([tokens], device=args.device), use_cache=False)
    finally:
        recorder.close()

    H, G = config.num_attention_heads, config.num_key_value_heads or config.num_attention_heads
    d = getattr(config, "head_dim", None) or config.hidden_size // H
    T = len(tokens)

    def heads_first(x, heads):  # [1, T, heads*d] -> [heads, T, d]
        return x[0].float().reshape(T, heads, d).permute(1, 0, 2).cpu().numpy()

    layers = []
    for i, rec in enumerate(recorder.rec):
        attn = model.model.layers[i].self_attn
        layers.append({
            "q": rec["q"][0].float().cpu().numpy(),
            "k": rec["k"][0].float().cpu().numpy(),
            "v": heads_first(rec["v"], G),
            "q_pre_rope": heads_first(rec["q_pre_rope"], H),
            "hidden_norm": rec["hidden_norm"][0].cpu().numpy(),
            "o_proj": attn.o_proj.weight.detach().float().cpu().numpy(),
        })
        assert layers[-1]["q"].shape == (H, T, d), layers[-1]["q"].shape
        assert layers[-1]["k"].shape == (G, T, d), layers[-1]["k"].shape
    attn0 = model.model.layers[0].self_attn
    attrs = {
        "model": args.model_name or args.model.rstrip("/").split("/")[-1],
        "n_layers": len(layers), "n_heads": H, "n_kv_heads": G, "head_dim": d,
        "hidden_size": config.hidden_size, "n_tokens": T, "context_len": context_len,
        "rope_theta": getattr(config, "rope_theta", 10000.0),
        "attn_scale": float(getattr(attn0, "scaling", d ** -0.5)),
    }
    token_text = None
    if tokenizer is not None:
        token_text = [tokenizer.convert_tokens_to_string([tokenizer.convert_ids_to_tokens(t)]) for t in tokens]
    write_dump(args.out, attrs, tokens, token_text, layers,
               np.float16 if args.dtype == "f16" else np.float32)
    seconds = time.time() - start
    print(f"captured {attrs['model']} -> {args.out}")
    print(f"tokens: {T} (context {context_len}, future {T - context_len}, generated {len(generated)})")
    print(f"layers: {len(layers)}, query heads {H}, KV heads {G}, head_dim {d}, storage {args.dtype}")
    print(f"seconds: {seconds:.3f} total ({T / seconds:.1f} tokens/s)")
    if tokenizer is not None:
        print("generated text: " + tokenizer.decode(generated, skip_special_tokens=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
