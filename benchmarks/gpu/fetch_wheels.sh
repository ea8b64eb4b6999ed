#!/usr/bin/env bash
# Download (here, where the registry is reachable) the wheels that the lent GPU machine lacks for
# running jaxem's tests and the STEM/frozen-phonon benchmark against abTEM there. That machine has
# Python 3.12 with jax[cuda13], cupy, optax, numpy, scipy, numba, h5py, matplotlib, tqdm, psutil,
# xarray and pytest (see /work/.library/device/KINDS.md) and no network. jaxem itself needs no flax
# (jaxem.pytree); pint parses strings with units (jaxem.validate). The FFneT throughput rows
# (benchmarks/ffnet.py --throughput-only) need flax (the U-Net) and what it imports; not orbax or tensorstore.
# Usage (repo root): bash benchmarks/gpu/fetch_wheels.sh   → .whl/ (≈ 11 MB), git-ignored locally.
set -euo pipefail
cd "$(dirname "$0")/../.."
EXCLUDE="$(git rev-parse --git-path info/exclude)"  # also right in a worktree, where .git is a file
grep -qx '/.whl/' "$EXCLUDE" 2>/dev/null || echo '/.whl/' >> "$EXCLUDE"
mkdir -p .whl
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl \
  abtem==1.0.11 pyfftw==0.15.1 dask==2026.8.0 distributed==2026.8.0 zarr==3.1.6 numcodecs donfig \
  ase==3.29.0 tomli_w==1.2.0 hypothesis==6.170.17 pint==0.25.3 flexcache==0.3 flexparser==0.4 platformdirs \
  partd locket tornado tblib zict google-crc32c \
  flax==0.12.8 msgpack==1.2.4 rich==15.0.0 markdown-it-py==4.3.0 mdurl==0.1.2 pygments==2.21.0 pyyaml==6.0.4 \
  treescope==0.1.10
du -sh .whl
