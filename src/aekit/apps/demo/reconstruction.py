"""The lessons about reconstructions: denoising noisy images, the conv model, and the honest comparison with PCA."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from aekit.apps.demo.figures import plot_image_rows
from aekit.apps.demo.lessons import Lesson, Trained, headline
from aekit.apps.demo.measures import data_bounds, data_range, mean_ssim, pca_reconstruct, pca_sse, tune_pca_denoiser
from aekit.apps.denoise import apply_baseline, tune_baselines
from aekit.metrics import in_unit_range, per_example_psnr
from aekit.plots import plot_comparison
from aekit.runs.figures import corrupted_copy

TUNING_IMAGES = 100  # test images that tune PCA's and the filters' settings, then are left out
# how each classical filter's tuned parameter reads in the table
FILTER_SETTINGS = {
    "non-local means": "h = {:g} x estimated noise std",
    "total variation": "weight {:g}",
    "wavelet": "BayesShrink at {:g} x noise std",
    "median": "{:g} pixel window",
}


def _rows(clean: np.ndarray, methods: dict[str, tuple[str, np.ndarray]], images: bool) -> list[dict[str, Any]]:
    peak = data_range(clean)
    return [{"method": name, "setting": setting, "PSNR (dB)": float(per_example_psnr(clean, est, peak).mean()),
             "SSIM": mean_ssim(clean, est, peak) if images else None} for name, (setting, est) in methods.items()]


def denoising_methods(t: Trained, n_tune: int) -> tuple[np.ndarray, dict[str, tuple[str, np.ndarray]]]:
    """The clean test images after the first ``n_tune``, and each method's (setting, estimate) from their noisy copies.

    The noise is the denoising model's own training corruption (seeded). PCA's
    number of components and each classical filter's parameter are chosen on
    the first ``n_tune`` test images, which are then left out.
    """
    dae, x = t.model("denoising"), t.data.x_test
    noisy_all = corrupted_copy(dae, x, t.seed)
    tune, clean, noisy = slice(0, n_tune), x[n_tune:], noisy_all[n_tune:]
    bounds = data_bounds(t.data.x_train)
    k = tune_pca_denoiser(t.pca, x[tune], noisy_all[tune], data_range=data_range(x), clip=bounds)
    methods = {"noisy input": (f"{dae.config.corruption} noise, level {dae.config.noise_level:g}", noisy),
               "PCA": (f"{k} components", pca_reconstruct(t.pca, noisy, k, bounds))}
    sigma = dae.config.noise_level
    if t.images and dae.config.corruption == "gaussian" and in_unit_range(x):
        for name, p in tune_baselines(x[tune], noisy_all[tune], sigma).items():
            methods[f"{name} filter"] = (FILTER_SETTINGS[name].format(p), apply_baseline(name, noisy, p, sigma))
    if t.model("vanilla") is not None:
        methods["vanilla autoencoder"] = ("trained on clean images", t.model("vanilla").reconstruct(noisy))
    methods["denoising autoencoder"] = ("trained on noisy copies", dae.denoise(noisy))
    return clean, methods


def denoising_lesson(t: Trained) -> Optional[Lesson]:
    """PSNR of the denoising autoencoder on noisy test images, against PCA and tuned classical filters."""
    dae = t.model("denoising")
    if dae is None or dae.corruption is None:
        return None
    n_tune = max(1, min(TUNING_IMAGES, len(t.data.x_test) // 5))
    clean, methods = denoising_methods(t, n_tune)
    rows = _rows(clean, methods, t.images)
    psnr = {r["method"]: r["PSNR (dB)"] for r in rows}
    ours = psnr["denoising autoencoder"]
    others = {m: v for m, v in psnr.items() if m not in ("noisy input", "denoising autoencoder", "vanilla autoencoder")}
    best = max(others, key=others.get)
    result = (f"On {len(clean):,} test images with the noise the model was trained on ({psnr['noisy input']:.1f} dB), "
              f"the denoising autoencoder reaches {ours:.1f} dB, {abs(ours - others[best]):.1f} dB "
              f"{'above' if ours > others[best] else 'below'} the best other method, {_method(best, methods)} "
              f"({others[best]:.1f} dB). PCA's and the filters' settings were tuned on {n_tune} other test images.")
    if "vanilla autoencoder" in psnr:
        gain = ours - psnr["vanilla autoencoder"]
        result += (f" The vanilla autoencoder, trained on clean images only, reaches {psnr['vanilla autoencoder']:.1f} "
                   + (f"dB: training on corrupted copies is worth {gain:.1f} dB." if gain > 0 else
                      "dB: here training on corrupted copies did not help."))
    picks = dict.fromkeys(["noisy input", "PCA", best, "vanilla autoencoder", "denoising autoencoder"])
    path = plot_image_rows({"clean": clean, **{m: methods[m][1] for m in picks if m in methods}},
                           t.figures / "denoising.png")
    purpose = ("A denoising autoencoder is trained to turn corrupted inputs back into the clean ones: here each "
               "training image gets fresh Gaussian noise at every step, and the loss compares the output with the "
               "clean image. To do that it must learn what clean images of this kind look like, so it restores "
               "images it has never seen. PCA keeps only the main directions of variation of clean images, which "
               "drops much of the noise; classical filters know nothing about clothes, only that images are locally "
               "smooth.")
    figures = [("Clean test images, their noisy copies, and what each method makes of them.", path)] if path else []
    return Lesson("denoising", "Denoising: cleaning noisy images", purpose, result,
                  f"Denoising {len(clean):,} noisy test images (PSNR and SSIM against the clean ones; higher is better)",
                  rows, figures, headline("denoising", "cleaning noisy images", "PSNR on noisy test images, dB",
                                          ours, best, others[best]))


def conv_lesson(t: Trained) -> Optional[Lesson]:
    """Reconstructions of the conv model beside the dense vanilla model's."""
    model = t.model("conv")
    if model is None:
        return None
    x = t.data.x_test
    names = [n for n in ("conv", "vanilla") if t.model(n) is not None]
    recon = {n: t.model(n).reconstruct(x) for n in names}
    rows = [{"model": n, "code size": int(np.prod(t.model(n).code_shape)), "parameters": t.metric(n, "parameters"),
             "test SSE/image": t.metric(n, "test_sse_per_image"),
             "test PSNR (dB)": float(per_example_psnr(x, recon[n], data_range(x)).mean()),
             "test SSIM": mean_ssim(x, recon[n]) if t.images else None} for n in names]
    path = plot_image_rows({"original": x, **{f"{n} reconstruction": recon[n] for n in names}},
                           t.figures / "conv.png", n=10)
    c = rows[0]
    result = (f"With {c['parameters']:,} weights the conv model reconstructs test images to {c['test SSE/image']:.1f} "
              f"SSE per image ({c['test PSNR (dB)']:.1f} dB).")
    if len(rows) > 1:
        v = rows[1]
        result += (f" The dense vanilla model, with {v['parameters']:,} weights, reaches {v['test SSE/image']:.1f} "
                   f"({v['test PSNR (dB)']:.1f} dB), but from a {v['code size']}-number code.")
    result += (f" The conv code is a feature map of {c['code size']} numbers, as many as the image has pixels: it "
               "keeps the layout of the image and is no compression; a compressing conv model is the deep-conv preset.")
    purpose = ("A convolutional autoencoder slides the same small filters over the whole image, so it learns local "
               "patterns (edges, textures, seams) once and finds them anywhere, with far fewer weights than a dense "
               "network, and its code keeps the image's spatial layout: the natural choice for images.")
    figures = [("Test images (top) and their reconstructions by each model.", path)] if path else []
    return Lesson("conv", "Convolutional: reconstructing images", purpose, result, "Test reconstructions", rows,
                  figures, headline("conv", "images, with few weights", "test SSE per image (lower is better)",
                                    c["test SSE/image"], "vanilla" if len(rows) > 1 else "–",
                                    rows[1]["test SSE/image"] if len(rows) > 1 else None))


