"""U-Net for FFT-spot probability maps (Flax linen), atomai's ``Unet`` layout by default.

Layout (Ziatdinov et al., atomai ``nets/fcnn.py``; ICN2 used it with one class): encoder blocks of
``layers[0..2]`` 3×3 convolutions with f, 2f, 4f filters, each followed by 2×2 max-pooling; a
bottleneck of ``layers[3]`` convolutions with 8f filters; a decoder that upsamples bilinearly,
projects with a 1×1 convolution, concatenates the skip connection and applies a block of 4f, 2f, f
filters (``layers[2], layers[1], 1`` convolutions); a 1×1 head to one logit per pixel. Each
convolution is followed by LeakyReLU(0.01) and BatchNorm. With f = 16 and layers (1, 2, 2, 3) the
network has 594,033 trainable parameters, as atomai's. Inputs (B, H, W) or (B, H, W, 1) with
H, W divisible by 8; outputs logits (B, H, W).
"""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from .. import pytree, validate


@pytree.dataclass
class UNetConfig:
    """Static network configuration (hashable).

    Attributes:
        filters: f, filters of the first block.
        layers: convolutions per block (encoder 1, 2, 3, bottleneck).
        batch_norm: BatchNorm after each convolution.
    """

    filters: int = pytree.field(static=True, default=16)
    layers: tuple = pytree.field(static=True, default=(1, 2, 2, 3))
    batch_norm: bool = pytree.field(static=True, default=True)

    def __post_init__(self):
        validate.integer(self.filters, "filters", lo=1, hi=256)
        if len(self.layers) != 4:
            raise validate.InputError(f"layers must be four block depths (encoder ×3, bottleneck), got {self.layers!r}")
        for n in self.layers:
            validate.integer(n, "layers", lo=1, hi=8)
        object.__setattr__(self, "layers", tuple(int(n) for n in self.layers))


class _Block(nn.Module):
    features: int
    n: int
    batch_norm: bool

    @nn.compact
    def __call__(self, x, train: bool):
        for _ in range(self.n):
            x = nn.Conv(self.features, (3, 3), padding="SAME")(x)
            x = nn.leaky_relu(x, 0.01)
            if self.batch_norm:
                x = nn.BatchNorm(use_running_average=not train, momentum=0.9)(x)
        return x


class _Up(nn.Module):
    features: int

    @nn.compact
    def __call__(self, x):
        b, h, w, c = x.shape
        x = jax.image.resize(x, (b, 2 * h, 2 * w, c), method="bilinear")
        return nn.Conv(self.features, (1, 1))(x)


class UNet(nn.Module):
    """The U-Net (see module docstring); ``__call__(x, train=False)`` → logits (B, H, W)."""

    config: UNetConfig = UNetConfig()

    def __post_init__(self):
        validate.instance(self.config, "config", UNetConfig)
        super().__post_init__()

    @nn.compact
    def __call__(self, x, train: bool = False):
        f, (l1, l2, l3, l4), bn = self.config.filters, self.config.layers, self.config.batch_norm
        if x.ndim == 3:
            x = x[..., None]
        pool = lambda t: nn.max_pool(t, (2, 2), (2, 2))  # noqa: E731
        c1 = _Block(f, l1, bn)(x, train)
        c2 = _Block(2 * f, l2, bn)(pool(c1), train)
        c3 = _Block(4 * f, l3, bn)(pool(c2), train)
        b = _Block(8 * f, l4, bn)(pool(c3), train)
        u = _Block(4 * f, l3, bn)(jnp.concatenate([_Up(4 * f)(b), c3], -1), train)
        u = _Block(2 * f, l2, bn)(jnp.concatenate([_Up(2 * f)(u), c2], -1), train)
        u = _Block(f, 1, bn)(jnp.concatenate([_Up(f)(u), c1], -1), train)
        return nn.Conv(1, (1, 1))(u)[..., 0]


def init_variables(key, config: UNetConfig = UNetConfig(), size: int = 64) -> dict:
    """Initial variables {'params', 'batch_stats'} for inputs of ``size``² px."""
    return UNet(config).init(key, jnp.zeros((1, size, size)), train=False)


def count_parameters(variables) -> int:
    """Number of trainable parameters."""
    return int(sum(x.size for x in jax.tree_util.tree_leaves(variables["params"])))


def predict_logits(config: UNetConfig, variables, x):
    """Logits (B, H, W) of inputs x (B, H, W) with running BatchNorm statistics (inference)."""
    return UNet(config).apply(variables, x, train=False)
