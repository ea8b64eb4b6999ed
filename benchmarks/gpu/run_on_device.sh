#!/usr/bin/env bash
# One device call: GPU-marked tests, then the STEM/frozen-phonon benchmark with both codes on the GPU.
# Run through the device tool from the repo root with carry [".whl"] (see README.md beside this file).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 MPLBACKEND=Agg
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
nvidia-smi -L | tee "$OUT/device.txt"
python3 -c "import jax; print(jax.__version__, jax.devices())" | tee -a "$OUT/device.txt"
timeout 150 python3 -m pytest -q -m gpu -p no:cacheprovider tests 2>&1 | tail -20 | tee "$OUT/gpu_tests.txt"
timeout 300 python3 benchmarks/stem_thermal.py --repeats 3 2>&1 | tee "$OUT/stem_thermal.txt"
cp benchmarks/results/stem_thermal.json "$OUT/" 2>/dev/null || true
