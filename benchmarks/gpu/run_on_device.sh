#!/usr/bin/env bash
# One device call (≈ 6–9 min incl. start): card, GPU-marked tests (kernel vs twin, gradients, no host
# transfers), the kernel profile (twin vs CUDA kernel vs roofline on this card), the STEM/FP benchmark
# with jaxem on JAX-CUDA and abTEM on CuPy on the same card, the plane-wave multislice benchmark, the
# vibrational-scattering kernel (issue 15).
# Run through the device tool from the repo root with carry [".whl"] (see README.md beside this file).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 MPLBACKEND=Agg XLA_PYTHON_CLIENT_PREALLOCATE=false
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/device.txt"
python3 -c "import jax, cupy; print('jax', jax.__version__, jax.devices(), 'cupy', cupy.__version__, 'CUDA runtime', cupy.cuda.runtime.runtimeGetVersion())" | tee -a "$OUT/device.txt"
timeout 150 python3 -m pytest -q -m gpu -p no:cacheprovider tests 2>&1 | tail -20 | tee "$OUT/gpu_tests.txt"
timeout 120 python3 benchmarks/kernels.py --repeats 20 2>&1 | tee "$OUT/kernels.txt"
cp benchmarks/results/kernels.json "$OUT/" 2>/dev/null || true
timeout 200 python3 benchmarks/stem_thermal.py --repeats 3 2>&1 | tee "$OUT/stem_thermal.txt"
cp benchmarks/results/stem_thermal.json "$OUT/" 2>/dev/null || true
timeout 90 python3 benchmarks/multislice_plane_wave.py 2>&1 | tail -30 | tee "$OUT/multislice_plane_wave.txt"
cp benchmarks/results/multislice_plane_wave.json "$OUT/" 2>/dev/null || true
# issue 15: the snapshot → Ψ(q) kernel vs the two-FFT floor on this card (plane wave and STEM probes), flat RSS,
# a full Ni TACAW
timeout 150 python3 benchmarks/phonon_spectroscopy.py 2>&1 | tail -20 | tee "$OUT/phonon_spectroscopy.txt"
cp benchmarks/results/phonon_spectroscopy.json "$OUT/" 2>/dev/null || true
timeout 90 python3 benchmarks/ffnet.py --throughput-only 2>&1 | tail -5 | tee "$OUT/ffnet.txt"
cp benchmarks/results/ffnet_throughput.json "$OUT/" 2>/dev/null || true
