"""Image denoising: noise models, PSNR/SSIM, classical baselines and the ``denoise`` command.

A denoising autoencoder (``corruption="gaussian"``) is compared with classical
denoisers from scikit-image on the same noisy images. PSNR and SSIM
(:func:`aekit.metrics.per_example_psnr`, :func:`aekit.metrics.per_example_ssim`)
are always measured against the clean images, for the noisy input and for each estimate.

>>> import numpy as np
>>> from aekit.metrics import psnr
>>> clean = np.full((2, 1, 8, 8), 0.5, dtype=np.float32)
>>> noisy = add_noise(clean, "gaussian", 0.1, seed=0)
>>> bool(psnr(clean, noisy) > 15)
True
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Callable, Optional, Sequence

import numpy as np
import torch

from aekit.apps._io import load_model_rows, load_run_model
from aekit.config import NOISE_LEVEL, ROWS, SEED, Config, Flags, Output, Positional
from aekit.errors import ConfigError, DataError
from aekit.metrics import per_example_psnr, per_example_ssim
from aekit.models.corruption import corrupt

NOISE_KINDS = ("gaussian", "salt-and-pepper", "masking")


def add_noise(x: np.ndarray, kind: str = "gaussian", level: float = 0.3, seed: Optional[int] = None,
              clip: Optional[tuple[float, float]] = (0.0, 1.0)) -> np.ndarray:
    """Corrupt clean images with a registered noise model (see :func:`aekit.corrupt`).

    Parameters
    ----------
    x : ndarray, shape (N, ...)
        Clean images in [0, 1].
    kind : {"gaussian", "salt-and-pepper", "masking"}, default "gaussian"
        Additive Gaussian noise (``level`` = std), pixels set to 0/1 (``level`` =
        fraction) or pixels zeroed (``level`` = fraction).
    level : float, default 0.3
    seed : int, optional
        Makes the noise repeatable without touching the global torch RNG.
    clip : (float, float) or None, default (0, 1)

    Returns
    -------
    ndarray, same shape as ``x``, float32
    """
    if kind not in NOISE_KINDS:
        raise ConfigError(f"noise kind {kind!r} is not one of {list(NOISE_KINDS)}")
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        noisy = corrupt(torch.as_tensor(np.asarray(x, dtype=np.float32)), kind, level, clip)
    return noisy.numpy()


def _as_images(x: np.ndarray) -> np.ndarray:
    """(N, H, W) view of (N, H, W), (N, 1, H, W) or a single (H, W) image."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 2:
        return x[None]
    if x.ndim == 4 and x.shape[1] == 1:
        return x[:, 0]
    if x.ndim != 3:
        raise DataError(f"expected grey images (N, H, W) or (N, 1, H, W), got shape {x.shape}")
    return x


# ----------------------------------------------------------------------------- classical baselines
def _nlm(img: np.ndarray, h: float, sigma: float) -> np.ndarray:
    from skimage.restoration import denoise_nl_means, estimate_sigma

    # the per-image estimate beats the nominal sigma: clipping to [0, 1] shrinks the effective noise
    est = estimate_sigma(img)
    return denoise_nl_means(img, h=h * est, sigma=est, patch_size=5, patch_distance=6, fast_mode=True)


def _tv(img: np.ndarray, weight: float, sigma: float) -> np.ndarray:
    from skimage.restoration import denoise_tv_chambolle

    return denoise_tv_chambolle(img, weight=weight)


def _wavelet(img: np.ndarray, scale: float, sigma: float) -> np.ndarray:
    from skimage.restoration import denoise_wavelet

    return denoise_wavelet(img, sigma=scale * sigma, mode="soft", method="BayesShrink", rescale_sigma=True)


def _median(img: np.ndarray, size: float, sigma: float) -> np.ndarray:
    from scipy.ndimage import median_filter

    return median_filter(img, size=int(size), mode="reflect")


# name -> (function(image, parameter, sigma), parameter grid searched by tune_baselines)
BASELINES: dict[str, tuple[Callable[[np.ndarray, float, float], np.ndarray], tuple[float, ...]]] = {
    "non-local means": (_nlm, (0.4, 0.6, 0.8, 1.0, 1.2, 1.4)),  # h as a multiple of the estimated sigma
    "total variation": (_tv, (0.02, 0.05, 0.08, 0.12, 0.18, 0.25, 0.35, 0.5)),  # TV weight
    "wavelet": (_wavelet, (0.25, 0.5, 0.75, 1.0, 1.5, 2.0)),  # BayesShrink sigma as a multiple of sigma
    "median": (_median, (2, 3, 5, 7)),  # window size in pixels
}


def apply_baseline(name: str, noisy: np.ndarray, param: float, sigma: float) -> np.ndarray:
    """Run classical denoiser ``name`` with ``param`` on each image; same shape as ``noisy``."""
    fn = BASELINES[name][0]
    images = _as_images(noisy)
    out = np.stack([np.clip(fn(img, param, sigma), 0, 1) for img in images]).astype(np.float32)
    return out.reshape(np.shape(noisy))


