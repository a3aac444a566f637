"""Quantised latents: a VQ-VAE codebook (``vq``) and finite scalar quantisation (``fsq``).

Both project the encoder's features to ``latent_dim`` values and cut them into
vectors of a code's width; each vector is replaced by the nearest entry of a
codebook, and gradients pass the rounding unchanged (the straight-through
estimator), so the encoder trains as if the quantiser were the identity.

* With a feature *map* (B, C, H, W) (``arch="conv"``) every position is coded
  on its own: the code is (B, latent_dim, H, W), H * W * latent_dim / width codes.
* With feature vectors (B, F) the code is (B, latent_dim), latent_dim / width codes.

``vq`` (van den Oord et al. 2017) learns its codebook by exponential moving
averages of the vectors assigned to each code (Razavi et al. 2019), starts it
with k-means on the first training batch, re-seeds codes left unused for
``codebook_restart`` steps from the current batch, and adds the commitment term
``commitment * ||e - sg(q)||^2`` (summed per example, as the reconstruction is).
``fsq`` (Mentzer et al. 2023) bounds each dimension with a tanh and rounds it to
one of ``L_i`` levels: its codebook is the grid itself, of ``prod(fsq_levels)`` codes,
with nothing to learn and no extra loss (the projected values are batch-normalised first,
so they spread over the levels instead of piling up at the grid's corners).

Both count how often each code was chosen in training since the last
:meth:`Quantizer.reset_usage` (the buffer ``usage``, saved with the weights), which
:class:`aekit.training.callbacks.CodebookMonitor` turns into codebook usage and
perplexity every epoch.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from aekit.models.latent import LatentOut

if TYPE_CHECKING:
    from aekit.models.config import ModelConfig

DISTANCES = ("euclidean", "cosine")
LAPLACE_EPS = 1e-5  # additive smoothing of the EMA cluster sizes: an empty code keeps a finite centre


def codebook_stats(usage: torch.Tensor) -> dict[str, float]:
    """Share of codes used and perplexity of the code distribution from counts ``usage`` of shape (K,).

    The perplexity ``exp(H(p))`` of the empirical code frequencies ``p`` is the number of
    equally used codes that would give the same entropy: K for a uniform code, 1 for one code.
    """
    total = float(usage.sum())
    if total == 0:
        return {"usage": 0.0, "perplexity": 0.0}
    p = usage.double() / total
    entropy = -(p[p > 0] * p[p > 0].log()).sum()
    return {"usage": float((usage > 0).double().mean()), "perplexity": float(entropy.exp())}


def _all_reduce(*tensors: torch.Tensor) -> None:
    """Sum ``tensors`` over the processes of a distributed run (nothing in a single process)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        for t in tensors:
            torch.distributed.all_reduce(t)