def reconstruction_lesson(t: Trained) -> Optional[Lesson]:
    """Test SSE per image of every model beside PCA's with as many components as the model's code has numbers."""
    if not t.runs:
        return None
    rows = []
    for name, run in t.runs.items():
        code, m = int(np.prod(run.model.code_shape)), run.metrics
        rows.append({"model": name, "code size": code, "test_sse_per_image": m["test_sse_per_image"],
                     "pca_sse_per_image": pca_sse(t.pca, t.data.x_test, code), "parameters": m["parameters"],
                     "epochs": m["epochs_run"], "train_seconds": m["train_seconds"]})
    path = t.figures / "comparison.png"
    plot_comparison(rows, path=path, title="test SSE per image: autoencoder vs PCA with the same code size")
    matched = [r for r in rows if r["pca_sse_per_image"] is not None]  # PCA at a code as large as the data is exact
    beat = [r["model"] for r in matched if r["test_sse_per_image"] < r["pca_sse_per_image"]]
    trail = [r["model"] for r in matched if r["model"] not in beat]
    if beat:
        verb = "reconstructs" if len(beat) == 1 else "reconstruct"
        rest = f"; {_names(trail)} {'does' if len(trail) == 1 else 'do'} not." if trail else "."
        result = f"At the same code size, {_names(beat)} {verb} test images better than PCA{rest}"
    else:
        result = "At the same code size, no model reconstructs test images better than PCA."
    sse = {r["model"]: r["test_sse_per_image"] for r in rows}
    if "unregularised" in sse:
        twins = [n for n in ("sparse", "contractive") if n in sse]
        result += (f" Trained the same way, the unregularised twin of {_names(twins) or 'the regularised models'} "
                   f"reaches {sse['unregularised']:.1f}" + "".join(f", {n} {sse[n]:.1f}" for n in twins) + ".")
    purpose = ("Every autoencoder learns to reconstruct its input through a code, and the vanilla and undercomplete "
               "autoencoders are only that: compressors, for which PCA with as many components is the linear "
               "baseline to beat. The regularised families give up some reconstruction for their property (a sparse "
               "code, robustness to noise or to small changes), so on clean test images they may trail PCA: that is "
               "the price of what the sections above show, not a failure. The recipes are short; aekit demo --full "
               "trains the presets' full recipes on the full data.")
    vanilla = next((r for r in rows if r["model"] == "vanilla"), None)
    return Lesson("compression", "Reconstruction against PCA", purpose, result,
                  "Test reconstruction error (SSE per image, lower is better) and PCA's at the same code size", rows,
                  [("Test SSE per image of each model and of PCA at the same code size.", path)],
                  headline("vanilla", "compression", f"test SSE per image, {vanilla['code size']}-number code",
                           vanilla["test_sse_per_image"], f"PCA, {vanilla['code size']} components",
                           vanilla["pca_sse_per_image"]) if vanilla else None)


def _method(name: str, methods: dict[str, tuple[str, np.ndarray]]) -> str:
    """How the text names a method: "PCA with 64 components", "the median filter"."""
    return f"PCA with {methods[name][0]}" if name == "PCA" else f"the {name}"


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1] if names else ""


__all__ = ["FILTER_SETTINGS", "TUNING_IMAGES", "conv_lesson", "denoising_lesson", "denoising_methods",
           "reconstruction_lesson"]
