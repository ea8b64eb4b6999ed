"""Where the real APT sample files (APAV 1.4.0 sdist, ``apav/tests/Si.*``) are, if anywhere.

They are GPL-licensed and 15–41 MB, so they are not vendored: set ``JAXEM_APT_SAMPLES`` to a folder
holding ``Si.pos``, ``Si.epos``, ``Si.apt``, ``Si.RRNG``, ``Si.RNG`` (e.g. unpacked from
``pip download --no-deps --no-binary :all: apav==1.4.0``), or install ``apav``. Tests skip otherwise.
"""
import importlib.util
import os
from pathlib import Path


def sample_dir():
    env = os.environ.get("JAXEM_APT_SAMPLES")
    cands = [Path(env)] if env else []
    spec = importlib.util.find_spec("apav")
    if spec and spec.origin:
        cands.append(Path(spec.origin).parent / "tests")
    cands.append(Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "vendor" / "apt")
    for c in cands:
        if (c / "Si.pos").is_file():
            return c
    return None