class Quantizer(nn.Module):
    """What both quantisers share: the projection, the layout of the code and the usage counts.

    Subclasses implement ``quantize(v) -> (q, indices, terms)`` for vectors ``v`` of shape (N, width)
    and set ``n_codes``.
    """

    def __init__(self, features: int, latent_dim: int, width: int, n_codes: int) -> None:
        super().__init__()
        self.proj = nn.Linear(features, latent_dim)  # on the channel axis of a map, per position
        self.latent_dim, self.width, self.n_codes = latent_dim, width, n_codes
        self.register_buffer("usage", torch.zeros(n_codes, dtype=torch.long))  # (K,) training assignments since the last reset

    def code_shape(self, feat_shape: tuple[int, ...]) -> tuple[int, ...]:
        """(latent_dim, H, W) for a feature map (C, H, W); (latent_dim,) for feature vectors."""
        return (self.latent_dim, *feat_shape[1:]) if len(feat_shape) == 3 else (self.latent_dim,)

    def vectors(self, h: torch.Tensor) -> torch.Tensor:
        """The projected encoder output with the channels last: (B, H, W, latent_dim) or (B, latent_dim)."""
        if h.dim() == 2:
            return self.proj(h).float()  # (B, latent_dim); fp32 even under bf16 autocast, for distances and rounding
        # a map: the same weights as a 1x1 convolution (ONNX export of a linear layer on a 4-d input fixes the
        # batch size), channels moved last and made contiguous (so is a reshape of a strided view)
        e = F.conv2d(h, self.proj.weight[:, :, None, None], self.proj.bias)  # (B, latent_dim, H, W)
        return e.movedim(1, -1).contiguous().float()  # (B, H, W, latent_dim)

    def indices(self, h: torch.Tensor) -> torch.Tensor:
        """Code indices of encoder features ``h``: (B, H, W, latent_dim / width) or (B, latent_dim / width)."""
        e = self.vectors(h)
        with torch.no_grad():
            _, idx, _ = self.quantize(e.reshape(-1, self.width), update=False)
        return idx.reshape(*e.shape[:-1], -1)

    def forward(self, h: torch.Tensor, sample: bool = True) -> LatentOut:
        e = self.vectors(h)  # (..., latent_dim)
        q, idx, terms = self.quantize(e.reshape(-1, self.width), update=self.training)  # (N, width), (N,)
        if self.training:
            self.usage += torch.bincount(idx, minlength=self.n_codes)
        z = q.reshape(e.shape)
        z = z.movedim(-1, 1) if h.dim() == 4 else z  # back to (B, latent_dim, H, W)
        # per-example sums of per-vector terms (vectors of one example are consecutive)
        per_example = {k: v.reshape(h.shape[0], -1).sum(1).mean() for k, v in terms.items()}  # not len(h): export
        return LatentOut(z, z, per_example)

    def reset_usage(self) -> None:
        self.usage.zero_()

    def codebook_stats(self) -> dict[str, float]:
        """Usage share, perplexity and size of the codebook over the training steps since the last reset.

        With several processes the counts of all of them are added up (every process must call this).
        """
        usage = self.usage.clone()
        _all_reduce(usage)
        return {**codebook_stats(usage), "codes": float(self.n_codes)}


