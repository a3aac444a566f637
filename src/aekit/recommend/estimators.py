"""Autoencoders as recommenders, trained by the one aekit trainer on sparse rows.

Two estimators share the contract of :mod:`aekit.recommend.baselines`:

* :class:`RatingAutoencoder` (explicit ratings, item-based as I-AutoRec): each
  training row is an item's vector of user ratings; ``predict(users, items)``.
* :class:`ClickAutoencoder` (implicit feedback, as Mult-DAE / Mult-VAE): each row
  is a user's clicks; ``score(rows)`` ranks every item for unseen users too.

``__init__`` only stores arguments; ``fit`` returns ``self``; learned state ends
in ``_``. Rows are densified one batch at a time, never the whole matrix.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterator, Optional

import numpy as np
import scipy.sparse as sp
import torch

from aekit.data.sparse import SparseRows
from aekit.errors import DataError
from aekit.models.autoencoder import Autoencoder
from aekit.models.config import ModelConfig
from aekit.models.corruption import normalize_rows
from aekit.models.presets import create_model, get_recipe
from aekit.training.config import TrainConfig
from aekit.training.trainer import fit as train_model

__all__ = ["ClickAutoencoder", "RatingAutoencoder", "init_user_bias"]

_TRAIN_FIELDS = {f.name for f in dataclasses.fields(TrainConfig)}
_MODEL_FIELDS = {f.name for f in dataclasses.fields(ModelConfig)}


class _AutoencoderEstimator:
    """Shared fitting: split ``params`` into model and training fields, train on CSR rows."""

    default_preset = ""

    def __init__(self, preset: Optional[str] = None, progress: bool = False, **params: Any) -> None:
        self.preset = preset or self.default_preset
        self.progress = progress
        self.params = params

    def _train(self, rows: sp.csr_matrix) -> Autoencoder:
        unknown = sorted(set(self.params) - _TRAIN_FIELDS - _MODEL_FIELDS)
        if unknown:
            raise TypeError(f"unknown parameter(s) {unknown}: pass ModelConfig or TrainConfig fields")
        model_kw = {k: v for k, v in self.params.items() if k in _MODEL_FIELDS}
        train_kw = {k: v for k, v in self.params.items() if k in _TRAIN_FIELDS}
        config = get_recipe(self.preset).replace(**train_kw)
        torch.manual_seed(config.seed)  # initial weights follow the seed too
        model = create_model(self.preset, input_shape=(rows.shape[1],), **model_kw)
        self._init_model(model, rows)
        self.history_ = train_model(model, SparseRows(rows), config=config,
                                    progress=self.progress)
        return model.eval()

    def _init_model(self, model: Autoencoder, rows: sp.csr_matrix) -> None:
        """Data-dependent initialisation before training (none by default)."""

    @classmethod
    def restore(cls, model: Autoencoder, train: sp.spmatrix, params: dict[str, Any], **state: Any) -> Any:
        """A fitted estimator from a trained (e.g. loaded) model, its training matrix and learned scalars."""
        est = cls(model.preset, **params)
        est.model_ = model.eval()
        for key, value in state.items():
            setattr(est, key, value)
        return est


@torch.no_grad()
def init_user_bias(model: Autoencoder, rows: sp.csr_matrix) -> None:
    """Start each user's output unit at their mean training rating (item-based rows: (n_items, n_users)).

    The weights then learn deviations from it; a zero start costs many epochs
    just to reach the rating scale. Users without a training rating start at the global mean.
    """
    counts = np.bincount(rows.indices, minlength=rows.shape[1])
    sums = np.bincount(rows.indices, rows.data, minlength=rows.shape[1])
    user_mean = np.where(counts > 0, sums / np.maximum(counts, 1), rows.data.mean())
    model.decoder[-2].bias.copy_(torch.from_numpy(user_mean.astype(np.float32)))  # decoder = [..., Linear, Unflatten]


def _batches(n: int, size: int) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


class RatingAutoencoder(_AutoencoderEstimator):
    """Item-based autoencoder for explicit ratings (I-AutoRec by default).

    Parameters
    ----------
    preset : str, default "i-autorec"
        A registered preset with ``loss="masked-mse"``.
    progress : bool, default False
    **params
        Any :class:`~aekit.ModelConfig` or :class:`~aekit.TrainConfig` field,
        e.g. ``latent_dim=500``, ``epochs=50``, ``weight_decay=1e-2``.

    Examples
    --------
    >>> from aekit.data.ratings import synthetic_ratings
    >>> r = synthetic_ratings(n_users=60, n_items=40, mean_items=10).ratings
    >>> est = RatingAutoencoder(epochs=2, latent_dim=8).fit(r.to_csr())
    >>> est.predict(np.array([0, 1]), np.array([3, 4])).shape
    (2,)
    """

    default_preset = "i-autorec"

    def fit(self, train: sp.spmatrix) -> "RatingAutoencoder":
        """Train on a (n_users, n_items) sparse rating matrix (0 = not rated); returns ``self``."""
        train = sp.csr_matrix(train, dtype=np.float32)
        if train.nnz == 0 or train.data.min() <= 0:
            raise DataError("ratings must be positive: 0 marks 'not rated' for the masked loss")
        self.items_ = train.T.tocsr()  # (n_items, n_users): one training row per item
        self.model_ = self._train(self.items_)
        self.range_ = (float(train.data.min()), float(train.data.max()))
        self.mean_ = float(train.data.mean())
        return self

    @classmethod
    def restore(cls, model: Autoencoder, train: sp.spmatrix, params: dict[str, Any], **state: Any) -> Any:
        est = super().restore(model, train, params, **state)
        est.items_ = sp.csr_matrix(sp.csr_matrix(train).T, dtype=np.float32)
        return est

    def _init_model(self, model: Autoencoder, rows: sp.csr_matrix) -> None:
        init_user_bias(model, rows)

    def _outputs(self, items: slice | np.ndarray) -> np.ndarray:
        """Reconstructed rating vectors of some items: (b, n_users)."""
        dense = torch.from_numpy(self.items_[items].toarray())
        return np.asarray(self.model_.reconstruct(dense)).reshape(len(dense), -1)

    def _finish(self, pred: np.ndarray, items: np.ndarray) -> np.ndarray:
        # an item nobody rated in training has no input: fall back to the mean rating
        unseen = np.diff(self.items_.indptr)[items] == 0
        return np.clip(np.where(unseen, self.mean_, pred), *self.range_)

    def predict(self, users: np.ndarray, items: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Predicted ratings for index pairs, shape (N,), clipped to the training range."""
        users, items = np.asarray(users, np.int64), np.asarray(items, np.int64)
        out = np.empty(len(users), np.float64)
        order = np.argsort(items, kind="stable")
        uniq, starts = np.unique(items[order], return_index=True)
        bounds = np.r_[starts, len(order)]
        for block in _batches(len(uniq), batch_size):  # each wanted item reconstructed once
            recon = self._outputs(uniq[block])
            for j, item_pos in enumerate(range(block.start, block.stop)):
                rows = order[bounds[item_pos] : bounds[item_pos + 1]]
                out[rows] = recon[j, users[rows]]
        return self._finish(out, items)

    def predict_user(self, user: int, batch_size: int = 256) -> np.ndarray:
        """Predicted ratings of user index ``user`` for every item, shape (n_items,)."""
        n_items = self.items_.shape[0]
        pred = np.concatenate([self._outputs(b)[:, user] for b in _batches(n_items, batch_size)])
        return self._finish(pred, np.arange(n_items))

    def fold_in(self, items: np.ndarray, ratings: np.ndarray, l2: float = 1.0, batch_size: int = 256) -> np.ndarray:
        """Predicted ratings for a user not seen in training, from a few of their ratings.

        The item codes are fixed; only a new output unit for the user is fitted, by
        ridge regression of the given ratings on the decoder's last-layer inputs
        (with intercept). Returns predictions for every item, shape (n_items,).
        """
        feats = np.concatenate([self._penultimate(b) for b in _batches(self.items_.shape[0], batch_size)])
        design = np.c_[feats[items], np.ones(len(items))]  # (n, h + 1)
        reg = l2 * np.eye(design.shape[1])
        reg[-1, -1] = 0.0  # the intercept is not shrunk
        weights = np.linalg.solve(design.T @ design + reg, design.T @ np.asarray(ratings, np.float64))
        return self._finish(np.c_[feats, np.ones(len(feats))] @ weights, np.arange(len(feats)))

    @torch.no_grad()
    def _penultimate(self, items: slice) -> np.ndarray:
        """Inputs of the decoder's last linear layer for some items: (b, h)."""
        codes = torch.as_tensor(self.model_.encode(torch.from_numpy(self.items_[items].toarray())))
        head = self.model_.decoder[:-2]  # decoder = [..., Linear(h, n_users), Unflatten]
        return head(codes).numpy().astype(np.float64)


