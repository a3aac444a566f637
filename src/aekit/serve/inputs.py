"""Request bodies read into checked values: JSON objects, nested JSON arrays, PNG and NPY uploads.

Every function raises :class:`~aekit.serve.limits.RequestError` with a 4xx
status and a message naming the field and what is wrong with it, so the
server answers bad input and never fails on it.
"""

from __future__ import annotations

import io
import json
from typing import Any, Optional

import numpy as np

from aekit.serve.limits import RequestError, ServeLimits, too_large

JSON_TYPES = ("application/json",)
NPY_TYPES = ("application/x-npy", "application/octet-stream")
PNG_TYPES = ("image/png",)
UPLOAD_FIELD = "file"  # the multipart field holding a .npy or .png upload


async def read_payload(request: Any, limits: ServeLimits, upload_field: str) -> dict[str, Any]:
    """The request's fields: a JSON object, or ``{upload_field: array}`` from a PNG or NPY upload.

    Parameters
    ----------
    request : starlette.requests.Request
    limits : ServeLimits
    upload_field : str
        The field an uploaded array stands for (``"inputs"``, ``"codes"``); "" if the operation takes none.
    """
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data" and upload_field:
        return await _read_form(request, limits, upload_field)
    body = await request.body()
    if kind in JSON_TYPES or (not kind and body[:1] in (b"{", b"[")):
        return parse_json_object(body)
    if upload_field and kind in NPY_TYPES + PNG_TYPES:
        return {upload_field: read_upload(body, kind, limits, "body")}
    accepted = ", ".join(JSON_TYPES + ((*NPY_TYPES, *PNG_TYPES, "multipart/form-data") if upload_field else ()))
    raise RequestError(415, f"content-type {kind or '(none)'!r} is not accepted here; send one of: {accepted}")


async def _read_form(request: Any, limits: ServeLimits, upload_field: str) -> dict[str, Any]:
    try:
        form = await request.form(max_files=1, max_fields=16)
    except RequestError:
        raise
    except Exception as err:  # python-multipart's and starlette's parse errors have no common base
        raise RequestError(400, f"body: not a readable multipart form ({err})") from None
    upload = form.get(UPLOAD_FIELD)
    if upload is None or isinstance(upload, str):
        raise RequestError(422, f"form field {UPLOAD_FIELD!r}: missing; upload a .npy or .png file in it")
    data = await upload.read()
    name = (upload.filename or "").lower()
    kind = "image/png" if name.endswith(".png") else "application/x-npy" if name.endswith(".npy") else \
        (upload.content_type or "").lower()
    if kind not in NPY_TYPES + PNG_TYPES:
        raise RequestError(415, f"form field {UPLOAD_FIELD!r}: {upload.filename!r} is neither a .npy nor a .png file")
    return {upload_field: read_upload(data, kind, limits, f"file {upload.filename!r}")}


def parse_json_object(body: bytes) -> dict[str, Any]:
    """A JSON object from ``body`` (400 for malformed JSON, 422 for JSON that is not an object)."""
    try:
        doc = json.loads(body)
    except UnicodeDecodeError:
        raise RequestError(400, "body: not UTF-8 text, so not JSON") from None
    except json.JSONDecodeError as err:
        raise RequestError(400, f"body: malformed JSON: {err.msg} at line {err.lineno} column {err.colno}") from None
    except RecursionError:
        raise RequestError(400, "body: JSON nested too deeply") from None
    if not isinstance(doc, dict):
        raise RequestError(422, f"body: expected a JSON object of fields, got a JSON {type(doc).__name__}")
    return doc


def read_upload(data: bytes, kind: str, limits: ServeLimits, where: str) -> np.ndarray:
    """An uploaded ``.npy`` (never unpickled) or ``.png`` as an array; a PNG becomes (1, C, H, W) in [0, 1]."""
    return read_png(data, limits, where) if kind in PNG_TYPES else read_npy(data, where)


def read_npy(data: bytes, where: str) -> np.ndarray:
    """A numeric array from ``.npy`` bytes; object arrays are refused, never unpickled."""
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as err:
        text = "holds Python objects, which aekit never unpickles" if "pickle" in str(err) else f"not a .npy array ({err})"
        raise RequestError(422, f"{where}: {text}") from None
    except (OSError, EOFError) as err:
        raise RequestError(422, f"{where}: not a .npy array ({err})") from None
    if not isinstance(array, np.ndarray):
        raise RequestError(422, f"{where}: a .npz archive; send one .npy array")
    if array.dtype.kind not in "iuf":
        raise RequestError(422, f"{where}: dtype {array.dtype} is not a real number type (integers or floats)")
    return array


