// Event histograms and segment sums: out[bins[i]] += w[i] for i < n, bins >= n_bins dropped
// (jax.ops.segment_sum(w, bins, n_bins, mode="drop")). Counts of detector events (LTR), radial
// profiles, scatter-adds. Small histograms are privatised per block in shared memory (atomics on
// shared memory, one global atomic per bin and block); large ones use global atomics directly.
// Twin: jaxem.accel.segment_kernel.segment_sum_twin. The launcher zeroes `out` first.
#define SHARED_BYTES 32768

#define SEG_KERNELS(T, SUFFIX)                                                                        \
extern "C" __global__ void segment_sum_shared_##SUFFIX(const int* __restrict__ bins,                 \
        const T* __restrict__ w, T* __restrict__ out, const long long n, const int n_bins) {         \
    extern __shared__ unsigned char smem_raw[];                                                      \
    T* h = reinterpret_cast<T*>(smem_raw);                                                           \
    for (int b = threadIdx.x; b < n_bins; b += blockDim.x) h[b] = 0;                                 \
    __syncthreads();                                                                                 \
    const long long stride = (long long)blockDim.x * gridDim.x;                                      \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {       \
        const int b = bins[i];                                                                       \
        if (b >= 0 && b < n_bins) atomicAdd(&h[b], w[i]);                                           \
    }                                                                                                \
    __syncthreads();                                                                                 \
    for (int b = threadIdx.x; b < n_bins; b += blockDim.x)                                           \
        if (h[b] != 0) atomicAdd(&out[b], h[b]);                                                     \
}                                                                                                    \
extern "C" __global__ void segment_sum_global_##SUFFIX(const int* __restrict__ bins,                 \
        const T* __restrict__ w, T* __restrict__ out, const long long n, const int n_bins) {         \
    const long long stride = (long long)blockDim.x * gridDim.x;                                      \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {       \
        const int b = bins[i];                                                                       \
        if (b >= 0 && b < n_bins) atomicAdd(&out[b], w[i]);                                          \
    }                                                                                                \
}

SEG_KERNELS(int, i32)
SEG_KERNELS(float, f32)
SEG_KERNELS(double, f64)
