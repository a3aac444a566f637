"""The typed configurations of the model families: an :class:`~aekit.Autoencoder`'s parts, by registered
name, and a :class:`~aekit.models.sequence.SequenceVAE`'s shape.

Reading one needs no torch (``aekit models`` lists presets from these alone, see
:mod:`aekit.models.catalog`): the part registries, which hold torch modules, are
imported when a config is validated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, Optional

from aekit.config import (
    AXIS,
    CLASSES,
    FRACTION,
    MAX_INPUT_SIZE,
    NOISE_LEVEL,
    OPEN_FRACTION,
    WEIGHT,
    WIDTH,
    Config,
    Range,
    _choice,
)
from aekit.errors import ConfigError
from aekit.registry import Registry

SCALERS = ("none", "standard", "minmax")
SEQUENCE_ARCHS = ("seq-conv", "seq-rnn")  # architectures for time series windows (T, C); the others need (C, H, W)
CODEBOOK_DISTANCES = ("euclidean", "cosine")  # aekit.models.quantize.DISTANCES, without importing torch
CODEBOOK_SIZE = Range(2, 1 << 20, integer=True)
RESTART_STEPS = Range(0, 1 << 30, integer=True)  # 0: never restart unused codes
FSQ_LEVEL = Range(2, 1 << 12, integer=True)
MAX_FSQ_CODES = 1 << 24  # usage counts are kept per code of the implicit codebook
SKIP_L2 = Range(0, 1e12, low_open=True)  # a ridge penalty: > 0 keeps the item co-occurrence matrix invertible
UNIT = Range(0, 1)  # a share in [0, 1]
MEMBERS = Range(1, 16, integer=True)  # deep experts of an ensemble inside one model
POPULARITY = Range(0, 4)  # exponent of the popularity correction, p^-g with p an item's training clicks + 1
FLAT_ARCHS = ("mlp", "dense-residual")  # architectures for feature vectors (any shape, flattened)
WINDOW_FLOOR = Range(0, 1e3, low_open=True)  # a window's deviation is floored at this (never 0: flat windows)


def _registries() -> dict[str, Registry[Any]]:
    """Fields whose values are registry names, so a registered extension is a valid value."""
    from aekit.models.activations import ACTIVATIONS
    from aekit.models.corruption import CORRUPTIONS
    from aekit.models.latent import LATENTS
    from aekit.models.layers import ARCHITECTURES
    from aekit.models.losses import LOSSES, OUTPUT_ACTIVATIONS
    from aekit.models.prior import PRIORS
    from aekit.models.regularizers import SPARSITIES
    from aekit.models.scaler import WINDOW_NORMS
    from aekit.models.skip import SKIPS
    from aekit.models.timeseries import RNN_CELLS

    return {"arch": ARCHITECTURES, "latent": LATENTS, "activation": ACTIVATIONS, "latent_activation": ACTIVATIONS,
            "sparsity": SPARSITIES, "loss": LOSSES, "output_activation": OUTPUT_ACTIVATIONS, "corruption": CORRUPTIONS,
            "prior": PRIORS, "rnn_cell": RNN_CELLS, "skip": SKIPS, "window_norm": WINDOW_NORMS}


def _choice_registered(name: str, value: Any) -> None:
    _choice(name, value, _registries()[name].names())


def _check_scaler_fits_loss(scaler: str, loss: str) -> None:
    """Refuse a scaler whose output can leave the loss's target range (e.g. standard + bce)."""
    from aekit.models.losses import LOSSES
    from aekit.models.scaler import SCALER_RANGES

    low, high = LOSSES.get(loss).target_range
    out = SCALER_RANGES[scaler]
    if out is not None and (out[0] < low or out[1] > high):
        raise ConfigError(f"scaler: {scaler!r} maps inputs to [{out[0]:g}, {out[1]:g}], but loss {loss!r} needs "
                          f"them in [{low:g}, {high:g}]; use scaler 'minmax' (or 'none' for data already in range) "
                          "or loss 'mse'")


