"""Hostile headers: files whose header announces sizes the payload does not back, or a gzip bomb.

Run as a script (``python _hostile_cases.py``), this writes every case and reads
it under a memory limit (``RLIMIT_AS``: whatever allocates more fails with a
MemoryError) while ``tracemalloc`` measures the peak of what Python and numpy
allocate, then prints one JSON line per case: the exception type, its message,
the file and the peak in bytes.
"""

from __future__ import annotations

import gzip
import json
import resource
import struct
import sys
import tempfile
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
from _reader_cases import READERS, _aez, _dataset_dir, _model_dir, _smiles_vae

HEADROOM = 512 << 20  # address space granted beyond what the process holds once everything is imported
BOMB = 256 << 20  # bytes a gzip bomb expands to


def _npy_bytes(shape: tuple[int, ...], payload: bytes = b"\0" * 16) -> bytes:
    text = f"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}".encode().ljust(118) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + payload


def _write(d: Path, name: str, data: bytes) -> Path:
    (d / name).write_bytes(data)
    return d / name


def _gzip_bomb(d: Path) -> Path:
    deflate = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    body = [deflate.compress(struct.pack(">HBBI", 0, 8, 1, 10) + bytes(10))]  # honest header: 10 bytes
    body += [deflate.compress(bytes(1 << 20)) for _ in range(BOMB >> 20)]  # then 256 MB nobody asked for
    return _write(d, "bomb-idx1-ubyte.gz", b"".join(body) + deflate.flush())


def _dataset_bomb(d: Path) -> Path:
    folder = _dataset_dir(d)
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(struct.pack(">HBB3I", 0, 8, 3, 10**5, 10**4, 10**4)))
    return folder


def _npz_member(d: Path) -> Path:
    with zipfile.ZipFile(d / "hostile.npz", "w") as archive:
        archive.writestr("x.npy", _npy_bytes((10**12,)))
    return d / "hostile.npz"


def _npz_size_claim(d: Path) -> Path:
    np.savez_compressed(d / "claim.npz", x=np.zeros(1000, np.float32))
    raw = bytearray((d / "claim.npz").read_bytes())
    at = raw.index(b"PK\x01\x02")  # central directory entry: uncompressed size at offset 24
    raw[at + 24 : at + 28] = struct.pack("<I", 0x7FFFFFF0)
    return _write(d, "claim.npz", bytes(raw))


def _aez_patch(d: Path, patch: Callable[[bytearray], None]) -> Path:
    path = _aez(d)
    raw = bytearray(path.read_bytes()[:-4])
    patch(raw)
    return _write(d, "hostile.aez", bytes(raw) + struct.pack("<I", zlib.crc32(raw)))


def _aez_f32_nan(raw: bytearray) -> None:
    """Rewrite the float16 range as version 2's float32 range, with a NaN low bound."""
    start, d = 44 + 4, 3  # after the fixed header and the one code dimension of the tiny model (code (3,))
    low, high = (np.frombuffer(bytes(raw[at : at + 2 * d]), "<f2").astype("<f4") for at in (start, start + 2 * d))
    low[0] = np.nan
    raw[4], raw[7] = 2, 1  # version 2, float32 ranges
    raw[start : start + 4 * d] = low.tobytes() + high.tobytes()


def _model_config(d: Path, **changes) -> Path:
    folder = _model_dir(d)
    doc = json.loads((folder / "config.json").read_text())
    doc["model"].update(changes)
    (folder / "config.json").write_text(json.dumps(doc))
    return folder


def _safetensors_header(d: Path) -> Path:
    folder = _model_dir(d)
    raw = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(struct.pack("<Q", 1 << 60) + raw[8:])
    return folder


def _vae_config(d: Path) -> Path:
    folder = _smiles_vae(d)
    doc = json.loads((folder / "config.json").read_text())
    doc["model"]["hidden"] = 10**7
    (folder / "config.json").write_text(json.dumps(doc))
    return folder


