"""Resumable trainer checkpoints, written so that no crash loses the last complete one.

::

    checkpoint/             the newest complete checkpoint
      state.safetensors     model, optimizer moments, random streams, callback tensors
      state.json            epoch, step, history, optimizer settings, callback values and the
                            size of state.safetensors; written last, so it marks a complete checkpoint
    checkpoint.tmp/         the next checkpoint, while it is written
    checkpoint.old/         the previous one, for the moment between two renames

A write fills ``checkpoint.tmp/`` (tensors, then ``state.json``, each flushed
to disk), renames ``checkpoint/`` to ``checkpoint.old/``, renames the new one
into place and deletes the old one; deleting removes ``state.json`` first. A
crash at any point leaves at least one complete checkpoint among the three,
and :func:`recover_checkpoint` puts the newest of them back at ``checkpoint/``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from aekit.errors import ModelFileError
from aekit.io import fsync_directory, output_errors, read_json, read_tensors, write_json, write_tensors
from aekit.training.history import History

if TYPE_CHECKING:
    from aekit.training.callbacks import Callback
    from aekit.training.trainer import Trainer

__all__ = ["STATE_FILE", "TENSORS_FILE", "find_checkpoint", "read_checkpoint", "recover_checkpoint",
           "write_checkpoint"]

FORMAT = "aekit.checkpoint"
STATE_FILE = "state.json"
TENSORS_FILE = "state.safetensors"


def _siblings(directory: Path) -> tuple[Path, Path]:
    """(``NAME.tmp``, ``NAME.old``) next to ``directory``."""
    return directory.with_name(directory.name + ".tmp"), directory.with_name(directory.name + ".old")


def _complete_state(path: Path) -> dict[str, Any] | None:
    """The ``state.json`` of a complete checkpoint in ``path``, or None (missing, partial, partly deleted)."""
    try:
        state = read_json(path / STATE_FILE)
        size = (path / TENSORS_FILE).stat().st_size
    except (ModelFileError, OSError):
        return None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        return None
    # checkpoints from before the size was recorded count as complete when both files are there
    return state if state.get("tensors_bytes", size) == size else None


def find_checkpoint(directory: str | Path) -> Path | None:
    """The newest complete checkpoint among ``directory`` and its ``.tmp``/``.old`` siblings (read only).

    Parameters
    ----------
    directory : str or Path
        A checkpoint directory, e.g. ``RUN/checkpoint``.

    Returns
    -------
    Path or None
        ``directory`` itself after a clean write; a sibling when a crash
        interrupted a write; None when there is no complete checkpoint.
    """
    directory = Path(directory)
    tmp, old = _siblings(directory)
    found = []
    for rank, path in enumerate((directory, tmp, old)):  # equal steps: prefer the one in place
        state = _complete_state(path)
        if state is not None:
            found.append(((int(state.get("step", 0)), int(state.get("epoch", 0)), -rank), path))
    return max(found)[1] if found else None


def recover_checkpoint(directory: str | Path) -> Path | None:
    """Put the newest complete checkpoint at ``directory`` and delete the other two places.

    Repairs every state an interrupted :func:`write_checkpoint` can leave (only a
    partial ``.tmp``; a complete ``.tmp`` beside the current or the old one; the
    old one beside the current; only the old one; a partly deleted old one) and
    is itself safe to interrupt: running it again finishes the repair.

    Parameters
    ----------
    directory : str or Path

    Returns
    -------
    Path or None
        ``directory``, or None when there is no complete checkpoint (nothing is then changed).
    """
    directory = Path(directory)
    best = find_checkpoint(directory)
    if best is None:
        return None
    tmp, old = _siblings(directory)
    with output_errors(directory):
        if best == tmp:
            _swap_in(tmp, directory)
        elif best == old:
            _discard(tmp)
            _discard(directory)
            old.rename(directory)
            fsync_directory(directory.parent)
        else:
            _discard(tmp)
            _discard(old)
    return directory


def write_checkpoint(directory: str | Path, state: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
    """Replace the checkpoint in ``directory`` by ``state`` (JSON) and ``tensors``, never losing both.

    Parameters
    ----------
    directory : str or Path
    state : dict
        JSON-serialisable values; ``format`` and ``tensors_bytes`` are added.
    tensors : dict of str to Tensor

    Raises
    ------
    aekit.OutputError
        When the checkpoint cannot be written; the previous one is then kept.
    """
    directory = Path(directory)
    tmp, _ = _siblings(directory)
    with output_errors(tmp):
        _discard(tmp)
    try:
        write_tensors(tmp / TENSORS_FILE, tensors)
        size = (tmp / TENSORS_FILE).stat().st_size
        write_json(tmp / STATE_FILE, {"format": FORMAT, **state, "tensors_bytes": size})  # last: marks it complete
        fsync_directory(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    with output_errors(directory):
        _swap_in(tmp, directory)


def read_checkpoint(directory: str | Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The JSON state and the tensors of the checkpoint in ``directory`` (as written, nothing recovered)."""
    directory = Path(directory)
    if _complete_state(directory) is None:
        raise ModelFileError(f"{directory}: no complete aekit checkpoint ({STATE_FILE} and {TENSORS_FILE})")
    state = read_json(directory / STATE_FILE)
    _check_state(state, directory / STATE_FILE)
    return state, read_tensors(directory / TENSORS_FILE)