@dataclass
class ModelConfig(Config):
    """Everything needed to rebuild an :class:`aekit.Autoencoder` exactly.

    The fields describe parts, not variants: "denoising" is ``corruption``,
    "sparse" is ``sparsity``, "contractive" is ``contractive_weight`` and "VAE" is
    ``latent="gaussian"``.
    """

    input_shape: tuple[Annotated[int, AXIS], ...] = (1, 28, 28)  # (D,) tables, (T, C) time series, (C, H, W) images
    arch: str = "mlp"  # registered encoder/decoder pair: "mlp", "conv", "deep-conv", ...
    hidden: tuple[Annotated[int, WIDTH], ...] = (128, 64)  # MLP widths, or conv channels per stage
    latent: str = "dense"  # "dense" (projection), "identity" (code = feature map), "gaussian" (VAE)
    latent_dim: Annotated[int, WIDTH] = 32  # size of the code; ignored by latent="identity"
    activation: str = "relu"  # hidden-layer nonlinearity
    latent_activation: str = "linear"  # applied to a dense code
    loss: str = "bce"  # "bce" (inputs in [0, 1]), "mse", "masked-mse" (0 = unobserved), "multinomial"
    output_activation: str = "sigmoid"  # maps decoder output to data space: "sigmoid", "linear", "softmax"
    corruption: Optional[str] = None  # denoising: "gaussian", "masking" or "salt-and-pepper"
    noise_level: Annotated[float, NOISE_LEVEL] = 0.0  # std (gaussian) or fraction of pixels (masking, salt-and-pepper)
    sparsity: Optional[str] = None  # "l1" activity penalty or "kl" divergence to a target rate
    sparsity_weight: Annotated[float, WEIGHT] = 0.0  # weight of the sparsity term
    sparsity_target: Annotated[float, OPEN_FRACTION] = 0.05  # target mean activation rho for sparsity="kl"
    contractive_weight: Annotated[float, WEIGHT] = 0.0  # weight of ||dz/dx||_F^2
    beta: Annotated[float, WEIGHT] = 1.0  # weight of the KL term for latent="gaussian"
    # "composite": RecVAE's prior (aekit.models.prior) replaces the Gaussian latent's N(0, I) (needs beta=0)
    prior: Optional[str] = None
    prior_weight: Annotated[float, WEIGHT] = 0.005  # the composite KL's weight per unit of a row's sum (clicks)
    # a second expert fused with the decoder's logits (aekit.models.skip): "ease" (wide and deep recommenders)
    skip: Optional[str] = None
    skip_l2: Annotated[float, SKIP_L2] = 400.0  # skip "ease": EASE's ridge penalty (solved in closed form before training)
    skip_weight: Annotated[float, UNIT] = 0.5  # skip: the skip path's share of the fused, per-row standardised scores
    # skip "ease": fused scores - g * log(1 + an item's training clicks), probabilities times popularity^-g
    skip_popularity: Annotated[float, POPULARITY] = 0.0  # skip: the popularity correction's exponent g (0: none)
    # copies of the encoder, latent and decoder initialised apart and trained side by side on their summed losses
    members: Annotated[int, MEMBERS] = 1  # an ensemble's deep parts, scored by their mean standardised logits (multinomial)
    scaler: str = "none"  # per-feature input scaling fitted on training data
    num_classes: Annotated[int, CLASSES] = 0  # > 0 conditions encoder and decoder on a one-hot label
    rnn_cell: str = "gru"  # recurrent cell of arch "seq-rnn": "gru" or "lstm"
    # after the scaler, the model sees shapes only, not levels or amplitudes (aekit.models.scaler.WINDOW_NORMS)
    window_norm: str = "none"  # time series (T, C): "znorm" z-normalises each window per channel, "none" keeps it
    window_floor: Annotated[float, WINDOW_FLOOR] = 0.01  # znorm: least window deviation, in scaler units
    # quantised latents (aekit.models.quantize); latent_dim is cut into codes of codebook_dim (vq) or len(fsq_levels)
    codebook_size: Annotated[int, CODEBOOK_SIZE] = 512  # vq: number of code vectors K (log2 K bits per code)
    codebook_dim: Annotated[int, WIDTH] = 16  # vq: width of one code vector; divides latent_dim
    codebook_decay: Annotated[float, FRACTION] = 0.99  # vq: EMA decay of the codebook statistics
    commitment: Annotated[float, WEIGHT] = 0.25  # vq: weight beta of the commitment term ||e - sg(q)||^2
    codebook_distance: str = "euclidean"  # vq: "euclidean", or "cosine" (l2-normalised vectors and codes)
    codebook_restart: Annotated[int, RESTART_STEPS] = 20  # vq: re-seed a code unused for this many steps (0: never)
    fsq_levels: tuple[Annotated[int, FSQ_LEVEL], ...] = (8, 5, 5, 5)  # fsq: levels per dimension; prod = codes

    def _validate(self) -> None:
        if len(self.input_shape) not in (1, 2, 3):
            raise ConfigError(f"input_shape: expected (D,), (T, C) or (C, H, W), got {self.input_shape!r}")
        if self.input_size > MAX_INPUT_SIZE:
            raise ConfigError(f"input_shape: at most {MAX_INPUT_SIZE} values per example, got "
                              f"{self.input_shape!r} ({self.input_size})")
        _choice_registered("arch", self.arch)
        if self.arch in SEQUENCE_ARCHS and len(self.input_shape) != 2:
            raise ConfigError(f"arch: {self.arch!r} needs a time series input_shape (T, C), got {self.input_shape!r}")
        if self.arch not in (*FLAT_ARCHS, *SEQUENCE_ARCHS) and len(self.input_shape) != 3:
            raise ConfigError(f"arch: {self.arch!r} needs an image input_shape (C, H, W), got {self.input_shape!r}")
        _choice_registered("rnn_cell", self.rnn_cell)
        _choice_registered("window_norm", self.window_norm)
        if self.window_norm != "none" and len(self.input_shape) != 2:
            raise ConfigError(f"window_norm: {self.window_norm!r} normalises time series windows (T, C); "
                              f"input_shape is {self.input_shape!r}")
        if self.window_norm != "none" and _registries()["loss"].get(self.loss).target_range != (-math.inf, math.inf):
            raise ConfigError(f"window_norm: {self.window_norm!r} gives values of any sign, but loss {self.loss!r} "
                              "needs a bounded range; use loss 'mse'")
        _choice_registered("latent", self.latent)
        if self.latent == "identity" and (self.arch != "conv" or self.num_classes):
            raise ConfigError("latent: 'identity' (the feature map is the code) needs arch='conv' and no num_classes")
        _choice_registered("activation", self.activation)
        _choice_registered("latent_activation", self.latent_activation)
        _choice_registered("output_activation", self.output_activation)
        _choice_registered("loss", self.loss)
        needed = _registries()["loss"].get(self.loss).output_activation
        if needed and self.output_activation != needed:
            raise ConfigError(f"loss: {self.loss!r} needs output_activation={needed!r} (the decoder emits logits)")
        if self.corruption is not None:
            _choice_registered("corruption", self.corruption)
        if self.corruption in ("masking", "salt-and-pepper") and self.noise_level > 1:
            raise ConfigError(f"noise_level: a fraction in [0, 1] for {self.corruption}, got {self.noise_level}")
        if self.sparsity is not None:
            _choice_registered("sparsity", self.sparsity)
        if self.sparsity == "kl" and self.latent_activation != "sigmoid":
            raise ConfigError("sparsity: 'kl' needs latent_activation='sigmoid' (rates must lie in (0, 1))")
        if self.prior is not None:
            _choice_registered("prior", self.prior)
            if self.latent != "gaussian" or self.beta != 0:
                raise ConfigError(f"prior: {self.prior!r} replaces the standard-normal KL of a Gaussian latent: "
                                  f"it needs latent='gaussian' and beta=0, got latent={self.latent!r}, beta={self.beta}")
        if self.skip is not None:
            _choice_registered("skip", self.skip)
            if self.loss != "multinomial":
                raise ConfigError(f"skip: {self.skip!r} fuses item scores with a multinomial decoder's logits; it needs "
                                  f"loss='multinomial', got {self.loss!r}")
        if self.skip_popularity > 0 and self.skip is None:
            raise ConfigError(f"skip_popularity: {self.skip_popularity} corrects a skip path's fused scores; set skip "
                              "(e.g. 'ease') or leave it at 0")
        if self.members > 1 and self.loss != "multinomial":
            raise ConfigError(f"members: an ensemble averages standardised item scores of a multinomial decoder; "
                              f"members={self.members} needs loss='multinomial', got {self.loss!r}")
        self._validate_quantizer()
        _choice("scaler", self.scaler, SCALERS)
        _check_scaler_fits_loss(self.scaler, self.loss)

    def _validate_quantizer(self) -> None:
        from aekit.models.layers import MAP_LATENTS

        _choice("codebook_distance", self.codebook_distance, CODEBOOK_DISTANCES)
        if not self.fsq_levels:
            raise ConfigError("fsq_levels: at least one dimension's number of levels, got ()")
        if math.prod(self.fsq_levels) > MAX_FSQ_CODES:
            raise ConfigError(f"fsq_levels: {self.fsq_levels!r} make {math.prod(self.fsq_levels)} codes; at most "
                              f"{MAX_FSQ_CODES}")
        width = {"vq": ("codebook_dim", self.codebook_dim), "fsq": ("len(fsq_levels)", len(self.fsq_levels))}
        if self.latent in width and self.latent_dim % width[self.latent][1]:
            name, value = width[self.latent]
            raise ConfigError(f"latent_dim: latent {self.latent!r} cuts the code into vectors of {name}={value}; "
                              f"latent_dim must be a multiple of it, got {self.latent_dim}")
        if self.latent in MAP_LATENTS and self.arch == "conv" and self.num_classes:
            raise ConfigError(f"num_classes: latent {self.latent!r} codes the conv feature map, which takes no labels; "
                              "use num_classes=0")

    @property
    def input_size(self) -> int:
        return math.prod(self.input_shape)

    @property
    def scaler_shape(self) -> tuple[int, ...]:
        """Shape of the scaler's offset and scale: one per channel (1, C) for time series (T, C), so a
        window scales the same wherever it was cut; one per feature otherwise."""
        return (1, self.input_shape[1]) if len(self.input_shape) == 2 else tuple(self.input_shape)