class VectorQuantizer(Quantizer):
    """A learned codebook of ``codebook_size`` vectors of width ``codebook_dim``, updated by EMA.

    Parameters
    ----------
    features : int
        Channels (or features) the encoder emits.
    latent_dim : int
        Values per position (or per example); a multiple of ``codebook_dim``.
    codebook_size, codebook_dim : int
    decay : float, default 0.99
        EMA decay of the cluster sizes and sums.
    commitment : float, default 0.25
        Weight ``beta`` of the commitment term.
    distance : {"euclidean", "cosine"}
        ``cosine`` l2-normalises the vectors and the codebook, so the nearest code has the largest cosine.
    restart_after : int, default 20
        Re-seed a code unused for this many training steps from the current batch; 0 never does.

    Examples
    --------
    >>> import torch
    >>> vq = VectorQuantizer(6, 4, codebook_size=8, codebook_dim=2)
    >>> out = vq(torch.randn(5, 6))
    >>> out.z.shape, sorted(out.terms)
    (torch.Size([5, 4]), ['commitment'])
    """

    def __init__(self, features: int, latent_dim: int, codebook_size: int, codebook_dim: int, decay: float = 0.99,
                 commitment: float = 0.25, distance: str = "euclidean", restart_after: int = 20) -> None:
        super().__init__(features, latent_dim, codebook_dim, codebook_size)
        self.decay, self.commitment, self.distance, self.restart_after = decay, commitment, distance, restart_after
        self.register_buffer("codebook", torch.randn(codebook_size, codebook_dim))  # (K, D) code vectors
        self.register_buffer("cluster_size", torch.zeros(codebook_size))  # (K,) EMA of assignments per step
        self.register_buffer("embed_sum", torch.zeros(codebook_size, codebook_dim))  # (K, D) EMA of assigned sums
        self.register_buffer("idle", torch.zeros(codebook_size, dtype=torch.long))  # (K,) steps since last used
        self.register_buffer("initialized", torch.zeros((), dtype=torch.bool))  # k-means has run

    def _normal(self, v: torch.Tensor) -> torch.Tensor:
        return F.normalize(v, dim=-1) if self.distance == "cosine" else v

    def nearest(self, v: torch.Tensor) -> torch.Tensor:
        """Index of the nearest code for each row of ``v`` (N, D), already normalised for cosine: (N,)."""
        c = self._normal(self.codebook)
        if self.distance == "cosine":
            return (v @ c.T).argmax(1)  # (N, K) cosines
        # ||v - c||^2 = ||v||^2 - 2 v.c + ||c||^2; ||v||^2 is the same for every code
        return (c.pow(2).sum(1) - 2 * v @ c.T).argmin(1)

    def quantize(self, e: torch.Tensor, update: bool = False) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        v = self._normal(e)  # (N, D)
        if update and not bool(self.initialized):
            self.init_codebook(v.detach())
        with torch.no_grad():
            idx = self.nearest(v)
        q = self._normal(self.codebook)[idx]  # (N, D), no gradient: the codebook learns by EMA
        commit = self.commitment * (v - q).pow(2).sum(1)  # (N,) pulls the encoder to its code
        if update:
            self.ema_update(v.detach(), idx)
        return v + (q - v).detach(), idx, {"commitment": commit}  # straight-through: dz/de = identity

    @torch.no_grad()
    def init_codebook(self, v: torch.Tensor) -> None:
        """k-means (scikit-learn) on the vectors ``v`` (N, D) of the first training batch.

        With fewer vectors than codes, the missing centres are random vectors of the batch
        (dead-code restarts spread them later). Seeded from torch's generator, so a seeded run repeats.
        """
        from sklearn.cluster import KMeans

        k = min(self.n_codes, len(torch.unique(v, dim=0)))
        seed = int(torch.randint(0, 2**31 - 1, ()))
        km = KMeans(k, n_init=1, max_iter=20, random_state=seed).fit(v.double().cpu().numpy())
        centres = torch.as_tensor(km.cluster_centers_, dtype=v.dtype, device=v.device)
        extra = v[torch.randint(len(v), (self.n_codes - k,), device=v.device)]
        self.codebook.copy_(self._normal(torch.cat([centres, extra])))
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.broadcast(self.codebook, 0)  # every process starts from rank 0's codebook
        self.cluster_size.fill_(1.0)
        self.embed_sum.copy_(self.codebook)
        self.initialized.fill_(True)

    @torch.no_grad()
    def ema_update(self, v: torch.Tensor, idx: torch.Tensor) -> None:
        """Move each code towards the mean of the vectors ``v`` (N, D) assigned to it (``idx``, (N,))."""
        counts = torch.bincount(idx, minlength=self.n_codes).to(v)  # (K,)
        sums = torch.zeros_like(self.embed_sum).index_add_(0, idx, v)  # (K, D)
        _all_reduce(counts, sums)
        self.cluster_size.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        self.embed_sum.mul_(self.decay).add_(sums, alpha=1 - self.decay)
        n = self.cluster_size.sum()
        # Laplace smoothing: sizes (c_k + eps) n / (n + K eps) keep the same total and never reach 0
        size = (self.cluster_size + LAPLACE_EPS) / (n + self.n_codes * LAPLACE_EPS) * n
        self.codebook.copy_(self._normal(self.embed_sum / size[:, None]))
        self.idle.add_(1).masked_fill_(counts > 0, 0)
        if self.restart_after:
            self.restart_dead(v)

    @torch.no_grad()
    def restart_dead(self, v: torch.Tensor) -> torch.Tensor:
        """Re-seed codes idle for ``restart_after`` steps from random rows of ``v`` (N, D); returns their indices."""
        dead = (self.idle >= self.restart_after).nonzero().flatten()
        if len(dead):
            picks = v[torch.randint(len(v), (len(dead),), device=v.device)]
            if torch.distributed.is_available() and torch.distributed.is_initialized():
                torch.distributed.broadcast(picks, 0)
            self.codebook[dead] = picks
            self.cluster_size[dead] = 1.0
            self.embed_sum[dead] = picks
            self.idle[dead] = 0
        return dead