def _check_state(state: Any, file: Path) -> None:
    """Refuse a ``state.json`` that :func:`trainer_state` could not have written."""
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ModelFileError(f"{file}: not an aekit checkpoint")
    counters = [state.get(k) for k in ("epoch", "step")]
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in counters):
        raise ModelFileError(f"{file}: 'epoch' and 'step' must be counts, got {counters}")
    for key in ("param_groups", "history"):
        if not isinstance(state.get(key), list) or not all(isinstance(v, dict) for v in state[key]):
            raise ModelFileError(f"{file}: {key!r} must be a list of mappings")
    if not isinstance(state.get("callbacks", {}), dict):
        raise ModelFileError(f"{file}: 'callbacks' must be a mapping")


def _swap_in(new: Path, directory: Path) -> None:
    """Rename complete checkpoint ``new`` to ``directory``; at every step one complete checkpoint exists."""
    _, old = _siblings(directory)
    _discard(old)  # new is complete and newer than whatever old holds
    if directory.exists():
        directory.rename(old)
    new.rename(directory)
    fsync_directory(directory.parent)
    _discard(old)


def _discard(path: Path) -> None:
    """Delete a checkpoint directory, ``state.json`` first: a partly deleted one never looks complete."""
    if not path.exists():
        return
    (path / STATE_FILE).unlink(missing_ok=True)
    shutil.rmtree(path)


