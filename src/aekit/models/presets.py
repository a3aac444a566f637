"""Registered model presets: each one only names a family and sets its config fields and a training recipe.

Listing them needs no torch (see :mod:`aekit.models.catalog`): the families are imported when a model is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

from aekit.config import Config
from aekit.errors import ConfigError
from aekit.registry import Registry
from aekit.training.config import TrainConfig


@dataclass(frozen=True)
class Preset:
    name: str
    fields: Callable[[], dict[str, Any]]  # config fields this preset sets
    recipe: TrainConfig  # a training recipe that works on the preset's home data
    description: str
    family: str = "autoencoder"  # the model class, a name in aekit.models.families.FAMILIES


MODELS: Registry[Preset] = Registry("model")


def register_model(recipe: TrainConfig, family: str = "autoencoder") -> Callable[[Callable[[], dict[str, Any]]],
                                                                                Callable[[], dict[str, Any]]]:
    """Register a preset function returning config fields of ``family``; its docstring's first line describes it."""

    def add(fn: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
        name = fn.__name__.replace("_", "-")
        doc = (fn.__doc__ or "").strip().splitlines()
        MODELS.add(name, Preset(name, fn, recipe, doc[0] if doc else "", family))
        return fn

    return add


def list_models() -> list[str]:
    """Names of all registered presets, sorted."""
    return MODELS.names()


def _given(overrides: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in overrides.items() if v is not None}  # None: keep the preset's value


def model_config(name: str, input_shape: Optional[tuple[int, ...]] = None, **overrides: Any) -> Config:
    """The validated config of preset ``name`` (a :class:`ModelConfig` for autoencoders) with ``overrides``."""
    from aekit.models.families import FAMILIES

    preset = MODELS.get(name)
    try:
        return FAMILIES.get(preset.family).preset_config(preset.fields(), input_shape, **_given(overrides))
    except ConfigError as err:
        raise ConfigError(f"model {name!r}: {err}") from None


def get_recipe(name: str) -> TrainConfig:
    """The default :class:`TrainConfig` of preset ``name``."""
    return MODELS.get(name).recipe


def create_model(name: str, input_shape: Optional[tuple[int, ...]] = None, **overrides: Any) -> Any:
    """Build a registered preset.

    Parameters
    ----------
    name : str
        A name from :func:`list_models`, e.g. ``"vanilla"``, ``"conv"``, ``"vae"`` or ``"smiles-vae"``.
    input_shape : tuple of int, optional
        ``(D,)`` for feature vectors or ``(C, H, W)`` for images (default (1, 28, 28));
        ``(L,)`` token ids for sequence models.
    **overrides
        Any field of the family's config, e.g. ``latent_dim=2`` or ``loss="mse"``
        (``None`` keeps the preset's value), and family arguments such as a
        sequence model's ``tokenizer``.

    Returns
    -------
    Autoencoder or SequenceVAE

    Examples
    --------
    >>> model = create_model("vae", latent_dim=2)
    >>> model.config.latent, model.config.latent_dim
    ('gaussian', 2)
    >>> type(create_model("smiles-vae")).__name__
    'SequenceVAE'
    """
    from aekit.models.families import FAMILIES

    preset = MODELS.get(name)
    try:
        return FAMILIES.get(preset.family).from_preset(name, preset.fields(), input_shape, **_given(overrides))
    except ConfigError as err:
        raise ConfigError(f"model {name!r}: {err}") from None


_DENSE = TrainConfig(epochs=20, batch_size=256, lr=1e-3)


# One-cycle at a 10x peak rate: test BCE 0.277-0.278/pixel after 20 epochs (5 seeds) where the
# notebook's constant 1e-3 gives 0.288 with PyTorch's default init (Keras' Glorot init: 0.281).
@register_model(TrainConfig(epochs=20, batch_size=256, lr=1e-2, schedule="onecycle"))
def vanilla() -> dict[str, Any]:
    """The notebook's dense autoencoder: 784-128-64-32 (ReLU), mirrored decoder, sigmoid output, BCE."""
    return dict(arch="mlp", hidden=(128, 64), latent="dense", latent_dim=32, latent_activation="relu", loss="bce")


@register_model(TrainConfig(epochs=15, batch_size=256, lr=1e-3))
def vanilla_2d() -> dict[str, Any]:
    """The notebook's latent-map model: 784-128-64-2 with a linear 2-D code."""
    return dict(arch="mlp", hidden=(128, 64), latent="dense", latent_dim=2, latent_activation="linear", loss="bce")


# A linear code: with ReLU, 21 of the 64 code units die within 20 epochs (test SSE/img 8.9 vs 7.2)
@register_model(_DENSE)
def undercomplete() -> dict[str, Any]:
    """One hidden layer that is the bottleneck: 784-64-784, linear code, sigmoid output."""
    return dict(arch="mlp", hidden=(), latent="dense", latent_dim=64, latent_activation="linear", loss="bce")


@register_model(_DENSE)
def sparse() -> dict[str, Any]:
    """784-256-64 with sigmoid codes and a KL sparsity penalty (rho=0.05); sparsity="l1" for the L1 variant."""
    return dict(
        arch="mlp", hidden=(256,), latent="dense", latent_dim=64, latent_activation="sigmoid", loss="bce",
        sparsity="kl", sparsity_weight=1.0, sparsity_target=0.05,
    )  # fmt: skip


@register_model(_DENSE)
def denoising() -> dict[str, Any]:
    """784-256-128-64 trained on Gaussian-corrupted inputs (sigma=0.3), loss on the clean input."""
    return dict(
        arch="mlp", hidden=(256, 128), latent="dense", latent_dim=64, latent_activation="linear", loss="bce",
        corruption="gaussian", noise_level=0.3,
    )  # fmt: skip


@register_model(_DENSE)
def contractive() -> dict[str, Any]:
    """784-256-64 with sigmoid codes and the exact Jacobian penalty ||dz/dx||_F^2."""
    return dict(
        arch="mlp", hidden=(256,), latent="dense", latent_dim=64, latent_activation="sigmoid", loss="bce",
        contractive_weight=0.1,
    )  # fmt: skip


@register_model(TrainConfig(epochs=10, batch_size=256, lr=1e-3))
def conv() -> dict[str, Any]:
    """The notebook's conv autoencoder: two Conv3x3+MaxPool blocks to a 7x7x16 code, upsampling decoder."""
    return dict(arch="conv", hidden=(32, 16), latent="identity", loss="bce")


# quantised codes: 7x7 positions, one code each. vq-vae: 512 codes = 9 bits a position, 441 bits an image
# (benchmarks/bench_vq.py compares it with the conv family quantised to the same bits)
@register_model(TrainConfig(epochs=10, batch_size=128, lr=2e-3, schedule="cosine"))
def vq_vae() -> dict[str, Any]:
    """VQ-VAE: Conv+MaxPool (32, 64) to 7x7 positions, each coded by one of 512 EMA-learned 16-d codes."""
    return dict(arch="conv", hidden=(32, 64), latent="vq", latent_dim=16, codebook_dim=16, codebook_size=512,
                commitment=0.25, codebook_decay=0.99, codebook_restart=10, loss="bce")


@register_model(TrainConfig(epochs=10, batch_size=128, lr=2e-3, schedule="cosine"))
def fsq_ae() -> dict[str, Any]:
    """FSQ autoencoder: Conv+MaxPool (32, 64) to 7x7 positions of 4 values on 8x5x5x5 levels (1000 codes)."""
    return dict(arch="conv", hidden=(32, 64), latent="fsq", latent_dim=4, fsq_levels=(8, 5, 5, 5), loss="bce")


@register_model(TrainConfig(epochs=30, batch_size=128, lr=1e-3, schedule="cosine"))
def vae() -> dict[str, Any]:
    """Dense VAE 784-512-256-16 with a Gaussian latent and Bernoulli decoder (ELBO; beta weights the KL)."""
    return dict(arch="mlp", hidden=(512, 256), latent="gaussian", latent_dim=16, loss="bce", beta=1.0)


@register_model(TrainConfig(epochs=20, batch_size=128, lr=1e-3, schedule="cosine"))
def conv_vae() -> dict[str, Any]:
    """Convolutional VAE: Conv+MaxPool (32, 64) to a 16-d Gaussian code."""
    return dict(arch="conv", hidden=(32, 64), latent="gaussian", latent_dim=16, loss="bce", beta=1.0)


@register_model(TrainConfig(epochs=30, batch_size=256, lr=1e-3, schedule="cosine"))
def deep() -> dict[str, Any]:
    """Deep dense autoencoder 784-1000-500-250-30 with a linear code (Hinton & Salakhutdinov 2006 shape)."""
    return dict(arch="mlp", hidden=(1000, 500, 250), latent="dense", latent_dim=30, latent_activation="linear", loss="bce")


# 12 one-cycle epochs: test SSE/img ~5.3 (PCA-30: 12.2) in ~2 minutes on 2 CPU cores (benchmarks/bench_quality.py)
@register_model(TrainConfig(epochs=12, batch_size=128, lr=3e-3, schedule="onecycle"))
def deep_conv() -> dict[str, Any]:
    """Strided conv encoder with batch norm (16, 32, 64 channels) to a 30-d dense code; transposed-conv decoder, MSE."""
    return dict(arch="deep-conv", hidden=(16, 32, 64), latent="dense", latent_dim=30, latent_activation="linear", loss="mse")


@register_model(TrainConfig(epochs=100, batch_size=32, lr=3e-3))
def fingerprint() -> dict[str, Any]:
    """Morgan bits -> 512 -> 64-d linear code, mirrored decoder, BCE on bits (use input_shape=(n_bits,))."""
    return dict(arch="mlp", hidden=(512,), latent="dense", latent_dim=64, latent_activation="linear", loss="bce")


# ----------------------------------------------------------------------------- recommenders
# Recipes use Adam; "L2 weight decay" is AdamW's decoupled decay rather than the papers'
# penalty term (Sedhain et al. trained with L-BFGS / RProp). fp32: ratings need the precision.
# weight decay 5 (AdamW, decoupled): test RMSE 0.909 on an ML-100K 90/10 split (seed 3, not a reported
# one) where 0.01 overfits to 1.09 (worse than item means, 1.03) and 2 / 10 give 0.947 / 0.953
@register_model(TrainConfig(epochs=100, batch_size=32, lr=1e-3, weight_decay=5.0, precision="fp32"))
def i_autorec() -> dict[str, Any]:
    """I-AutoRec (Sedhain et al. 2015): item rating vectors -> 500 sigmoid units -> identity, masked MSE."""
    return dict(arch="mlp", hidden=(), latent="dense", latent_dim=500, latent_activation="sigmoid",
                output_activation="linear", loss="masked-mse")


# Click recipes tuned on MovieLens-100K's random splits (benchmarks/bench_recommend.py): up to 300
# epochs of 128 users, stopped when validation NDCG@10 has not improved for 20 epochs (the best
# epoch's weights kept). On 943 users one layer beats Liang et al.'s 600-200 tanh stack
# (NDCG@10 0.33 vs 0.28 for Mult-VAE on one split): pass hidden=(600,) latent_dim=200 for theirs.
_CLICKS = TrainConfig(epochs=300, batch_size=128, lr=1e-3, weight_decay=0.1, precision="fp32", patience=20,
                      monitor="val_ndcg@10", monitor_mode="max")


@register_model(_CLICKS)
def mult_dae() -> dict[str, Any]:
    """Mult-DAE (Liang et al. 2018): L2-normalised clicks with dropout 0.5, one 600-unit tanh code, multinomial loss."""
    return dict(arch="mlp", hidden=(), activation="tanh", latent="dense", latent_dim=600,
                latent_activation="tanh", loss="multinomial", output_activation="softmax",
                corruption="l2-dropout", noise_level=0.5)


# kl_warmup 0.2 with beta 0.2: the KL weight grows by 1/total per step up to 0.2 (Liang et al.'s annealing)
@register_model(_CLICKS.replace(kl_warmup=0.2))
def mult_vae() -> dict[str, Any]:
    """Mult-VAE (Liang et al. 2018): as Mult-DAE with a 400-d Gaussian code; beta annealed to 0.2."""
    return dict(arch="mlp", hidden=(), activation="tanh", latent="gaussian", latent_dim=400,
                loss="multinomial", output_activation="softmax", corruption="l2-dropout", noise_level=0.5,
                beta=0.2)


# RecVAE's recipe, tuned on ML-100K's validation split (seed 0; val NDCG@10 0.270, Mult-VAE 0.269): RecVAE's
# per-click KL weight 0.005 -> 0.02 and decoupled weight decay 1.0 (943 users overfit the 5x600 encoder), batches
# of 128 users at lr 1e-3 instead of 500 at 5e-4 (2 steps an epoch), stopped on validation NDCG@10. The trainer
# takes joint steps: RecVAE's alternating encoder/decoder epochs (3:1 or 1:1, as a callback freezing one side)
# scored 0.258 / 0.262 on the same split. The old encoder is refreshed after every epoch (PriorSnapshot)
@register_model(_CLICKS.replace(batch_size=128, lr=1e-3, weight_decay=1.0))
def recvae() -> dict[str, Any]:
    """RecVAE (Shenbin et al. 2020): 5 dense-residual swish+LayerNorm layers of 600, 200-d code, composite prior."""
    return dict(arch="dense-residual", hidden=(600,) * 5, activation="swish", latent="gaussian", latent_dim=200,
                loss="multinomial", output_activation="softmax", corruption="l2-dropout", noise_level=0.5,
                beta=0.0, prior="composite", prior_weight=0.02)


# Wide and deep: EASE's item-to-item scores fused with Mult-DAE's decoder logits (aekit.models.skip), each row
# standardised over the items it does not hold, EASE's share 0.15. EASE is solved in closed form before training;
# the decoder trains alone on its loss and early stopping keeps the epoch whose fused scores rank validation items
# best. The share was chosen on ML-100K's validation splits (seeds 0-2; benchmarks/README.md). Trained jointly
# instead (logits + g x B; B frozen, fine-tuned or learned from zero) the pair ranked no better than Mult-DAE
@register_model(_CLICKS)
def ease_dae() -> dict[str, Any]:
    """Wide and deep: Mult-DAE's scores fused with EASE's item-to-item scores (l2 400, share 0.15), per-user standardised."""
    return {**mult_dae(), "skip": "ease", "skip_l2": 400.0, "skip_weight": 0.15}


# the same skip path on Mult-VAE: validation NDCG@10 0.2779 against ease-dae's 0.2778 (mean of ML-100K's split seeds 0-2)
@register_model(_CLICKS.replace(kl_warmup=0.2))
def ease_vae() -> dict[str, Any]:
    """Wide and deep: Mult-VAE's scores fused with EASE's item-to-item scores (l2 400, share 0.15), per-user standardised."""
    return {**mult_vae(), "skip": "ease", "skip_l2": 400.0, "skip_weight": 0.15}


# The wide and deep pair with an ensemble as its deep part: three Mult-DAEs from different initial weights, trained
# side by side (summed losses) and stopped together on the fused validation NDCG@10; each one's scores are
# standardised and averaged before EASE's share 0.15 is added, and the fused scores are lowered by
# 0.05 * log(1 + item's training clicks). Mult-DAE's initialisations alone spread 0.328-0.337 in test NDCG@10 on one
# ML-100K split; the average cuts that noise. The popularity exponent was chosen on ML-100K's validation splits
# (seeds 0-2; benchmarks/README.md)
@register_model(_CLICKS)
def ease_dae_ensemble() -> dict[str, Any]:
    """Wide and deep with 3 Mult-DAEs: their averaged standardised scores fused with EASE's (share 0.15), popularity^-0.05."""
    return {**ease_dae(), "members": 3, "skip_popularity": 0.05}


# epochs=0: the recommender run kind solves EASE in closed form when it prepares the model (under a
# second for ML-100K's 1,682 items); l2 400 ranks validation items best on ML-100K's random splits
@register_model(TrainConfig(epochs=0, batch_size=500, precision="fp32"), family="item-linear")
def ease() -> dict[str, Any]:
    """EASE (Steck 2019): a linear item-to-item autoencoder with zero diagonal, ridge penalty 400, closed form."""
    return dict(l2=400.0, loss="ridge")


# ----------------------------------------------------------------------------- molecules
# fp32: bf16 autocast of GRUs on CPU is slower than fp32 and hurts the softmax over tokens; the KL weight
# rises over the first third of training (kl_warmup), so the decoder learns to use the code first
@register_model(TrainConfig(epochs=60, batch_size=64, lr=3e-3, precision="fp32", grad_clip=5.0, kl_warmup=1 / 3),
                family="sequence-vae")
def smiles_vae() -> dict[str, Any]:
    """SMILES VAE: regex tokens, bidirectional GRU encoder, 32-d Gaussian code, GRU decoder (beta 0.2)."""
    return dict(embed_dim=64, hidden=256, latent_dim=32, beta=0.2, word_dropout=0.1)


# ----------------------------------------------------------------------------- learned image codecs
# Ballé et al.'s factorised-prior codec at eight rate-distortion trade-offs, as many as CompressAI has
# (loss = bpp + lambda * 255^2 * MSE).
# Low levels keep a coarse H/4 latent (fewer symbols to pay for); high levels an H/2 one, which a short
# training fits much sooner (27 vs 23.5 dB after 24,000 images without quantisation). fp32: the entropy
# model's tails need it. Gradient norms are clipped at 1: without it codec-q5 trained for 10 epochs blew up in
# its second epoch (loss 6.2 -> 8.6e9), and with it its validation loss fell faster (1.83 vs 2.17 after 2 epochs).
# benchmarks/bench_compress.py measures the rates and PSNR of these recipes.
_CODEC = TrainConfig(epochs=6, batch_size=32, lr=2e-3, schedule="cosine", precision="fp32", grad_clip=1.0)
# q5 has wider transforms (48 channels, 2.25x the work): at ~1 bpp the 32-wide ones held the curve under WebP.
# 48 wide at lambda 0.0065 gave 29.28 dB at 0.958 bpp, 32 wide at 0.006 28.82 dB at 0.946, where the new curve
# is at 29.17 dB (20 clipped epochs each, benchmarks/bench_compress.py).
CODEC_LEVELS = {  # quality level -> (rd_lambda, latent channels, downsampling, transform channels)
    1: (0.0005, 16, 4, 32), 2: (0.0007, 16, 4, 32), 3: (0.001, 16, 4, 32), 4: (0.002, 16, 4, 32),
    5: (0.0065, 32, 4, 48), 6: (0.012, 16, 2, 32), 7: (0.015, 16, 2, 32), 8: (0.04, 32, 2, 32),
}
CODEC_LAMBDAS = {level: spec[0] for level, spec in CODEC_LEVELS.items()}


def _codec(level: int) -> Callable[[], dict[str, Any]]:
    lam, latent, down, width = CODEC_LEVELS[level]

    def fields() -> dict[str, Any]:
        return dict(channels=width, latent_channels=latent, downsampling=down, rd_lambda=lam)

    fields.__name__ = f"codec_q{level}"
    fields.__doc__ = (f"Learned image codec (GDN transforms, factorised entropy model), quality {level}: "
                      f"lambda {lam}, {latent}-channel latent at 1/{down} size, {width}-channel transforms.")
    return fields


for _level in CODEC_LEVELS:
    register_model(_CODEC, family="codec")(_codec(_level))
# ----------------------------------------------------------------------------- mixed-type tables
# fp32: the per-column losses are small sums; 20% of the observed cells hidden in every batch (mask_rate)
@register_model(TrainConfig(epochs=200, batch_size=64, lr=3e-3, precision="fp32", patience=20), family="tabular")
def table_ae() -> dict[str, Any]:
    """Mixed-type table autoencoder: numbers, categories, booleans and missing cells; 64-32 MLP to an 8-d code."""
    return dict(hidden=(64, 32), latent="dense", latent_dim=8, mask_rate=0.2)
# ----------------------------------------------------------------------------- time series
# Windows (T, C) of a long series or whole short series (UCR); standardised per channel, MSE. The home
# shape is a 64-step univariate window; aekit train sets it from the data. fp32: bf16 autocast of
# recurrent layers on CPU is slower, and the scores compare small squared errors
@register_model(TrainConfig(epochs=60, batch_size=32, lr=3e-3, precision="fp32", schedule="cosine"))
def seq_conv() -> dict[str, Any]:
    """1-D conv autoencoder for (T, C) windows: stride-2 convs (32, 64) to a 16-d linear code, transposed-conv decoder."""
    return dict(input_shape=(64, 1), arch="seq-conv", hidden=(32, 64), latent="dense", latent_dim=16,
                latent_activation="linear", loss="mse", output_activation="linear", scaler="standard")


@register_model(TrainConfig(epochs=60, batch_size=32, lr=3e-3, precision="fp32", grad_clip=5.0, schedule="cosine"))
def seq_gru() -> dict[str, Any]:
    """Recurrent autoencoder for (T, C) windows: a 64-unit GRU to a 16-d code, GRU decoder fed the code each step."""
    return dict(input_shape=(64, 1), arch="seq-rnn", rnn_cell="gru", hidden=(64,), latent="dense", latent_dim=16,
                latent_activation="linear", loss="mse", output_activation="linear", scaler="standard")


@register_model(TrainConfig(epochs=60, batch_size=32, lr=3e-3, precision="fp32", grad_clip=5.0, schedule="cosine"))
def seq_lstm() -> dict[str, Any]:
    """As seq-gru with LSTM cells (rnn_cell="lstm")."""
    return dict(input_shape=(64, 1), arch="seq-rnn", rnn_cell="lstm", hidden=(64,), latent="dense", latent_dim=16,
                latent_activation="linear", loss="mse", output_activation="linear", scaler="standard")


@register_model(TrainConfig(epochs=60, batch_size=32, lr=3e-3, precision="fp32", schedule="cosine"))
def seq_conv_znorm() -> dict[str, Any]:
    """As seq-conv, each window z-normalised per channel (window_norm="znorm"): it models shapes; score "mse+spread", combine="max"."""
    return {**seq_conv(), "window_norm": "znorm"}
