"""What a served run can do, by run kind: each kind's adapter turns checked request fields into answers.

An adapter offers some of the :data:`OPERATIONS` (a method of the same name
taking the request's fields and returning a JSON-ready dict). The adapter of
a run is found in :data:`ADAPTERS` by the run's kind, so the app never
branches on what a model is: an image autoencoder encodes, decodes,
reconstructs, scores anomalies, samples (VAEs) and has an explorer; a
recommender recommends; a molecule model encodes SMILES and samples (the SMILES VAE).
"""

from __future__ import annotations

import math
import threading
from typing import Any, Callable, ClassVar

import numpy as np

from aekit.config import SEED
from aekit.errors import InputError
from aekit.registry import Registry
from aekit.serve.inputs import as_array, as_int, check_fields
from aekit.serve.limits import RequestError, ServeLimits, too_large

# every operation a served run may offer; POST /v1/models/{name}/{operation} (the explorer is a GET)
OPERATIONS = ("encode", "decode", "reconstruct", "score", "sample", "recommend", "explorer")
UPLOADS = {"encode": "inputs", "reconstruct": "inputs", "score": "inputs", "decode": "codes"}  # field an upload fills


class Adapter:
    """Base of the adapters: a named run, the server's limits, and the operations the run offers."""

    kind: ClassVar[str] = ""

    def __init__(self, name: str, run: Any, limits: ServeLimits) -> None:
        self.name, self.run, self.limits = name, run, limits
        self.model = run.model
        self._cache: dict[str, Any] = {}
        self._lock = threading.RLock()  # building one cached value may need another

    def operations(self) -> list[str]:
        """The operations this run offers (a subset of :data:`OPERATIONS`)."""
        return []

    def info(self) -> dict[str, Any]:
        """What ``GET /v1/models`` lists for this run."""
        cfg = self.run.config
        return {"name": self.name, "kind": cfg.kind, "preset": cfg.model_name,
                "family": getattr(self.model, "family", ""), "path": str(self.run.path),
                "code_shape": [int(d) for d in getattr(self.model, "code_shape", ())],
                "operations": self.operations()}

    def call(self, operation: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Run ``operation`` on checked fields; a 404 naming the offered operations if it is not one."""
        if operation not in self.operations():
            raise RequestError(404, f"model {self.name!r} ({self.run.config.kind} run, preset "
                                    f"{self.run.config.model_name!r}) does not offer {operation!r}; it offers: "
                                    f"{', '.join(self.operations())}")
        return getattr(self, operation)(payload)

    def cached(self, key: str, build: Callable[[], Any]) -> Any:
        """``build()`` once per adapter (data, fitted scorers, the explorer), safe across request threads."""
        with self._lock:
            if key not in self._cache:
                self._cache[key] = build()
            return self._cache[key]

    def batch(self, n: int, field: str) -> None:
        if n > self.limits.max_batch:
            raise too_large(f"{field}: rows", n, self.limits.max_batch, "--max-batch")
        if n == 0:
            raise RequestError(422, f"{field}: no rows")


def as_json(array: np.ndarray) -> list[Any]:
    """Nested lists of Python floats (float32 values, as computed)."""
    return np.asarray(array, dtype=np.float32).tolist()


class AutoencoderAdapter(Adapter):
    """An image or table autoencoder run (``aekit train``)."""

    kind = "autoencoder"

    def operations(self) -> list[str]:
        cfg = self.model.config
        ops = ["encode", "decode", "reconstruct"]
        ops += [] if cfg.num_classes else ["score"]  # anomaly scores need an unconditional model
        ops += ["sample"] if self.model.is_variational else []
        return ops + ["explorer"]

    def info(self) -> dict[str, Any]:
        cfg = self.model.config
        return {**super().info(), "input_shape": list(cfg.input_shape), "num_classes": cfg.num_classes,
                "variational": self.model.is_variational}

    # ------------------------------------------------------------------ fields
    def rows(self, payload: dict[str, Any], field: str, shape: tuple[int, ...]) -> np.ndarray:
        """``payload[field]`` as (N, *shape), from (N, *shape) or flat (N, prod(shape)) rows."""
        if field not in payload:
            raise RequestError(422, f"missing field {field!r}: an array of shape (N, {', '.join(map(str, shape))})")
        array = as_array(payload[field], field)
        size = math.prod(shape)
        if array.ndim < 2 or math.prod(array.shape[1:]) != size or array.shape[1:] not in (shape, (size,)):
            raise RequestError(422, f"{field}: shape {tuple(array.shape)} does not fit model {self.name!r}, which takes "
                                    f"rows of shape {shape} ({size} values): send (N, {', '.join(map(str, shape))})"
                                    f" or (N, {size})")
        self.batch(len(array), field)
        return array.reshape(len(array), *shape)

    def inputs(self, payload: dict[str, Any]) -> np.ndarray:
        x = self.rows(payload, "inputs", tuple(self.model.config.input_shape))
        self.model.check_inputs(x, "inputs")  # the loss's value range, named by index
        return x

    def labels(self, payload: dict[str, Any], n: int) -> Any:
        """Class labels for a conditional model (required there, refused elsewhere)."""
        classes = self.model.config.num_classes
        if not classes:
            if "labels" in payload:
                raise RequestError(422, f"labels: model {self.name!r} is not conditioned on classes; leave them out")
            return None
        if "labels" not in payload:
            raise RequestError(422, f"missing field 'labels': model {self.name!r} is conditioned on {classes} classes")
        y = as_array(payload["labels"], "labels")
        if y.shape != (n,) or np.any(y != np.round(y)) or np.any((y < 0) | (y >= classes)):
            raise RequestError(422, f"labels: expected {n} integers in [0, {classes}), got shape {tuple(y.shape)}")
        return y.astype(np.int64)

    # -------------------------------------------------------------- operations
    def encode(self, payload: dict[str, Any]) -> dict[str, Any]:
        check_fields(payload, ("inputs", "labels"), ("inputs",))
        x = self.inputs(payload)
        codes = self.model.encode(x, self.labels(payload, len(x)))
        return {"model": self.name, "shape": list(codes.shape), "codes": as_json(codes)}

    def decode(self, payload: dict[str, Any]) -> dict[str, Any]:
        check_fields(payload, ("codes", "labels"), ("codes",))
        z = self.rows(payload, "codes", tuple(self.model.code_shape))
        out = self.model.decode(z, self.labels(payload, len(z)))
        return {"model": self.name, "shape": list(out.shape), "outputs": as_json(out)}

    def reconstruct(self, payload: dict[str, Any]) -> dict[str, Any]:
        check_fields(payload, ("inputs", "labels"), ("inputs",))
        x = self.inputs(payload)
        out = self.model.reconstruct(x, self.labels(payload, len(x)))
        return {"model": self.name, "shape": list(out.shape), "outputs": as_json(out)}

    def score(self, payload: dict[str, Any]) -> dict[str, Any]:
        check_fields(payload, ("inputs",), ("inputs",))
        x = self.inputs(payload)
        scorer, threshold = self.cached("scorer", self._fit_scorer)
        scores = scorer.score(x)
        return {"model": self.name, "score": "mse", "threshold": threshold,
                "contamination": self.limits.contamination, "scores": scores.tolist(),
                "flags": (scores > threshold).tolist()}

    def sample(self, payload: dict[str, Any]) -> dict[str, Any]:
        check_fields(payload, ("n", "seed", "labels"))
        n = as_int(payload.get("n", 16), "n", 1, self.limits.max_batch, "--max-batch")
        seed = payload.get("seed")
        seed = None if seed is None else as_int(seed, "seed", 0, SEED.high)
        out = self.model.sample(n, self.labels(payload, n), seed=seed)
        return {"model": self.name, "seed": seed, "shape": list(out.shape), "outputs": as_json(out)}

    def explorer(self, payload: dict[str, Any]) -> dict[str, Any]:
        from aekit.serve.explorer import explorer_data

        return self.cached("explorer", lambda: explorer_data(self, self.limits.explorer_points))

    # -------------------------------------------------------------- the run's data
    def data(self) -> Any:
        """The run's train and test splits, as its config describes them (loaded once)."""
        from aekit.runs.autoencoder import load_run_data

        def load() -> Any:
            try:
                return load_run_data(self.run.config.data)
            except InputError as err:
                raise RequestError(409, f"model {self.name!r}: the run's data cannot be loaded ({err})") from None

        return self.cached("data", load)

    def _fit_scorer(self) -> tuple[Any, float]:
        """An MSE scorer fitted on (up to 2,000) training rows; the threshold flags ``contamination`` of them."""
        from aekit.anomaly import AnomalyScorer, threshold_from_contamination

        train = self.data().x_train[:2000]
        scorer = AnomalyScorer(self.model, score="mse").fit(train)
        return scorer, threshold_from_contamination(scorer.score(train), self.limits.contamination)


class RecommenderAdapter(Adapter):
    """A recommender run (``aekit recommend train``): top-k items by user id or for a list of items."""

    kind = "recommender"

    def operations(self) -> list[str]:
        return ["recommend"]

    def recommend(self, payload: dict[str, Any]) -> dict[str, Any]:
        from aekit.recommend import recommend, recommend_for_items

        check_fields(payload, ("user", "items", "ratings", "k", "exclude_seen"))
        k = as_int(payload.get("k", 10), "k", 1, self.limits.max_batch, "--max-batch")
        if ("user" in payload) == ("items" in payload):
            raise RequestError(422, "give either 'user' (a known user id) or 'items' (a list of item ids), not both")
        if "user" in payload:
            user = payload["user"]
            if not isinstance(user, (str, int)) or isinstance(user, bool):
                raise RequestError(422, f"user: expected a user id (string or integer), got {user!r}")
            exclude = payload.get("exclude_seen", True)
            if not isinstance(exclude, bool):
                raise RequestError(422, f"exclude_seen: expected true or false, got {exclude!r}")
            best = recommend(self.run, user, k, exclude_seen=exclude)
        else:
            items, ratings = payload["items"], payload.get("ratings")
            if not isinstance(items, list) or not all(isinstance(i, (str, int)) for i in items):
                raise RequestError(422, "items: expected a list of item ids (strings or integers)")
            self.batch(len(items), "items")
            if ratings is not None:
                ratings = as_array(ratings, "ratings")
                if ratings.shape != (len(items),):
                    raise RequestError(422, f"ratings: expected {len(items)} numbers, one per item, "
                                            f"got shape {tuple(ratings.shape)}")
                ratings = ratings.tolist()
            best = recommend_for_items(self.run, items, k, ratings)
        return {"model": self.name, "items": [{"item": item, "score": score} for item, score in best]}


class MoleculesAdapter(Adapter):
    """A molecules run (``aekit molecules train``): codes of SMILES; samples from the SMILES VAE."""

    kind = "molecules"

    def operations(self) -> list[str]:
        from aekit.molecules import MOLECULE_INPUTS

        generative = MOLECULE_INPUTS.get(self.run.config.model_name).samples  # the SMILES VAE draws from its prior
        return ["encode"] + (["sample"] if generative else [])

    def encode(self, payload: dict[str, Any]) -> dict[str, Any]:
        from aekit.molecules import codes

        check_fields(payload, ("smiles",), ("smiles",))
        smiles = payload["smiles"]
        if not isinstance(smiles, list) or not all(isinstance(s, str) for s in smiles):
            raise RequestError(422, "smiles: expected a list of SMILES strings")
        self.batch(len(smiles), "smiles")
        z = codes(self.run, smiles, where="smiles")
        return {"model": self.name, "shape": list(z.shape), "codes": as_json(z)}

    def sample(self, payload: dict[str, Any]) -> dict[str, Any]:
        from aekit.molecules import sample

        check_fields(payload, ("n", "seed"))
        n = as_int(payload.get("n", 16), "n", 1, self.limits.max_batch, "--max-batch")
        seed = payload.get("seed")
        seed = None if seed is None else as_int(seed, "seed", 0, SEED.high)
        return {"model": self.name, "seed": seed, "smiles": sample(self.run, n, seed=seed)}


class TableAdapter(AutoencoderAdapter):
    """A mixed-type table run (the ``tabular`` family): rows are JSON objects of cells by column name.

    Cells are what the table file held (numbers, category names, true/false, null for missing), encoded
    through the model's saved schema; scores come with each column's share and a sentence naming the top one.
    """

    def operations(self) -> list[str]:
        return ["encode", "reconstruct", "score"]

    def info(self) -> dict[str, Any]:
        columns = [{"name": c.name, "kind": c.kind} for c in self.model.schema.columns]
        return {**Adapter.info(self), "columns": columns, "variational": self.model.is_variational}

    def inputs(self, payload: dict[str, Any]) -> np.ndarray:
        import pandas as pd

        names = list(self.model.schema.names)
        rows = payload.get("inputs")
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise RequestError(422, f"inputs: expected a list of rows, each an object of cells by column name "
                                    f"(model {self.name!r} has columns {names})")
        self.batch(len(rows), "inputs")
        unknown = sorted({k for r in rows for k in r} - set(names))
        if unknown:
            raise RequestError(422, f"inputs: unknown column(s) {unknown}; model {self.name!r} has columns {names}")
        frame = pd.DataFrame.from_records(rows, columns=names)  # a column a row leaves out is a missing cell
        try:
            return self.model.schema.encode(frame, where="inputs")
        except InputError as err:  # a cell its column's kind cannot read, named by column and row
            raise RequestError(422, str(err)) from None

    def encode(self, payload: dict[str, Any]) -> dict[str, Any]:
        check_fields(payload, ("inputs",), ("inputs",))
        codes = self.model.encode(self.inputs(payload))
        return {"model": self.name, "shape": list(codes.shape), "codes": as_json(codes)}

    def reconstruct(self, payload: dict[str, Any]) -> dict[str, Any]:
        check_fields(payload, ("inputs",), ("inputs",))
        frame = self.model.schema.decode(self.model.impute(self.inputs(payload)))  # missing cells filled in
        return {"model": self.name, "rows": frame.astype(object).where(frame.notna(), None).to_dict(orient="records")}

    def score(self, payload: dict[str, Any]) -> dict[str, Any]:
        from aekit.metrics.table import explain_row

        check_fields(payload, ("inputs",), ("inputs",))
        x = self.inputs(payload)
        scorer, threshold = self.cached("scorer", self._fit_scorer)
        parts = scorer.contributions(x)  # (N, D) each column's share of the row's score
        names = self.model.schema.names
        scores = parts.sum(1)
        return {"model": self.name, "score": "column errors", "threshold": threshold,
                "contamination": self.limits.contamination, "scores": scores.tolist(),
                "flags": (scores > threshold).tolist(),
                "columns": [dict(zip(names, map(float, row))) for row in parts],
                "explanations": [explain_row(i, dict(zip(names, row))) for i, row in enumerate(parts)]}

    def data(self) -> Any:
        from aekit.runs.autoencoder import TRAINED_FAMILIES

        def load() -> Any:
            try:
                return TRAINED_FAMILIES["tabular"].load(self.run.config.data)
            except InputError as err:
                raise RequestError(409, f"model {self.name!r}: the run's data cannot be loaded ({err})") from None

        return self.cached("data", load)

    def _fit_scorer(self) -> tuple[Any, float]:
        from aekit.anomaly import threshold_from_contamination
        from aekit.metrics.table import TableScorer

        train = self.data().x_train[:2000]
        scorer = TableScorer(self.model).fit(train)
        return scorer, threshold_from_contamination(scorer.score(train), self.limits.contamination)


# model families served by their own adapter within their run kind's, and families no adapter serves (and why)
FAMILY_ADAPTERS: dict[str, type[Adapter]] = {"tabular": TableAdapter}
NOT_SERVED: dict[str, str] = {}

ADAPTERS: Registry[type[Adapter]] = Registry("served run kind")
for _adapter in (AutoencoderAdapter, RecommenderAdapter, MoleculesAdapter):
    ADAPTERS.add(_adapter.kind, _adapter)


def adapter_for(name: str, run: Any, limits: ServeLimits) -> Adapter:
    """The adapter serving ``run`` under ``name`` (a ConfigError for a kind nothing serves)."""
    from aekit.errors import ConfigError

    if run.config.kind not in ADAPTERS:
        raise ConfigError(f"{run.path}: aekit serve cannot serve {run.config.kind!r} runs; it serves "
                          f"{', '.join(ADAPTERS.names())}")
    family = getattr(run.model, "family", "")
    if family in NOT_SERVED:
        raise ConfigError(f"{run.path}: aekit serve cannot serve a {family} model: {NOT_SERVED[family]}")
    return FAMILY_ADAPTERS.get(family, ADAPTERS.get(run.config.kind))(name, run, limits)


__all__ = ["ADAPTERS", "FAMILY_ADAPTERS", "NOT_SERVED", "Adapter", "AutoencoderAdapter", "MoleculesAdapter", "OPERATIONS",
           "RecommenderAdapter", "TableAdapter", "UPLOADS", "adapter_for", "as_json"]
