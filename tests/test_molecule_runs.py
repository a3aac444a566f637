"""Molecule runs on the one engine: the ``molecules`` kind, its commands through ``aekit.cli.main``, its run directory."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

pytest.importorskip("rdkit")
from rdkit import Chem  # noqa: E402

import aekit  # noqa: E402
from aekit.cli import main  # noqa: E402
from aekit.config import field_specs  # noqa: E402
from aekit.data.splits import random_split  # noqa: E402
from aekit.errors import ConfigError, ModelFileError, RunError  # noqa: E402
from aekit.models.tokenizer import KekuleSmilesTokenizer  # noqa: E402
from aekit.molecules import (  # noqa: E402
    KNOWN_DRUGS,
    FeaturesConfig,
    MoleculeDataConfig,
    codes,
    evaluate_run,
    fingerprints,
    sample,
    similar,
    train_run,
)  # fmt: skip

MIXED = ["CCO", "C1CC", "c1ccccc1O", "C(C)(C)(C)(C)C", "xyz", "CC(=O)Nc1ccc(O)cc1"]  # rows 2, 4 and 5 are invalid
FP = ["--model", "fingerprint", "--n-bits", "256", "--hidden", "64", "--latent-dim", "8"]
VAE = ["--model", "smiles-vae", "--hidden", "16", "--embed-dim", "8", "--latent-dim", "4"]


def canonical(smiles: str) -> str:
    return Chem.MolToSmiles(Chem.MolFromSmiles(smiles))


def write_csv(path: Path, smiles: list[str]) -> Path:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "smiles"])
        writer.writerows([[f"m{i}", s] for i, s in enumerate(smiles)])
    return path


def cli(capsys, *argv) -> tuple[int, str, str]:
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def one_line(err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        assert torch.equal(wa[key], wb[key]), key


@pytest.fixture(scope="module")
def drugs_csv(tmp_path_factory) -> Path:
    return write_csv(tmp_path_factory.mktemp("data") / "drugs.csv", list(KNOWN_DRUGS.values()))


@pytest.fixture
def mixed_csv(tmp_path) -> Path:
    return write_csv(tmp_path / "mixed.csv", MIXED)


@pytest.fixture(scope="module")
def fp_run(tmp_path_factory, drugs_csv) -> Path:
    out = tmp_path_factory.mktemp("runs") / "fp"
    assert main(["molecules", "train", *FP, "--dataset", str(drugs_csv), "--out", str(out), "--epochs", "3"]) == 0
    return out


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory, drugs_csv) -> Path:
    out = tmp_path_factory.mktemp("runs") / "vae"
    argv = ["molecules", "train", *VAE, "--dataset", str(drugs_csv), "--out", str(out), "--epochs", "2", "--no-figures"]
    assert main(argv) == 0
    return out


# ----------------------------------------------------------------------------- training through the engine
def test_train_writes_the_one_run_format_with_the_molecules(fp_run, drugs_csv):
    names = {p.name for p in fp_run.iterdir()}
    assert {"aekit-run.json", "config.yaml", "model", "checkpoint", "history.csv", "metrics.json", "data",
            "figures", "report.html"} <= names and "molecules.json" not in names
    run = aekit.load_run(fp_run)
    assert run.kind == "molecules" and run.config.model_name == "fingerprint"
    assert run.model.config.input_shape == (run.config.features.n_bits,) == (256,)
    unique = list(dict.fromkeys(canonical(s) for s in KNOWN_DRUGS.values()))
    train, test = random_split(len(unique), 0.2, 0)  # the data section's defaults
    assert run.state.train == [unique[i] for i in train] and run.state.test == [unique[i] for i in test]
    assert run.state.source == str(drugs_csv) and run.state.layout == "comma-separated"
    assert run.metrics["n_train"] == len(train) and run.metrics["train_examples"] == len(train)
    assert 0 <= run.metrics["test"]["bit_accuracy"] <= 1 and run.metrics["random_overlap@10"] == 10 / (len(train) - 1)
    assert (fp_run / "figures" / "molecule_map.png").is_file()
    assert "molecule_map" in (fp_run / "report.html").read_text()


def test_the_fingerprint_autoencoder_reconstructs_the_known_set(drugs_csv, tmp_path):
    # the all-zeros guess already scores ~0.97 bit accuracy but Tanimoto 0, so both are required
    train_run(drugs_csv, "fingerprint", tmp_path / "fp", test_fraction=0.2, n_bits=1024, hidden=(256,), latent_dim=32,
              epochs=40, batch_size=8, figures=False, progress=False)
    result = evaluate_run(aekit.load_run(tmp_path / "fp"), k=5)
    assert result["train"]["bit_accuracy"] >= 0.995 and result["train"]["tanimoto"] >= 0.9
    assert result["overlap@5"] > result["random_overlap@5"]
    assert set(result["property_r2"]) == {"latent", "fingerprint"}


@pytest.mark.parametrize("preset, fields", [
    ("fingerprint", {"n_bits": 128, "hidden": (32,), "latent_dim": 4}),
    ("smiles-vae", {"hidden": 16, "embed_dim": 8, "latent_dim": 4}),
])  # fmt: skip
def test_run_directory_round_trip(tmp_path, preset, fields):
    smiles = list(KNOWN_DRUGS.values())[:20]
    run = train_run(smiles, preset, tmp_path / "run", epochs=2, batch_size=8, figures=False, progress=False, **fields)
    loaded = aekit.load_run(tmp_path / "run")
    assert type(loaded) is type(run) and loaded.config == run.config and loaded.state == run.state
    assert_same_weights(loaded.model, run.model)
    np.testing.assert_array_equal(codes(loaded, smiles), codes(run, smiles))
    np.testing.assert_allclose(codes(loaded, smiles[3]), codes(run, smiles)[3:4], atol=1e-6)  # one SMILES, one code
    if preset == "smiles-vae":  # the fitted tokenizer travels in the model's config.json
        saved = json.loads((tmp_path / "run" / "model" / "config.json").read_text())
        assert saved["tokenizer"]["tokens"] == loaded.model.tokenizer.itos == run.model.tokenizer.itos
        assert loaded.model.config.vocab_size == len(run.model.tokenizer)
        assert saved["tokenizer"]["kind"] == "kekule-smiles"  # the default representation: no aromatic atoms
        assert not any(t.islower() and t.isalpha() for t in saved["tokenizer"]["tokens"] if not t.startswith("<"))
        assert loaded.model.config.max_len == max(len(loaded.model.tokenizer.split(s)) for s in loaded.state.every) + 2
        assert loaded.model.reconstruct(smiles) == run.model.reconstruct(smiles)
        assert sample(loaded, 6, seed=1) == sample(run, 6, seed=1)
    else:
        bits = fingerprints(run, smiles).astype(np.float32)
        np.testing.assert_array_equal(loaded.model.reconstruct(bits), run.model.reconstruct(bits))


def test_molecules_are_canonical_and_distinct(tmp_path):
    run = train_run(["CCO", "OCC", "C(C)O", "c1ccccc1", "C1=CC=CC=C1", "CC(=O)O"], "fingerprint", tmp_path / "r",
                    test_fraction=0.0, n_bits=64, hidden=(8,), latent_dim=2, epochs=1, figures=False, progress=False)
    assert run.state.train == ["CCO", "c1ccccc1", "CC(=O)O"] and run.state.test == []


class StopInEpoch(aekit.Callback):
    """Ctrl-C at the first batch of epoch ``epoch`` (after the previous epoch's checkpoint)."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_batch_end(self, trainer, loss, batch_size):
        if trainer.epoch + 1 == self.epoch:
            raise KeyboardInterrupt


@pytest.mark.parametrize("preset, fields", [
    ("fingerprint", {"n_bits": 128, "hidden": (32,), "latent_dim": 4}),
    ("smiles-vae", {"hidden": 16, "embed_dim": 8, "latent_dim": 4}),  # KL warm-up and sampling continue exactly
])  # fmt: skip
def test_an_interrupted_run_resumes_to_the_weights_of_an_uninterrupted_one(tmp_path, drugs_csv, preset, fields):
    opts = dict(epochs=4, batch_size=8, figures=False, progress=False, **fields)
    whole = train_run(drugs_csv, preset, tmp_path / "whole", **opts)
    with pytest.raises(KeyboardInterrupt, match=f"aekit molecules train --out {tmp_path / 'cut'} --resume"):
        train_run(drugs_csv, preset, tmp_path / "cut", callbacks=[StopInEpoch(3)], **opts)
    assert main(["molecules", "train", "--out", str(tmp_path / "cut"), "--resume", "--no-figures"]) == 0
    resumed = aekit.load_run(tmp_path / "cut")
    assert len(resumed.history.rows) == 4 and resumed.config == whole.config and resumed.state == whole.state
    assert_same_weights(resumed.model, whole.model)


def test_print_config_round_trips_with_the_shape_the_data_decides(tmp_path, drugs_csv, capsys):
    status, text, _ = cli(capsys, "molecules", "train", *VAE, "--dataset", drugs_csv, "--max-tokens", "70",
                          "--print-config")
    cfg = yaml.safe_load(text)
    assert status == 0 and cfg["kind"] == "molecules" and cfg["features"]["max_tokens"] == 70
    # the vocabulary is that of the training split the data section implies (nothing was trained)
    unique = list(dict.fromkeys(canonical(s) for s in KNOWN_DRUGS.values()))
    train = [unique[i] for i in random_split(len(unique), 0.2, 0)[0]]
    split = KekuleSmilesTokenizer([]).split  # the default representation
    assert cfg["features"]["representation"] == "kekule-smiles"
    assert cfg["model"]["vocab_size"] == 4 + len({t for s in train for t in split(s)})
    assert cfg["model"]["max_len"] == 72 and cfg["model"]["latent_dim"] == 4
    (tmp_path / "run.yaml").write_text(text)
    assert cli(capsys, "molecules", "train", "--config", tmp_path / "run.yaml", "--print-config")[1] == text
    assert list(tmp_path.iterdir()) == [tmp_path / "run.yaml"]  # printing writes nothing


def test_help_offers_the_sections_but_not_what_the_data_decides(capsys):
    for preset, decided in (("smiles-vae", ("--vocab-size", "--max-len")), ("fingerprint", ("--input-shape",))):
        status, out, _ = cli(capsys, "molecules", "train", "--model", preset, "--help")
        assert status == 0 and all(flag in out for flag in ("--dataset", "--skip-invalid", "--n-bits", "--max-tokens"))
        assert not any(flag in out for flag in decided), preset


# ----------------------------------------------------------------------------- refusals
REFUSALS = [
    (["--model", "fingerprint", "--dataset", "{mixed}"],
     ["mixed.csv: 3 invalid molecule(s)", "row 2: 'C1CC'", "row 4: 'C(C)(C)(C)(C)C'", "row 5: 'xyz'", "--skip-invalid"]),
    (["--model", "vae", "--dataset", "{mixed}"], ["'vae' is not a molecule model", "fingerprint and smiles-vae"]),
    (["--model", "fingerprint", "--dataset", "{tmp}/none.csv"], ["none.csv: file not found"]),
    (["--model", "fingerprint"], ["dataset: no molecules given"]),
    (["--model", "smiles-vae", "--dataset", "{drugs}", "--max-tokens", "5"], ["max_tokens: 5 tokens", "unset"]),
    (["--model", "fingerprint", "--dataset", "{drugs}", "--radius", "17"], ["argument --radius", "[0, 16]", "got 17"]),
    (["--model", "fingerprint", "--dataset", "{drugs}", "--test-fraction", "1"], ["argument --test-fraction", "[0, 1)"]),
]  # fmt: skip


@pytest.mark.parametrize("argv, needles", REFUSALS, ids=lambda c: " ".join(c) if isinstance(c, list) else None)
def test_train_refusals_exit_2_with_one_line_and_write_nothing(capsys, tmp_path, drugs_csv, mixed_csv, argv, needles):
    where = {"mixed": mixed_csv, "drugs": drugs_csv, "tmp": tmp_path}
    status, _, err = cli(capsys, "molecules", "train", *(a.format(**where) for a in argv), "--out", tmp_path / "r")
    assert status == 2
    one_line(err, *needles)
    assert not (tmp_path / "r").exists()


def test_a_public_set_that_cannot_be_found_or_downloaded_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("AEKIT_DATA", raising=False)
    monkeypatch.delenv("AEKIT_SHA256_ESOL", raising=False)
    monkeypatch.setattr("aekit.data.datasets.SYSTEM_DATA_DIR", tmp_path / "none")
    base = ["molecules", "train", "--model", "fingerprint", "--dataset", "esol", "--data-dir", tmp_path / "sets"]
    status, _, err = cli(capsys, *base, "--no-download", "--out", tmp_path / "r")
    assert status == 2
    one_line(err, "esol: delaney-processed.csv not found in", str(tmp_path / "sets"), "download disabled")
    status, _, err = cli(capsys, *base, "--out", tmp_path / "r")
    assert status == 2
    one_line(err, "no SHA-256 given", "AEKIT_SHA256_ESOL")
    assert not (tmp_path / "r").exists()


def test_skip_invalid_trains_on_the_valid_rows_and_reports_the_others(tmp_path, mixed_csv, caplog):
    argv = ["molecules", "train", "--model", "fingerprint", "--dataset", str(mixed_csv), "--skip-invalid",
            "--test-fraction", "0", "--n-bits", "64", "--epochs", "1", "--out", str(tmp_path / "r"), "--no-figures"]
    assert main(argv) == 0
    [report] = [r.getMessage() for r in caplog.records if r.name == "aekit.molecules"]
    assert "skipped 3 invalid row(s)" in report and "row 2: 'C1CC'" in report and "row 5: 'xyz'" in report
    run = aekit.load_run(tmp_path / "r")
    assert run.state.train == [canonical(MIXED[i]) for i in (0, 2, 5)]
    assert [r.row for r in run.state.skipped] == [2, 4, 5] and run.metrics["invalid_rows_skipped"] == 3


def test_a_shape_the_data_decides_cannot_be_overridden(tmp_path):
    with pytest.raises(ConfigError, match=r"input_shape: \(10,\) does not fit the fingerprints.*\(64,\)"):
        train_run(["CCO", "CCN"], "fingerprint", tmp_path / "r", n_bits=64, input_shape=(10,), epochs=1)
    assert not (tmp_path / "r").exists()


# ----------------------------------------------------------------------------- similar, sample, evaluate
def test_similar_lists_training_molecules_by_latent_and_tanimoto(fp_run, capsys):
    query = canonical(KNOWN_DRUGS["ibuprofen"])
    status, out, _ = cli(capsys, "molecules", "similar", fp_run, KNOWN_DRUGS["ibuprofen"], "-k", "3")
    lines = out.strip().splitlines()
    assert status == 0 and lines[0].split()[0] == "rank" and lines[-1].startswith("overlap@3: ")
    rows = [line.split() for line in lines[1:-1]]
    run = aekit.load_run(fp_run)
    assert len(rows) == 3 and all(r[2] in run.state.train and r[4] in run.state.train for r in rows)
    hits = similar(run, query, k=3)
    assert [r[4] for r in rows] == [s for s, _ in hits["tanimoto"]] and [r[2] for r in rows] == [s for s, _ in hits["latent"]]
    if query in run.state.train:  # a training molecule is its own nearest neighbour by Tanimoto
        assert hits["tanimoto"][0] == (query, 1.0)
    assert [v for _, v in hits["tanimoto"]] == sorted((v for _, v in hits["tanimoto"]), reverse=True)


def test_similar_refuses_bad_queries(fp_run, vae_run, capsys):
    status, _, err = cli(capsys, "molecules", "similar", fp_run, "C1CC")
    assert status == 2
    one_line(err, "query 'C1CC' is not a valid SMILES", "unclosed ring")
    status, _, err = cli(capsys, "molecules", "similar", vae_run, "C" * 200)
    assert status == 2
    one_line(err, "200 tokens do not fit max_len")


def test_sample_draws_seeded_strings_from_a_vae_run(vae_run, fp_run, capsys):
    first = cli(capsys, "molecules", "sample", vae_run, "-n", "5", "--seed", "3")
    again = cli(capsys, "molecules", "sample", vae_run, "-n", "5", "--seed", "3", "--temperature", "1")
    lines = first[1].splitlines()
    assert first[0] == 0 and first[1] == again[1] and len(lines) == 5
    assert all(line.rsplit("\t", 1)[1] == ("valid" if Chem.MolFromSmiles(line.rsplit("\t", 1)[0]) else "invalid")
               for line in lines if line.rsplit("\t", 1)[0])
    status, _, err = cli(capsys, "molecules", "sample", fp_run, "-n", "3")
    assert status == 2
    one_line(err, "a fingerprint run does not generate molecules", "smiles-vae")


def test_evaluate_prints_the_metrics_of_either_preset(vae_run, fp_run, capsys):
    status, out, _ = cli(capsys, "molecules", "evaluate", vae_run, "--n-samples", "10", "-k", "3")
    result = json.loads(out)
    n_unique = len({canonical(s) for s in KNOWN_DRUGS.values()})
    assert status == 0 and result["samples"]["n"] == 10 and 0 <= result["samples"]["validity"] <= 1
    assert result["n_train"] + result["n_test"] == n_unique and 0 <= result["train"]["per_token"] <= 1
    assert "overlap@3" in result and set(result["property_r2"]) == {"latent", "fingerprint"}
    status, out, _ = cli(capsys, "molecules", "evaluate", fp_run, "-k", "2")
    result = json.loads(out)
    assert status == 0 and "samples" not in result and 0 <= result["test"]["tanimoto"] <= 1 and "overlap@2" in result


def test_the_core_commands_evaluate_and_plot_a_molecule_run(fp_run, tmp_path, capsys):
    run = Path(shutil.copytree(fp_run, tmp_path / "copy"))
    (run / "figures" / "molecule_map.png").unlink()
    assert cli(capsys, "evaluate", run)[0] == 0
    assert json.loads((run / "metrics.json").read_text())["n_train"] == aekit.load_run(run).metrics["n_train"]
    status, out, _ = cli(capsys, "plot", run)
    assert status == 0 and str(run / "figures" / "molecule_map.png") in out
    assert (run / "figures" / "molecule_map.png").read_bytes().startswith(b"\x89PNG")


def test_commands_refuse_runs_they_cannot_use(tmp_path, capsys):
    old = tmp_path / "old"
    old.mkdir()
    (old / "molecules.json").write_text('{"format": "aekit.molecules-run", "kind": "fingerprint"}')
    for command in (["similar", old, "CCO"], ["sample", old], ["evaluate", old]):
        status, _, err = cli(capsys, "molecules", *command)
        assert status == 2
        one_line(err, "format of an earlier aekit (molecules.json)", "aekit molecules train")
    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((16, 6), dtype=np.float32))
    aekit.train_run("vanilla", str(tmp_path / "x.npy"), tmp_path / "ae", epochs=1, hidden=(4,), latent_dim=2,
                    figures=False, progress=False)
    status, _, err = cli(capsys, "molecules", "similar", tmp_path / "ae", "CCO")
    assert status == 2
    one_line(err, "not a molecules run", "autoencoder")
    with pytest.raises(RunError, match="not a molecules run"):
        similar(tmp_path / "ae", "CCO")


