"""Rate-distortion of aekit's .aez codec against JPEG and PNG (Pillow) on Fashion-MNIST test images.

    python benchmarks/bench_compress.py [--out runs/bench-compress] [--epochs 6] [--n-test 1000]

Trains dense MSE autoencoders with a few code sizes, compresses the test images
at several bit depths (quantisation range from the training codes) and compares
whole-file sizes with JPEG at several qualities and lossless PNG. Both "one file
for all images" (headers amortised; a mosaic image for JPEG/PNG) and "one file
per image" rates are reported. Writes ``rd.md``, ``rd.json`` and ``rd.png``.
"""

from __future__ import annotations

import argparse
import io
import json
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import aekit
from aekit.apps.compress import bits_per_pixel, code_range, compress, decompress
from aekit.apps.generate import image_grid
from aekit.metrics import per_example_psnr


def pillow_size(img: np.ndarray, fmt: str, **opts) -> tuple[int, np.ndarray]:
    """(bytes, decoded float image) of a grey [0, 1] image saved by Pillow."""
    buf = io.BytesIO()
    Image.fromarray(np.rint(img * 255).astype(np.uint8), mode="L").save(buf, fmt, **opts)
    return buf.tell(), np.asarray(Image.open(io.BytesIO(buf.getvalue())), dtype=np.float32) / 255


def pillow_points(x: np.ndarray, fmt: str, **opts) -> dict:
    """Per-image files and one mosaic file of all images."""
    sizes, decoded = zip(*(pillow_size(img[0], fmt, **opts) for img in x))
    mosaic = image_grid(x, ncols=40, pad=0)
    size, dec = pillow_size(mosaic, fmt, **opts)
    h, w = x.shape[-2:]
    tiles = np.stack([dec[(i // 40) * h : (i // 40 + 1) * h, (i % 40) * w : (i % 40 + 1) * w] for i in range(len(x))])
    px = x[0].size
    return {"bpp_single": 8 * np.mean(sizes) / px, "psnr_single": float(per_example_psnr(x, np.stack(decoded)[:, None]).mean()),
            "bpp_batch": 8 * size / (len(x) * px), "psnr_batch": float(per_example_psnr(x, tiles[:, None]).mean())}


def aekit_points(model, x_train: np.ndarray, x: np.ndarray, bits_list) -> list[dict]:
    rng = code_range(model, x_train, quantile=1e-3)  # trim the 0.1% tails of the training codes
    rows = []
    for bits in bits_list:
        blob = compress(model, x, bits, rng)
        singles = [compress(model, x[i : i + 1], bits, rng) for i in range(100)]
        rows.append({"bits": bits, "bpp_batch": bits_per_pixel(blob, len(x), x[0].size),
                     "psnr_batch": float(per_example_psnr(x, decompress(model, blob)).mean()),
                     "bpp_single": 8 * np.mean([len(s) for s in singles]) / x[0].size})
    return rows


def plot(points: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    modes = {"batch": "one file, 1000 images", "single": "a file per image"}
    for name, rows in points.items():
        if name.startswith("PNG"):
            continue
        for mode, style in (("batch", "-o"), ("single", "--x")):
            key = "psnr_batch" if mode == "batch" or name.startswith("aekit") else "psnr_single"
            ax.plot([r[f"bpp_{mode}"] for r in rows], [r[key] for r in rows], style, label=f"{name} ({modes[mode]})", ms=4)
    for name in (n for n in points if n.startswith("PNG")):
        ax.axvline(points[name][0]["bpp_batch"], color="grey", ls=":", label=f"{name} lossless ({modes['batch']})")
    ax.set(xscale="log", xlabel="bits per pixel (whole files)", ylabel="PSNR (dB)", title="Fashion-MNIST test images")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.savefig(path, dpi=120, bbox_inches="tight")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/bench-compress")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--n-test", type=int, default=1000)
    ap.add_argument("--latent-dims", type=int, nargs="+", default=[16, 48])
    args = ap.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ds = aekit.load_dataset("fashion-mnist")
    x = ds.x_test[: args.n_test]
    points: dict[str, list[dict]] = {}
    for k in args.latent_dims:
        torch.manual_seed(0)
        model = aekit.create_model("deep", hidden=(512, 256), latent_dim=k, loss="mse")
        t = time.time()
        aekit.fit(model, ds.x_train, epochs=args.epochs, batch_size=128, lr=2e-3, schedule="cosine", progress=False)
        print(f"latent {k}: trained in {time.time() - t:.0f} s")
        model.save(str(out / f"ae-{k}" / "model"))
        points[f"aekit k={k}"] = aekit_points(model.eval(), ds.x_train[:20000], x, (2, 3, 4, 5, 6, 8))
    points["JPEG"] = [{"quality": q, **pillow_points(x, "JPEG", quality=q, optimize=True)} for q in (5, 10, 25, 50, 75, 90)]
    points["PNG"] = [{"quality": "lossless", **pillow_points(x, "PNG", optimize=True)}]
    (out / "rd.json").write_text(json.dumps(points, indent=1, default=float))
    lines = ["| codec | setting | bpp (one file) | PSNR (one file) | bpp (file per image) | PSNR (file per image) |",
             "|---|---|---|---|---|---|"]
    for name, rows in points.items():
        for r in rows:
            setting = f"{r['bits']} bits" if "bits" in r else f"q={r['quality']}"
            ps = [r["psnr_batch"], r.get("psnr_single", r["psnr_batch"])]  # a decode does not depend on the file split
            ps = ["lossless" if p > 100 else f"{p:.2f}" for p in ps]
            lines.append(f"| {name} | {setting} | {r['bpp_batch']:.4f} | {ps[0]} | {r['bpp_single']:.3f} | {ps[1]} |")
    (out / "rd.md").write_text("\n".join(lines) + "\n")
    plot(points, out / "rd.png")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
