"""The recommender autoencoders as registered presets, plus KL annealing.

Nothing here is a new model class: I-AutoRec, Mult-DAE and Mult-VAE are
:class:`aekit.Autoencoder` configurations. One part is added to the core
registries: the ``"l2-dropout"`` corruption, Liang et al.'s input treatment
(each row scaled to unit L2 norm, then input dropout with rescaling), applied
during training while the loss still sees the raw clicks.

At inference the same normalisation (without dropout) is needed: call
:func:`normalize_rows` before ``encode``/``reconstruct``; the estimators in
:mod:`aekit.recommend.estimators` do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

import torch
import torch.nn.functional as F

from aekit.callbacks import Callback
from aekit.config import ConfigError, TrainConfig
from aekit.models.corruption import CORRUPTIONS, Corruption
from aekit.models.latent import GaussianLatent
from aekit.models.presets import register_model

if TYPE_CHECKING:
    from aekit.training import Trainer

__all__ = ["BetaAnnealing", "L2Dropout", "normalize_rows"]


def normalize_rows(x: torch.Tensor) -> torch.Tensor:
    """Scale each row of (B, D) to unit L2 norm; all-zero rows stay zero."""
    return F.normalize(x.flatten(1), dim=1).view_as(x)


class L2Dropout(Corruption):
    """Unit-L2-norm rows, then zero a fraction ``level`` of entries and scale the rest by ``1 / (1 - level)``."""

    def __init__(self, level: float, clip: Optional[tuple[float, float]] = None) -> None:
        if not 0 <= level < 1:
            raise ConfigError(f"noise_level: the dropout rate of 'l2-dropout' must be in [0, 1), got {level}")
        super().__init__(level, clip)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.dropout(normalize_rows(x), p=self.level, training=True)


if "l2-dropout" not in CORRUPTIONS:  # registered once, even if this module is re-imported
    CORRUPTIONS.add("l2-dropout", L2Dropout)


class BetaAnnealing(Callback):
    """Raise a Gaussian latent's KL weight linearly from 0 by ``1 / anneal_steps`` per step, up to ``cap``.

    Liang et al. (2018) anneal beta this way for Mult-VAE (cap 0.2). The value
    follows the trainer's step count, so a resumed run continues the schedule;
    the checkpoint keeps :attr:`values` too.

    Parameters
    ----------
    cap : float, optional
        Largest beta; defaults to the model's ``config.beta``.
    anneal_steps : int, optional
        Steps for beta to grow by 1; defaults to the run's total number of
        steps, so beta reaches ``cap`` after a fraction ``cap`` of training.

    Examples
    --------
    >>> import aekit
    >>> model = aekit.create_model("mult-vae", input_shape=(50,))
    >>> hist = aekit.fit(model, (torch.rand(20, 50) > 0.8).float(), epochs=2, batch_size=10,
    ...                  callbacks=[BetaAnnealing()], progress=False)
    >>> round(model.latent.beta, 3)
    0.2
    """

    def __init__(self, cap: Optional[float] = None, anneal_steps: Optional[int] = None) -> None:
        self.cap, self.anneal_steps = cap, anneal_steps
        self.values: list[float] = []  # beta used at each step, for inspection

    def _latent(self, trainer: "Trainer") -> GaussianLatent:
        latent = getattr(trainer.model, "latent", None)
        if not isinstance(latent, GaussianLatent):
            raise TypeError("BetaAnnealing needs a model with a Gaussian latent (latent='gaussian')")
        return latent

    def _set(self, trainer: "Trainer") -> None:
        cap = trainer.model.config.beta if self.cap is None else self.cap
        total = self.anneal_steps or trainer.steps_per_epoch * trainer.config.epochs
        self._latent(trainer).beta = min(cap, trainer.step / max(total, 1))

    def on_train_start(self, trainer: "Trainer") -> None:
        self._set(trainer)

    def on_batch_end(self, trainer: "Trainer", loss: float, batch_size: int) -> None:
        self.values.append(self._latent(trainer).beta)
        self._set(trainer)

    def state_dict(self) -> dict[str, Any]:
        """The betas used so far (beta itself follows from the step count)."""
        return {"values": list(self.values)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.values = [float(v) for v in state.get("values", [])]


# ----------------------------------------------------------------------------- presets
# Recipes use Adam; "L2 weight decay" is AdamW's decoupled decay rather than the papers'
# penalty term (Sedhain et al. trained with L-BFGS / RProp). fp32: ratings need the precision.
@register_model(TrainConfig(epochs=100, batch_size=32, lr=1e-3, weight_decay=1e-2, precision="fp32"))
def i_autorec() -> dict[str, Any]:
    """I-AutoRec (Sedhain et al. 2015): item rating vectors -> 500 sigmoid units -> identity, masked MSE."""
    return dict(arch="mlp", hidden=(), latent="dense", latent_dim=500, latent_activation="sigmoid",
                output_activation="linear", loss="masked-mse")


@register_model(TrainConfig(epochs=50, batch_size=500, lr=1e-3, weight_decay=1e-2, precision="fp32"))
def mult_dae() -> dict[str, Any]:
    """Mult-DAE (Liang et al. 2018): L2-normalised clicks with dropout 0.5, tanh 600-200, multinomial loss."""
    return dict(arch="mlp", hidden=(600,), activation="tanh", latent="dense", latent_dim=200,
                latent_activation="tanh", loss="multinomial", output_activation="softmax",
                corruption="l2-dropout", noise_level=0.5)


@register_model(TrainConfig(epochs=50, batch_size=500, lr=1e-3, precision="fp32"))
def mult_vae() -> dict[str, Any]:
    """Mult-VAE (Liang et al. 2018): as Mult-DAE with a 200-d Gaussian latent; beta annealed to 0.2."""
    return dict(arch="mlp", hidden=(600,), activation="tanh", latent="gaussian", latent_dim=200,
                loss="multinomial", output_activation="softmax", corruption="l2-dropout", noise_level=0.5,
                beta=0.2)
