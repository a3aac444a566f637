"""``aekit serve`` over a real socket: uvicorn on 127.0.0.1, garbage and floods answered, the CLI's defaults."""

from __future__ import annotations

import socket
from urllib.parse import urlparse

import httpx
import numpy as np
import pytest

from aekit.cli import main


def test_garbage_bytes_and_a_flood_of_bad_requests_leave_the_server_answering(live_server, adapters):
    address = urlparse(live_server)
    for garbage in (b"\x00\x01\x02 not http at all\r\n\r\n", b"POST /v1/models/vae/encode HTTP/1.1\r\nContent-Length: x\r\n\r\n"):
        with socket.create_connection((address.hostname, address.port), timeout=10) as raw:
            raw.sendall(garbage)
            assert raw.recv(4096).startswith(b"HTTP/1.1 4")  # uvicorn refuses what is not HTTP
    bad = [(b'{"inputs": [[NaN]]}', "application/json"), (b"{", "application/json"), (b"\x93NUMPY", "application/x-npy"),
           (b"\x89PNG", "image/png"), (b"x", "text/plain"), (b'{"codes": "z"}', "application/json")]
    with httpx.Client(base_url=live_server, timeout=30) as client:
        statuses = {client.post("/v1/models/vae/encode", content=body, headers={"content-type": kind}).status_code
                    for _ in range(50) for body, kind in bad}
        assert statuses <= {400, 413, 415, 422}
        rows = adapters["vae"].data().x_test[:2]
        good = client.post("/v1/models/vae/encode", json={"inputs": rows.tolist()})
        assert good.status_code == 200
        np.testing.assert_allclose(good.json()["codes"], adapters["vae"].model.encode(rows), atol=1e-6)
        assert client.get("/healthz").json()["status"] == "ok"


def cli(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_serve_binds_to_localhost_by_default_and_takes_several_runs(capsys, runs):
    status, out, _ = cli(capsys, "serve", runs["vae"], f"b={runs['recs']}", "--print-config")
    assert status == 0 and "host: 127.0.0.1" in out and "port: 8000" in out and "b=" in out


@pytest.mark.parametrize("argv, words", [
    (["serve"], ["at least one run"]),
    (["serve", "/no/such/run"], ["not an aekit run directory"]),
    (["serve", "{vae}", "{vae}"], ["two runs named 'vae'", "NAME=PATH"]),
    (["serve", "a/b={vae}"], ["cannot name a model"]),
    (["explore", "{recs}", "--out", "{tmp}/x.html"], ["recommender run", "autoencoder"]),
])
def test_the_commands_refuse_bad_runs_by_name(capsys, runs, tmp_path, argv, words):
    argv = [a.format(vae=runs["vae"], recs=runs["recs"], tmp=tmp_path) for a in argv]
    status, _, err = cli(capsys, *argv)
    assert status == 2 and all(w in err for w in words), err
    assert not (tmp_path / "x.html").exists()


def test_explore_writes_one_self_contained_page(capsys, runs, tmp_path):
    out = tmp_path / "page.html"
    out.write_text("previous")
    status, printed, _ = cli(capsys, "explore", runs["vae"], "--out", out, "--points", "40")
    text = out.read_text()
    assert status == 0 and str(out) in printed
    assert '"points":[[' in text and text.count("],[") >= 39  # the data is inline
    assert "<script src" not in text and "<link" not in text and "https://" not in text  # nothing from elsewhere
