"""The demo's lessons: for each family, what it is for, measured on the test split, with its figure.

A lesson is a function of the trained runs that returns a :class:`Lesson` (or
None when its model was not trained): the measurements as table rows, the
figures it drew, and text whose every number and comparison comes from those
measurements.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

import numpy as np
import torch

from aekit.apps.demo.figures import plot_codes, plot_contraction
from aekit.apps.demo.measures import (
    ACTIVE_THRESHOLD,
    SENSITIVITY_NOISE,
    code_displacement,
    code_sensitivity,
    code_spread,
    fit_pca,
    knn_accuracy,
    pca_project,
    sparsity_stats,
)
from aekit.data import DataSplits
from aekit.models.regularizers import jacobian_sq_norm
from aekit.plots import as_images, plot_latent, plot_manifold, plot_prior_samples

DISPLACEMENT_NOISE = (0.003, 0.01, 0.03, 0.1)  # input-change stds of the contraction figure
KNN_NEIGHBOURS = 5


@dataclass
class Lesson:
    """What one family is for, measured.

    Attributes
    ----------
    family : str
    title : str
    purpose : str
        One paragraph: what the family is for and how the demo shows it.
    result : str
        One paragraph stating the measured numbers.
    caption : str
        Of the table.
    rows : list of dict
        The measurements, one row per model or method.
    figures : list of (caption, Path)
    headline : dict, optional
        The family's row in the summary table.
    """

    family: str
    title: str
    purpose: str
    result: str
    caption: str
    rows: list[dict[str, Any]]
    figures: list[tuple[str, Path]] = field(default_factory=list)
    headline: Optional[dict[str, Any]] = None


@dataclass
class Trained:
    """What the lessons measure: the trained runs by demo name, the data, where figures go."""

    runs: Mapping[str, Any]
    data: DataSplits
    figures: Path
    seed: int = 0

    def model(self, name: str) -> Any:
        return self.runs[name].model if name in self.runs else None

    def metric(self, name: str, key: str) -> Any:
        return self.runs[name].metrics.get(key) if name in self.runs else None

    @property
    def images(self) -> bool:
        return as_images(self.data.x_test[:1]) is not None

    @cached_property
    def pca(self) -> Any:
        """PCA of the training examples with every component but the last, fitted once for every lesson."""
        return fit_pca(self.data.x_train)


def headline(family: str, purpose: str, measure: str, value: float, reference: str, ref_value: Any) -> dict[str, Any]:
    """A row of the summary table."""
    return {"family": family, "what it is for": purpose, "measured": measure, "autoencoder": value,
            "compared with": reference, "their value": ref_value}


def than(a: float, b: float, more: str = "higher", less: str = "lower") -> str:
    """``"higher"`` or ``"lower"`` (or ``"the same as"``) as ``a`` compares with ``b``, to 3 significant digits."""
    if f"{a:.3g}" == f"{b:.3g}":
        return "the same as"
    return f"{more} than" if a > b else f"{less} than"


# ------------------------------------------------------------------------------ sparse
def sparse_lesson(t: Trained) -> Optional[Lesson]:
    """Activation rate of the sparse code against the same network without the penalty."""
    if t.model("sparse") is None:
        return None
    names = [n for n in ("sparse", "unregularised") if t.model(n) is not None]
    codes = {n: t.model(n).encode(t.data.x_test) for n in names}
    rows = [{"model": n, **sparsity_stats(codes[n]), "test SSE/image": t.metric(n, "test_sse_per_image")}
            for n in names]
    path = plot_codes(codes, t.figures / "sparse_codes.png", ACTIVE_THRESHOLD)
    s = rows[0]
    k = int(np.prod(np.shape(codes["sparse"])[1:]))
    result = (f"On the test images {s['activation rate']:.0%} of the sparse code's {k} units are active (above "
              f"{ACTIVE_THRESHOLD:g}): {s['active units per image']:.1f} per image, mean activation "
              f"{s['mean activation']:.3f}.")
    ref = None
    if len(rows) > 1:
        u = rows[1]
        ref = u["activation rate"]
        result += (f" The same network trained the same way without the penalty has {u['activation rate']:.0%} "
                   f"active ({u['active units per image']:.1f} per image). The twin's test reconstruction error is "
                   f"{u['test SSE/image']:.1f} per image, the sparse model's {s['test SSE/image']:.1f}: the penalty "
                   + ("costs reconstruction." if s["test SSE/image"] > u["test SSE/image"] else
                      "cost no reconstruction here."))
    cfg = t.model("sparse").config
    how = (f"a KL divergence pulling each unit's mean activation towards {cfg.sparsity_target:g}"
           if cfg.sparsity == "kl" else f"an {cfg.sparsity} penalty on the activations")
    purpose = ("A sparse autoencoder adds a penalty that keeps most code units near zero for any one image (here "
               f"{how}, weight {cfg.sparsity_weight:g}). Each image is then described "
               "by a few active features out of many: codes that are cheaper to store, easier to read, and whose "
               "units tend to stand for separate parts of the data.")
    return Lesson("sparse", "Sparse: few active code units", purpose, result,
                  f"Code activity on {len(t.data.x_test):,} test images (a unit is active above {ACTIVE_THRESHOLD:g})",
                  rows, [(f"Code units (rows) of 40 test images (columns), and the histogram of all code values; "
                          f"units above {ACTIVE_THRESHOLD:g} count as active.", path)],
                  headline("sparse", "few active code units", "activation rate (lower is sparser)",
                           s["activation rate"], "same network, no penalty" if ref is not None else "–", ref))


# ------------------------------------------------------------------------------ contractive
def jacobian_norm(model: Any, x: Any, batch_size: int = 256) -> float:
    """Mean over examples of the encoder's Jacobian Frobenius norm ``||dz/dx||_F`` (exact for dense encoders).

    Parameters
    ----------
    model : Autoencoder
    x : array_like, shape (N, *input_shape)
        In data space; the Jacobian is taken with respect to the model's scaled
        input, as the contractive penalty takes it (the same for images in [0, 1]).
    batch_size : int, default 256
    """
    xt = torch.as_tensor(np.asarray(x, dtype=np.float32))
    with torch.no_grad():
        norms = [jacobian_sq_norm(model, model.scaler(xt[i : i + batch_size])).sqrt()
                 for i in range(0, len(xt), batch_size)]
    return float(torch.cat(norms).mean())


def contractive_lesson(t: Trained) -> Optional[Lesson]:
    """How much small input changes move the contractive code, against the unregularised twin."""
    if t.model("contractive") is None:
        return None
    names = [n for n in ("contractive", "unregularised") if t.model(n) is not None]
    x = t.data.x_test
    rows, moved, spread, sensitivity = [], {}, {}, {}
    for n in names:
        model = t.model(n)
        spread[n] = code_spread(model.encode(x), t.seed)
        moved[n] = [float(code_displacement(model, x, s, t.seed)[0].mean()) for s in DISPLACEMENT_NOISE]
        sensitivity[n] = code_sensitivity(model, x, SENSITIVITY_NOISE, t.seed)
        rows.append({"model": n, "code change per input change": float(sensitivity[n].mean()),
                     "Jacobian norm": jacobian_norm(model, x), "code spread": spread[n],
                     "test SSE/image": t.metric(n, "test_sse_per_image")})
    path = plot_contraction(sensitivity, DISPLACEMENT_NOISE, moved, spread, t.figures / "contraction.png")
    c = rows[0]
    result = (f"Gaussian changes of std {SENSITIVITY_NOISE:g} to the test images move the contractive code by "
              f"{c['code change per input change']:.3g} per unit of input change (mean ||z(x+eps) - z(x)|| / ||eps||; "
              f"the exact Jacobian norm is {c['Jacobian norm']:.3g}).")
    ref = None
    if len(rows) > 1:
        u = rows[1]
        ref = u["code change per input change"]
        change = 1 - c["code change per input change"] / ref
        steadier = c["code change per input change"] / c["code spread"] < ref / u["code spread"]
        result += (f" That is {abs(change):.0%} {'less' if change > 0 else 'more'} than the same network trained the "
                   f"same way without the penalty ({ref:.3g}; Jacobian norm {u['Jacobian norm']:.3g}). The codes of "
                   f"two different test images lie {c['code spread']:.3g} apart ({u['code spread']:.3g} for the twin), "
                   + ("so the contractive code is also steadier relative to how far apart it places different images."
                      if steadier else "so relative to how far apart it places different images, the contractive "
                      "code is not steadier than the twin's."))
    weight = t.model("contractive").config.contractive_weight
    purpose = ("A contractive autoencoder penalises its encoder's Jacobian, the rate at which the code moves when the "
               f"input moves (here {weight:g} x ||dz/dx||^2). Small changes to an image, such as noise or a few "
               "different pixels, then barely move its code, while the reconstruction loss keeps different images "
               "apart: a representation that is stable where the data varies in unimportant ways.")
    return Lesson("contractive", "Contractive: codes insensitive to small input changes", purpose, result,
                  "Encoder sensitivity on the test images", rows,
                  [(f"Left: how far a random input change of std {SENSITIVITY_NOISE:g} moves each test image's code, "
                    "per unit of input change. Right: mean code displacement against the size of the input change "
                    "(solid), and the mean distance between the codes of two different test images (dashed).", path)],
                  headline("contractive", "codes robust to small input changes",
                           "code change per input change (lower is more robust)", c["code change per input change"],
                           "same network, no penalty" if ref is not None else "–", ref))


# ------------------------------------------------------------------------------ VAE and the latent map
def vae_lesson(t: Trained) -> Optional[Lesson]:
    """Samples from the prior and, for a 2-D code, the decoded manifold."""
    model = t.model("vae")
    if model is None:
        return None
    figures = []
    if t.images:
        plot_prior_samples(model, 64, t.seed, t.figures / "samples.png")
        figures.append(("Images decoded from 64 random draws of the prior N(0, I).", t.figures / "samples.png"))
        if tuple(model.code_shape) == (2,):
            plot_manifold(model, model.encode(t.data.x_test), path=t.figures / "manifold.png")
            figures.append(("Images decoded from an even grid of prior quantiles over the 2-D code.",
                            t.figures / "manifold.png"))
    elbo = t.metric("vae", "test_elbo")
    row = {"model": "vae", "code size": int(np.prod(model.code_shape)), "test ELBO (nats)": elbo,
           "test SSE/image": t.metric("vae", "test_sse_per_image")}
    result = (f"Test ELBO {elbo:.1f} nats per image (a lower bound on the log-likelihood, higher is better). "
              if elbo is not None else "")
    result += (f"A {row['code size']}-number code keeps only the coarsest features of an image, so samples are "
               "blurry; it is what makes the manifold drawable (the vae preset's code has 16 numbers).")
    purpose = ("A variational autoencoder learns a probability distribution rather than a single code: the encoder "
               "gives each image a small region of the code space, and a KL term keeps those regions packed around "
               "a standard normal prior. Any point drawn from the prior then decodes to a plausible image, which "
               "makes the VAE a generator of new images, and its code space a smooth map with no holes.")
    return Lesson("vae", "VAE: generating new images", purpose, result, "VAE on the test images", [row], figures,
                  headline("vae", "generating new images", "test ELBO, nats (higher is better)", elbo, "–", None))


def latent_lesson(t: Trained) -> Optional[Lesson]:
    """The 2-D code coloured by class, against PCA's 2-D projection, with a nearest-neighbour class score."""
    name = next((n for n, r in t.runs.items() if tuple(r.model.code_shape) == (2,)), None)
    if name is None:
        return None
    d = t.data
    maps = {f"{name} 2-D code": (t.model(name).encode(d.x_train), t.model(name).encode(d.x_test)),
            "PCA, 2 components": (pca_project(t.pca, d.x_train, 2), pca_project(t.pca, d.x_test, 2))}
    figures, rows = [], []
    for i, (label, (z_train, z_test)) in enumerate(maps.items()):
        path = t.figures / ("latent.png" if i == 0 else "latent_pca.png")
        plot_latent(z_test, d.y_test, d.classes, path, title=f"{label}: test images")
        figures.append((f"Test images placed by the {label}, coloured by class (the model never saw a label).", path))
        acc = knn_accuracy(z_train, d.y_train, z_test, d.y_test, KNN_NEIGHBOURS) if d.y_test is not None else None
        rows.append({"map": label, f"{KNN_NEIGHBOURS}-NN class accuracy": acc})
    accuracy = [r[f"{KNN_NEIGHBOURS}-NN class accuracy"] for r in rows]
    result = ""
    if accuracy[0] is not None:
        chance = 1 / len(np.unique(d.y_train))
        result = (f"A {KNN_NEIGHBOURS}-nearest-neighbour vote among training images in the {name}'s map recovers the "
                  f"class of {accuracy[0]:.0%} of test images, {than(accuracy[0], accuracy[1])} PCA's best 2-D "
                  f"projection ({accuracy[1]:.0%}; chance {chance:.0%}).")
    purpose = ("An autoencoder with a 2-D code draws the data as a map: every image becomes a point, and images the "
               "model finds alike land near each other, without a single label. Coloured by class afterwards, the map "
               "shows which kinds of clothing the code keeps apart and which it mixes.")
    return Lesson("latent map", "A 2-D map of the data", purpose, result,
                  "How well each 2-D map keeps the classes apart (test images)", rows, figures,
                  headline("latent map", "a 2-D map of the data", f"{KNN_NEIGHBOURS}-NN class accuracy in 2-D",
                           accuracy[0], "PCA, 2 components", accuracy[1]) if accuracy[0] is not None else None)


LessonFunction = Callable[[Trained], Optional[Lesson]]

__all__ = ["Lesson", "LessonFunction", "Trained", "contractive_lesson", "headline", "jacobian_norm",
           "latent_lesson", "sparse_lesson", "than", "vae_lesson"]
