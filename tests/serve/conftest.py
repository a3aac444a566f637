"""Tiny trained runs and a live server on 127.0.0.1, shared by the ``aekit serve`` tests."""

from __future__ import annotations

import socket
import threading
import time

import pytest

import aekit

POINTS = 120  # test examples on the explorer's map in these tests
# enough training to decode garment-like blobs (the browser tests compare decoded images), a few seconds on 2 cores
TINY = dict(progress=False, figures=False, epochs=3, hidden=(64,), train_size=2000, test_size=POINTS, seed=0, lr=5e-3,
            batch_size=64)


@pytest.fixture(scope="session")
def runs(tmp_path_factory):
    """A 2-D VAE, an 8-D plain autoencoder, a click recommender and a conditional VAE, each trained briefly."""
    import aekit.recommend as rec

    root = tmp_path_factory.mktemp("serve-runs")
    aekit.train_run("vae", "fashion-mnist-sample", root / "vae", latent_dim=2, **TINY)
    aekit.train_run("vanilla", "fashion-mnist-sample", root / "vanilla", latent_dim=8, **TINY)
    aekit.train_run("vae", "fashion-mnist-sample", root / "cvae", latent_dim=2, num_classes=10,
                    **{**TINY, "epochs": 1, "train_size": 300})  # conditional on the class
    ratings = rec.synthetic_ratings(n_users=120, n_items=30, mean_items=8, seed=1).ratings
    rec.train(ratings, "mult-dae", epochs=1, out=root / "recs", figures=False, hidden=(16,), latent_dim=4)
    return {name: root / name for name in ("vae", "vanilla", "recs", "cvae")}


@pytest.fixture(scope="session")
def limits():
    pytest.importorskip("fastapi", reason="aekit serve needs the 'serve' extra (pip install aekit[serve])")
    from aekit.serve.limits import ServeLimits

    return ServeLimits(max_body_bytes=1 << 20, max_batch=64, max_image_pixels=64 * 64, explorer_points=POINTS)


@pytest.fixture(scope="session")
def adapters(runs, limits):
    from aekit.serve.app import load_adapters

    return {a.name: a for a in load_adapters([str(p) for p in runs.values()], limits)}


@pytest.fixture(scope="session")
def app(adapters, limits):
    from aekit.serve.app import create_app

    return create_app(list(adapters.values()), limits)


@pytest.fixture(scope="session")
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(app):
    """The app under uvicorn in a thread, on a free 127.0.0.1 port; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start within 30 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