class FiniteScalarQuantizer(Quantizer):
    """Finite scalar quantisation: dimension i of each ``len(levels)``-vector rounded to ``levels[i]`` values.

    Each value is bounded to ``L_i`` levels by ``tanh`` and rounded with a straight-through
    gradient; the code is scaled to [-1, 1] (even ``L_i`` reach ``1 - 2/L_i`` at the top).
    The implicit codebook is the grid of ``prod(levels)`` points.

    Examples
    --------
    >>> import torch
    >>> fsq = FiniteScalarQuantizer(6, 3, levels=(5, 4, 3))
    >>> fsq.n_codes
    60
    >>> fsq(torch.randn(2, 6)).z.shape
    torch.Size([2, 3])
    """

    EPS = 1e-3  # keeps the tanh bound just inside the outer levels' rounding intervals

    def __init__(self, features: int, latent_dim: int, levels: tuple[int, ...]) -> None:
        super().__init__(features, latent_dim, len(levels), math.prod(levels))
        self.levels = tuple(levels)
        lv = torch.tensor(levels, dtype=torch.float32)
        basis = np.cumprod([1, *levels[:-1]])  # mixed radix: index = sum digit_i * prod(L_j, j < i)
        # constants, rebuilt from the config: not part of the saved state
        self.register_buffer("_levels", lv, persistent=False)
        self.register_buffer("_basis", torch.as_tensor(basis, dtype=torch.long), persistent=False)
        # each dimension standardised over the batch (running statistics in evaluation), without a learned
        # scale: a fresh projection of small features would round everything to the middle level, and a
        # projection free to grow drives every value into the tanh's flat ends (Adam's steps do not shrink
        # with the gradient there), leaving the 2^d corners of the grid as the only codes
        self.norm = nn.BatchNorm1d(latent_dim, affine=False)

    def vectors(self, h: torch.Tensor) -> torch.Tensor:
        e = super().vectors(h)  # (..., latent_dim)
        return self.norm(e.reshape(-1, self.latent_dim)).reshape(e.shape)

    def bound(self, e: torch.Tensor) -> torch.Tensor:
        """Squash ``e`` (N, d) into the rounding range of each dimension's levels (centred on 0 at e = 0)."""
        half = (self._levels - 1) * (1 - self.EPS) / 2
        offset = (1 - self._levels % 2) * 0.5  # even L: levels sit at half-integers before the shift
        shift = torch.atanh(offset / half)
        return torch.tanh(e + shift) * half - offset

    def quantize(self, e: torch.Tensor, update: bool = False) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        b = self.bound(e)  # (N, d)
        r = b + (torch.round(b) - b).detach()  # straight-through rounding: integers in [-(L//2), (L-1)//2]
        half_width = torch.div(self._levels, 2, rounding_mode="floor")
        digits = (torch.round(b).detach() + half_width).long()  # (N, d) in [0, L-1]
        return r / half_width, (digits * self._basis).sum(1), {}

    def grid(self) -> torch.Tensor:
        """Every code of the implicit codebook, (prod(levels), d), in index order."""
        idx = torch.arange(self.n_codes)
        digits = (idx[:, None] // self._basis.cpu()) % self._levels.cpu().long()  # (K, d)
        half_width = torch.div(self._levels.cpu(), 2, rounding_mode="floor")
        return (digits - half_width) / half_width


def build_vq(cfg: ModelConfig, features: int) -> VectorQuantizer:
    """The ``vq`` latent of a :class:`~aekit.models.config.ModelConfig`."""
    return VectorQuantizer(features, cfg.latent_dim, cfg.codebook_size, cfg.codebook_dim, cfg.codebook_decay,
                           cfg.commitment, cfg.codebook_distance, cfg.codebook_restart)


def build_fsq(cfg: ModelConfig, features: int) -> FiniteScalarQuantizer:
    """The ``fsq`` latent of a :class:`~aekit.models.config.ModelConfig`."""
    return FiniteScalarQuantizer(features, cfg.latent_dim, cfg.fsq_levels)


__all__ = ["DISTANCES", "FiniteScalarQuantizer", "Quantizer", "VectorQuantizer", "build_fsq", "build_vq",
           "codebook_stats"]
