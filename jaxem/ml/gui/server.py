"""Local annotation GUI: a static page (``static/index.html``) and a small JSON API on the standard
library's ``ThreadingHTTPServer`` (no web framework needed; bound to 127.0.0.1 by default).

API (all JSON; errors are ``{"error": message}`` with status 400):

* ``GET  /api/entries`` → ``{"entries": [{"key", "structure", "uvw", "images"}]}`` of the database.
* ``POST /api/load`` ``{"entry": key, "image": i}`` or ``{"path": file, "pixel_size": Å}`` → the image
  and its canonical log-FFT as PNG data URLs, ``n``, ``dk`` [1/Å/px], ``target`` (annotation name).
* ``POST /api/detect`` → ``{"spots": [[row, col], …]}`` (U-Net, :func:`jaxem.ml.peaks.detect`).
* ``POST /api/index`` ``{"spots": [[row, col], …]}`` → ``{"grains": [Grain.as_dict()…]}`` against the
  database's tables.
* ``POST /api/save`` ``{"spots", "indexing", "decision", "user"}`` → stores an annotation (pixel and
  nm⁻¹ coordinates, decision, provenance) in the database; ``{"path": …}``.
"""
from __future__ import annotations

import base64
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path

import numpy as np

from ... import validate
from .. import database as db
from ..peaks import CANONICAL_N, canonical_image, peaks_from_probability, probability, to_g
from ..render import CANONICAL_PIXEL, fft_input

DK = 1.0 / (CANONICAL_N * CANONICAL_PIXEL)


def _png(a, lo_pct=1.0, hi_pct=99.7) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    a = np.asarray(a, float)
    lo, hi = np.percentile(a, [lo_pct, hi_pct])
    buf = io.BytesIO()
    plt.imsave(buf, np.clip((a - lo) / max(hi - lo, 1e-12), 0, 1), cmap="gray", format="png")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


class Session:
    """The server's state: database path, current image/FFT, the network (loaded lazily)."""

    def __init__(self, database, weights=None):
        self.database = db.check_database(database)
        self.weights = weights
        self.lock = threading.Lock()
        self.current = None
        self._net = None
        self._cands = None

    def net(self):
        if self._net is None:
            from ..train import load_default, load_weights

            self._net = load_weights(self.weights)[:2] if self.weights else load_default()[:2]
        return self._net

    def cands(self):
        if self._cands is None:
            self._cands = db.load_candidates(self.database)
        return self._cands

    # ------------------------------------------------------------------ API
    def entries(self, _):
        return {"entries": db.index_table(self.database)}

    def load(self, req):
        if "entry" in req:
            e = db.read_entry(self.database, str(req["entry"]))
            if "images" not in e:
                raise validate.InputError(f"entry {req['entry']!r} has no simulated images")
            i = validate.integer(req.get("image", 0), "image", lo=0, hi=len(e["images"]) - 1)
            img = np.asarray(e["images"][i], float)
            target = f"{e['key']}__img{i}"
            dose = _dose(img, None)
        elif "path" in req:
            from ..io_image import read_image

            img, px = read_image(req["path"], req.get("pixel_size"))
            dose = _dose(img, px)
            img = canonical_image(img, px)
            target = Path(str(req["path"])).name
        else:
            raise validate.InputError("load needs 'entry' (database key) or 'path' (image file)")
        x, mag = fft_input(np.asarray(img, np.float32))
        self.current = {"image": img, "x": np.asarray(x), "mag": np.asarray(mag), "target": target, "dose": dose}
        return {"image": _png(img), "fft": _png(np.log1p(np.asarray(mag))), "n": int(img.shape[0]), "dk": DK,
                "target": target}

    def _need(self):
        if self.current is None:
            raise validate.InputError("no image loaded (load an entry or a file first)")
        return self.current

    def detect(self, _):
        cur = self._need()
        config, variables = self.net()
        p = np.asarray(probability(cur["x"][None], config, variables)[0])
        pos, _ = peaks_from_probability(p, cur["mag"], dose=cur.get("dose"))
        return {"spots": np.round(pos, 3).tolist()}

    def index(self, req):
        from ..index import index_spots

        spots = np.asarray(req.get("spots", []), float).reshape(-1, 2)
        grains = index_spots(to_g(spots), self.cands()) if len(spots) else []
        return {"grains": [g.as_dict() for g in grains]}

    def save(self, req):
        cur = self._need()
        spots = np.asarray(req.get("spots", []), float).reshape(-1, 2)
        g = to_g(spots)
        ann = {"spots_px": spots.tolist(), "spots_per_nm": (10.0 * g).tolist(), "dk_per_A": DK,
               "indexing": req.get("indexing"), "decision": req.get("decision"),
               "provenance": {"user": str(req.get("user", "")), "tool": "jaxem ml gui"}}
        return {"path": str(db.save_annotation(self.database, cur["target"], ann))}


def _dose(image, pixel_size):
    """The image's dose per canonical pixel from its shot noise (:func:`jaxem.ml.lattice.effective_dose`), or None
    (no lattice step) for an image that is not in counts."""
    from ..lattice import effective_dose

    try:
        return effective_dose(image, pixel_size)
    except validate.InputError:
        return None


class _Handler(BaseHTTPRequestHandler):
    session: Session = None
    routes = {"/api/load": "load", "/api/detect": "detect", "/api/index": "index", "/api/save": "save"}

    def log_message(self, *args):  # quiet
        pass

    def _send(self, code, body: bytes, ctype="application/json"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path in ("/", "/index.html"):
            html = (resources.files("jaxem.ml.gui") / "static" / "index.html").read_bytes()
            return self._send(200, html, "text/html; charset=utf-8")
        if self.path == "/api/entries":
            return self._call("entries", {})
        self._send(404, b'{"error": "not found"}')

    def do_POST(self):
        name = self.routes.get(self.path)
        if name is None:
            return self._send(404, b'{"error": "not found"}')
        n = int(self.headers.get("Content-Length") or 0)
        try:
            req = json.loads(self.rfile.read(n) or b"{}")
        except ValueError as exc:
            return self._send(400, json.dumps({"error": f"request is not JSON: {exc}"}).encode())
        self._call(name, req)

    def _call(self, name, req):
        try:
            with self.session.lock:
                out = getattr(self.session, name)(req)
            self._send(200, json.dumps(out).encode())
        except (ValueError, TypeError, OSError, KeyError) as exc:
            self._send(400, json.dumps({"error": str(exc)}).encode())


def make_server(database, host: str = "127.0.0.1", port: int = 0, weights=None) -> ThreadingHTTPServer:
    """A ready (not yet serving) server; ``port=0`` picks a free port (``server.server_address``)."""
    session = Session(database, weights)
    handler = type("Handler", (_Handler,), {"session": session})
    return ThreadingHTTPServer((host, int(port)), handler)


def serve(database, host: str = "127.0.0.1", port: int = 8765, weights=None, open_browser: bool = False):
    """Serve until interrupted (``jaxem ml gui``)."""
    srv = make_server(database, host, port, weights)
    url = f"http://{srv.server_address[0]}:{srv.server_address[1]}/"
    print(f"jaxem ml gui: serving {url} (Ctrl-C to stop)", flush=True)
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    try:
        srv.serve_forever()
    finally:
        srv.server_close()
