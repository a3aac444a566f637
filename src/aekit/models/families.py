"""Model families: every class a saved model can be, by name, so saving and loading never branch on type.

A family is a model class with a ``family`` name, a ``document()`` holding
the JSON fields that rebuild an instance, and a ``builder(doc, file)`` class
method that checks such a document and returns a function building the model.
:func:`load_model` reads ``config.json``, looks the family up here and lets
:func:`~aekit.models.serialization.build_from_file` compare the weights' shapes
before anything is allocated. Presets (:mod:`aekit.models.presets`) name a
family too, so ``create_model`` builds any of them.
"""

from __future__ import annotations

from pathlib import Path

import torch

from aekit.errors import ModelFileError
from aekit.models.autoencoder import Autoencoder
from aekit.models.codec import FactorizedCodec
from aekit.models.linear import ItemLinear
from aekit.models.sequence import SequenceVAE
from aekit.models.serialization import CONFIG_FILE, WEIGHTS_FILE, build_from_file, model_directory, read_model_document
from aekit.models.tabular import TabularAutoencoder
from aekit.registry import Registry

FAMILIES: Registry[type[torch.nn.Module]] = Registry("model family")
FAMILIES.add(Autoencoder.family, Autoencoder)
FAMILIES.add(SequenceVAE.family, SequenceVAE)
FAMILIES.add(ItemLinear.family, ItemLinear)
FAMILIES.add(FactorizedCodec.family, FactorizedCodec)
FAMILIES.add(TabularAutoencoder.family, TabularAutoencoder)


def load_model(path: str | Path) -> torch.nn.Module:
    """Rebuild a saved model of any family from its config and weights.

    Nothing is allocated before the file is known to be consistent: the model
    the config describes is first built on the "meta" device and its tensor
    names and shapes are compared with those in the safetensors header.

    Parameters
    ----------
    path : str or Path
        A model directory (written by ``model.save``) or a run directory
        (its ``model/`` is loaded).

    Returns
    -------
    nn.Module
        An :class:`~aekit.Autoencoder`, a :class:`~aekit.models.sequence.SequenceVAE`, ...
        in eval mode, with the exact saved weights.

    Raises
    ------
    aekit.ModelFileError
        Naming the file: missing, damaged, of a newer or unknown format or
        family, or weights that do not match the config (the first mismatches listed).

    Examples
    --------
    >>> import aekit, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> aekit.create_model("vae", input_shape=(8,), hidden=(4,), latent_dim=2).save(folder)
    >>> type(aekit.load_model(folder)).__name__
    'Autoencoder'
    """
    path = model_directory(path)
    doc = read_model_document(path)
    if doc["family"] not in FAMILIES:
        raise ModelFileError(f"{path / CONFIG_FILE}: unknown model family {doc['family']!r}; "
                             f"this aekit knows {', '.join(FAMILIES.names())}")
    build = FAMILIES.get(doc["family"]).builder(doc, path / CONFIG_FILE)
    return build_from_file(build, path / WEIGHTS_FILE, path / CONFIG_FILE).eval()


__all__ = ["FAMILIES", "load_model"]