DEFAULT_COLUMNS = 8  # numeric columns of a table model built without data (create_model("table-ae"))

VOCAB_SIZE = Range(4, 1 << 20, integer=True)  # at least <pad>, <bos>, <eos> and <unk>
MAX_LEN = Range(2, 100_000, integer=True)  # at least <bos> and <eos>


@dataclass
class SequenceVAEConfig(Config):
    """Shape of a :class:`~aekit.models.sequence.SequenceVAE`; round-trips through JSON like every aekit config."""

    vocab_size: Annotated[int, VOCAB_SIZE] = 40  # tokens including <pad>, <bos>, <eos>, <unk>
    max_len: Annotated[int, MAX_LEN] = 80  # tokens per sequence including <bos> and <eos>
    embed_dim: Annotated[int, WIDTH] = 64  # token embedding width
    hidden: Annotated[int, WIDTH] = 256  # GRU state width (encoder and decoder)
    latent_dim: Annotated[int, WIDTH] = 32  # size of the Gaussian code
    # weight of the KL term (further scaled by KL annealing). At 1.0 the decoder learns to ignore
    # the code (posterior collapse): on 459 drug analogues, 40 epochs, exact reconstruction of
    # training molecules was 0.013 at beta 1, 0.096 at 0.5, 0.47 at 0.2 and 0.65 at 0.1, while the
    # validity of prior samples fell from 0.81 to 0.77, 0.58 and 0.48
    beta: Annotated[float, WEIGHT] = 0.2  # weight of the KL term, scaled further by KL annealing (at 1 the decoder ignores the code)
    word_dropout: Annotated[float, FRACTION] = 0.1  # teacher-forced inputs replaced by <unk> with this probability


