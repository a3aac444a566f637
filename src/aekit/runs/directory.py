"""Run directories: the marker that says aekit wrote one, and replacing one without ever losing it.

Every directory aekit writes as a run (``aekit train``: kind ``"autoencoder"``)
or a set of runs (``aekit demo``: kind ``"demo"``) holds ``aekit-run.json``::

    {"format": "aekit.run", "format_version": 1, "kind": "autoencoder", "aekit_version": "0.1.0"}

aekit replaces or deletes only directories with this marker. A replacement is
written beside its target and swapped in only when complete::

    RUN/              the previous run, untouched until the new one is complete
    RUN.aekit-new/    the new run while it is written (its marker adds "replaces": "RUN");
                      after a failure it holds the attempt, which --resume continues
    RUN.aekit-old/    the previous run between the two renames of the swap

The swap marks the new run complete, renames ``RUN`` to ``RUN.aekit-old``,
``RUN.aekit-new`` to ``RUN``, and deletes the old one (its marker last, so a
partly deleted one is still recognised as aekit's). :func:`recover_directory`,
which every writer runs first, finishes a swap that a crash interrupted: a
complete ``RUN.aekit-new`` is moved into place; failing that, a lone
``RUN.aekit-old`` is moved back to ``RUN``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aekit._version import __version__
from aekit.errors import RunError
from aekit.io import fsync_directory, output_errors, write_json

__all__ = ["MARKER_FILE", "OutputPlan", "RunError", "finish_output", "is_run_directory", "plan_output",
           "plan_resume", "read_run_marker", "recover_directory", "remove_run_directory", "replace_directory",
           "start_output", "write_run_marker"]

MARKER_FILE = "aekit-run.json"
RUN_FORMAT = "aekit.run"
RUN_FORMAT_VERSION = 1
STAGING_SUFFIX = ".aekit-new"
OLD_SUFFIX = ".aekit-old"
_HINT = "choose another --out or remove it yourself"


# ------------------------------------------------------------------------------ the marker
def write_run_marker(directory: str | Path, kind: str, **fields: Any) -> Path:
    """Mark ``directory`` as written by aekit; returns the marker file.

    Parameters
    ----------
    directory : str or Path
    kind : str
        What the directory holds: ``"autoencoder"`` (a training run), ``"demo"``, ...
    **fields
        Extra JSON fields (``replaces`` and ``complete`` while a replacement is staged).
    """
    doc = {"format": RUN_FORMAT, "format_version": RUN_FORMAT_VERSION, "kind": kind, "aekit_version": __version__}
    path = Path(directory) / MARKER_FILE
    write_json(path, {**doc, **fields})
    return path


def read_run_marker(directory: str | Path) -> dict[str, Any] | None:
    """The marker of a directory aekit wrote, or None (no marker, or not a valid one)."""
    try:
        doc = json.loads((Path(directory) / MARKER_FILE).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("format") != RUN_FORMAT or not isinstance(doc.get("kind"), str):
        return None
    return doc


def is_run_directory(directory: str | Path, kind: str | None = None) -> bool:
    """True when ``directory`` carries aekit's marker (of ``kind``, when given)."""
    marker = read_run_marker(directory)
    return marker is not None and (kind is None or marker["kind"] == kind)


def _staging(target: Path) -> Path:
    return target.with_name(target.name + STAGING_SUFFIX)


def _old(target: Path) -> Path:
    return target.with_name(target.name + OLD_SUFFIX)


def _is_empty_dir(path: Path) -> bool:
    return path.is_dir() and not any(path.iterdir())


def _contents(directory: Path, limit: int = 4) -> str:
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in directory.iterdir())
    return ", ".join(names[:limit] + (["..."] if len(names) > limit else []))


