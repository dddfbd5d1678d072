#!/usr/bin/env python3
"""Compare two kvdump v1 files tensor by tensor (e.g. kvsim capture vs io/capture_hf.py).

For every layer and dataset present in both (q, k, v, q_pre_rope, o_proj,
hidden_norm), and per head where there are heads, the error is
max|a - b| / max|b| (max-norm relative: robust to entries near zero).
Exits 1 when the tokens or shapes differ or any error exceeds --rtol.

usage: compare_dumps.py A.h5 B.h5 [--rtol 1e-4] [--quiet]
"""
import argparse
import sys

import h5py
import numpy as np

DATASETS = ["q", "k", "v", "q_pre_rope", "o_proj", "hidden_norm"]
SHAPE_ATTRS = ["n_layers", "n_heads", "n_kv_heads", "head_dim", "hidden_size", "n_tokens"]


def relative_error(a, b):
    scale = float(np.max(np.abs(b))) if b.size else 0.0
    return float(np.max(np.abs(a - b))) / max(scale, 1e-30) if b.size else 0.0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("a")
    p.add_argument("b", help="the reference: errors are relative to its values")
    p.add_argument("--rtol", type=float, default=1e-4)
    p.add_argument("--quiet", action="store_true", help="print only the summary line")
    args = p.parse_args(argv)

    failures = []
    with h5py.File(args.a, "r") as fa, h5py.File(args.b, "r") as fb:
        for name in SHAPE_ATTRS:
            if int(fa.attrs[name]) != int(fb.attrs[name]):
                failures.append(f"attribute {name}: {int(fa.attrs[name])} vs {int(fb.attrs[name])}")
        if failures:
            print("\n".join(failures))
            return 1
        if not np.array_equal(fa["tokens"][()], fb["tokens"][()]):
            print("tokens differ: compare captures of the same token ids (--tokens-file)")
            return 1
        worst, compared = 0.0, 0
        for layer in range(int(fa.attrs["n_layers"])):
            ga, gb = fa["layers"][str(layer)], fb["layers"][str(layer)]
            for name in DATASETS:
                if name not in ga or name not in gb:
                    continue
                a = ga[name][()].astype(np.float64)
                b = gb[name][()].astype(np.float64)
                if a.shape != b.shape:
                    failures.append(f"layer {layer} {name}: shape {a.shape} vs {b.shape}")
                    continue
                per_head = a.ndim == 3
                for h in range(a.shape[0] if per_head else 1):
                    err = relative_error(a[h], b[h]) if per_head else relative_error(a, b)
                    worst = max(worst, err)
                    compared += 1
                    where = f"layer {layer} {name}" + (f" head {h}" if per_head else "")
                    if err > args.rtol:
                        failures.append(f"{where}: relative error {err:.3g} > {args.rtol:g}")
                    elif not args.quiet:
                        print(f"{where}: {err:.3g}")
    for line in failures:
        print(line)
    print(f"{'FAIL' if failures else 'OK'}: {compared} tensors compared, worst relative error {worst:.3g} "
          f"(tolerance {args.rtol:g})")
    return 1 if failures or compared == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