@dataclass
class ItemLinearConfig(Config):
    """Shape of an :class:`~aekit.models.linear.ItemLinear` autoencoder (EASE): one item-to-item matrix."""

    input_shape: tuple[Annotated[int, AXIS], ...] = (1, 28, 28)  # (n_items,) for click rows; any shape is flattened
    l2: Annotated[float, WEIGHT] = 250.0  # ridge penalty on the item-item weights (EASE's lambda)
    loss: str = "ridge"  # squared error of the rows plus the l2 penalty; solved in closed form

    def _validate(self) -> None:
        _choice("loss", self.loss, ["ridge"])

    @property
    def input_size(self) -> int:
        return math.prod(self.input_shape)


TABLE_SYMBOLS = Range(3, 4096, integer=True)  # integer CDF table width per latent channel (escape symbol included)
RD_LAMBDA = Range(0, 1e6, low_open=True)  # weight of the distortion against the rate
DOWNSAMPLING = Range(2, 4, integer=True)  # a codec's latent is 1/2 or 1/4 of the image's height and width


@dataclass
class CodecConfig(Config):
    """Shape of a :class:`~aekit.models.codec.FactorizedCodec` (a learned image codec) and its rate-distortion trade-off."""

    input_shape: tuple[Annotated[int, AXIS], ...] = (1, 28, 28)  # (C, H, W) with H and W divisible by downsampling
    channels: Annotated[int, WIDTH] = 32  # width of the analysis and synthesis transforms
    latent_channels: Annotated[int, WIDTH] = 32  # channels of the quantised latent
    downsampling: Annotated[int, DOWNSAMPLING] = 4  # the latent's size against the image's: 4 (H/4 x W/4) or 2 (H/2 x W/2, finer, higher rates)
    rd_lambda: Annotated[float, RD_LAMBDA] = 0.01  # loss = bits per pixel + rd_lambda * 255**2 * MSE
    table_symbols: Annotated[int, TABLE_SYMBOLS] = 256  # symbols per integer CDF table, the escape symbol included

    def _validate(self) -> None:
        _choice("downsampling", self.downsampling, [2, 4])
        f = self.downsampling
        if len(self.input_shape) != 3 or self.input_shape[1] % f or self.input_shape[2] % f:
            raise ConfigError(f"input_shape: this codec needs images (C, H, W) with H and W divisible by {f}, "
                              f"got {self.input_shape!r}")

    @property
    def input_size(self) -> int:
        return math.prod(self.input_shape)