# ----------------------------------------------------------------------------- damaged task data
def _doc(run: Path) -> dict:
    return json.loads((run / "data" / "molecules.json").read_text())


DAMAGED = {
    "missing": None,
    "not JSON": "{\"train\": [",
    "another format": lambda d: {**d, "format": "aekit.molecules-run"},
    "a newer version": lambda d: {**d, "format_version": 2},
    "train not a list": lambda d: {**d, "train": "CCO"},
    "a number among the SMILES": lambda d: {**d, "train": [*d["train"], 5]},
    "no training molecules": lambda d: {**d, "train": []},
    "skipped rows without reasons": lambda d: {**d, "skipped": [{"row": 2, "text": "C1CC"}]},
}


@pytest.mark.parametrize("damage", DAMAGED, ids=str)
def test_damaged_task_data_is_refused_naming_the_file(fp_run, tmp_path, capsys, damage):
    run = Path(shutil.copytree(fp_run, tmp_path / "run"))
    file, change = run / "data" / "molecules.json", DAMAGED[damage]
    if change is None:
        file.unlink()
    else:
        file.write_text(change if isinstance(change, str) else json.dumps(change(_doc(fp_run))))
    with pytest.raises(ModelFileError, match=re.escape(str(file))):
        aekit.load_run(run)
    status, _, err = cli(capsys, "molecules", "similar", run, "CCO")
    assert status == 2
    one_line(err, str(file))


