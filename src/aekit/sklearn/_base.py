"""What the scikit-learn estimators share: validation, layout handling and training."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import validate_data

from aekit.anomaly import (
    reconstruction_errors,
    train_preset,
)
from aekit.config import Range
from aekit.data.columns import TableRows, infer_schema

TABLE_PRESET = "table-ae"  # the model of a mixed-type DataFrame when no table preset is named
_LOSSES = {"mse": "linear", "bce": "sigmoid"}  # loss -> the output activation it needs
_SCALERS = ("standard", "minmax", "none")
DETECTOR_CONTAMINATION = Range(0, 0.5, low_open=True)  # scikit-learn's convention for outlier detectors

_MODEL_PARAMS = """
    model : str, default="vanilla"
        A preset name from :func:`aekit.list_models`. Dense presets take any
        input; convolutional ones need images ``(N, C, H, W)``.
    latent_dim : int, optional
        Size of the code; None keeps the preset's (32 for ``"vanilla"``).
    epochs, batch_size, lr : optional
        Training settings; None keeps the preset's recipe.
    loss : {"mse", "bce"}, default="mse"
        ``"mse"`` with a linear output suits any real-valued features.
        ``"bce"`` (sigmoid output) needs features in [0, 1], e.g. pixels with
        ``scaler="none"``, or any data with ``scaler="minmax"``.
    scaler : {"standard", "minmax", "none"}, default="standard"
        Per-feature scaling fitted on the training data and stored in the model."""

_COMMON_PARAMS = """
    model_params : dict, optional
        Any other :class:`aekit.ModelConfig` field, e.g. ``{"hidden": (64,)}``.
    random_state : int, RandomState instance or None, default=None
        Seeds torch (initialisation, shuffling, corruption noise).
    verbose : bool, default=False
        Show a progress bar while training.