def tune_baselines(clean: np.ndarray, noisy: np.ndarray, sigma: float,
                   names: Sequence[str] = tuple(BASELINES)) -> dict[str, float]:
    """Best parameter of each baseline by mean PSNR on validation images (``clean``, ``noisy``).

    Parameters
    ----------
    clean, noisy : ndarray, shape (N, 1, H, W)
        A few validation images, not the test images.
    sigma : float
        Noise standard deviation, known to every baseline (as it is to the autoencoder,
        which was trained at that level).
    """
    best = {}
    for name in names:
        scores = {p: per_example_psnr(clean, apply_baseline(name, noisy, p, sigma)).mean() for p in BASELINES[name][1]}
        best[name] = max(scores, key=scores.get)
    return best


def compare(clean: np.ndarray, estimates: dict[str, np.ndarray], with_ssim: bool = True) -> list[dict[str, Any]]:
    """One row per method: mean PSNR (dB) and SSIM against ``clean``.

    Parameters
    ----------
    clean : ndarray, shape (N, 1, H, W)
    estimates : dict of str -> ndarray
        Method name to its images, e.g. ``{"noisy": noisy, "aekit": model.denoise(noisy)}``.
    """
    rows = []
    for name, est in estimates.items():
        row = {"method": name, "psnr": float(per_example_psnr(clean, est).mean())}
        if with_ssim:
            row["ssim"] = float(per_example_ssim(clean, est).mean())
        rows.append(row)
    return rows


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """A Markdown table of :func:`compare` rows (extra keys become columns)."""
    keys = list(dict.fromkeys(k for r in rows for k in r))

    def fmt(v: Any) -> str:  # SSIM-sized numbers get 4 decimals, dB values 2
        return (f"{v:.4f}" if abs(v) < 1.5 else f"{v:.2f}") if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(fmt(r.get(k, "")) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- CLI helpers (also used by generate, compress)
def figures_dir(args: Any) -> Path:
    """``--figures DIR`` if given, else ``RUN/figures``."""
    return Path(args.figures) if getattr(args, "figures", None) else Path(args.run) / "figures"


def save_npy(path: str | Path, array: np.ndarray) -> None:
    """Write ``array`` to ``path`` atomically (the previous file survives a failed write)."""
    from aekit.io import atomic_path

    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, array)


# ----------------------------------------------------------------------------- command
def denoise_command(args: DenoiseOptions, console: Any = None) -> int:
    """Denoise, print the comparison table, write the figure (and the images with ``out``)."""
    model = load_run_model(args.run)
    clean = load_model_rows(model, args.data, args.n)[0]
    noisy = add_noise(clean, args.noise, args.level, seed=args.seed)
    estimates = {"noisy": noisy, "aekit": model.denoise(noisy)}
    if args.baselines and args.noise == "gaussian":
        n_val = max(1, min(16, len(clean) // 4))
        params = tune_baselines(clean[:n_val], noisy[:n_val], args.level)
        clean, estimates = clean[n_val:], {k: v[n_val:] for k, v in estimates.items()}
        estimates.update({k: apply_baseline(k, estimates["noisy"], p, args.level) for k, p in params.items()})
    print(format_table(compare(clean, estimates)))
    if args.out:
        save_npy(args.out, estimates["aekit"])
    _plot_examples(figures_dir(args) / "denoise.png", clean, estimates)
    return 0


def _plot_examples(path: Path, clean: np.ndarray, estimates: dict[str, np.ndarray], n: int = 8) -> None:
    from aekit.plots import new_figure, save_figure

    rows = {"clean": clean, **estimates}
    n = min(n, len(clean))
    fig = new_figure(figsize=(n * 1.1, len(rows) * 1.2))
    axes = fig.subplots(len(rows), n, squeeze=False)
    for r, (name, images) in enumerate(rows.items()):
        for c in range(n):
            axes[r, c].imshow(_as_images(images[c : c + 1])[0], cmap="gray", vmin=0, vmax=1)
            axes[r, c].axis("off")
        axes[r, 0].set_title(name, fontsize=7, loc="left")
    save_figure(fig, path)


@dataclass
class DenoiseOptions(Config):
    """``aekit denoise``: corrupt clean test images, denoise them with the run's model, print PSNR/SSIM."""

    run: Annotated[str, Positional("RUN")]  # run directory holding model/
    data: str = "fashion-mnist"  # dataset name (its test split) or file of clean images
    noise: str = "gaussian"  # noise model: gaussian, salt-and-pepper or masking
    level: Annotated[float, NOISE_LEVEL] = 0.3  # noise std or corrupted fraction
    n: Annotated[int, ROWS, Flags("-n")] = 1000  # number of test images
    seed: Annotated[int, SEED] = 0  # noise seed
    baselines: bool = False  # also run classical denoisers (gaussian noise), tuned on the first 16 images, then left out
    out: Annotated[Optional[str], Output()] = None  # write the denoised images to this .npy file
    figures: Optional[str] = None  # figure directory (default RUN/figures)

    def _validate(self) -> None:
        if self.noise not in NOISE_KINDS:
            raise ConfigError(f"noise: {self.noise!r} is not one of {list(NOISE_KINDS)}")
        if self.noise != "gaussian" and self.level > 1:
            raise ConfigError(f"level: a fraction in [0, 1] for {self.noise} noise, got {self.level}")