def test_a_run_whose_config_names_another_preset_is_refused_naming_the_file(fp_run, tmp_path):
    run = Path(shutil.copytree(fp_run, tmp_path / "run"))
    config = run / "config.yaml"
    config.write_text(config.read_text().replace("model_name: fingerprint", "model_name: vanilla"))
    with pytest.raises(ModelFileError, match=rf"{re.escape(str(config))}: model_name 'vanilla' is not a molecule model"):
        similar(run, "CCO")


# ----------------------------------------------------------------------------- declared ranges
@pytest.mark.parametrize("cls", [MoleculeDataConfig, FeaturesConfig], ids=lambda c: c.__name__)
def test_every_number_of_the_sections_has_a_range_enforced_at_its_bounds(cls):
    numeric = {name: spec for name, spec in field_specs(cls).items() if spec.kind in (int, float)}
    assert numeric and all(spec.range is not None for spec in numeric.values())
    for name, spec in numeric.items():
        rng = spec.range
        below = rng.low if rng.low_open else rng.low - (1 if rng.integer else 1e-9)
        above = rng.high if rng.high_open else rng.high + (1 if rng.integer else 1e-9)
        for bad in (below, above):
            with pytest.raises(ConfigError, match=rf"^{name}: must be"):
                cls(**{name: bad})
        good = rng.low if not rng.low_open else rng.low + (1 if rng.integer else 1e-9)
        assert getattr(cls(**{name: good}), name) == good
