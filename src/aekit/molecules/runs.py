"""The ``molecules`` run kind: a fingerprint autoencoder or a SMILES VAE trained by the one engine.

``aekit molecules train`` and :func:`train_run` write the one run format
(:mod:`aekit.runs.engine`): ``config.yaml`` (sections ``model``, ``train``,
``data`` = :class:`~aekit.molecules.data.MoleculeDataConfig` and ``features`` =
:class:`~aekit.molecules.inputs.FeaturesConfig`), ``model/``, ``checkpoint/``,
``history.csv``, ``metrics.json``, ``figures/`` and ``report.html``, and the
run's molecules, ``data/molecules.json`` (training and held-out SMILES, the
rows skipped). :func:`aekit.load_run` reads it back; :func:`~aekit.molecules.similar`,
:func:`~aekit.molecules.sample` and :func:`~aekit.molecules.evaluate_run` use it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import torch

from aekit.config import Config
from aekit.errors import ConfigError
from aekit.molecules.data import (
    MoleculeData,
    MoleculeDataConfig,
    MoleculeSplit,
    dataset_spec,
    read_source,
    read_split,
    report_skipped,
    write_split,
)
from aekit.molecules.inputs import MOLECULE_INPUTS, FeaturesConfig
from aekit.molecules.io import MoleculeSet, parse_smiles
from aekit.molecules.latent import molecule_run
from aekit.runs.autoencoder import split_validation
from aekit.runs.kinds import Prepared, RunKind


class MoleculesKind(RunKind):
    """Molecule presets (:data:`~aekit.molecules.inputs.MOLECULE_INPUTS`) on a molecule file or a public set."""

    name = "molecules"
    command = "aekit molecules train"
    sections = {"data": MoleculeDataConfig, "features": FeaturesConfig}
    data_owned = ("input_shape", "vocab_size", "max_len")

    def check_preset(self, name: str) -> None:
        if name not in MOLECULE_INPUTS:
            raise ConfigError(f"model: {name!r} is not a molecule model; {self.command} trains "
                              f"{' and '.join(MOLECULE_INPUTS.names())} (other presets: aekit train)")

    def load(self, sections: dict[str, Config], model_name: str) -> MoleculeData:
        data = sections["data"]
        sections["data"] = data.replace(dataset=dataset_spec(data.dataset))
        return MoleculeData(read_source(sections["data"]), model_name)

    def implied(self, sections: dict[str, Config], data: MoleculeData, chosen: dict[str, Any]) -> dict[str, Any]:
        split = data.split(sections["data"])  # invalid rows are refused here, before anything is written
        return MOLECULE_INPUTS.get(data.preset).implied(sections["features"], split)

    def check(self, cfg: Any, data: MoleculeData) -> None:
        MOLECULE_INPUTS.get(cfg.model_name).check(cfg, data.split(cfg.data))

    def prepare(self, cfg: Any, data: MoleculeData) -> Prepared:
        split = data.split(cfg.data)
        report_skipped(split)
        spec = MOLECULE_INPUTS.get(cfg.model_name)
        torch.manual_seed(cfg.train.seed)  # initial weights depend on the seed alone
        model = spec.build(cfg, split)
        x = spec.examples(model, cfg.features, split.train, data.mols(split.train))
        (train, _), val = split_validation(x, None, cfg.data.val_fraction, cfg.train.seed)
        sizes = {"train_examples": len(train), "val_examples": 0 if val is None else len(val[0])}
        return Prepared(model, train, None if val is None else val[0], state=split, sizes=sizes)

    def save_state(self, directory: Path, state: MoleculeSplit) -> None:
        write_split(directory, state)

    def load_state(self, directory: Path, cfg: Any) -> MoleculeSplit:
        return read_split(directory)

    def evaluate(self, run: Any, data: Any = None) -> dict[str, Any]:
        from aekit.molecules.evaluation import evaluate_run

        return evaluate_run(run)

    def figures(self, run: Any, directory: Path, data: Any = None) -> list[Path]:
        from aekit.molecules.figures import draw_molecule_figures

        return draw_molecule_figures(run, directory, seed=run.config.train.seed)


KIND = MoleculesKind()


# ------------------------------------------------------------------------------ Python API
def train_run(molecules: str | os.PathLike | MoleculeSet | Sequence[str], model_name: str = "fingerprint",
              out: str | os.PathLike = "run", **options: Any) -> Any:
    """Train a molecule preset into a run directory: the engine's :func:`aekit.runs.train_run` with ``kind="molecules"``.

    Parameters
    ----------
    molecules : path, str, MoleculeSet or sequence of str
        A molecule file (``.csv``, ``.tsv``/``.tab``, ``.smi``/``.smiles``/``.txt``,
        ``.sdf``) or public set name (``"esol"``, ``"zinc250k"``): the data
        section's ``dataset``; or the molecules themselves (SMILES or a parsed
        :class:`MoleculeSet`; their config then names no dataset).
    model_name : {"fingerprint", "smiles-vae"}
        The preset.
    out : path, default "run"
        The run directory.
    **options
        Any field of the run's sections (``test_fraction``, ``split_seed``,
        ``skip_invalid``, ``radius``, ``n_bits``, ``max_tokens``, model fields
        such as ``latent_dim``, training fields such as ``epochs`` or ``seed``)
        and the engine's arguments (``resume``, ``overwrite``, ``config_file``,
        ``callbacks``, ``progress``, ``figures``).

    Returns
    -------
    Run
        ``run.state`` holds the training and held-out SMILES; ``run.metrics`` the held-out metrics.

    Raises
    ------
    InvalidSmilesError
        Invalid rows (listed by row) unless ``skip_invalid=True``.

    Examples
    --------
    >>> from aekit.molecules import KNOWN_DRUGS
    >>> run = train_run(list(KNOWN_DRUGS.values()), "fingerprint", "runs/drugs", epochs=5)  # doctest: +SKIP
    >>> run.metrics["train"]["tanimoto"]  # doctest: +SKIP
    """
    from aekit.runs.engine import train_run as engine_train_run

    if isinstance(molecules, (str, os.PathLike)):
        return engine_train_run(model_name, str(molecules), out, kind=KIND.name, **options)
    parsed = molecules if isinstance(molecules, MoleculeSet) else parse_smiles(molecules)
    return engine_train_run(model_name, None, out, kind=KIND.name, data=MoleculeData(parsed, model_name), **options)


def load_run(path: str | os.PathLike) -> Any:
    """:func:`aekit.load_run` for a molecules run: a :class:`~aekit.runs.engine.Run`, refused if of another kind.

    Raises
    ------
    RunError
        Not a run directory, an earlier aekit format, or a run of another kind.
    aekit.ModelFileError
        A damaged model or ``data/molecules.json``, naming the file.
    """
    return molecule_run(Path(path))


__all__ = ["KIND", "MoleculesKind", "load_run", "train_run"]
