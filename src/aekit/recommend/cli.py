"""``aekit recommend evaluate`` and ``aekit recommend top-k``: typed options and their handlers.

``aekit recommend train`` is the one training command (:mod:`aekit.cli.training`)
for the ``recommender`` run kind; its options come from the kind's sections.

    aekit recommend train --dataset movielens:ml-1m --model i-autorec --out runs/autorec
    aekit recommend evaluate runs/autorec
    aekit recommend top-k runs/autorec --user 42 -k 10

Errors are not caught here: the library raises aekit's error classes and
:func:`aekit.cli.main` reports them in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Optional

from aekit.config import Config, Flags, Positional
from aekit.errors import ConfigError
from aekit.recommend.api import TOP_K
from aekit.recommend.runs import RATING


@dataclass
class EvaluateOptions(Config):
    """``aekit recommend evaluate``: the run's model and the baselines on the run's held-out data."""

    run: Annotated[str, Positional("RUN")]  # a run directory written by aekit recommend train
    baselines: bool = True  # also fit and score the baselines on the same split (--no-baselines: the model only)


@dataclass
class TopKOptions(Config):
    """``aekit recommend top-k``: the ``k`` best items for a known user, or for a new user given by items."""

    run: Annotated[str, Positional("RUN")]  # a run directory written by aekit recommend train
    user: Optional[str] = None  # an original user id (or give --items)
    items: Optional[tuple[str, ...]] = None  # item ids of a new user (instead of --user)
    ratings: Optional[tuple[Annotated[float, RATING], ...]] = None  # with --items, for rating models: the new user's ratings (default: the top rating)
    k: Annotated[int, TOP_K, Flags("-k")] = 10  # items to list
    exclude_seen: bool = True  # with --user, leave out the items the user rated or clicked

    def _validate(self) -> None:
        if (self.user is None) == (self.items is None):
            raise ConfigError("user, items: give either --user ID or --items ID [ID ...]")
        if self.ratings is not None and self.items is None:
            raise ConfigError("ratings: only with --items (the ratings of a new user's items)")


def evaluate_command(cfg: EvaluateOptions, console: Any) -> int:
    """Print a table of the metrics of the run's model (and of the baselines) on its held-out data."""
    from aekit.cli.core import print_rows
    from aekit.recommend.api import evaluate

    results = evaluate(cfg.run, baselines=cfg.baselines)
    rows = [{"model": name, **{k: v for k, v in row.items() if k not in ("users", "ratings")}}
            for name, row in results.items()]
    first = next(iter(results.values()))
    held_out = f"{first['users']} test users" if "users" in first else f"{first.get('ratings')} test ratings"
    print_rows(console, rows, f"{cfg.run} ({held_out})")
    return 0


def top_k_command(cfg: TopKOptions, console: Any) -> int:
    """Print the top ``k`` items as ``rank<TAB>item<TAB>score`` lines, best first (``rank<TAB>item<TAB>title<TAB>score`` when the data had titles)."""
    from aekit.recommend.api import item_titles, recommend, recommend_for_items, recommender_state

    run, _ = recommender_state(cfg.run)  # read once for the list and the titles
    if cfg.user is not None:
        items = recommend(run, cfg.user, cfg.k, exclude_seen=cfg.exclude_seen)
    else:
        items = recommend_for_items(run, list(cfg.items or ()), cfg.k, ratings=cfg.ratings)
    titles = item_titles(run, [item for item, _ in items])
    lines = [f"{rank}\t{item}\t" + (f"{titles[rank - 1]}\t" if titles is not None else "") + f"{score:.4f}\n"
             for rank, (item, score) in enumerate(items, 1)]
    console.file.write("".join(lines))
    return 0


__all__ = ["EvaluateOptions", "TopKOptions", "evaluate_command", "top_k_command"]
