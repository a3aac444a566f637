"""The FastAPI app of ``aekit serve``: one route per operation, refusals as 4xx JSON, the explorer at ``/``.

Routes
------
``GET /healthz``, ``GET /v1/models`` (each run with its operations),
``POST /v1/models/{name}/{operation}`` for ``encode``, ``decode``,
``reconstruct``, ``score``, ``sample`` and ``recommend`` (JSON objects, or a
``.npy``/``.png`` upload as the raw body or the multipart field ``file``),
``GET /v1/models/{name}/explorer`` (the explorer's data), ``GET /`` (the
explorer page), ``/openapi.json`` and ``/docs`` (Swagger UI, served
from the installed ``swagger-ui-bundle``: no CDN).

Every refusal is ``{"error": message}`` with a 4xx status: 400 malformed
JSON, 404 unknown model or operation, 413 over a limit, 415 an unaccepted
content type, 422 a field of the wrong shape, dtype or value (a NaN by its
index). An unexpected exception is a 500 with its type named, logged, and the
server goes on answering.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any, Optional, Sequence

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException

from aekit._version import __version__
from aekit.errors import InputError
from aekit.serve.adapters import UPLOADS, Adapter
from aekit.serve.inputs import read_payload
from aekit.serve.limits import BodyLimit, RequestError, ServeLimits

LOG = logging.getLogger("aekit.serve")

_FIELDS = {
    "encode": {"inputs": "rows (N, *input_shape) or (N, input_size); molecule runs: 'smiles', a list of SMILES",
               "labels": "class labels (N,), conditional models only"},
    "decode": {"codes": "codes (N, *code_shape) or (N, code_size)", "labels": "class labels, conditional models only"},
    "reconstruct": {"inputs": "rows (N, *input_shape) or (N, input_size)", "labels": "conditional models only"},
    "score": {"inputs": "rows (N, *input_shape) or (N, input_size)"},
    "sample": {"n": "how many (default 16)", "seed": "seeds the draws (optional)"},
    "recommend": {"user": "a known user id", "items": "or: item ids of a new user", "ratings": "their ratings (optional)",
                  "k": "list length (default 10)", "exclude_seen": "leave out the user's items (default true)"},
}
_SUMMARIES = {
    "encode": "Codes of rows (or SMILES)", "decode": "Data-space outputs of codes",
    "reconstruct": "Rows encoded and decoded", "score": "Anomaly scores and flags (MSE; threshold from training rows)",
    "sample": "Draws from the prior (VAEs, the SMILES VAE)", "recommend": "Top-k items by user id or for a list of items",
}


def _request_body(operation: str) -> dict[str, Any]:
    """The OpenAPI description of an operation's body: a JSON object, and uploads where arrays are taken."""
    schema = {"type": "object", "properties": {k: {"description": v} for k, v in _FIELDS[operation].items()}}
    content: dict[str, Any] = {"application/json": {"schema": schema}}
    if operation in UPLOADS:
        binary = {"type": "string", "format": "binary"}
        content.update({"application/x-npy": {"schema": binary}, "image/png": {"schema": binary},
                        "multipart/form-data": {"schema": {"type": "object", "properties": {"file": binary}}}})
    return {"requestBody": {"required": operation != "sample", "content": content}}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestError)
    async def refused(request: Request, err: RequestError) -> JSONResponse:
        return _error(err.status, err.message)

    @app.exception_handler(InputError)
    async def bad_input(request: Request, err: InputError) -> JSONResponse:
        return _error(422, str(err))  # aekit's own checks: names the field, shape, index or value

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, err: HTTPException) -> JSONResponse:
        return _error(err.status_code, f"{request.method} {request.url.path}: {err.detail}")

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, err: RequestValidationError) -> JSONResponse:
        where = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        return _error(422, where)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, err: Exception) -> JSONResponse:
        LOG.exception("unexpected error answering %s %s", request.method, request.url.path)
        return _error(500, f"internal error ({type(err).__name__}); the server goes on answering")


def _worker(limiter: anyio.CapacityLimiter) -> Any:
    """Run a model call in a worker thread, at most ``limiter``'s tokens at once (the event loop keeps answering).

    As many model calls as cores run together (starlette's default pool would
    run 40): more threads than cores only contend for the cores and the GIL.
    """

    async def run(fn: Any, *args: Any) -> Any:
        return await anyio.to_thread.run_sync(fn, *args, limiter=limiter)

    return run