__all__ = ["SCALERS", "CodecConfig", "ItemLinearConfig", "ModelConfig", "SequenceVAEConfig"]
@dataclass
class TabularConfig(Config):
    """Shape of a :class:`~aekit.models.tabular.TabularAutoencoder`: the table's columns and the MLP between them.

    The ``column_*`` fields come from the training data (:class:`aekit.data.columns.TableSchema`);
    left empty they describe ``input_shape[0]`` numeric columns ``x0, x1, ...``.
    """

    input_shape: tuple[Annotated[int, AXIS], ...] = (1,)  # (D,): one value per column
    column_names: tuple[str, ...] = ()  # the columns, in order
    column_kinds: tuple[str, ...] = ()  # each column's kind: "numeric", "categorical" or "boolean"
    column_cardinalities: tuple[Annotated[int, CLASSES], ...] = ()  # training categories per column (0 if not categorical)
    column_categories: tuple[str, ...] = ()  # the categorical columns' categories, column after column
    column_weights: tuple[Annotated[float, WEIGHT], ...] = ()  # each column's weight in the loss (default 1 each)
    hidden: tuple[Annotated[int, WIDTH], ...] = (64, 32)  # MLP widths of the encoder (mirrored in the decoder)
    latent: str = "dense"  # "dense" or "gaussian" (a VAE over rows)
    latent_dim: Annotated[int, WIDTH] = 8  # size of the code
    activation: str = "relu"  # hidden-layer nonlinearity
    latent_activation: str = "linear"  # applied to a dense code
    beta: Annotated[float, WEIGHT] = 1.0  # weight of the KL term for latent="gaussian"
    # share of the observed cells hidden from the encoder in each training batch (scored all the same),
    # so the model learns to fill in a cell from the others: what imputation and explanations rely on
    mask_rate: Annotated[float, FRACTION] = 0.2

    def __post_init__(self) -> None:
        if not self.column_names and len(self.input_shape) == 1:  # an unnamed numeric table
            d = self.input_shape[0]
            self.column_names, self.column_kinds, self.column_cardinalities = (
                tuple(f"x{i}" for i in range(d)), ("numeric",) * d, (0,) * d)
        super().__post_init__()

    def _validate(self) -> None:
        from aekit.data.columns import COLUMN_KINDS

        d = len(self.column_names)
        if tuple(self.input_shape) != (d,):
            raise ConfigError(f"input_shape: a table of {d} columns needs ({d},), got {self.input_shape!r}")
        if len(set(self.column_names)) < d:
            raise ConfigError(f"column_names: repeated names in {list(self.column_names)}")
        for name in ("column_kinds", "column_cardinalities") + (("column_weights",) if self.column_weights else ()):
            if len(getattr(self, name)) != d:
                raise ConfigError(f"{name}: one per column ({d}), got {len(getattr(self, name))}")
        for col, kind, k in zip(self.column_names, self.column_kinds, self.column_cardinalities):
            _choice(f"column_kinds[{col!r}]", kind, COLUMN_KINDS.names())
            if (kind == "categorical") != (k > 0):
                raise ConfigError(f"column_cardinalities[{col!r}]: {k} categories for a {kind} column")
        if sum(self.column_cardinalities) != len(self.column_categories):
            raise ConfigError(f"column_categories: {len(self.column_categories)} names for "
                              f"{sum(self.column_cardinalities)} categories")
        _choice("latent", self.latent, ["dense", "gaussian"])
        _choice_registered("activation", self.activation)
        _choice_registered("latent_activation", self.latent_activation)

    @property
    def input_size(self) -> int:
        return len(self.column_names)


__all__ = ["CODEBOOK_DISTANCES", "DEFAULT_COLUMNS", "SCALERS", "SEQUENCE_ARCHS", "ItemLinearConfig", "ModelConfig",
           "SequenceVAEConfig", "TabularConfig"]
