"""``aekit serve`` (the REST service and explorer) and ``aekit explore`` (the explorer as one HTML file)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from aekit.config import Config, Output, Positional, Range
from aekit.serve.limits import BATCH, BYTES, PIXELS, POINTS, ServeLimits

PORT = Range(0, 65535, integer=True)


@dataclass
class ServeOptions(Config):
    """``aekit serve RUN [RUN ...]``: serve runs over HTTP, with the explorer at ``/``."""

    runs: Annotated[tuple[str, ...], Positional("RUN")] = ()  # run directories to serve, each PATH or NAME=PATH
    host: str = "127.0.0.1"  # address to bind (default: this machine only; 0.0.0.0 opens it to the network)
    port: Annotated[int, PORT] = 8000  # TCP port (0: any free port)
    max_body_bytes: Annotated[int, BYTES] = 8 << 20  # largest request body, in bytes
    max_batch: Annotated[int, BATCH] = 256  # most rows in one request
    max_image_pixels: Annotated[int, PIXELS] = 1 << 20  # largest uploaded PNG, width x height
    explorer_points: Annotated[int, POINTS] = 1000  # test examples on the explorer's map
    log_level: str = "info"  # uvicorn's log level: critical, error, warning, info, debug

    def limits(self) -> ServeLimits:
        return ServeLimits(max_body_bytes=self.max_body_bytes, max_batch=self.max_batch,
                           max_image_pixels=self.max_image_pixels, explorer_points=self.explorer_points)


def serve_command(cfg: ServeOptions, console: Any) -> int:
    """Load every run, then answer HTTP requests until interrupted."""
    import uvicorn

    from aekit.serve.app import create_app, load_adapters

    limits = cfg.limits()
    adapters = load_adapters(cfg.runs, limits)
    for adapter in adapters:
        console.print(f"serving {adapter.name!r} ({adapter.run.config.kind}, {adapter.run.config.model_name}): "
                      f"{', '.join(adapter.operations())}", markup=False, highlight=False)
    console.print(f"explorer: http://{cfg.host}:{cfg.port}/   API docs: http://{cfg.host}:{cfg.port}/docs",
                  markup=False, highlight=False)
    uvicorn.run(create_app(adapters, limits), host=cfg.host, port=cfg.port, log_level=cfg.log_level)
    return 0


@dataclass
class ExploreOptions(Config):
    """``aekit explore RUN --out page.html``: the explorer of a run as one self-contained HTML file."""

    run: Annotated[str, Positional("RUN")]  # an autoencoder run directory (aekit train)
    out: Annotated[str, Output()] = "explorer.html"  # HTML file to write (replaced only once complete)
    points: Annotated[int, POINTS] = 1000  # test examples on the map


def write_explorer(run: str | Path, out: str | Path, points: int = 1000) -> Path:
    """Write the self-contained explorer page of ``run`` to ``out`` (atomically; a failed write keeps the old file)."""
    from aekit.io import atomic_write_bytes
    from aekit.runs.saved import load_run
    from aekit.serve.adapters import adapter_for
    from aekit.serve.explorer import explorer_page
    from aekit.serve.limits import ServeLimits

    loaded = load_run(run)
    adapter = adapter_for(Path(run).resolve().name, loaded, ServeLimits(explorer_points=points))
    if "explorer" not in adapter.operations():
        from aekit.errors import RunError

        raise RunError(f"{run}: a {loaded.kind} run; the explorer shows autoencoder runs (aekit train)")
    return atomic_write_bytes(out, explorer_page(adapter.explorer({})).encode())


def explore_command(cfg: ExploreOptions, console: Any) -> int:
    """Write the page; print its path."""
    from aekit.errors import RunError
    from aekit.serve.limits import RequestError

    try:
        path = write_explorer(cfg.run, cfg.out, cfg.points)
    except RequestError as err:  # the run's data could not be loaded
        raise RunError(err.message) from None
    console.print(str(path), markup=False, highlight=False)
    return 0


__all__ = ["ExploreOptions", "ServeOptions", "explore_command", "serve_command", "write_explorer"]
