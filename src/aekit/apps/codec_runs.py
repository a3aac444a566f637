"""The ``codec`` run kind: a learned image codec (``codec-q1`` ...) trained on images (``aekit codec train``).

It reads its data like the ``autoencoder`` kind (the same ``data`` section) and
trains through the one engine and trainer; the model's loss is the
rate-distortion objective (terms ``rate_bpp`` and ``distortion``). Evaluation
compresses the whole test split into one real version-3 ``.aez`` file and
reports its size in bits per pixel (headers included) and the mean PSNR of the
decoded images.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

from aekit.apps.aez_learned import compress_learned, decompress_learned
from aekit.data import DataSplits
from aekit.errors import ConfigError
from aekit.metrics import per_example_psnr
from aekit.models.codec import FactorizedCodec
from aekit.models.presets import MODELS
from aekit.runs.autoencoder import AutoencoderKind, dataset_spec, load_run_data, split_validation
from aekit.runs.kinds import Prepared


class CodecKind(AutoencoderKind):
    """A learned image codec trained on a dataset or an image file."""

    name = "codec"
    family = "codec"
    command = "aekit codec train"

    def check_preset(self, name: str) -> None:
        family = MODELS.get(name).family
        if family != "codec":
            raise ConfigError(f"model: {name!r} is a {family} preset; aekit codec train trains the codec presets "
                              f"({', '.join(n for n in MODELS.names() if MODELS.get(n).family == 'codec')})")

    def load(self, sections: dict[str, Any], model_name: str) -> DataSplits:
        data = sections["data"]
        sections["data"] = data.replace(dataset=dataset_spec(data.dataset))
        return load_run_data(sections["data"])

    def implied(self, sections: dict[str, Any], data: DataSplits, chosen: dict[str, Any]) -> dict[str, Any]:
        return {"input_shape": tuple(int(d) for d in data.x_train.shape[1:])}

    def check(self, cfg: Any, data: DataSplits) -> None:
        with torch.device("meta"):
            model = FactorizedCodec(cfg.model)
        model.check_inputs(data.x_train, f"{cfg.data.dataset}: training data")

    def prepare(self, cfg: Any, data: DataSplits) -> Prepared:
        train, val = split_validation(data.x_train, None, cfg.data.val_fraction, cfg.train.seed)
        torch.manual_seed(cfg.train.seed)  # initial weights depend on the seed alone
        model = FactorizedCodec(cfg.model, preset=cfg.model_name)
        sizes = {"train_examples": len(train[0]), "val_examples": 0 if val is None else len(val[0])}
        return Prepared(model, train, val, sizes=sizes)

    def evaluate(self, run: Any, data: Optional[DataSplits] = None) -> dict[str, Any]:
        splits = data if data is not None else load_run_data(run.config.data)
        x = np.asarray(splits.x_test, dtype=np.float32)
        blob = compress_learned(run.model, x)
        x_hat = decompress_learned(run.model, blob)
        pixels = len(x) * int(np.prod(x.shape[2:]))
        return {"model_name": run.config.model_name, "dataset": run.config.data.dataset, "test_examples": len(x),
                "code_shape": [int(d) for d in run.model.code_shape], "test_file_bytes": len(blob),
                "test_bpp": 8 * len(blob) / max(1, pixels), "test_psnr": float(per_example_psnr(x, x_hat).mean())}

    def figures(self, run: Any, directory: Path, data: Optional[DataSplits] = None) -> list[Path]:
        return []


KIND = CodecKind()

__all__ = ["KIND", "CodecKind"]
