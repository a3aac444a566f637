"""The ``aekit`` command line: a thin reflection of the library, one convention for every command.

Every command (:data:`aekit.cli.commands.COMMANDS`) takes options generated
from typed config dataclasses (:mod:`aekit.cli.options`), ``--config FILE``
and ``--print-config``, and runs one library function. Errors are reported
in one place, :func:`main`: one line on stderr, no traceback, and the exit
status of :data:`aekit.errors.EXIT_CODES` — 0 success, 1 training diverged, 2
bad usage, config or input, 3 output cannot be written (what was there before
is kept), 130 interrupted.
"""

from __future__ import annotations

import sys
from typing import Optional, Sequence

from aekit._version import __version__
from aekit.cli.commands import COMMANDS, find_command, overview, run_typed
from aekit.errors import exit_code


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the ``aekit`` command line; returns the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).

    Examples
    --------
    >>> main(["--version"])  # doctest: +ELLIPSIS
    aekit ...
    0
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        sys.stdout.write(overview())
        return 0 if argv else 2
    if argv[0] == "--version":
        print(f"aekit {__version__}")
        return 0
    command, rest = find_command(argv)
    if command is None:
        return _fail(f"unknown command {' '.join(argv[:2])!r}; commands: {', '.join(COMMANDS.names())} "
                     "(see aekit --help)", 2)
    try:
        return _run(command, rest)
    except SystemExit as exit_:  # --help and usage errors from argparse
        return int(exit_.code or 0)
    except KeyboardInterrupt as err:
        return _fail(str(err) or "interrupted; continue a run with: aekit train --out RUN --resume", 130)
    except Exception as err:
        code = exit_code(err)
        if code is None:
            raise  # not one of aekit's errors: a bug, whose traceback is worth seeing
        return _fail(str(err), code)
    finally:
        _leave_process_group()


def _run(command, argv: list[str]) -> int:
    from rich.console import Console

    # pipes and logs get a fixed width wide enough for the tables instead of rich's 80 columns
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
    if command.options:
        return run_typed(command, argv, console)
    return int(command.resolve(command.handler)(command, argv, console) or 0)


def _leave_process_group() -> None:
    """Under torchrun, leave the process group the training joined (torch is loaded by then)."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.distributed.is_available() and torch.distributed.is_initialized():
        dist = torch.distributed
        if dist.get_backend() == "gloo":
            # Every process must be done with the group before one tears it down: a Gloo group destroyed
            # while another process still talks to it can abort ("terminate called without an active
            # exception"; seen in CI). monitored_barrier gives up after a minute if a process has failed.
            from datetime import timedelta

            try:
                dist.monitored_barrier(timeout=timedelta(seconds=60))
            except RuntimeError:
                pass  # another process failed or left already: tear down regardless
        dist.destroy_process_group()


def _fail(message: str, status: int) -> int:
    print(f"aekit: error: {message}", file=sys.stderr)
    return status


__all__ = ["main"]