def read_png(data: bytes, limits: ServeLimits, where: str) -> np.ndarray:
    """One PNG as an array (1, C, H, W) of values in [0, 1]; its size is checked before it is decoded."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError) as err:
        raise RequestError(422, f"{where}: not a readable PNG image ({err})") from None
    if image.format != "PNG":
        raise RequestError(415, f"{where}: a {image.format} image; send PNG")
    width, height = image.size
    if width * height > limits.max_image_pixels:
        raise too_large(f"{where}: image of {width}x{height} pixels", width * height, limits.max_image_pixels,
                        "--max-image-pixels")
    mode = "L" if image.mode in ("1", "L", "I", "I;16", "F", "P", "LA") else "RGB"
    try:
        pixels = np.asarray(image.convert(mode), dtype=np.float32) / 255.0  # (H, W) or (H, W, 3)
    except (OSError, ValueError) as err:
        raise RequestError(422, f"{where}: damaged PNG image ({err})") from None
    channels = pixels[None] if pixels.ndim == 2 else np.moveaxis(pixels, -1, 0)  # (C, H, W)
    return channels[None]


def as_array(value: Any, field: str) -> np.ndarray:
    """A numeric float32 array from a nested JSON list (or an uploaded array), NaN and inf refused by index."""
    if isinstance(value, np.ndarray):
        array = value
    else:
        if not isinstance(value, list):
            raise RequestError(422, f"{field}: expected a (nested) array of numbers, got {_json_type(value)}")
        try:
            # as objects first: numpy would silently read true as 1.0 among numbers; map(type) runs in C
            leaves = np.asarray(value, dtype=object)
            numbers = leaves.dtype == object and set(map(type, leaves.ravel())) <= {int, float}
            array = np.asarray(value) if numbers else None
        except (ValueError, RecursionError, OverflowError):
            array = None
        if array is None or array.dtype.kind not in "iuf":
            raise RequestError(422, f"{field}: {_first_bad(value, field)}")
    if array.dtype.kind == "f" and array.dtype.itemsize > 4:
        with np.errstate(over="ignore"):
            big = np.abs(array) > np.finfo(np.float32).max
        if np.any(big & np.isfinite(array)):
            index = tuple(int(i) for i in np.argwhere(big & np.isfinite(array))[0])
            raise RequestError(422, f"{field}: value {array[index]:g} at index {index} is beyond float32")
    array = array.astype(np.float32)
    bad = ~np.isfinite(array)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise RequestError(422, f"{field}: value {array[index]} at index {index} is not finite "
                                f"({int(bad.sum())} such values)")
    return array


def _json_type(value: Any) -> str:
    names = {dict: "an object", str: "a string", bool: "a boolean", type(None): "null", int: "a number",
             float: "a number"}
    return names.get(type(value), type(value).__name__)


def _first_bad(value: Any, field: str) -> str:
    """What is wrong with a nested list numpy could not read as numbers: a non-number, or ragged rows."""
    stack: list[tuple[tuple[int, ...], Any]] = [((), value)]
    depth: Optional[int] = None
    while stack:
        index, item = stack.pop()
        if isinstance(item, list):
            stack.extend(((*index, i), v) for i, v in reversed(list(enumerate(item))))
            continue
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            return f"{_json_type(item)} ({json.dumps(item)[:40]}) at index {index} is not a number"
        if isinstance(item, int) and abs(item) >= 1 << 63:
            return f"integer at index {index} is too large"
        depth = len(index) if depth is None else depth
        if len(index) != depth:
            return f"ragged nesting: index {index} is {len(index)} levels deep where others are {depth}"
    return "ragged nesting: rows of different lengths (every row must have the same shape)"


def as_int(value: Any, field: str, low: int, high: int, limit: str = "") -> int:
    """An integer in ``[low, high]`` from a JSON value (booleans and fractions refused).

    ``limit`` names the server option behind ``high``: going over it is then a 413.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise RequestError(422, f"{field}: expected an integer, got {_json_type(value)}")
    if value > high and limit:
        raise too_large(field, value, high, limit)
    if not low <= value <= high:
        raise RequestError(422, f"{field}: {value} is outside [{low}, {high}]")
    return value


def check_fields(payload: dict[str, Any], allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> None:
    """Refuse unknown and missing fields, by name."""
    unknown = sorted(set(payload) - set(allowed))
    if unknown:
        raise RequestError(422, f"unknown field(s) {', '.join(map(repr, unknown))}; this operation takes "
                                f"{', '.join(map(repr, allowed))}")
    missing = [f for f in required if f not in payload]
    if missing:
        raise RequestError(422, f"missing field(s) {', '.join(map(repr, missing))}")


__all__ = ["UPLOAD_FIELD", "as_array", "as_int", "check_fields", "parse_json_object", "read_npy", "read_payload",
           "read_png", "read_upload"]