def _yaml_bomb(d: Path) -> Path:
    """A billion laughs: nine levels of ten aliases each, as the model's hidden sizes."""
    levels = ["&a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"] + [f"&a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    return _write(d, "bomb.yaml", f"model_name: vanilla\nmodel:\n  hidden: [{', '.join(levels)}]\n".encode())


def _object_npy(d: Path, name: str) -> Path:
    np.save(d / name, np.array([0, "1", None], dtype=object), allow_pickle=True)
    return d / name


# name -> (reader name in READERS, writer of the hostile input)
CASES: dict[str, tuple[str, Callable[[Path], Path]]] = {
    "IDX dims whose product wraps int64 to 0": ("read_idx", lambda d: _write(d, "wrap-idx", struct.pack(">HBB4I", 0, 8, 4, *[65536] * 4))),
    "IDX dims of 2**32-1": ("read_idx", lambda d: _write(d, "big-idx", struct.pack(">HBB3I", 0, 8, 3, *[2**32 - 1] * 3) + bytes(16))),
    "IDX gzip claiming 10 TB": ("read_idx .gz", lambda d: _write(d, "claim-idx.gz", gzip.compress(struct.pack(">HBB3I", 0, 8, 3, 10**5, 10**4, 10**4)))),
    "IDX gzip bomb": ("read_idx .gz", _gzip_bomb),
    "dataset dir with a 10 TB claim": ("load_dataset dir", _dataset_bomb),
    ".npy shape 10**12": ("load_array .npy", lambda d: _write(d, "big.npy", _npy_bytes((10**12,)))),
    ".npy shape overflowing int64": ("load_array .npy", lambda d: _write(d, "wrap.npy", _npy_bytes((2**40, 2**40)))),
    ".npy object array": ("load_array .npy", lambda d: _object_npy(d, "objects.npy")),
    ".npz member shape 10**12": ("load_array .npz", _npz_member),
    ".npz entry claiming 2 GB": ("load_array .npz", _npz_size_claim),
    ".aez count 2**32-1": (".aez decompress", lambda d: _aez_patch(d, lambda raw: raw.__setitem__(slice(8, 12), struct.pack("<I", 2**32 - 1)))),
    ".aez code shape 2**32-1": (".aez decompress", lambda d: _aez_patch(d, lambda raw: raw.__setitem__(slice(44, 48), struct.pack("<I", 2**32 - 1)))),
    ".aez NaN float32 range": (".aez decompress", lambda d: _aez_patch(d, _aez_f32_nan)),
    "safetensors header length 2**60": ("load_model", _safetensors_header),
    "model config latent_dim 10**12": ("load_model", lambda d: _model_config(d, latent_dim=10**12)),
    "model config input_shape 10**10 pixels": ("load_model", lambda d: _model_config(d, input_shape=[1, 10**5, 10**5])),
    "SMILES VAE config hidden 10**7": ("load_model (sequence VAE)", _vae_config),
    "YAML alias bomb": ("RunConfig.from_file", _yaml_bomb),
    "labels: pickled object array": ("detect --labels", lambda d: _object_npy(d, "labels.npy")),
    "labels: text named .npy": ("detect --labels", lambda d: _write(d, "labels.npy", b"0\n1\n1\n")),
}


def _limit_memory() -> None:
    status = Path("/proc/self/status").read_text()
    size = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmSize:"))) * 1024
    resource.setrlimit(resource.RLIMIT_AS, (size + HEADROOM, resource.RLIM_INFINITY))


def main() -> None:
    readers = {r.name: r for r in READERS}
    root = Path(tempfile.mkdtemp(prefix="aekit-hostile-"))
    (root / "warm").mkdir()
    readers["load_model"].read(_model_dir(root / "warm"))  # lazy imports (meta-device kernels) happen here, not in a case
    targets = {}
    for i, (name, (_, write)) in enumerate(CASES.items()):
        (root / str(i)).mkdir()
        targets[name] = write(root / str(i))
    _limit_memory()
    tracemalloc.start()
    for name, (reader, _) in CASES.items():
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        try:
            readers[reader].read(targets[name])
            outcome = {"type": None, "message": "read without an error"}
        except BaseException as err:  # noqa: BLE001  the parent judges every outcome
            outcome = {"type": f"{type(err).__module__}.{type(err).__name__}", "message": str(err)}
        print(json.dumps({"case": name, "target": str(targets[name]), "peak": tracemalloc.get_traced_memory()[1] - before, **outcome}))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
