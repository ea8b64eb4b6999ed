import subprocess
import sys
from pathlib import Path


def test_phase_imports_no_simulation_code():
    code = ("import sys, jaxem.phase; bad = [m for m in sys.modules if m.split('.')[:2] in "
            "[['jaxem', p] for p in ('propagate', 'stem', 'potential', 'phonons', 'md')]]; print(bad); "
            "sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       cwd=Path(__file__).resolve().parents[2])
    assert r.returncode == 0, r.stdout + r.stderr
