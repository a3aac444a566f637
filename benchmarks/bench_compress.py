"""Rate-distortion on Fashion-MNIST test images: aekit's learned codec, the quantised-code .aez, JPEG and WebP.

    python benchmarks/bench_compress.py [--out runs/bench-compress] [--train-size 20000] [--n-test 10000]

Every codec is measured by **real files**: the test images are cut into batches
of ``--batch`` images; each batch is one file (an ``.aez`` file, or for JPEG
and WebP one mosaic image of the batch saved by Pillow), headers included. The
rate is all files' bits over all pixels; the distortion is the PSNR of each
decoded image (8-bit levels), averaged over images.

* aekit learned codec: the presets ``codec-q1`` .. ``codec-q8`` trained with
  their recipes on the first ``--train-size`` training images (``aekit codec
  train``; runs kept in ``OUT/codecs`` and reused unless ``--retrain``).
* aekit quantised-code ``.aez`` (format 2): a dense MSE autoencoder (48-d code),
  trained ``--ae-epochs`` epochs, at 2-8 bits per code dimension.
* JPEG and WebP (Pillow) at a sweep of qualities, grey 8-bit mosaics.

Writes ``rd.md`` (table and target check), ``rd.json`` and ``rd.png`` (all curves).
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
from aekit.apps.aez_learned import compress_learned, decompress_learned
from aekit.apps.compress import code_range, compress, decompress
from aekit.metrics import per_example_psnr
from aekit.models.presets import CODEC_LAMBDAS

JPEG_QUALITIES = (1, 3, 5, 10, 15, 25, 35, 50, 65, 75, 85, 90, 95)
WEBP_QUALITIES = (0, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100)


def batches(x: np.ndarray, size: int) -> list[np.ndarray]:
    return [x[i : i + size] for i in range(0, len(x), size)]


def mosaic(x: np.ndarray, cols: int) -> np.ndarray:
    """Images (n, 1, h, w) as one 8-bit grey mosaic (rows x cols tiles; missing tiles black)."""
    n, _, h, w = x.shape
    rows = -(-n // cols)
    out = np.zeros((rows * h, cols * w), dtype=np.uint8)
    for i, img in enumerate(np.rint(x[:, 0] * 255).astype(np.uint8)):
        out[(i // cols) * h : (i // cols + 1) * h, (i % cols) * w : (i % cols + 1) * w] = img
    return out


def pillow_point(x: np.ndarray, fmt: str, batch: int, **opts) -> dict:
    """Bits per pixel and mean PSNR of ``x`` saved as one ``fmt`` mosaic per batch."""
    bits, decoded = 0, []
    cols = int(np.ceil(np.sqrt(batch)))
    h, w = x.shape[-2:]
    for part in batches(x, batch):
        buf = io.BytesIO()
        Image.fromarray(mosaic(part, cols)).save(buf, fmt, **opts)
        bits += 8 * buf.tell()
        dec = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L"), dtype=np.float32) / 255
        decoded += [dec[(i // cols) * h : (i // cols + 1) * h, (i % cols) * w : (i % cols + 1) * w] for i in range(len(part))]
    return {"bpp": bits / x[:, 0].size, "psnr": float(per_example_psnr(x, np.stack(decoded)[:, None]).mean())}


def learned_point(model, x: np.ndarray, batch: int) -> dict:
    bits, decoded = 0, []
    t = time.process_time()
    for part in batches(x, batch):
        blob = compress_learned(model, part)
        bits += 8 * len(blob)
        decoded.append(decompress_learned(model, blob))
    return {"bpp": bits / x[:, 0].size, "psnr": float(per_example_psnr(x, np.concatenate(decoded)).mean()),
            "cpu_seconds_code": time.process_time() - t}


def quantised_points(model, x_train: np.ndarray, x: np.ndarray, batch: int) -> list[dict]:
    rng = code_range(model, x_train, quantile=1e-3)
    rows = []
    for bits in (2, 3, 4, 5, 6, 8):
        blobs = [compress(model, part, bits, rng) for part in batches(x, batch)]
        x_hat = np.concatenate([decompress(model, b) for b in blobs]).clip(0, 1)
        rows.append({"bits": bits, "bpp": 8 * sum(map(len, blobs)) / x[:, 0].size,
                     "psnr": float(per_example_psnr(x, np.rint(x_hat * 255) / 255).mean())})
    return rows


def train_codecs(levels, directory: Path, train_size: int, retrain: bool) -> dict[int, dict]:
    info = {}
    for level in levels:
        run_dir = directory / f"codec-q{level}"
        if retrain or not (run_dir / "model").is_dir():
            t0, c0 = time.time(), time.process_time()
            aekit.train_run(f"codec-q{level}", "fashion-mnist", run_dir, kind="codec", train_size=train_size,
                            test_size=1000, overwrite=True, progress=False, figures=False)
            info[level] = {"train_wall_s": time.time() - t0, "train_cpu_s": time.process_time() - c0}
        info.setdefault(level, {})["metrics"] = json.loads((run_dir / "metrics.json").read_text())
    return info


def interpolate(rows: list[dict], bpp: np.ndarray) -> np.ndarray:
    """PSNR at rates ``bpp`` on a curve (linear in log-rate); NaN outside the measured range."""
    r = sorted(rows, key=lambda p: p["bpp"])
    xs, ys = np.log([p["bpp"] for p in r]), np.array([p["psnr"] for p in r])
    out = np.interp(np.log(bpp), xs, ys)
    return np.where((np.log(bpp) >= xs[0]) & (np.log(bpp) <= xs[-1]), out, np.nan)


def target_lines(points: dict) -> list[str]:
    grid = np.geomspace(0.1, 1.0, 46)
    ours = interpolate(points["aekit learned codec"], grid)
    lines = []
    for name, need in (("JPEG", 3.0), ("WebP", 0.0)):
        gap = ours - interpolate(points[name], grid) - need
        ok = ~np.isnan(gap)
        if not ok.any():
            lines.append(f"- vs {name}: the curves share no rate in 0.1-1.0 bpp")
            continue
        worst = int(np.nanargmin(gap))
        lines.append(f"- vs {name} (+{need:g} dB needed) over {grid[ok][0]:.2f}-{grid[ok][-1]:.2f} bpp: "
                     f"smallest margin {gap[worst]:+.2f} dB at {grid[worst]:.2f} bpp "
                     f"({'met' if gap[ok].min() >= 0 else 'missed'})")
    best = max((p["psnr"] for p in points["aekit learned codec"] if p["bpp"] <= 2.0), default=float("nan"))
    lines.append(f"- best learned-codec PSNR at <= 2 bpp: {best:.2f} dB ({'met' if best >= 30 else 'missed'}: 30 dB needed)")
    return lines


def plot(points: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.8))
    for name, rows in points.items():
        r = sorted(rows, key=lambda p: p["bpp"])
        ax.plot([p["bpp"] for p in r], [p["psnr"] for p in r], "-o", ms=3.5, label=name)
    ax.axvspan(0.1, 1.0, color="grey", alpha=0.08)
    ax.set(xscale="log", xlabel="bits per pixel (whole files, headers included)", ylabel="mean PSNR (dB)",
           title="Fashion-MNIST test images", ylim=(10, 45))
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    fig.savefig(path, dpi=120, bbox_inches="tight")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/bench-compress")
    ap.add_argument("--train-size", type=int, default=20000, help="training images for each codec level")
    ap.add_argument("--n-test", type=int, default=10000)
    ap.add_argument("--batch", type=int, default=100, help="images per file")
    ap.add_argument("--levels", type=int, nargs="+", default=sorted(CODEC_LAMBDAS))
    ap.add_argument("--ae-epochs", type=int, default=6)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--retrain", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ds = aekit.load_dataset("fashion-mnist")
    x = ds.x_test[: args.n_test].reshape(-1, 1, 28, 28).astype(np.float32)
    info = train_codecs(args.levels, out / "codecs", args.train_size, args.retrain)
    points: dict[str, list[dict]] = {"aekit learned codec": []}
    for level in args.levels:
        model = aekit.load_model(out / "codecs" / f"codec-q{level}")
        points["aekit learned codec"].append({"level": level, "lambda": CODEC_LAMBDAS[level],
                                              **learned_point(model, x, args.batch), **info[level]})
    torch.manual_seed(0)
    ae = aekit.create_model("deep", hidden=(512, 256), latent_dim=48, loss="mse")
    aekit.fit(ae, ds.x_train[: args.train_size], epochs=args.ae_epochs, batch_size=128, lr=2e-3, schedule="cosine",
              progress=False)
    points["aekit .aez (48-d code)"] = quantised_points(ae.eval(), ds.x_train[: args.train_size], x, args.batch)
    points["JPEG"] = [{"quality": q, **pillow_point(x, "JPEG", args.batch, quality=q, optimize=True)} for q in JPEG_QUALITIES]
    points["WebP"] = [{"quality": q, **pillow_point(x, "WEBP", args.batch, quality=q, method=6)} for q in WEBP_QUALITIES]
    (out / "rd.json").write_text(json.dumps(points, indent=1, default=float))
    lines = ["| codec | setting | bpp | PSNR (dB) |", "|---|---|---|---|"]
    for name, rows in points.items():
        for r in rows:
            setting = (f"q{r['level']} (lambda {r['lambda']})" if "level" in r
                       else f"{r['bits']} bits" if "bits" in r else f"quality {r['quality']}")
            lines.append(f"| {name} | {setting} | {r['bpp']:.3f} | {r['psnr']:.2f} |")
    lines += ["", *target_lines(points)]
    (out / "rd.md").write_text("\n".join(lines) + "\n")
    plot(points, out / "rd.png")
    print("\n".join(lines))
    for level in args.levels:
        if "train_cpu_s" in info[level]:
            print(f"codec-q{level}: trained in {info[level]['train_wall_s']:.0f} s wall, "
                  f"{info[level]['train_cpu_s']:.0f} s CPU")


if __name__ == "__main__":
    main()