def _not_a_run(directory: Path, action: str) -> str:
    """Why ``directory`` is refused: what it holds, and what to do instead."""
    found = f"{directory} is not an aekit run (no {MARKER_FILE}; it holds {_contents(directory)})"
    hint = _HINT
    if (directory / "config.yaml").is_file() and ((directory / "checkpoint").is_dir() or (directory / "model").is_dir()):
        hint += " (a run from an earlier aekit, which wrote no marker, can still be continued with --resume)"
    return f"{found}: refusing to {action} it; {hint}"


# ------------------------------------------------------------------------------ planning (reads only)
@dataclass(frozen=True)
class OutputPlan:
    """Where a run is written and where it ends up.

    Attributes
    ----------
    target : Path
        The directory the user asked for.
    write_to : Path
        ``target`` itself, or its staging sibling ``TARGET.aekit-new`` when an existing run is replaced.
    kind : str
        The marker's kind.
    resume : bool
        Continue what ``write_to`` holds instead of starting it.
    """

    target: Path
    write_to: Path
    kind: str
    resume: bool = False

    @property
    def staged(self) -> bool:
        """True when the run is written beside ``target`` and swapped in at the end."""
        return self.write_to != self.target


def plan_output(target: str | Path, kind: str, *, overwrite: bool = False,
                replaceable: Collection[str] | None = None) -> OutputPlan:
    """Decide where a new run goes, or refuse; touches nothing on disk.

    A missing path or an empty directory is written directly. A directory
    marked as aekit's is replaced (only with ``overwrite``, and only if its kind
    is in ``replaceable``) through a staging sibling. Anything else is refused.

    Parameters
    ----------
    target : str or Path
    kind : str
        Kind of the new run.
    overwrite : bool, default False
    replaceable : collection of str, optional
        Kinds that may be replaced (default: any).

    Returns
    -------
    OutputPlan

    Raises
    ------
    RunError
        Naming what was found and what to do instead.
    """
    target = Path(target)
    if not target.exists() or _is_empty_dir(target):
        return OutputPlan(target, target, kind)
    if not target.is_dir():
        raise RunError(f"{target} is a file, not a run directory: refusing to replace it; {_HINT}")
    marker = read_run_marker(target)
    if marker is None:
        raise RunError(_not_a_run(target, "replace" if overwrite else "write into"))
    if not overwrite:
        raise RunError(f"{target} already exists (an aekit run); pass --resume to continue it or --overwrite to replace it")
    if replaceable is not None and marker["kind"] not in replaceable:
        raise RunError(f"{target} holds aekit {marker['kind']} output, not {' or '.join(replaceable)}: "
                       f"refusing to replace it; {_HINT}")
    for sibling in (_staging(target), _old(target)):
        if sibling.exists() and not _is_empty_dir(sibling) and not is_run_directory(sibling):
            raise RunError(_not_a_run(sibling, "delete"))
    return OutputPlan(target, _staging(target), kind)


def plan_resume(directory: str | Path, kind: str) -> OutputPlan:
    """Plan to continue the run in ``directory``; a staged replacement still replaces its target when done.

    Raises
    ------
    RunError
        When ``directory`` replaces a target that is no longer an aekit run.
    """
    directory = Path(directory)
    marker = read_run_marker(directory) or {}
    replaces = marker.get("replaces")
    if not (isinstance(replaces, str) and replaces == Path(replaces).name and replaces not in ("", ".", "..")):
        return OutputPlan(directory, directory, marker.get("kind", kind), resume=True)
    target = directory.with_name(replaces)
    _check_replaceable(target)
    return OutputPlan(target, directory, marker.get("kind", kind), resume=True)


def _check_replaceable(target: Path) -> None:
    if target.exists() and not _is_empty_dir(target) and not is_run_directory(target):
        raise RunError(_not_a_run(target, "replace") if target.is_dir() else
                       f"{target} is a file, not a run directory: refusing to replace it; {_HINT}")