def create_app(adapters: Sequence[Adapter], limits: Optional[ServeLimits] = None) -> FastAPI:
    """The app serving ``adapters`` (one per run, by name) under ``limits``.

    Parameters
    ----------
    adapters : sequence of Adapter
        From :func:`aekit.serve.adapters.adapter_for` (or :func:`load_adapters`).
    limits : ServeLimits, optional
        Default: :class:`ServeLimits`'s defaults.

    Returns
    -------
    fastapi.FastAPI
    """
    limits = limits or ServeLimits()
    served = {a.name: a for a in adapters}
    app = FastAPI(title="aekit serve", version=__version__, docs_url=None, redoc_url=None,
                  description="Autoencoder runs over HTTP: encode, decode, reconstruct, score, sample, recommend.")
    _install_docs(app)
    app.add_middleware(BodyLimit, limit=limits.max_body_bytes)
    _install_handlers(app)
    run = _worker(anyio.CapacityLimiter(max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                                else os.cpu_count() or 1)))

    def find(name: str) -> Adapter:
        if name not in served:
            raise RequestError(404, f"unknown model {name!r}; this server has: {', '.join(served) or 'none'}")
        return served[name]

    @app.get("/healthz", summary="Liveness: the server answers")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "models": len(served)}

    @app.get("/v1/models", summary="The served runs and the operations each offers")
    def models() -> dict[str, Any]:
        return {"models": [a.info() for a in served.values()],
                "limits": limits.to_dict()}

    @app.get("/v1/models/{name}/explorer", summary="The explorer's data for an autoencoder run")
    async def explorer(name: str) -> JSONResponse:
        return JSONResponse(await run(find(name).call, "explorer", {}))

    for operation in _FIELDS:
        _add_operation(app, operation, find, limits, run)

    @app.get("/", response_class=HTMLResponse, summary="The latent-space explorer")
    def page() -> HTMLResponse:
        from aekit.serve.explorer import explorer_page

        return HTMLResponse(explorer_page())

    return app


def _install_docs(app: FastAPI) -> None:
    """``/docs``: Swagger UI from the pinned ``swagger-ui-bundle`` package, not a CDN, so it works offline."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    app.mount("/docs-static", StaticFiles(directory=str(swagger_ui_path)), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url, title="aekit serve: API",
                                   swagger_js_url="/docs-static/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-static/swagger-ui.css",
                                   swagger_favicon_url="/docs-static/favicon-32x32.png")


def _add_operation(app: FastAPI, operation: str, find: Any, limits: ServeLimits, run: Any) -> None:
    async def handle(name: str, request: Request) -> JSONResponse:
        adapter = find(name)
        payload = await read_payload(request, limits, UPLOADS.get(operation, ""))
        return JSONResponse(await run(adapter.call, operation, payload))

    app.add_api_route(f"/v1/models/{{name}}/{operation}", handle, methods=["POST"], summary=_SUMMARIES[operation],
                      name=operation, openapi_extra=_request_body(operation))


def load_adapters(runs: Sequence[str], limits: ServeLimits) -> list[Adapter]:
    """One adapter per run directory: ``PATH`` (named by its folder) or ``NAME=PATH``; names must differ."""
    from pathlib import Path

    from aekit.errors import ConfigError
    from aekit.runs.saved import load_run
    from aekit.serve.adapters import adapter_for

    adapters: dict[str, Adapter] = {}
    for spec in runs:
        name, _, path = spec.partition("=") if "=" in spec else ("", "", spec)
        name = name or Path(path).resolve().name
        if not re.fullmatch(r"[A-Za-z0-9._-]+", name):
            raise ConfigError(f"RUN: {name!r} cannot name a model in a URL; use letters, digits, '.', '_', '-' "
                              "(NAME=PATH)")
        if name in adapters:
            raise ConfigError(f"RUN: two runs named {name!r}; name them apart as NAME=PATH")
        adapters[name] = adapter_for(name, load_run(path), limits)
    if not adapters:
        raise ConfigError("RUN: give at least one run directory to serve")
    return list(adapters.values())


__all__ = ["create_app", "load_adapters"]
