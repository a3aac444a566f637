"""``aekit molecules similar / sample / evaluate``: typed options and handlers over :mod:`aekit.molecules`.

``aekit molecules train`` is the engine's training command for the
``molecules`` run kind (:mod:`aekit.cli.training`, options from the kind's
sections). Errors are not caught here: the library raises aekit's errors
(``ConfigError``, ``DataError``, ``ModelFileError``, ``RunError``) and
:func:`aekit.cli.main` reports each on one line with exit status 2.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, Optional

from aekit.config import SEED, Config, Flags, Positional
from aekit.molecules.latent import NEIGHBOURS, SAMPLES, TEMPERATURE


@dataclass
class SimilarOptions(Config):
    """``aekit molecules similar``: the training molecules nearest to a query, in latent space and by exact Tanimoto."""

    run: Annotated[str, Positional("RUN")]  # a molecules run directory
    smiles: Annotated[str, Positional("SMILES")]  # the query molecule
    k: Annotated[int, NEIGHBOURS, Flags("-k")] = 10  # neighbours to list


@dataclass
class SampleOptions(Config):
    """``aekit molecules sample``: SMILES drawn from the prior of a smiles-vae run, each marked valid or invalid."""

    run: Annotated[str, Positional("RUN")]  # a smiles-vae run directory
    n: Annotated[int, SAMPLES, Flags("-n")] = 100  # strings to draw
    seed: Optional[Annotated[int, SEED]] = None  # sampling seed (default: unseeded)
    temperature: Annotated[float, TEMPERATURE] = 1.0  # softmax temperature, 0 is greedy


@dataclass
class EvaluateOptions(Config):
    """``aekit molecules evaluate``: reconstruction, overlap@k, property R^2 and sample quality, as JSON."""

    run: Annotated[str, Positional("RUN")]  # a molecules run directory
    k: Annotated[int, NEIGHBOURS, Flags("-k")] = 10  # neighbours for overlap@k
    n_samples: Annotated[int, SAMPLES] = 1000  # prior samples of a smiles-vae run
    seed: Annotated[int, SEED] = 0  # seeds the samples (and the subsets of large sets)
    temperature: Annotated[float, TEMPERATURE] = 0.0  # softmax temperature of the prior samples, 0 is greedy


def similar_command(cfg: SimilarOptions, console: Any = None) -> int:
    """Print the latent and the exact-Tanimoto neighbours side by side, and their overlap."""
    from aekit.molecules.latent import similar

    hits = similar(cfg.run, cfg.smiles, cfg.k)
    print(f"{'rank':>4}  {'latent (cosine)':<48} {'exact Tanimoto':<48}")
    for i, ((ls, lv), (ts, tv)) in enumerate(zip(hits["latent"], hits["tanimoto"]), start=1):
        print(f"{i:>4}  {lv:6.3f} {ls:<41} {tv:6.3f} {ts:<41}")
    print(f"overlap@{len(hits['tanimoto'])}: {hits['overlap']:.2f}")
    return 0


def sample_command(cfg: SampleOptions, console: Any = None) -> int:
    """Print one drawn string per line, a tab, and whether RDKit accepts it (``valid``/``invalid``)."""
    from aekit.molecules.latent import sample
    from aekit.molecules.metrics import canonical

    for s in sample(cfg.run, cfg.n, seed=cfg.seed, temperature=cfg.temperature):
        print(f"{s}\t{'valid' if canonical(s) is not None else 'invalid'}")
    return 0


def evaluate_command(cfg: EvaluateOptions, console: Any = None) -> int:
    """Print the run's metrics as JSON (``metrics.json`` is left as training wrote it)."""
    from aekit.molecules.evaluation import evaluate_run

    print(json.dumps(evaluate_run(cfg.run, k=cfg.k, n_samples=cfg.n_samples, seed=cfg.seed,
                                     temperature=cfg.temperature), indent=2))
    return 0


__all__ = ["EvaluateOptions", "SampleOptions", "SimilarOptions", "evaluate_command", "sample_command",
           "similar_command"]
