// Structure-factor sum F(k) = sum_j w_j exp(-2 pi i k . r_j) over N atoms for K vectors k, and its
// vector-Jacobian product, without an N x K intermediate: one thread per k (forward) or per atom
// (backward), positions / k-vectors staged through shared memory in tiles.
// Units: r [A], k [1/A]; w the (real) weight of each atom (scattering factor, occupancy, ...).
// Twin: jaxem.accel.sf_kernel.structure_factor_twin. Launched by CuPy RawModule inside jit
// (jax buffer_callback on XLA's stream), see jaxem/accel/sf_kernel.py.
#define TILE 256

#define SF_KERNELS(T, SINCOS, SUFFIX)                                                                 \
extern "C" __global__ void structure_factor_##SUFFIX(const T* __restrict__ pos, const T* __restrict__ w, \
        const T* __restrict__ k, T* __restrict__ out, const int n_atoms, const int n_k) {             \
    __shared__ T sp[TILE * 4];                                                                       \
    const int q = blockIdx.x * blockDim.x + threadIdx.x;                                             \
    const T two_pi = (T)6.283185307179586476925286766559;                                           \
    T kx = 0, ky = 0, kz = 0;                                                                        \
    if (q < n_k) { kx = k[3 * q] * two_pi; ky = k[3 * q + 1] * two_pi; kz = k[3 * q + 2] * two_pi; } \
    T re = 0, im = 0;                                                                                \
    for (int base = 0; base < n_atoms; base += TILE) {                                               \
        const int j = base + threadIdx.x;                                                            \
        if (threadIdx.x < TILE) {                                                                    \
            if (j < n_atoms) {                                                                       \
                sp[4 * threadIdx.x] = pos[3 * j]; sp[4 * threadIdx.x + 1] = pos[3 * j + 1];          \
                sp[4 * threadIdx.x + 2] = pos[3 * j + 2]; sp[4 * threadIdx.x + 3] = w[j];            \
            } else {                                                                                 \
                sp[4 * threadIdx.x + 3] = 0;                                                         \
                sp[4 * threadIdx.x] = 0; sp[4 * threadIdx.x + 1] = 0; sp[4 * threadIdx.x + 2] = 0;   \
            }                                                                                        \
        }                                                                                            \
        __syncthreads();                                                                             \
        const int m = min(TILE, n_atoms - base);                                                     \
        for (int t = 0; t < m; ++t) {                                                                \
            T s, c;                                                                                  \
            SINCOS(kx * sp[4 * t] + ky * sp[4 * t + 1] + kz * sp[4 * t + 2], &s, &c);                \
            re += sp[4 * t + 3] * c;                                                                 \
            im -= sp[4 * t + 3] * s;                                                                 \
        }                                                                                            \
        __syncthreads();                                                                             \
    }                                                                                                \
    if (q < n_k) { out[2 * q] = re; out[2 * q + 1] = im; }                                           \
}                                                                                                    \
/* VJP for a cotangent g(k) = gr + i gi (JAX convention: xbar = Re(sum_k g dF/dx)):              */ \
/*   dw_j   = sum_k  gr cos(phi) + gi sin(phi)                                                     */ \
/*   dr_j   = w_j sum_k 2 pi k (gi cos(phi) - gr sin(phi)),    phi = 2 pi k . r_j                   */ \
extern "C" __global__ void structure_factor_vjp_##SUFFIX(const T* __restrict__ pos, const T* __restrict__ w, \
        const T* __restrict__ k, const T* __restrict__ g, T* __restrict__ dpos, T* __restrict__ dw,   \
        const int n_atoms, const int n_k) {                                                          \
    __shared__ T sk[TILE * 5];                                                                       \
    const int j = blockIdx.x * blockDim.x + threadIdx.x;                                             \
    const T two_pi = (T)6.283185307179586476925286766559;                                           \
    T x = 0, y = 0, z = 0;                                                                           \
    if (j < n_atoms) { x = pos[3 * j]; y = pos[3 * j + 1]; z = pos[3 * j + 2]; }                     \
    T aw = 0, ax = 0, ay = 0, az = 0;                                                                \
    for (int base = 0; base < n_k; base += TILE) {                                                   \
        const int q = base + threadIdx.x;                                                            \
        if (threadIdx.x < TILE) {                                                                    \
            if (q < n_k) {                                                                           \
                sk[5 * threadIdx.x] = two_pi * k[3 * q]; sk[5 * threadIdx.x + 1] = two_pi * k[3 * q + 1]; \
                sk[5 * threadIdx.x + 2] = two_pi * k[3 * q + 2];                                     \
                sk[5 * threadIdx.x + 3] = g[2 * q]; sk[5 * threadIdx.x + 4] = g[2 * q + 1];          \
            } else {                                                                                 \
                for (int c = 0; c < 5; ++c) sk[5 * threadIdx.x + c] = 0;                             \
            }                                                                                        \
        }                                                                                            \
        __syncthreads();                                                                             \
        const int m = min(TILE, n_k - base);                                                         \
        for (int t = 0; t < m; ++t) {                                                                \
            T s, c;                                                                                  \
            SINCOS(sk[5 * t] * x + sk[5 * t + 1] * y + sk[5 * t + 2] * z, &s, &c);                   \
            const T gr = sk[5 * t + 3], gi = sk[5 * t + 4];                                          \
            aw += gr * c + gi * s;                                                                   \
            const T d = gi * c - gr * s;                                                            \
            ax += sk[5 * t] * d; ay += sk[5 * t + 1] * d; az += sk[5 * t + 2] * d;                   \
        }                                                                                            \
        __syncthreads();                                                                             \
    }                                                                                                \
    if (j < n_atoms) {                                                                               \
        const T wj = w[j];                                                                           \
        dw[j] = aw; dpos[3 * j] = wj * ax; dpos[3 * j + 1] = wj * ay; dpos[3 * j + 2] = wj * az;      \
    }                                                                                                \
}

SF_KERNELS(float, sincosf, f32)
SF_KERNELS(double, sincos, f64)
