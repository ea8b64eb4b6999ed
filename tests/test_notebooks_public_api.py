"""The notebooks use only jaxem's public API, are built by their generator scripts, and are committed
with their outputs.

Every code cell of every ``notebooks/*.ipynb`` is parsed (not run): an import of a private jaxem
module or name (a path component after ``jaxem.`` that starts with an underscore, e.g.
``jaxem.phase._synthetic`` or ``from jaxem.optics import _checks``), an attribute with a leading
underscore taken from anything imported from jaxem, or a call of ``physics.wavelength(`` (only
``jaxem.Beam`` computes λ) fails the test, naming the notebook, the cell and the line. A notebook
without outputs, with a cell that was not executed, or with an error output fails too, and so does
a notebook that no ``tools/make_*_notebook.py`` writes.
"""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
GENERATORS = sorted((ROOT / "tools").glob("make_*_notebook.py"))
WAVELENGTH = re.compile(r"\bphysics\s*\.\s*wavelength\s*\(")


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _code(source: str) -> str:
    """Cell source with IPython magics and shell escapes blanked (line numbers kept)."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def violations(source: str) -> list[str]:
    """Uses of jaxem's private API and of ``physics.wavelength(`` in one cell's code."""
    found = [f"line {source[:m.start()].count(chr(10)) + 1}: calls physics.wavelength() (use jaxem.Beam)"
             for m in WAVELENGTH.finditer(source)]
    tree = ast.parse(_code(source))
    jaxem_names = set()  # local names bound to jaxem modules or objects
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "jaxem" or alias.name.startswith("jaxem."):
                    parts = alias.name.split(".")
                    if any(_private(p) for p in parts):
                        found.append(f"line {node.lineno}: imports private module {alias.name}")
                    jaxem_names.add(alias.asname or parts[0])
        elif isinstance(node, ast.ImportFrom) and node.module and (node.module == "jaxem"
                                                                   or node.module.startswith("jaxem.")):
            parts = node.module.split(".")
            if any(_private(p) for p in parts):
                found.append(f"line {node.lineno}: imports from private module {node.module}")
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"line {node.lineno}: imports private name {alias.name} from {node.module}")
                jaxem_names.add(alias.asname or alias.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id in jaxem_names:
                found.append(f"line {node.lineno}: uses private attribute {ast.unparse(node)}")
    return found


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def test_there_are_notebooks_and_generators():
    assert len(NOTEBOOKS) >= 12, [p.name for p in NOTEBOOKS]
    assert GENERATORS, "no tools/make_*_notebook.py"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_uses_public_api_only(path):
    bad = []
    for i, cell in enumerate(_cells(path)):
        if cell["cell_type"] == "code":
            bad += [f"{path.name} cell {i} {v}" for v in violations("".join(cell["source"]))]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_with_outputs(path):
    code = [c for c in _cells(path) if c["cell_type"] == "code"]
    assert code, f"{path.name} has no code cells"
    not_run = [i for i, c in enumerate(code) if c.get("execution_count") is None]
    assert not not_run, f"{path.name}: code cells {not_run} were not executed (run tools/make_notebooks.py)"
    assert any(c.get("outputs") for c in code), f"{path.name} has no outputs (run tools/make_notebooks.py)"
    assert any("image/png" in o.get("data", {}) for c in code for o in c.get("outputs", [])), \
        f"{path.name} has no figure in its outputs"
    errors = [f"{o.get('ename')}: {o.get('evalue')}" for c in code for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, f"{path.name} was committed with errors: {errors}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_a_generator(path):
    writers = [g.name for g in GENERATORS if f'"{path.name}"' in g.read_text(encoding="utf-8")]
    assert len(writers) == 1, f"{path.name} must be written by exactly one tools/make_*_notebook.py, found {writers}"


@pytest.mark.parametrize("source, message", [
    ("from jaxem.phase._synthetic import simulate_4dstem", "private module jaxem.phase._synthetic"),
    ("import jaxem.optics._checks as c", "private module jaxem.optics._checks"),
    ("from jaxem.optics import _checks", "private name _checks"),
    ("import jaxem as jx\nx = jx.phase._synthetic.white_noise_phase(8)", "private attribute jx.phase._synthetic"),
    ("from jaxem import phase\nphase._synthetic", "private attribute phase._synthetic"),
    ("from jaxem import physics\nlam = physics.wavelength(300e3)", "physics.wavelength"),
    ("import jaxem\nlam = jaxem.physics.wavelength(3e5)", "physics.wavelength"),
])
def test_checker_finds_private_use(source, message):
    found = violations(source)
    assert any(message in v for v in found), found


@pytest.mark.parametrize("source", [
    "import jaxem as jx\nprint(jx.__version__)\nb = jx.Beam('300 kV')\nb.wavelength",
    "%matplotlib inline\nimport numpy as np\nx = np.zeros(3)\nx.__class__",
    "from jaxem.stem import stem_scan_to_zarr\nimport mylib\nmylib._private()",
])
def test_checker_accepts_public_use(source):
    assert violations(source) == []
