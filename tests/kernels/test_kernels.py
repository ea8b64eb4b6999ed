"""CUDA kernels and their JAX twins: NVRTC compiles every kernel for sm_80 and sm_90 (a broken one
fails with its log); twins against independent references (float64 to 1e-12); the kernel path
(buffer_callback + custom VJP; the kernel's NumPy emulation on CPU, CUDA on a GPU) against the twin,
gradients against jax.grad of the reference; the dispatcher's flag."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from jaxem.accel import dispatch, nvrtc
from jaxem.accel.segment_kernel import segment_sum, segment_sum_twin
from jaxem.accel.sf_kernel import structure_factor, structure_factor_reference, structure_factor_twin
from jaxem.validate import InputError, InputTypeError

pytest.importorskip("cuda.bindings.nvrtc")


@pytest.mark.parametrize("arch", nvrtc.ARCHS)
@pytest.mark.parametrize("name", sorted(dispatch.kernel_sources()))
def test_every_kernel_compiles_with_nvrtc(name, arch):
    cubin = nvrtc.compile_cuda(dispatch.kernel_source(name), f"{name}.cu", arch)
    assert cubin[:4] == b"\x7fELF" and len(cubin) > 1000


def test_a_broken_kernel_fails_with_its_log():
    src = dispatch.kernel_source("segment_sum").replace("atomicAdd(&out[b], w[i]);", "atomicAdd(&out[b], w_typo[i]);")
    with pytest.raises(nvrtc.CompileError, match=r"(?s)segment_sum\.cu.*sm_90.*identifier \"w_typo\" is undefined"):
        nvrtc.compile_cuda(src, "segment_sum.cu", "sm_90")


def test_kernel_sources_cover_the_ops():
    assert {"structure_factor", "segment_sum"} <= set(dispatch.kernel_sources())


def _sf_case(n=130, nk=45, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((n, 3)).astype(dtype) * 12, rng.random(n).astype(dtype),
            rng.normal(size=(nk, 3)).astype(dtype))


@pytest.mark.parametrize("kernel", [False, True])
def test_structure_factor_against_the_direct_sum(kernel):
    p, w, k = _sf_case()
    ref = structure_factor_reference(p, w, k)
    got = jax.jit(lambda p, w, k: structure_factor(p, w, k, kernel=kernel, memory_budget=2**14))(p, w, k)
    assert got.dtype == jnp.complex128 and np.max(np.abs(got - ref)) <= 1e-12 * np.max(np.abs(ref))
    p32, w32, k32 = (a.astype(np.float32) for a in (p, w, k))
    got32 = structure_factor(p32, w32, k32, kernel=kernel)
    assert got32.dtype == jnp.complex64 and np.max(np.abs(got32 - ref)) <= 1e-5 * np.max(np.abs(ref)) * 10


@pytest.mark.parametrize("kernel", [False, True])
def test_structure_factor_vjp_matches_grad_of_reference(kernel):
    p, w, k = _sf_case(40, 17)
    c = np.linspace(0.5, 1.5, 17)

    def loss(f):
        return lambda p, w: jnp.sum(c * jnp.abs(f(p, w)) ** 2) + jnp.sum(jnp.real(f(p, w)) * c)

    g = jax.grad(loss(lambda p, w: structure_factor(p, w, k, kernel=kernel, memory_budget=2**12)), (0, 1))(p, w)
    gr = jax.grad(loss(lambda p, w: structure_factor_reference(p, w, k)), (0, 1))(p, w)
    for a, b in zip(g, gr):
        assert np.max(np.abs(a - b)) <= 1e-10 * np.max(np.abs(b))
    check_grads(lambda p, w: structure_factor_twin(p, w, k, memory_budget=2**12), (p, w), order=1, modes=["rev"])


@pytest.mark.parametrize("kernel", [False, True])
def test_segment_sum_against_bincount(kernel):
    rng = np.random.default_rng(2)
    bins = rng.integers(0, 70, 5000).astype(np.int32)  # bins 60…69 are dropped
    w = rng.random(5000)
    ok = bins < 60
    ref = np.bincount(bins[ok], w[ok], 60)
    got = jax.jit(lambda w, b: segment_sum(w, b, 60, kernel=kernel))(w, bins)
    assert np.max(np.abs(got - ref)) <= 1e-12 * ref.max()
    counts = segment_sum(np.ones(5000, np.int32), bins, 60, kernel=kernel)
    assert counts.dtype == jnp.int32 and np.array_equal(counts, np.bincount(bins[ok], minlength=60))
    f32 = segment_sum(w.astype(np.float32), bins, 60, kernel=kernel)
    assert np.max(np.abs(f32 - ref)) <= 1e-5 * ref.max()
    g = jax.grad(lambda w: jnp.sum(segment_sum(w, bins, 60, kernel=kernel) * jnp.arange(60.0)))(w)
    gr = jax.grad(lambda w: jnp.sum(segment_sum_twin(w, bins, 60) * jnp.arange(60.0)))(w)
    assert np.array_equal(g, gr) and np.all(g[~ok] == 0)


def test_dispatcher_flag(monkeypatch):
    monkeypatch.delenv("JAXEM_KERNELS", raising=False)
    assert dispatch.use_kernel(None) is (jax.default_backend() == "gpu" and dispatch._gpu_with_cupy())
    assert dispatch.use_kernel(False) is False and dispatch.use_kernel(True) is True
    monkeypatch.setenv("JAXEM_KERNELS", "twin")
    assert dispatch.use_kernel(None) is False
    monkeypatch.setenv("JAXEM_KERNELS", "kernel")
    assert dispatch.use_kernel(None) is True
    monkeypatch.setenv("JAXEM_KERNELS", "fast")
    with pytest.raises(InputError, match="JAXEM_KERNELS"):
        dispatch.use_kernel(None)
    with pytest.raises(InputTypeError, match="kernel must be None, True or False"):
        dispatch.use_kernel("yes")


def test_argument_errors():
    p, w, k = _sf_case(5, 3)
    with pytest.raises(InputError, match="weights must have one value per atom"):
        structure_factor(p, w[:4], k)
    with pytest.raises(InputError, match="3 components"):
        structure_factor(p[:, :2], w, k)
    with pytest.raises(InputError, match="n_bins"):
        segment_sum(w, np.zeros(5, np.int32), 0)
    with pytest.raises(InputError, match="same length"):
        segment_sum(w, np.zeros(4, np.int32), 3)
    with pytest.raises(InputTypeError, match="bins"):
        segment_sum(w, w, 3)


@pytest.mark.gpu
@pytest.mark.skipif(jax.default_backend() != "gpu", reason="needs a CUDA device")
def test_gpu_kernels_equal_twins_without_host_transfers():
    pytest.importorskip("cupy")
    for dtype, tol in ((np.float32, 1e-5), (np.float64, 1e-12)):
        p, w, k = (jnp.asarray(a) for a in _sf_case(3000, 2000, dtype, 5))
        with jax.transfer_guard("disallow"):
            a = jax.jit(lambda p, w, k: structure_factor(p, w, k, kernel=True))(p, w, k)
            b = jax.jit(lambda p, w, k: structure_factor(p, w, k, kernel=False))(p, w, k)
        assert float(jnp.max(jnp.abs(a - b)) / jnp.max(jnp.abs(b))) <= tol
        ga = jax.grad(lambda p: jnp.sum(jnp.abs(structure_factor(p, w, k, kernel=True)) ** 2))(p)
        gb = jax.grad(lambda p: jnp.sum(jnp.abs(structure_factor(p, w, k, kernel=False)) ** 2))(p)
        assert float(jnp.max(jnp.abs(ga - gb)) / jnp.max(jnp.abs(gb))) <= max(tol, 1e-5)
        rng = np.random.default_rng(0)
        for nb in (100, 200_000):  # shared-memory and global-atomic variants
            bins = jnp.asarray(rng.integers(0, nb + 10, 1_000_000).astype(np.int32))
            ww = jnp.asarray(rng.random(1_000_000).astype(dtype))
            a = segment_sum(ww, bins, nb, kernel=True)
            b = segment_sum(ww, bins, nb, kernel=False)
            assert float(jnp.max(jnp.abs(a - b)) / jnp.max(b)) <= max(tol, 1e-5)
