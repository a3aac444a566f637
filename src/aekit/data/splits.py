"""The one random split of row indices that every held-out set in aekit is cut with."""

from __future__ import annotations

import numpy as np


def random_split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle ``range(n)`` with ``seed`` and hold out ``round(n * fraction)`` of it.

    Both parts come back sorted, so the rows keep their file order; callers
    decide what an empty part means for them (no validation set, or an error).

    Parameters
    ----------
    n : int
        Number of rows.
    fraction : float
        Share held out, in [0, 1].
    seed : int
        Seed of the shuffle; the same seed always holds out the same rows.

    Returns
    -------
    (kept, held) : tuple of numpy.ndarray of int64
        Sorted, disjoint indices covering ``range(n)``.

    Examples
    --------
    >>> kept, held = random_split(10, 0.3, seed=0)
    >>> len(kept), len(held), sorted([*kept, *held]) == list(range(10))
    (7, 3, True)
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be in [0, 1], got {fraction}")
    order = np.random.default_rng(seed).permutation(n)
    n_held = int(round(n * fraction))
    return np.sort(order[n_held:]), np.sort(order[:n_held])


__all__ = ["random_split"]
