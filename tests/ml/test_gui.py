"""End to end in real headless Chromium (Debian's, via Playwright): load an FFT, add/remove spots by
clicks, detect, index a known synthetic FFT (Si [110]), accept, save into the database."""
import json
import shutil
import threading

import numpy as np
import pytest

from jaxem.ml import database as db

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")


@pytest.fixture(scope="module")
def server(gui_db):
    from jaxem.ml.gui import make_server

    srv = make_server(gui_db, port=0)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/"
    srv.shutdown()
    srv.server_close()


def test_gui_end_to_end(server, gui_db):
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page()
        page.goto(server)
        page.wait_for_function("document.querySelectorAll('#entry option').length > 0")
        page.select_option("#entry", "ncrystal_Si_sg227__1_1_0")
        page.click("#load")
        page.wait_for_function("window.ffnet.fftImg !== null")
        box = page.locator("#fft").bounding_box()
        scale = box["width"] / 256
        # click two spots (Friedel mates added), exported coordinates match the clicks
        clicks = [(40.25, 77.75), (180.5, 60.0)]  # (row, col) [FFT px]
        for r, c in clicks:
            page.mouse.click(box["x"] + (c + 0.5) * scale, box["y"] + (r + 0.5) * scale)
        exp = json.loads(page.inner_text("#export"))
        spots = np.array([[s["row"], s["col"]] for s in exp["spots"]])
        assert len(spots) == 4
        assert np.abs(spots[[0, 2]] - np.array(clicks)).max() <= 0.5
        assert np.abs(spots[[1, 3]] - (256 - np.array(clicks))).max() <= 0.5
        dk = exp["dk_per_A"]
        kx = np.array([s["kx_per_nm"] for s in exp["spots"]])
        assert np.abs(kx[[0, 2]] - 10 * (np.array(clicks)[:, 1] - 128) * dk).max() <= 10 * 0.5 * dk
        # click on the first spot again: it and its mate are removed
        r, c = clicks[0]
        page.mouse.click(box["x"] + (c + 0.5) * scale, box["y"] + (r + 0.5) * scale)
        assert len(json.loads(page.inner_text("#export"))["spots"]) == 2
        page.click("#clear")
        # detect with the U-Net, index, accept, save
        page.click("#detect")
        page.wait_for_function("document.getElementById('status').textContent.startsWith('detected')", timeout=240000)
        page.click("#index")
        page.wait_for_function("document.getElementById('status').textContent.startsWith('indexed')", timeout=240000)
        assert "ncrystal:Si_sg227" in page.inner_text("#grain0 .phase")
        assert page.inner_text("#grain0 .uvw") == "[1 1 0]"
        page.click("#accept")
        page.click("#save")
        page.wait_for_function("document.getElementById('status').textContent.startsWith('saved')")
        browser.close()
    anns = db.annotations(gui_db, "ncrystal_Si_sg227__1_1_0__img0")
    assert anns and anns[-1]["decision"] == "accepted"
    assert anns[-1]["indexing"][0]["uvw"] == [1, 1, 0]
    assert len(anns[-1]["spots_px"]) >= 4 and anns[-1]["provenance"]["tool"] == "jaxem ml gui"
