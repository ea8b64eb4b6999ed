"""The demo gallery: runs every section in ``jaxem/cli/sections`` and writes ``index.html``.

A section module defines ``TITLE`` (str), ``ORDER`` (int, sort key) and ``run(ctx)``. Inside
``run`` it calls ``ctx.text(html)``, ``ctx.figure(name, fig)``, ``ctx.table(header, rows)`` and
``ctx.data(name, measurement)``. A failing section is reported in the page and in the exit status,
and does not stop the others. The whole gallery is built in a temporary folder that replaces the output folder in one step.
"""
from __future__ import annotations

import html
import importlib
import pkgutil
import time
import traceback
from pathlib import Path

from ..io import save
from . import sections


class SectionContext:
    def __init__(self, out: Path, key: str, size: str, progress=None):
        self.out, self.key, self.size = out, key, size
        self.blocks: list[str] = []
        self.progress = progress
        (out / "figures").mkdir(parents=True, exist_ok=True)
        (out / "data").mkdir(parents=True, exist_ok=True)

    @property
    def small(self) -> bool:
        return self.size == "small"

    def text(self, content: str) -> None:
        self.blocks.append(f"<div class='text'>{content}</div>")

    def figure(self, name: str, fig, caption: str = "") -> Path:
        import matplotlib.pyplot as plt
        from ..io.atomic import atomic_path

        path = self.out / "figures" / f"{self.key}_{name}.png"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
        plt.close(fig)
        rel = path.relative_to(self.out).as_posix()
        self.blocks.append(
            f"<figure><img src='{rel}' alt='{html.escape(name)}'><figcaption>{html.escape(caption)}"
            f"</figcaption></figure>"
        )
        return path

    def table(self, header, rows, caption: str = "") -> None:
        head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in r) + "</tr>" for r in rows)
        cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
        self.blocks.append(f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")

    def data(self, name: str, measurement, fmt: str = "zarr") -> Path:
        path = self.out / "data" / f"{self.key}_{name}.{ 'zarr' if fmt == 'zarr' else 'h5'}"
        save(measurement, path)
        rel = path.relative_to(self.out).as_posix()
        self.blocks.append(f"<p class='data'>data: <a href='{rel}'>{rel}</a></p>")
        return path


def _fmt(c) -> str:
    if isinstance(c, float):
        return f"{c:.4g}"
    return str(c)


def discover_sections(only=None):
    mods = []
    for info in pkgutil.iter_modules(sections.__path__):
        if only and not any(o in info.name for o in only):
            continue
        m = importlib.import_module(f"{sections.__name__}.{info.name}")
        if hasattr(m, "run") and hasattr(m, "TITLE"):
            mods.append((getattr(m, "ORDER", 100), info.name, m))
    return [m for m in sorted(mods, key=lambda t: (t[0], t[1]))]


_CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}figure{display:inline-block;margin:.5em;
vertical-align:top}img{max-width:100%}figcaption{font-size:.85em;color:#555;max-width:520px}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.25em .6em;font-size:.9em}
.fail{color:#a00}.meta{color:#666;font-size:.85em}"""


def build_gallery(out="demo", only=None, size="small") -> list[str]:
    """Build the gallery into ``out`` (a temporary folder swapped in whole at the end, so ``out``
    always holds one complete gallery); returns the keys of sections that failed."""
    from ..atomic import atomic_path
    from ..validate import InputError

    final = Path(out)
    if final.exists() and (not final.is_dir() or (any(final.iterdir()) and not (final / "index.html").is_file())):
        raise InputError(f"--out {final} exists and is not a jaxem gallery (no index.html); choose another "
                         f"folder or remove it (the gallery replaces its folder whole)")
    with atomic_path(final, is_dir=True) as tmp:
        failures, n_found = _build(Path(tmp), only, size)
    print(f"wrote {final / 'index.html'} ({n_found} sections, {len(failures)} failed)")
    return failures


def _build(out: Path, only, size):
    from tqdm.auto import tqdm

    from ..accel.devices import release_compiled_programs

    found = discover_sections(only)
    parts, failures, toc = [], [], []
    bar = tqdm(found, desc="jaxem demo", unit="section")
    for _, key, module in bar:
        bar.set_postfix_str(key)
        ctx = SectionContext(out, key, size, progress=bar)
        t0 = time.perf_counter()
        try:
            module.run(ctx)
            status = ""
        except Exception:  # a failing section must not sink the gallery
            failures.append(key)
            status = f"<pre class='fail'>{html.escape(traceback.format_exc())}</pre>"
        dt = time.perf_counter() - t0
        release_compiled_programs()  # sections are independent: bounded memory maps (accel)
        toc.append(f"<li><a href='#{key}'>{html.escape(module.TITLE)}</a></li>")
        parts.append(
            f"<section id='{key}'><h2>{html.escape(module.TITLE)}</h2>"
            f"<p class='meta'>section {key}, {dt:.1f} s</p>{status}{''.join(ctx.blocks)}</section>"
        )
    import jax

    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>jaxem gallery</title>"
        f"<style>{_CSS}</style></head><body><h1>jaxem gallery</h1>"
        f"<p class='meta'>JAX {jax.__version__} on {jax.default_backend()}; sizes: {size}. "
        f"{len(found) - len(failures)}/{len(found)} sections ran.</p><ul>{''.join(toc)}</ul>"
        + "".join(parts) + "</body></html>"
    )
    (out / "index.html").write_text(page, encoding="utf-8")
    return failures, len(found)
