"""The explorer in a real browser (Chromium driven by Playwright): served by ``aekit serve``, and as one file.

Skipped, with the reason printed, only where no Chromium can be found
(CI installs Debian's ``chromium``; AEKIT_CHROMIUM names another executable).
With AEKIT_SCREENSHOT=PATH the served explorer's screenshot is also written
there (the README's ``docs/explorer.png`` is made so).
"""

from __future__ import annotations

import io
import os
import shutil

import numpy as np
import pytest

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (the 'test' extra has it)")


def chromium_path() -> str | None:
    named = os.environ.get("AEKIT_CHROMIUM")
    if named:
        return named
    return next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome", "chrome"))), None)


@pytest.fixture(scope="module")
def browser():
    path = chromium_path()
    if path is None:
        pytest.skip("no Chromium executable found (apt-get install -y chromium, or set AEKIT_CHROMIUM)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    yield page
    context.close()
    assert not errors, errors  # the page's script never threw


def pixels(page, canvas_id: str) -> list[int]:
    """The RGBA bytes of a canvas, read in the page."""
    return page.evaluate(f"""() => {{
        const c = document.getElementById("{canvas_id}");
        return Array.from(c.getContext("2d").getImageData(0, 0, c.width, c.height).data);
    }}""")


def open_served(page, live_server):
    page.goto(live_server + "/")
    page.wait_for_selector("body[data-ready='true']", timeout=30_000)


def test_the_map_draws_every_test_example(page, live_server, limits, adapters, tmp_path):
    open_served(page, live_server)
    assert page.locator("#model option").all_inner_texts()[0] == "vae"  # the first explorable run
    assert int(page.get_attribute("#map", "data-points")) == limits.explorer_points
    drawn = pixels(page, "map")
    assert sum(1 for a in drawn[3::4] if a) > limits.explorer_points  # the dots are on the canvas
    assert page.locator("#legend span").count() == len(set(adapters["vae"].explorer({})["labels"]))
    assert page.locator("#most figure").count() == 8 and not page.locator("#samples-panel").is_hidden()
    # the README's picture: a point decoded and the interpolation half-way
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + 0.45 * box["width"], box["y"] + 0.4 * box["height"])
    page.locator("#slider").fill("5")
    page.wait_for_function("() => document.getElementById('decoded').dataset.state === 'decoded' && "
                           "document.getElementById('t-info').textContent === 't = 0.5'")
    shot = page.screenshot(path=str(tmp_path / "explorer.png"), full_page=True)
    assert shot[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("AEKIT_SCREENSHOT"):  # a 128-colour copy: a third smaller, no visible difference
        from PIL import Image

        Image.open(io.BytesIO(shot)).convert("RGB").quantize(colors=128).save(os.environ["AEKIT_SCREENSHOT"],
                                                                                optimize=True)


def test_a_click_decodes_that_point_with_the_model(page, live_server, adapters):
    open_served(page, live_server)
    box = page.locator("#map").bounding_box()
    with page.expect_response("**/v1/models/vae/decode") as answer:
        page.mouse.click(box["x"] + 0.3 * box["width"], box["y"] + 0.6 * box["height"])
    assert answer.value.status == 200
    page.wait_for_selector("#decoded[data-state='decoded']")
    shown = pixels(page, "decoded")[0::4]  # red channel of a grey image
    assert max(shown) > min(shown)  # an image, not a blank square
    # the image shown is the model's decoding of the code under the pointer
    code = answer.value.request.post_data_json["codes"][0]
    expected = adapters["vae"].model.decode(np.asarray([code], dtype=np.float32))[0, 0]
    scale = 112 // 28
    centre = [shown[(r * scale + scale // 2) * 112 + c * scale + scale // 2] for r in range(28) for c in range(28)]
    assert max(abs(a - round(b * 255)) for a, b in zip(centre, expected.ravel())) <= 1
    assert "decoded at" in page.inner_text("#decoded-info")


def test_the_interpolation_slider_moves_from_a_to_b(page, live_server):
    open_served(page, live_server)
    page.wait_for_selector("#interp[data-state='decoded']")
    start = pixels(page, "interp")
    with page.expect_response("**/v1/models/vae/decode"):
        page.locator("#slider").fill("10")
    page.wait_for_function("() => document.getElementById('t-info').textContent === 't = 1.0'")
    page.wait_for_function("() => Number(document.getElementById('interp').dataset.count) >= 2")
    assert pixels(page, "interp") != start


def test_picking_an_example_sets_an_end_of_the_interpolation(page, live_server):
    open_served(page, live_server)
    first = page.inner_text("#a-info")
    box = page.locator("#map").bounding_box()
    # the map's point 5, where the page itself draws it
    x, y = page.evaluate("""() => {
        const d = window.__aekitExplorer.data, c = document.getElementById('map'), [x0, x1, y0, y1] = d.map.extent;
        const p = d.points[5];
        return [(p[0] - x0) / (x1 - x0) * c.width, (1 - (p[1] - y0) / (y1 - y0)) * c.height];
    }""")
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_function("() => document.getElementById('picked-info').textContent !== 'picked: none'")
    page.click("#set-a")
    assert page.inner_text("#a-info").startswith("A #") and page.inner_text("#a-info") != first


def test_the_self_contained_page_works_offline(page, runs, tmp_path):
    from aekit.serve.cli import write_explorer

    path = write_explorer(runs["vanilla"], tmp_path / "page.html", points=50)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.route("http*://**", lambda route: route.abort())  # no network at all
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-ready='true']", timeout=30_000)
    assert int(page.get_attribute("#map", "data-points")) == 50
    assert page.locator("#samples-panel").is_hidden()  # not a VAE
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector("#decoded[data-state='decoded']")
    assert "from the grid" in page.inner_text("#decoded-info")
    assert all(url.startswith("file:") for url in requests), requests
