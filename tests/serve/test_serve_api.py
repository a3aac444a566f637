"""Every endpoint of ``aekit serve`` answers with the model's own results, and every bad request with a 4xx naming it."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest

import aekit.recommend as rec
from aekit.anomaly import AnomalyScorer, threshold_from_contamination
from aekit.runs.autoencoder import load_run_data


def post(client, name, operation, **kw):
    return client.post(f"/v1/models/{name}/{operation}", **kw)


@pytest.fixture(scope="module")
def rows(adapters):
    return adapters["vae"].data().x_test[:5]  # (5, 1, 28, 28) in [0, 1]


def npy(array) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def png(pixels: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


# ------------------------------------------------------------------------------ answers
def test_health_and_the_list_of_models_with_what_each_offers(client):
    assert client.get("/healthz").json() == {"status": "ok", "models": 4}
    models = {m["name"]: m for m in client.get("/v1/models").json()["models"]}
    assert models["vae"]["operations"] == ["encode", "decode", "reconstruct", "score", "sample", "explorer"]
    assert "sample" not in models["vanilla"]["operations"]
    assert models["recs"]["operations"] == ["recommend"]
    assert models["vae"]["code_shape"] == [2] and models["vanilla"]["code_shape"] == [8]


def test_encode_decode_reconstruct_equal_the_models_own(client, adapters, rows):
    model = adapters["vanilla"].model
    codes = post(client, "vanilla", "encode", json={"inputs": rows.tolist()}).json()
    np.testing.assert_allclose(codes["codes"], model.encode(rows), rtol=1e-5, atol=1e-6)
    flat = post(client, "vanilla", "encode", json={"inputs": rows.reshape(5, -1).tolist()}).json()
    assert flat["codes"] == codes["codes"] and flat["shape"] == [5, 8]
    out = post(client, "vanilla", "decode", json={"codes": codes["codes"]}).json()
    np.testing.assert_allclose(out["outputs"], model.decode(np.asarray(codes["codes"], np.float32)), atol=1e-6)
    recon = post(client, "vanilla", "reconstruct", json={"inputs": rows.tolist()}).json()
    np.testing.assert_allclose(recon["outputs"], model.reconstruct(rows), atol=1e-6)
    assert recon["shape"] == [5, 1, 28, 28]


def test_score_flags_rows_above_the_training_threshold(client, adapters, runs, limits):
    data = load_run_data(adapters["vanilla"].run.config.data)
    scorer = AnomalyScorer(adapters["vanilla"].model, score="mse").fit(data.x_train[:2000])
    threshold = threshold_from_contamination(scorer.score(data.x_train[:2000]), limits.contamination)
    white = np.ones((3, 1, 28, 28), dtype=np.float32)  # unlike any garment
    x = np.concatenate([data.x_test[:5], white])
    answer = post(client, "vanilla", "score", json={"inputs": x.tolist()}).json()
    np.testing.assert_allclose(answer["scores"], scorer.score(x), rtol=1e-5)
    assert answer["threshold"] == pytest.approx(threshold)
    assert answer["flags"] == [s > threshold for s in answer["scores"]]
    assert answer["flags"][-3:] == [True, True, True]


def test_sample_is_seeded_and_sized(client):
    one = post(client, "vae", "sample", json={"n": 3, "seed": 7}).json()
    again = post(client, "vae", "sample", json={"n": 3, "seed": 7}).json()
    other = post(client, "vae", "sample", json={"n": 3, "seed": 8}).json()
    assert one["shape"] == [3, 1, 28, 28] and one["outputs"] == again["outputs"] and one["outputs"] != other["outputs"]


def test_recommend_by_user_and_by_items_equal_the_library(client, adapters):
    run = adapters["recs"].run
    user, items = run.state.user_ids[0].item(), run.state.item_ids[:3].tolist()
    by_user = post(client, "recs", "recommend", json={"user": user, "k": 5}).json()["items"]
    assert [(i["item"], pytest.approx(i["score"])) for i in by_user] == rec.recommend(run, user, k=5)
    by_items = post(client, "recs", "recommend", json={"items": items, "k": 4}).json()["items"]
    assert [i["item"] for i in by_items] == [i for i, _ in rec.recommend_for_items(run, items, k=4)]
    assert not set(items) & {i["item"] for i in by_items}


def test_npy_and_png_uploads_equal_json(client, rows):
    as_json = post(client, "vae", "encode", json={"inputs": rows.tolist()}).json()["codes"]
    raw = post(client, "vae", "encode", content=npy(rows), headers={"content-type": "application/x-npy"})
    assert raw.status_code == 200, raw.text
    raw = raw.json()
    form = post(client, "vae", "encode", files={"file": ("x.npy", npy(rows.astype(np.float64)))}).json()
    assert raw["codes"] == as_json and np.allclose(form["codes"], as_json, atol=1e-6)
    pixels = np.round(rows[0, 0] * 255).astype(np.uint8)
    by_png = post(client, "vae", "encode", content=png(pixels), headers={"content-type": "image/png"}).json()
    expected = post(client, "vae", "encode", json={"inputs": [[(pixels / 255.0).tolist()]]}).json()
    np.testing.assert_allclose(by_png["codes"], expected["codes"], atol=1e-6)


def test_explorer_data(client, limits):
    POINTS = limits.explorer_points
    vae = client.get("/v1/models/vae/explorer").json()
    assert len(vae["points"]) == POINTS and len(vae["labels"]) == POINTS and vae["map"]["method"] == "code"
    assert vae["grid"]["size"] ** 2 * 784 * 4 / 3 == pytest.approx(len(vae["grid"]["images"]), abs=4)
    assert vae["samples"] and len(vae["classes"]) == 10
    plain = client.get("/v1/models/vanilla/explorer").json()
    assert plain["map"]["method"] == "pca" and "samples" not in plain and len(plain["codes"][0]) == 8
    most, least = plain["anomaly"]["most"], plain["anomaly"]["least"]
    assert min(m["score"] for m in most) >= max(m["score"] for m in least)
    codes = np.asarray(plain["codes"])
    mapped = (codes - plain["map"]["mean"]) @ np.asarray(plain["map"]["components"]).T
    np.testing.assert_allclose(mapped, plain["points"], atol=1e-3)  # the map is the PCA of the codes
    x0, x1, y0, y1 = plain["map"]["extent"]
    assert all(x0 <= x <= x1 and y0 <= y <= y1 for x, y in plain["points"])
    assert client.get("/").text.count("<canvas") >= 6 and "http" not in client.get("/").text.split("<body>")[1]


def test_a_conditional_model_takes_labels_and_the_explorer_decodes_one_class(client, adapters):
    model = adapters["cvae"].model
    z, labels = np.array([[0.0, 0.5], [1.0, -1.0]], np.float32), [3, 7]
    out = post(client, "cvae", "decode", json={"codes": z.tolist(), "labels": labels}).json()["outputs"]
    np.testing.assert_allclose(out, model.decode(z, np.array(labels)), atol=1e-6)
    assert np.abs(np.subtract(out[0], model.decode(z[:1], np.array([4]))[0])).max() > 1e-4  # the label matters
    refused = post(client, "cvae", "decode", json={"codes": z.tolist()})
    assert refused.status_code == 422 and "conditioned on 10 classes" in refused.json()["error"]
    assert post(client, "cvae", "decode", json={"codes": z.tolist(), "labels": [3, 10]}).status_code == 422
    assert "score" not in adapters["cvae"].operations()  # anomaly scores need an unconditional model
    explorer = client.get("/v1/models/cvae/explorer").json()
    assert explorer["condition"] == 0 and "anomaly" not in explorer and "samples" not in explorer


def test_openapi_documents_every_operation(client):
    paths = client.get("/openapi.json").json()["paths"]
    for operation in ("encode", "decode", "reconstruct", "score", "sample", "recommend"):
        body = paths[f"/v1/models/{{name}}/{operation}"]["post"]["requestBody"]["content"]
        assert "application/json" in body
    assert "image/png" in paths["/v1/models/{name}/encode"]["post"]["requestBody"]["content"]


def test_docs_page_loads_swagger_ui_from_the_server_not_a_cdn(client):
    html = client.get("/docs").text
    scripts = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert scripts and all(url.startswith("/docs-static/") for url in scripts), scripts
    for url in scripts:  # every asset the page names is served, and is what it claims to be
        response = client.get(url)
        assert response.status_code == 200 and len(response.content) > 100, url
    assert "SwaggerUIBundle" in client.get("/docs-static/swagger-ui-bundle.js").text
    assert "/openapi.json" in html


# ------------------------------------------------------------------------------ refusals
JSON = {"content-type": "application/json"}
ROW = "[" + ",".join(["0.5"] * 784) + "]"
REFUSALS = [
    # (model, operation, body, headers, status, words the message must hold)
    ("vae", "encode", b'{"inputs": [[0.1, 0.2', JSON, 400, ["malformed JSON", "line 1"]),
    ("vae", "encode", b'{"inputs": "\xff"}', JSON, 400, ["not UTF-8"]),
    ("vae", "encode", ("[" * 100000).encode(), JSON, 400, ["JSON"]),
    ("vae", "encode", b"[1, 2]", JSON, 422, ["JSON object"]),
    ("vae", "encode", b'{"inputs": 3}', JSON, 422, ["inputs", "array"]),
    ("vae", "encode", ('{"inputs": [' + ROW[:-1] + ', NaN]]}').encode(), JSON, 422, ["inputs", "nan", "(0, 784)"]),
    ("vae", "encode", ('{"inputs": [' + ROW + "," + ROW.replace("0.5", "Infinity", 1) + "]}").encode(), JSON, 422,
     ["inf", "(1, 0)"]),
    ("vae", "encode", b'{"inputs": [[0.1, "x"]]}', JSON, 422, ["string", "(0, 1)"]),
    ("vae", "encode", b'{"inputs": [[0.1, true]]}', JSON, 422, ["boolean", "(0, 1)"]),
    ("vae", "encode", b'{"inputs": [[0.1, null]]}', JSON, 422, ["null", "(0, 1)"]),
    ("vae", "encode", b'{"inputs": [[0.1, 0.2], [0.3]]}', JSON, 422, ["ragged"]),
    ("vae", "encode", b'{"inputs": [[0.1, 0.2, 0.3]]}', JSON, 422, ["shape (1, 3)", "(1, 28, 28)"]),
    ("vae", "encode", b'{"inputs": [' + ROW.replace("0.5", "1e300", 1).encode() + b"]}", JSON, 422, ["float32"]),
    ("vae", "encode", b'{"inputs": [' + ROW.replace("0.5", "3.0", 1).encode() + b"]}", JSON, 422, ["[0, 1]"]),
    ("vae", "encode", b'{"inputs": [' + ROW.encode() + b'], "extra": 1}', JSON, 422, ["unknown field", "extra"]),
    ("vae", "encode", b"{}", JSON, 422, ["missing", "inputs"]),
    ("vae", "encode", b'{"inputs": [' + ",".join([ROW] * 65).encode() + b"]}", JSON, 413, ["65", "64", "--max-batch"]),
    ("vae", "decode", b'{"codes": [[0.1, 0.2, 0.3]]}', JSON, 422, ["codes", "(1, 3)", "(2,)"]),
    ("vae", "encode", b"hello", {"content-type": "text/plain"}, 415, ["text/plain"]),
    ("vae", "encode", npy(np.array([["a"]])), {"content-type": "application/x-npy"}, 422, ["dtype", "<U1"]),
    ("vae", "encode", npy(np.ones((1, 784), complex)), {"content-type": "application/x-npy"}, 422, ["complex"]),
    ("vae", "encode", npy(np.array([None, 1], dtype=object)), {"content-type": "application/x-npy"}, 422,
     ["never unpickles"]),
    ("vae", "encode", b"\x93NUMPY garbage", {"content-type": "application/x-npy"}, 422, ["not a .npy"]),
    ("vae", "encode", png(np.zeros((32, 32), np.uint8)), {"content-type": "image/png"}, 422, ["(1, 1, 32, 32)"]),
    ("vae", "encode", png(np.zeros((100, 100), np.uint8)), {"content-type": "image/png"}, 413,
     ["100x100", "--max-image-pixels"]),
    ("vae", "encode", b"\x89PNG\r\n\x1a\nnot really", {"content-type": "image/png"}, 422, ["PNG"]),
    ("vae", "sample", b'{"n": 0}', JSON, 422, ["n", "[1, 64]"]),
    ("vae", "sample", b'{"n": 65}', JSON, 413, ["n", "--max-batch"]),
    ("vae", "sample", b'{"n": 2, "seed": -1}', JSON, 422, ["seed"]),
    ("vae", "sample", b'{"n": 1.5}', JSON, 422, ["n", "integer"]),
    ("vanilla", "sample", b"{}", JSON, 404, ["does not offer 'sample'", "encode"]),
    ("recs", "encode", b"{}", JSON, 404, ["does not offer 'encode'", "recommend"]),
    ("nope", "encode", b"{}", JSON, 404, ["unknown model 'nope'", "vae"]),
    ("recs", "recommend", b'{"user": "no-such-user"}', JSON, 422, ["unknown user", "no-such-user"]),
    ("recs", "recommend", b'{"items": ["x-item"]}', JSON, 422, ["unknown item"]),
    ("recs", "recommend", b'{"user": 0, "items": [1]}', JSON, 422, ["either 'user'"]),
    ("recs", "recommend", b'{"user": 0, "k": true}', JSON, 422, ["k", "integer"]),
    ("recs", "recommend", b'{"items": [0, 1], "ratings": [5]}', JSON, 422, ["ratings", "2 numbers"]),
]


@pytest.mark.parametrize("model, operation, body, headers, status, words", REFUSALS,
                         ids=[f"{r[1]}-{i}" for i, r in enumerate(REFUSALS)])
def test_refusals_are_4xx_naming_the_problem(client, model, operation, body, headers, status, words):
    answer = post(client, model, operation, content=body, headers=headers)
    assert answer.status_code == status, answer.text
    message = answer.json()["error"]
    assert all(w.lower() in message.lower() for w in words), message


def test_bodies_over_the_limit_are_refused_declared_or_streamed(client, limits):
    big = b'{"inputs": [' + b"0.5," * (limits.max_body_bytes // 4) + b"0.5]}"
    declared = post(client, "vae", "encode", content=big, headers=JSON)
    chunks = (big[i:i + 65536] for i in range(0, len(big), 65536))  # no Content-Length: chunked transfer
    streamed = post(client, "vae", "encode", content=chunks, headers=JSON)
    for answer in (declared, streamed):
        assert answer.status_code == 413 and "--max-body-bytes" in answer.json()["error"]


def test_unknown_routes_and_methods_answer_json(client):
    assert client.get("/v1/nothing").status_code == 404 and "error" in client.get("/v1/nothing").json()
    wrong = client.get("/v1/models/vae/encode")
    assert wrong.status_code == 405 and "GET" in wrong.json()["error"]


def test_an_unexpected_error_is_a_500_and_the_server_goes_on(client, adapters, monkeypatch, rows):
    monkeypatch.setattr(adapters["vae"], "encode", lambda payload: 1 / 0)
    broken = post(client, "vae", "encode", json={"inputs": rows.tolist()})
    assert broken.status_code == 500 and "ZeroDivisionError" in broken.json()["error"]
    monkeypatch.undo()
    assert post(client, "vae", "encode", json={"inputs": rows.tolist()}).status_code == 200


def test_a_flood_of_malformed_requests_leaves_the_server_answering(client, rows):
    statuses = []
    for i in range(400):
        model, operation, body, headers, _, _ = REFUSALS[i % len(REFUSALS)]
        statuses.append(post(client, model, operation, content=body, headers=headers).status_code)
    assert set(statuses) <= {400, 404, 413, 415, 422}
    good = post(client, "vae", "encode", json={"inputs": rows.tolist()})
    assert good.status_code == 200 and good.json()["shape"] == [5, 2]
