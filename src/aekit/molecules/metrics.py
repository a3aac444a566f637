"""Generation and reconstruction metrics for molecules, and the latent-features regression check."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np
from rdkit import Chem
from rdkit.Chem import QED, Crippen

from aekit.models.tokenizer import TokenizerError, tokenize
from aekit.molecules.io import mol_from_smiles

__all__ = ["HEADS", "canonical", "molecular_properties", "property_cv", "property_r2", "reconstruction_accuracy",
           "sample_quality"]


def canonical(smiles: str) -> str | None:
    """RDKit's canonical SMILES, or None when RDKit cannot parse and sanitise the string."""
    mol, _ = mol_from_smiles(smiles)
    return None if mol is None else Chem.MolToSmiles(mol)


def sample_quality(samples: Sequence[str], training: Iterable[str] = ()) -> dict[str, float]:
    """Validity, uniqueness and novelty of generated strings.

    A string counts as valid only if RDKit parses and sanitises it.

    Parameters
    ----------
    samples : sequence of str
    training : iterable of str
        Training SMILES; novelty is the fraction of unique valid samples not among them.

    Returns
    -------
    dict
        ``validity`` (valid / all), ``uniqueness`` (unique valid / valid),
        ``novelty`` (novel unique valid / unique valid); NaN where a denominator is 0.

    Examples
    --------
    >>> sample_quality(["CCO", "OCC", "C1CC"], training=["CCO"])["validity"]
    0.6666666666666666
    """
    valid = [c for c in map(canonical, samples) if c is not None]
    unique = set(valid)
    known = {c for c in map(canonical, training) if c is not None}
    ratio = lambda a, b: a / b if b else float("nan")  # noqa: E731
    return {"validity": ratio(len(valid), len(samples)), "uniqueness": ratio(len(unique), len(valid)),
            "novelty": ratio(len(unique - known), len(unique))}


def _tokens(s: str) -> list[str]:
    try:
        return tokenize(s)
    except TokenizerError:
        return list(s)


def reconstruction_accuracy(true: Sequence[str], pred: Sequence[str]) -> dict[str, float]:
    """Exact-match rate and per-token accuracy of reconstructed strings.

    Per-token accuracy compares tokens position by position over the longer of
    the two sequences, so missing or extra tokens count as errors.
    """
    exact = float(np.mean([t == p for t, p in zip(true, pred)])) if true else float("nan")
    hits = total = 0
    for t, p in zip(true, pred):
        tt, pt = _tokens(t), _tokens(p)
        hits += sum(a == b for a, b in zip(tt, pt))
        total += max(len(tt), len(pt), 1)
    return {"exact": exact, "per_token": hits / total if total else float("nan")}


def molecular_properties(mols: Sequence[Chem.Mol]) -> np.ndarray:
    """Crippen logP and QED per molecule, shape (N, 2)."""
    return np.array([[Crippen.MolLogP(m), QED.qed(m)] for m in mols], dtype=np.float64)


def property_r2(features: dict[str, np.ndarray], targets: np.ndarray, train: np.ndarray, test: np.ndarray,
                names: Sequence[str] = ("logP", "QED")) -> dict[str, dict[str, float]]:
    """Held-out R^2 of a ridge regression head on each feature set.

    Parameters
    ----------
    features : dict of str to ndarray
        e.g. ``{"latent": codes (N, k), "fingerprint": bits (N, D)}``.
    targets : ndarray, shape (N, T)
    train, test : ndarray of int
        Row indices; the head's penalty is chosen by cross-validation on ``train`` only.

    Returns
    -------
    dict
        ``{feature_name: {target_name: r2}}``.
    """
    from sklearn.linear_model import RidgeCV
    from sklearn.metrics import r2_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    out: dict[str, dict[str, float]] = {}
    for fname, x in features.items():
        x = np.asarray(x, dtype=np.float64)
        out[fname] = {}
        for j, tname in enumerate(names):
            head = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13)))
            head.fit(x[train], targets[train, j])
            out[fname][tname] = float(r2_score(targets[test, j], head.predict(x[test])))
    return out


def _ridge(seed: int) -> Any:
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13)))  # penalty chosen in each fold


def _forest(seed: int) -> Any:
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(n_estimators=200, random_state=seed, n_jobs=1)


HEADS = {"ridge": _ridge, "forest": _forest}  # property heads property_cv fits, by name: seed -> unfitted regressor


def property_cv(features: dict[str, np.ndarray], target: np.ndarray, heads: Sequence[str] = HEADS, folds: int = 5,
                seed: int = 0) -> dict[str, dict[str, dict[str, float]]]:
    """K-fold R^2 and RMSE of property heads on each feature set (e.g. latent codes vs Morgan bits).

    Parameters
    ----------
    features : dict of str to ndarray
        Feature name -> (N, D) array, the same N molecules in each.
    target : ndarray, shape (N,)
        The measured property (FreeSolv: hydration free energy, kcal/mol).
    heads : sequence of {"ridge", "forest"}, default both
    folds : int, default 5
        Shuffled folds (seeded); every molecule is predicted once by a head that did not see it.
    seed : int, default 0

    Returns
    -------
    dict
        ``{feature: {head: {"r2", "r2_std", "rmse", "rmse_std"}}}``: mean and standard deviation over the folds.

    Examples
    --------
    >>> x = np.arange(40, dtype=float)[:, None]
    >>> round(property_cv({"x": x}, 3 * x[:, 0] + 1, heads=["ridge"])["x"]["ridge"]["r2"], 3)
    1.0
    """
    from sklearn.metrics import mean_squared_error, r2_score
    from sklearn.model_selection import KFold

    unknown = sorted(set(heads) - set(HEADS))
    if unknown:
        raise ValueError(f"heads: {unknown} are not among {list(HEADS)}")
    y = np.asarray(target, dtype=np.float64)
    splits = list(KFold(folds, shuffle=True, random_state=seed).split(y))
    out: dict[str, dict[str, dict[str, float]]] = {}
    for fname, x in features.items():
        x = np.asarray(x, dtype=np.float64)
        out[fname] = {}
        for head in heads:
            r2, rmse = [], []
            for train, test in splits:
                pred = HEADS[head](seed).fit(x[train], y[train]).predict(x[test])
                r2.append(r2_score(y[test], pred))
                rmse.append(float(np.sqrt(mean_squared_error(y[test], pred))))
            out[fname][head] = {"r2": float(np.mean(r2)), "r2_std": float(np.std(r2)),
                                "rmse": float(np.mean(rmse)), "rmse_std": float(np.std(rmse))}
    return out