class ClickAutoencoder(_AutoencoderEstimator):
    """User-based autoencoder for implicit feedback (Mult-VAE by default; or ``"mult-dae"``).

    Inputs are scaled to unit L2 norm per user, as in training; ``score`` gives
    the multinomial probabilities over items. A Gaussian-latent model is trained
    with KL annealing (``kl_warmup`` of its recipe).

    Parameters
    ----------
    preset : str, default "mult-vae"
    progress : bool, default False
    **params
        Any ModelConfig or TrainConfig field.

    Examples
    --------
    >>> x = sp.random(50, 30, density=0.2, format="csr", random_state=0)
    >>> x.data[:] = 1
    >>> ClickAutoencoder("mult-dae", epochs=1).fit(x).score(x[:4]).shape
    (4, 30)
    """

    default_preset = "mult-vae"

    def fit(self, train: sp.spmatrix) -> "ClickAutoencoder":
        """Train on a (n_users, n_items) binary click matrix; returns ``self``."""
        self.model_ = self._train(sp.csr_matrix(train, dtype=np.float32))
        return self

    def _init_model(self, model: Autoencoder, rows: sp.csr_matrix) -> None:
        model.fit_closed_form(rows)  # a skip path's EASE matrix, solved on the raw clicks

    def score(self, rows: sp.spmatrix, batch_size: int = 1000) -> np.ndarray:
        """Item probabilities for each user row: (B, n_items) clicks -> (B, n_items) scores."""
        rows = sp.csr_matrix(rows, dtype=np.float32)
        parts = []
        for block in _batches(rows.shape[0], batch_size):
            x = normalize_rows(torch.from_numpy(rows[block].toarray()))
            parts.append(np.asarray(self.model_.reconstruct(x)).reshape(len(x), -1))
        return np.concatenate(parts) if parts else np.zeros((0, rows.shape[1]), np.float32)
