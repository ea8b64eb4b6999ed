"""Build the notebooks in ``notebooks/`` from their generator scripts, and execute them in place.

Every notebook is written by a script ``tools/make_<name>_notebook.py`` (the scripts are the source;
never edit a notebook by hand) through :func:`write`, which builds the cells, executes the notebook
in ``notebooks/`` with this Python's kernel (the repository root on ``PYTHONPATH``, so the checkout's
``jaxem`` is the one imported) and stores it *with* its outputs (figures at 72 dpi, as palette PNGs
where that is lossless), without volatile execution metadata or stderr warnings.

    python tools/make_notebooks.py                 # every notebook, executed
    python tools/make_notebooks.py optics eds      # only these generators
    python tools/make_optics_notebook.py --no-execute   # one notebook, outputs cleared

Notebooks that read the real vendor samples find them in ``$JAXEM_VENDOR_DATA`` or, by default, in
``<repository>/../shared/data/vendor`` (the same rule as the tests) and skip that step with a note
when the folder is absent.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
TOOLS = ROOT / "tools"
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
#: seconds one cell may run while a notebook is built (the whole notebook should take < 60 s)
CELL_TIMEOUT = 600
#: resolution of the stored figures (the kernel's inline backend; small files, readable labels)
FIGURE_DPI = 72


def cells_from(spec) -> list:
    """nbformat cells from strings: ``"md:..."`` is a markdown cell, anything else a code cell."""
    import nbformat as nbf

    return [nbf.v4.new_markdown_cell(s[3:].lstrip("\n")) if s.startswith("md:") else nbf.v4.new_code_cell(s)
            for s in spec]


def _shrink_png(data: str) -> str:
    """A base64 PNG re-encoded as a palette PNG when it has at most 256 colours and that is smaller
    (lossless: line plots mostly; images with more colours are kept as they are)."""
    import base64
    import io

    from PIL import Image

    raw = base64.b64decode(data)
    img = Image.open(io.BytesIO(raw)).convert("RGB")
    if img.getcolors(256) is None:  # more than 256 colours: a palette would change the figure
        return data
    buf = io.BytesIO()
    img.quantize(colors=256, method=Image.Quantize.MAXCOVERAGE, dither=Image.Dither.NONE).save(buf, "PNG",
                                                                                            optimize=True)
    small = buf.getvalue()
    return base64.b64encode(small).decode() if len(small) < len(raw) else data


def _strip(nb) -> None:
    """Remove what changes on every run without changing the content: timings, kernel versions, and
    stderr streams (warnings of this machine's packages, with its paths; they still show when the
    notebook is run)."""
    nb.metadata.pop("widgets", None)
    nb.metadata["language_info"] = {"name": "python"}
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if "outputs" in cell:
            cell.outputs = [o for o in cell.outputs
                            if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
        for out in cell.get("outputs", []):
            out.get("metadata", {}).pop("execution", None)
            if "image/png" in out.get("data", {}):
                out["data"]["image/png"] = _shrink_png(out["data"]["image/png"])


def execute(nb, name: str):
    """Run ``nb`` with the kernel of this Python in ``notebooks/``; returns the executed notebook."""
    from nbclient import NotebookClient

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("MPLBACKEND", None)  # the inline backend, so that figures are stored as outputs
    env.setdefault("JAX_COMPILATION_CACHE_DIR", str(ROOT / ".jax_cache"))
    t0 = time.perf_counter()
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}},
                            extra_arguments=[f"--InlineBackend.rc={{'figure.dpi': {FIGURE_DPI}}}"])
    old = dict(os.environ)
    os.environ.update(env)
    try:
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    print(f"executed {name} in {time.perf_counter() - t0:.1f} s")
    return nb


def write(name: str, spec, execute_it: bool | None = None) -> Path:
    """Write ``notebooks/<name>`` from ``spec`` (see :func:`cells_from`), executed unless
    ``--no-execute`` is on the command line (or ``execute_it`` is False)."""
    import nbformat as nbf

    if execute_it is None:
        execute_it = "--no-execute" not in sys.argv
    nb = nbf.v4.new_notebook(cells=cells_from(spec), metadata={"kernelspec": dict(KERNELSPEC)})
    if execute_it:
        nb = execute(nb, name)
    _strip(nb)
    out = NOTEBOOKS / name
    nbf.write(nb, out)
    size = out.stat().st_size
    print(f"wrote {out.relative_to(ROOT)} ({size / 1024:.0f} KiB)")
    return out


def main(argv: list[str]) -> int:
    wanted = [a for a in argv if not a.startswith("-")]
    flags = [a for a in argv if a.startswith("-")]
    scripts = sorted(TOOLS.glob("make_*_notebook.py"))
    if wanted:
        scripts = [s for s in scripts if any(w in s.stem for w in wanted)]
    for s in scripts:
        print("==", s.name)
        subprocess.run([sys.executable, str(s), *flags], check=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
