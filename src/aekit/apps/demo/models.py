"""The models the demo trains: a preset each, its short recipe on the sample, and why it is there.

On the bundled sample (4,500 training images) every model gets a short recipe
that finishes in seconds on two CPU cores; ``--full`` trains the presets' own
recipes instead. Model fields a lesson needs (the VAE's 2-D code, the
unregularised twin's missing penalty) are kept in both modes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from aekit.models.presets import get_recipe

# One-cycle schedules at a higher peak rate get the most out of the few thousand steps a
# 4,500-image sample allows (vanilla: test SSE 10.9 vs 14.5 with a constant 2e-3; 60 epochs
# beat PCA-32's 12.0, 40 do not).
_ONECYCLE = {"batch_size": 64, "lr": 5e-3, "schedule": "onecycle"}
# sparse, contractive and their unregularised twin share one recipe, so the tables compare
# penalties, not training lengths. Short because the contractive penalty's exact Jacobian
# costs ~12x an epoch of its twin; its effect on the code is about the same after 6 or 12
# epochs (code change per input change 23% and 25% below the twin's).
_TWINS = {"epochs": 6, **_ONECYCLE}


@dataclass(frozen=True)
class DemoModel:
    """One model of the demo.

    Attributes
    ----------
    preset : str
        The registered preset it is built from.
    recipe : dict
        Its short training recipe on the sample (:class:`~aekit.TrainConfig` fields).
    fields : dict
        Model fields changed from the preset, in every mode.
    role : str
        Why the demo trains it (shown in the report's list of runs).
    """

    preset: str
    recipe: Mapping[str, Any]
    fields: Mapping[str, Any] = field(default_factory=dict)
    role: str = ""

    def overrides(self, full: bool, epoch_scale: float = 1.0) -> dict[str, Any]:
        """The ``train_run`` overrides: model fields plus the short recipe (or the preset's own with ``full``)."""
        recipe = {} if full else dict(self.recipe)
        epochs = get_recipe(self.preset).epochs if full else recipe["epochs"]
        recipe["epochs"] = max(1, round(epochs * epoch_scale))
        return {**self.fields, **recipe}


DEMO_MODELS: dict[str, DemoModel] = {
    "vanilla": DemoModel("vanilla", {"epochs": 60, **_ONECYCLE}, role="compression: a 32-number code"),
    "undercomplete": DemoModel("undercomplete", {"epochs": 20, "batch_size": 64, "lr": 3e-3},
                               role="a linear code: the autoencoder closest to PCA"),
    "denoising": DemoModel("denoising", {"epochs": 30, **_ONECYCLE}, role="cleaning noisy images"),
    "sparse": DemoModel("sparse", _TWINS, role="a code with few active units"),
    "contractive": DemoModel("contractive", _TWINS, role="a code insensitive to small input changes"),
    "unregularised": DemoModel("contractive", _TWINS, {"contractive_weight": 0.0},
                               role="sparse's and contractive's network without a penalty: their reference"),
    "conv": DemoModel("conv", {"epochs": 5, "batch_size": 64, "lr": 2e-3}, role="images through convolutions"),
    "vae": DemoModel("vae", {"epochs": 20, "batch_size": 128, "lr": 2e-3, "schedule": "constant"}, {"latent_dim": 2},
                     role="generating images; a 2-D map of the data"),
}


__all__ = ["DEMO_MODELS", "DemoModel"]
