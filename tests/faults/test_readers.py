"""Fault injection for every reader: damaged input fails with an aekit error that names the file, or parses whole.

Each reader in ``_reader_cases.READERS`` gets a good input, then every file of
it is truncated at several points, bit-flipped (seeded), emptied, padded with
garbage and, for text formats, given non-UTF-8 bytes. Each read must either
raise one of aekit's errors (never IndexError, KeyError, TypeError,
UnicodeDecodeError, struct.error, MemoryError, ...) whose message names the
file, or return a result of the same shape as the good input (a flipped pixel
is still an image). Hostile headers (``_hostile_cases.CASES``) are read in a
child process under a memory limit.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _hostile_cases import CASES
from _reader_cases import AEKIT_ERRORS, READERS, Reader

HERE = Path(__file__).resolve().parent
MAX_PEAK = 16 << 20  # a hostile header may cost this much traced memory, no more


def _cut(fraction: float):
    return lambda data: data[: int(len(data) * fraction)]


def _flips(seed: int, n: int, within: int | None = None):
    def damage(data: bytes) -> bytes:
        if not data:
            return data
        rng = np.random.default_rng(seed)
        out = bytearray(data)
        for at in rng.integers(0, min(len(data), within or len(data)), n):
            out[at] ^= 1 << int(rng.integers(0, 8))
        return bytes(out)

    return damage


DAMAGES = {
    "empty": lambda data: b"",
    "first byte only": lambda data: data[:1],
    "cut at 10%": _cut(0.1),
    "cut at 50%": _cut(0.5),
    "cut at 90%": _cut(0.9),
    "last byte cut": lambda data: data[:-1],
    "garbage appended": lambda data: data + b"\x00\xff\x13garbage,\t\n",
    **{f"1 flip, seed {s}": _flips(s, 1) for s in range(3)},
    **{f"1 flip in the first 64 bytes, seed {s}": _flips(s, 1, 64) for s in range(4)},
    **{f"8 flips, seed {s}": _flips(s, 8) for s in range(2)},
}
TEXT_DAMAGES = {
    "latin-1 bytes inside": lambda data: data[: len(data) // 2] + b"caf\xe9 \xff" + data[len(data) // 2 :],
    "UTF-16": lambda data: data.decode("utf-8", "replace").encode("utf-16"),
}


def _outcome(reader: Reader, target: Path, expected: object) -> str | None:
    """None when the read fails cleanly or keeps the good input's shape, else what went wrong."""
    try:
        result = reader.read(target)
    except AEKIT_ERRORS as err:
        return None if str(target) in str(err) else f"{type(err).__name__} does not name {target}: {err}"
    except Exception as err:  # noqa: BLE001  any other type is the failure under test
        return f"{type(err).__name__}: {err}"
    got = reader.summary(result)
    return None if got == expected else f"parsed to {got!r} instead of {expected!r}"


@pytest.mark.parametrize("reader", READERS, ids=repr)
def test_damaged_input_fails_cleanly_or_keeps_its_shape(reader, tmp_path):
    target = reader.make(tmp_path)
    expected = reader.summary(reader.read(target))
    files = [target] if target.is_file() else sorted(p for p in target.rglob("*") if p.is_file())
    damages = {**DAMAGES, **(TEXT_DAMAGES if reader.text else {})}
    problems = []
    for file in files:
        good = file.read_bytes()
        for name, damage in damages.items():
            file.write_bytes(damage(good))
            problem = _outcome(reader, target, expected)
            if problem:
                problems.append(f"{file.relative_to(tmp_path)}, {name}: {problem}")
        file.write_bytes(good)
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="module")
def hostile_outcomes() -> dict[str, dict]:
    run = subprocess.run([sys.executable, str(HERE / "_hostile_cases.py")], cwd=HERE, capture_output=True, check=False,
                         text=True, timeout=240)
    outcomes = {}
    for line in run.stdout.splitlines():
        if line.startswith("{"):
            case = json.loads(line)
            outcomes[case["case"]] = case
    assert outcomes, f"the hostile-header child produced nothing:\n{run.stderr[-3000:]}"
    return outcomes


@pytest.mark.parametrize("case", CASES)
def test_hostile_header_is_refused_without_allocating(case, hostile_outcomes):
    assert case in hostile_outcomes, "the child stopped before this case (killed for memory?)"
    out = hostile_outcomes[case]
    assert out["type"] and issubclass_name(out["type"], AEKIT_ERRORS), out
    assert out["target"] in out["message"], out
    assert out["peak"] < MAX_PEAK, f"{case}: {out['peak']} bytes allocated"


def issubclass_name(qualified: str, base: type | tuple[type, ...]) -> bool:
    """Whether the exception class named ``module.Name`` subclasses ``base``."""
    module, _, name = qualified.rpartition(".")
    cls = getattr(sys.modules.get(module), name, None)
    return isinstance(cls, type) and issubclass(cls, base)
