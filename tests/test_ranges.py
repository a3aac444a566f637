"""Declared ranges: every numeric field of every config has one, and it is enforced exactly at its bounds."""

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import pytest

import aekit
from aekit.apps.demo.models import DEMO_MODELS
from aekit.cli import main
from aekit.config import Config, Range, field_specs
from aekit.models.presets import MODELS
from aekit.models.sequence import SequenceVAEConfig
from aekit.runs.autoencoder import DataConfig
from aekit.runs.config import option_owner, preset_model_config, section_classes
from aekit.runs.kinds import run_kind

CONFIGS = (aekit.ModelConfig, aekit.TrainConfig, DataConfig, SequenceVAEConfig)
NUMERIC = [(cls, name, spec) for cls in CONFIGS for name, spec in field_specs(cls).items() if spec.kind in (int, float)]


def _step(x, direction, integer):
    return x + direction if integer else math.nextafter(x, direction * math.inf)


def outside(rng):
    """The nearest refused values below and above ``rng``."""
    low = rng.low if rng.low_open else _step(rng.low, -1, rng.integer)
    high = rng.high if rng.high_open else _step(rng.high, +1, rng.integer)
    return low, high


def inside(rng):
    """The extreme allowed values: the bounds themselves when closed, the nearest values inside when open."""
    low = _step(rng.low, +1, rng.integer) if rng.low_open else rng.low
    high = _step(rng.high, -1, rng.integer) if rng.high_open else rng.high
    return low, high


def as_field(spec, value):
    return (value,) if spec.sequence else value


def re_range(rng):
    return "".join("\\" + c if c in "[]()." else c for c in str(rng))


def _id(case):
    return f"{case[0].__name__}.{case[1]}"


def test_every_numeric_field_is_found():
    names = {(cls.__name__, name) for cls, name, _ in NUMERIC}
    assert {("ModelConfig", "input_shape"), ("ModelConfig", "hidden"), ("TrainConfig", "seed"),
            ("TrainConfig", "patience"), ("DataConfig", "val_fraction"), ("SequenceVAEConfig", "max_len")} <= names
    for cls in CONFIGS:
        for f in dataclasses.fields(cls):
            if isinstance(f.default, (int, float)) and not isinstance(f.default, bool):
                assert (cls.__name__, f.name) in names, f.name


@pytest.mark.parametrize("case", NUMERIC, ids=_id)
def test_values_just_outside_the_range_are_refused(case):
    cls, name, spec = case
    for value in outside(spec.range):
        message = rf"^{name}(\[0\])?: must be {spec.range.kind} in {re_range(spec.range)}, got "
        with pytest.raises(aekit.ConfigError, match=message):
            cls.from_dict({name: as_field(spec, value)})
        with pytest.raises(aekit.ConfigError, match=message):
            cls(**{name: as_field(spec, value)})


# fields that take effect only beside others (checked across fields): the others they need
NEEDS = {("ModelConfig", "members"): {"loss": "multinomial", "output_activation": "softmax"},
         ("ModelConfig", "skip_popularity"): {"skip": "ease", "loss": "multinomial", "output_activation": "softmax"}}


@pytest.mark.parametrize("case", NUMERIC, ids=_id)
def test_the_extreme_allowed_values_are_accepted(case):
    cls, name, spec = case
    beside = NEEDS.get((cls.__name__, name), {})
    for value in inside(spec.range):
        assert getattr(cls.from_dict({**beside, name: as_field(spec, value)}), name) == as_field(spec, value)
        assert getattr(cls(**{**beside, name: as_field(spec, value)}), name) == as_field(spec, value)


@pytest.mark.parametrize("case", NUMERIC, ids=_id)
def test_non_numbers_bools_and_non_finite_values_are_refused(case):
    cls, name, spec = case
    bad = [True, "3", *([1.5] if spec.kind is int else [math.nan, math.inf, -math.inf])]
    for value in bad:
        with pytest.raises(aekit.ConfigError, match=f"^{name}"):
            cls(**{name: as_field(spec, value)})


def test_open_and_closed_bounds_are_written_as_intervals():
    assert str(Range(1, 10, integer=True)) == "[1, 10]"
    assert str(Range(0, 1, low_open=True, high_open=True)) == "(0, 1)"
    assert str(Range(0, 1, high_open=True)) == "[0, 1)"
    assert str(Range(1e-6, 0.5, low_open=True)) == "(1e-06, 0.5]"
    with pytest.raises(aekit.ConfigError, match=r"^lr: must be a number in \(0, 10\], got 0$"):
        Range(0, 10, low_open=True).check("lr", 0)


def test_check_returns_the_normalised_number():
    ints = Range(0, 10, integer=True)
    assert ints.check("n", 3.0) == 3 and type(ints.check("n", 3.0)) is int
    assert ints.check("n", np.int64(4)) == 4 and type(ints.check("n", np.int64(4))) is int
    assert type(Range(0, 1).check("x", 1)) is float
    with pytest.raises(aekit.ConfigError, match="n: expected an integer, got 2.5"):
        ints.check("n", 2.5)
    with pytest.raises(aekit.ConfigError, match="expected an integer, got 'ten'"):
        ints.parse("ten")


def test_a_numeric_field_without_a_range_is_a_definition_error():
    @dataclass
    class Unbounded(Config):
        size: int = 3  # no declared range

    with pytest.raises(TypeError, match=r"Unbounded\.size: a numeric field needs Annotated\[int, Range"):
        Unbounded()


def test_the_total_input_size_is_capped():
    assert aekit.ModelConfig(input_shape=(1 << 16, 1 << 15, 1)).input_size == 1 << 31
    with pytest.raises(aekit.ConfigError, match=r"input_shape: at most 2147483648 values per example"):
        aekit.ModelConfig(input_shape=(1 << 16, 1 << 15, 2))


def test_seeds_at_the_upper_bound_train(tmp_path):
    seed = (1 << 63) - 1
    model = aekit.create_model("vanilla", input_shape=(4,), hidden=(4,), latent_dim=2)
    history = aekit.fit(model, np.random.default_rng(0).random((8, 4), dtype=np.float32), epochs=1, batch_size=4,
                        seed=seed, progress=False)
    assert len(history.rows) == 1 and math.isfinite(history.rows[0]["loss"])


def test_presets_recipes_and_demo_settings_round_trip_through_the_checks():
    for name in MODELS.names():
        model = aekit.model_config(name)
        assert type(model).from_dict(model.to_dict()) == model
        assert aekit.TrainConfig.from_dict(MODELS.get(name).recipe.to_dict()) == MODELS.get(name).recipe
    for demo in DEMO_MODELS.values():
        name, recipe = demo.preset, {**demo.fields, **demo.recipe}
        classes = section_classes(run_kind("autoencoder"), name)
        by_section = {s: {k: v for k, v in recipe.items() if option_owner(k, classes) == s} for s in classes}
        model = preset_model_config(name, by_section["model"])
        train = MODELS.get(name).recipe.replace(**by_section["train"])
        merged = {**model.to_dict(), **train.to_dict()}
        assert all(merged[k] == v for k, v in recipe.items()), name


def test_help_shows_each_range(capsys):
    assert main(["train", "--help"]) == 0
    train = capsys.readouterr().out
    flat = " ".join(train.split())
    assert "[1, 1000000])" in flat and "(0, 10])" in flat and "[0, 9223372036854775807])" in flat