"""


class _AutoencoderEstimator(BaseEstimator):
    """Shared fitting, validation and layout handling; subclasses add the public API."""

    def __init__(self, model: Optional[str] = "vanilla", *, latent_dim: Optional[int] = None,
                 epochs: Optional[int] = None, batch_size: Optional[int] = None, lr: Optional[float] = None,
                 loss: Optional[str] = "mse", scaler: Optional[str] = "standard",
                 model_params: Optional[dict[str, Any]] = None, random_state: Any = None,
                 verbose: bool = False) -> None:
        self.model = model
        self.latent_dim = latent_dim
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.loss = loss
        self.scaler = scaler
        self.model_params = model_params
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags

    # ------------------------------------------------------------ validation
    def _validate(self, X: Any, reset: bool) -> np.ndarray:
        """Flat float array (N, D) from a table or images; records ``input_shape_`` on reset.

        A pandas DataFrame with a non-numeric column or a missing cell is a mixed-type
        table: its :class:`~aekit.data.columns.TableSchema` is fitted (``schema_``) and
        its rows encoded (NaN for missing cells), for a table model.
        """
        if reset:
            self.schema_ = None
        if (reset and _is_mixed(X)) or (not reset and getattr(self, "schema_", None) is not None):
            return self._validate_table(X, reset)
        shape = None
        if getattr(X, "ndim", 2) > 2 or (isinstance(X, list) and np.ndim(X) > 2):
            X = np.asarray(X)
            shape = X.shape[1:] if X.ndim == 4 else (1, *X.shape[1:])
            if not reset and tuple(shape) != self.input_shape_:
                raise ValueError(f"X has images of shape {tuple(shape)}, but {type(self).__name__} was fitted on {self.input_shape_}")
            X = X.reshape(len(X), -1)
        X = validate_data(self, X, reset=reset, dtype=[np.float64, np.float32])
        if reset:
            self.input_shape_ = tuple(int(d) for d in shape) if shape is not None else (X.shape[1],)
        return X

    def _validate_table(self, X: Any, reset: bool) -> np.ndarray:
        if not hasattr(X, "columns"):
            raise ValueError(f"{type(self).__name__} was fitted on a mixed-type DataFrame: pass a DataFrame with "
                             f"columns {list(self.schema_.names)}, not {type(X).__name__}")
        if reset:
            self.schema_ = infer_schema(X, [str(c) for c in X.columns], where="X")
            self.n_features_in_ = len(self.schema_.names)
            self.feature_names_in_ = np.asarray(self.schema_.names, dtype=object)
            self.input_shape_ = (self.n_features_in_,)
        return self.schema_.encode(X.rename(columns=str), "X")

    def _table_preset(self) -> str:
        """The preset of a mixed-type table: ``model`` if it is a table preset, ``"table-ae"`` for None or the default."""
        from aekit.models.presets import MODELS

        name = self.model or TABLE_PRESET
        if name in MODELS and MODELS.get(name).family == "tabular":
            return name
        if name == "vanilla":
            return TABLE_PRESET
        raise ValueError(f"model: {name!r} reads numbers only; a DataFrame with text, boolean or missing cells "
                         f"needs a table preset such as {TABLE_PRESET!r} (or model=None)")

    def _tensor(self, X: np.ndarray) -> torch.Tensor:
        # a copy: inputs may be read-only memmaps, which torch refuses to share
        return torch.tensor(np.asarray(X), dtype=torch.float32).reshape(len(X), *self.input_shape_)

    def _loss_and_scaler(self) -> tuple[str, str]:
        """``loss`` and ``scaler``, None resolved for a model of its own: MSE on standardised features."""
        loss = self.loss or "mse"
        return loss, self.scaler or ("minmax" if loss == "bce" else "standard")

    @staticmethod
    def _check_params(X: np.ndarray, loss: str, scaler: str) -> None:
        if loss not in _LOSSES:
            raise ValueError(f"loss: {loss!r} is not one of {sorted(_LOSSES)}")
        if scaler not in _SCALERS:
            raise ValueError(f"scaler: {scaler!r} is not one of {list(_SCALERS)}")
        if loss == "bce" and scaler == "standard":
            raise ValueError("loss='bce' needs features in [0, 1]: use scaler='minmax' or 'none', or loss='mse'")
        if loss == "bce" and scaler == "none" and (X.min() < 0 or X.max() > 1):
            raise ValueError(f"loss='bce' with scaler='none' needs features in [0, 1]; X spans [{X.min():.3g}, {X.max():.3g}]")

    # --------------------------------------------------------------- fitting
    def _seed(self) -> int:
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _train(self, xt: torch.Tensor, preset: str, overrides: Mapping[str, Any], loss: str, scaler: str,
               seed: int) -> tuple[Any, list[dict[str, float]]]:
        """One preset trained on ``xt``: its ``overrides``, then this estimator's settings (None: keep)."""
        if self.schema_ is not None:
            return self._train_table(xt, seed)
        mine = {"loss": loss, "output_activation": _LOSSES[loss], "scaler": scaler, "latent_dim": self.latent_dim,
                **(self.model_params or {})}
        fields = {**overrides, **{k: v for k, v in mine.items() if v is not None}}
        chosen = {"epochs": self.epochs, "batch_size": self.batch_size, "lr": self.lr}
        settings = {k: v for k, v in chosen.items() if v is not None}  # absent: the preset's recipe
        return train_preset(preset, xt, seed, fields, bool(self.verbose), **settings)

    def _train_table(self, xt: torch.Tensor, seed: int) -> tuple[Any, list[dict[str, float]]]:
        """The table preset trained on encoded rows ``xt`` (N, D) with NaN for missing cells."""
        from aekit.models.presets import create_model
        from aekit.training.trainer import fit

        torch.manual_seed(seed)
        fields = {"latent_dim": self.latent_dim, **self.schema_.to_fields(), **(self.model_params or {})}
        model = create_model(self._table_preset(), **fields)
        model.scaler.fit(xt.numpy())
        chosen = {"epochs": self.epochs, "batch_size": self.batch_size, "lr": self.lr}
        settings = {k: v for k, v in chosen.items() if v is not None}
        history = fit(model, TableRows(xt.numpy()), seed=seed, progress=bool(self.verbose), patience=None, **settings)
        return model.eval(), history.rows

    def _fit_model(self, X: Any) -> np.ndarray:
        """Validate ``X``, build and train ``model_``; returns the validated flat X."""
        X = self._validate(X, reset=True)
        loss, scaler = self._loss_and_scaler()
        self._check_params(X, loss, scaler)
        seed = self._seed()
        with torch.random.fork_rng(devices=[]):
            self.model_, self.history_ = self._train(self._tensor(X), self.model, {}, loss, scaler, seed)
        self.code_shape_ = tuple(self.model_.code_shape)
        return X

    # ------------------------------------------------------------- computing
    def _recon_error(self, X: np.ndarray) -> np.ndarray:
        """Per-sample mean squared error after the model's scaler (a table model: summed column losses), (N,), float64."""
        if self.schema_ is not None:
            return np.nansum(self.model_.column_errors(X, leave_out=False), axis=1).astype(np.float64)
        return reconstruction_errors(self.model_, self._tensor(X)).astype(np.float64)


def _is_mixed(X: Any) -> bool:
    """A pandas DataFrame with a non-numeric (or boolean) column or a missing cell: a mixed-type table."""
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    if not (hasattr(X, "dtypes") and hasattr(X, "columns") and hasattr(X, "isna")):
        return False
    numeric = all(is_numeric_dtype(t) and not is_bool_dtype(t) for t in X.dtypes)
    return not numeric or bool(X.isna().to_numpy().any())