# ------------------------------------------------------------------------------ writing
def start_output(plan: OutputPlan) -> None:
    """Create and mark ``plan.write_to``; a staged plan first deletes leftovers of an earlier replacement.

    Raises
    ------
    aekit.OutputError
        When the directory cannot be created or written.
    """
    if plan.resume:
        if read_run_marker(plan.write_to) is None:  # a run from before markers: aekit wrote it
            write_run_marker(plan.write_to, plan.kind)
        return
    if plan.staged:
        remove_run_directory(plan.write_to)
        remove_run_directory(_old(plan.target))
    with output_errors(plan.write_to):
        plan.write_to.mkdir(parents=True, exist_ok=True)
    fields = {"replaces": plan.target.name} if plan.staged else {}
    write_run_marker(plan.write_to, plan.kind, **fields)


def finish_output(plan: OutputPlan) -> Path:
    """Swap a staged run in at ``plan.target`` (a no-op otherwise); returns ``plan.target``."""
    if plan.staged:
        replace_directory(plan.write_to, plan.target)
    return plan.target


def replace_directory(new: str | Path, target: str | Path) -> None:
    """Swap the complete run ``new`` in at ``target``, then delete what ``target`` held.

    ``target`` must be missing, empty or an aekit run. At every moment one of
    ``target``, ``TARGET.aekit-old`` and ``new`` holds each run, and a crash at
    any point is repaired by :func:`recover_directory`.

    Raises
    ------
    RunError
        When ``target`` is something else (``new`` is then left where it is).
    aekit.OutputError
        When a rename fails.
    """
    new, target = Path(new), Path(target)
    _check_replaceable(target)
    marker = read_run_marker(new) or {"kind": "autoencoder"}
    # "complete" tells recovery that this swap has begun and new may be moved into place
    write_run_marker(new, marker["kind"], replaces=target.name, complete=True)
    old = _old(target)
    remove_run_directory(old)
    with output_errors(target):
        if _is_empty_dir(target):
            target.rmdir()
        elif target.exists():
            target.rename(old)
        new.rename(target)
        fsync_directory(target.parent)
    write_run_marker(target, marker["kind"])
    remove_run_directory(old)


def recover_directory(target: str | Path) -> None:
    """Finish a replacement of ``target`` that a crash interrupted; a no-op when there is none.

    A staged run marked complete is swapped in (the swap had begun); otherwise a
    lone ``TARGET.aekit-old`` goes back to ``target``; a leftover old run beside
    ``target`` is deleted. An unfinished ``TARGET.aekit-new`` (a failed attempt)
    stays for ``--resume``.
    """
    target = Path(target)
    new, old = _staging(target), _old(target)
    staged = read_run_marker(new) or {}
    began = staged.get("complete") and staged.get("replaces") == target.name
    if began and (not target.exists() or _is_empty_dir(target) or is_run_directory(target)):
        replace_directory(new, target)
        return
    marker = read_run_marker(target)
    if marker is not None and marker.get("replaces") == target.name:  # renamed into place, marker not yet rewritten
        write_run_marker(target, marker["kind"])
    if not target.exists() and is_run_directory(old):
        with output_errors(target):
            old.rename(target)
            fsync_directory(target.parent)
    elif marker is not None and (is_run_directory(old) or _is_empty_dir(old)):  # an empty one: deleted but for rmdir
        remove_run_directory(old)


def remove_run_directory(path: str | Path) -> None:
    """Delete a directory aekit marked as its own, or an empty one (a no-op when missing); the marker goes last.

    Raises
    ------
    RunError
        When ``path`` carries no marker: it is not aekit's to delete.
    """
    path = Path(path)
    if not path.exists():
        return
    if _is_empty_dir(path):  # nothing left to lose (a deletion cut short after the marker)
        with output_errors(path):
            path.rmdir()
        return
    if read_run_marker(path) is None:
        raise RunError(_not_a_run(path, "delete") if path.is_dir() else f"{path} is not an aekit run: refusing to delete it")
    with output_errors(path):
        for child in path.iterdir():
            if child.name == MARKER_FILE:
                continue
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        (path / MARKER_FILE).unlink()
        path.rmdir()