# ------------------------------------------------------------------------------ trainer state
def trainer_state(trainer: Trainer, rng: dict[str, torch.Tensor]) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Everything :meth:`Trainer.fit` needs to continue exactly: (JSON state, tensors).

    ``rng`` holds every process's random-stream states (:func:`gather_rng_states`).
    """
    opt = trainer.optimizer.state_dict()
    tensors = {f"model.{k}": v for k, v in trainer.model.state_dict().items()}
    for pid, param_state in opt["state"].items():
        tensors.update({f"optim.{pid}.{k}": torch.as_tensor(v) for k, v in param_state.items()})
    tensors.update(rng)
    tensors["rng.shuffle"] = trainer.shuffle_gen.get_state()
    values, callback_tensors = callback_states(trainer.callbacks)
    tensors.update(callback_tensors)
    groups = [{k: list(v) if isinstance(v, tuple) else v for k, v in g.items()} for g in opt["param_groups"]]
    state = {"epoch": trainer.epoch, "step": trainer.step, "should_stop": trainer.should_stop,
             "stop_reason": trainer.stop_reason, "train_config": trainer.config.to_dict(), "param_groups": groups,
             "history": trainer.history.rows, "callbacks": values}
    return state, tensors


def gather_rng_states(trainer: Trainer) -> dict[str, torch.Tensor]:
    """Every process's noise-stream state, keyed ``rng.torch`` (rank 0) and ``rng.torch.rank{r}``.

    With several processes every one must call it (the states are gathered).
    """
    states = {"torch": torch.get_rng_state()}  # uint8 (5056,)
    if trainer.device.type == "cuda":
        states["cuda"] = torch.cuda.get_rng_state(trainer.device)
    out = {}
    for name, state in states.items():
        if trainer.dist.is_distributed:
            local = state.to(trainer.device)
            parts = [torch.empty_like(local) for _ in range(trainer.dist.world_size)]
            torch.distributed.all_gather(parts, local)
        else:
            parts = [state]
        out.update({_rng_key(name, rank): part.cpu() for rank, part in enumerate(parts)})
    return out


def _restore_rng(trainer: Trainer, tensors: dict[str, torch.Tensor]) -> None:
    rank = trainer.dist.rank
    if _rng_key("torch", rank) in tensors:
        torch.set_rng_state(tensors[_rng_key("torch", rank)])
    else:  # more processes than the checkpoint had: a fresh stream for this one
        torch.manual_seed(trainer.config.seed + rank + 7919 * trainer.step)
    if trainer.device.type == "cuda" and _rng_key("cuda", rank) in tensors:
        torch.cuda.set_rng_state(tensors[_rng_key("cuda", rank)], trainer.device)


def _rng_key(name: str, rank: int) -> str:
    return f"rng.{name}" if rank == 0 else f"rng.{name}.rank{rank}"


def restore_trainer(trainer: Trainer, state: dict[str, Any], tensors: dict[str, torch.Tensor], where: Path) -> None:
    """Load what :func:`trainer_state` saved into ``trainer`` (model, optimizer, counters, callbacks)."""
    model_state = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    try:
        trainer.model.load_state_dict(model_state)
    except RuntimeError as err:
        raise ModelFileError(f"{where / TENSORS_FILE}: checkpoint does not fit this model: {err}") from None
    opt_state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, pid, name = key.split(".", 2)
            opt_state.setdefault(int(pid), {})[name] = value
    trainer.optimizer.load_state_dict({"state": opt_state, "param_groups": state["param_groups"]})
    trainer.shuffle_gen.set_state(tensors["rng.shuffle"])
    trainer.epoch, trainer.step = int(state["epoch"]), int(state["step"])
    trainer.history = History(list(state["history"]))
    trainer.should_stop, trainer.stop_reason = bool(state.get("should_stop", False)), str(state.get("stop_reason", ""))
    _restore_rng(trainer, tensors)
    load_callback_states(trainer.callbacks, state.get("callbacks", {}), tensors)


def _callback_keys(callbacks: list[Callback]) -> list[str]:
    """A stable name per callback: its class name, numbered from the second of a class on.

    Callbacks without state (a progress bar, present only on a terminal) shift no other's name.
    """
    keys, seen = [], {}
    for cb in callbacks:
        name = type(cb).__name__
        seen[name] = seen.get(name, 0) + 1
        keys.append(name if seen[name] == 1 else f"{name}.{seen[name]}")
    return keys


def callback_states(callbacks: list[Callback]) -> tuple[dict[str, dict[str, Any]], dict[str, torch.Tensor]]:
    """The callbacks' :meth:`~aekit.Callback.state_dict` values, split into JSON values and tensors."""
    values: dict[str, dict[str, Any]] = {}
    tensors: dict[str, torch.Tensor] = {}
    for key, cb in zip(_callback_keys(callbacks), callbacks):
        state = cb.state_dict()
        if not state:
            continue
        values[key] = {k: v for k, v in state.items() if not isinstance(v, torch.Tensor)}
        tensors.update({f"callback.{key}.{k}": v for k, v in state.items() if isinstance(v, torch.Tensor)})
    return values, tensors


def load_callback_states(callbacks: list[Callback], values: dict[str, dict[str, Any]],
                         tensors: dict[str, torch.Tensor]) -> None:
    """Give every callback the state saved under its name (a callback without one keeps its own)."""
    for key, cb in zip(_callback_keys(callbacks), callbacks):
        prefix = f"callback.{key}."
        state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        state.update(values.get(key, {}))
        if state:
            cb.load_state_dict(state)
