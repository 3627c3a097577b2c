"""The motion-magnification network of Oh et al. (ECCV 2018), Section 3.2 and Fig. 2.

Three parts, all fully convolutional::

    encoder      X -> (V, M)       texture V (B, 32, H/4, W/4), shape M (B, 32, H/2, W/2)
    manipulator  (M_a, M_b, alpha) -> M_a + h(alpha * g(M_b - M_a))          (paper, Eq. 3)
                                   -> M_b + h((alpha - 1) * g(M_b - M_a))    (official code)
    decoder      (V_b, M_mag) -> Y_hat (B, 3, H, W), linear output (no tanh, no clip)

Two presets (:meth:`ModelConfig.from_preset`): ``paper`` follows the text and Fig. 2 of the paper
(biased convolutions, zero padding, 3x3 conv in g, a 3x3 conv at the head of the shape branch);
``official`` is the authors' released network layer by layer (bias-free convolutions, explicit reflect
padding, TensorFlow 'SAME' zero padding for the two stride-2 convolutions, a 7x7 conv in g, no shape
conv, the (alpha - 1) manipulator), which loads their trained weights (:mod:`mmtrain.model.official`).

Images are RGB float tensors (B, 3, H, W) in [-1, 1] (uint8 / 127.5 - 1).

Example:
    >>> model = make_model("paper")
    >>> x_a = torch.zeros(1, 3, 32, 32); x_b = torch.zeros(1, 3, 32, 32)
    >>> model(x_a, x_b, 10.0).shape
    torch.Size([1, 3, 32, 32])
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmdata.errors import MotionMagError
from mmtrain.model.frames import pad_to_multiple

__all__ = ["InputShapeError", "ModelConfig", "MagNet", "make_model", "set_border", "PRESETS", "BORDERS"]

PRESETS: tuple[str, ...] = ("paper", "official")

#: How a stride-1 convolution with reflect padding (the official preset) computes its border, the same sums
#: in another order: ``"strips"`` convolves with zero padding and recomputes the border from four thin
#: padded strips (no padded copy of the input, eight small operations); ``"copy"`` convolves one
#: reflect-padded copy (two operations). Each small operation costs an OpenMP barrier, which on a
#: loaded machine outweighs the copy (``docs/performance.md``).
BORDERS: tuple[str, ...] = ("strips", "copy")


class InputShapeError(MotionMagError, ValueError):
    """An input tensor has the wrong rank, channel count or spatial size."""


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of :class:`MagNet`; every field is plain data (saved in checkpoints)."""

    preset: str = "paper"  # name of the preset this config came from ("paper", "official", or custom)
    in_channels: int = 3  # image channels (RGB)
    enc_dim: int = 16  # channels of the first 7x7 encoder conv (paper: Conv16-k7-s1)
    feat_dim: int = 32  # channels of the common encoder trunk (Conv32-k3-s2 + residual blocks)
    texture_dim: int = 32  # channels of the texture representation V
    shape_dim: int = 32  # channels of the shape representation M
    n_enc_blocks: int = 3  # residual blocks of the common encoder trunk
    n_texture_blocks: int = 2  # residual blocks of the texture branch
    n_shape_blocks: int = 2  # residual blocks of the shape branch
    shape_conv: bool = True  # 3x3 conv + ReLU at the head of the shape branch (Fig. 2; absent in official)
    g_kernel: int = 3  # kernel size of g's conv in the manipulator (paper 3, official 7)
    n_manip_blocks: int = 1  # residual blocks of h in the manipulator
    n_dec_blocks: int = 9  # residual blocks of the decoder (on texture_dim + shape_dim channels)
    dec_dim: int = 32  # channels of the decoder's conv after the final upsampling
    bias: bool = True  # convolutions carry a bias (paper) or not (official)
    padding_mode: Literal["zeros", "reflect"] = "zeros"  # padding of the stride-1 convolutions
    tf_same_stride: bool = False  # stride-2 convs pad like TensorFlow 'SAME' (0 before, 1 after for even sizes)
    manipulator: Literal["paper", "official"] = "paper"  # M_a + h(a*g(d)) or M_b + h((a-1)*g(d))
    init_std: float | None = None  # None: PyTorch's default init; else truncated normal (±2 std) of this std

    def __post_init__(self) -> None:
        if self.padding_mode not in ("zeros", "reflect"):
            raise ValueError(f"ModelConfig.padding_mode: expected 'zeros' or 'reflect', got {self.padding_mode!r}")
        if self.manipulator not in ("paper", "official"):
            raise ValueError(f"ModelConfig.manipulator: expected 'paper' or 'official', got {self.manipulator!r}")
        if self.g_kernel % 2 != 1:
            raise ValueError(f"ModelConfig.g_kernel: expected an odd kernel size, got {self.g_kernel}")

    @classmethod
    def from_preset(cls, name: str = "paper", **overrides: Any) -> "ModelConfig":
        """The named preset, optionally with some fields replaced.

        Args:
            name: ``"paper"`` or ``"official"``.
            **overrides: field values replacing the preset's (e.g. a lighter ``n_dec_blocks`` for tests).

        Returns:
            The configuration.

        Raises:
            ValueError: unknown preset or field.
        """
        if name == "paper":
            base = cls(preset="paper")
        elif name == "official":
            base = cls(preset="official", shape_conv=False, g_kernel=7, bias=False, padding_mode="reflect",
                       tf_same_stride=True, manipulator="official", init_std=0.02)
        else:
            raise ValueError(f"unknown model preset {name!r}; expected one of {PRESETS}")
        return dataclasses.replace(base, **overrides)

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-compatible dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelConfig":
        """Rebuild a config saved by :meth:`to_dict`.

        Raises:
            ValueError: an unknown field.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown ModelConfig fields {unknown}")
        return cls(**data)


def tf_same_pads(length: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow 'SAME' padding (before, after) along one axis of size ``length``."""
    out = -(-length // stride)
    total = max((out - 1) * stride + kernel - length, 0)
    return total // 2, total - total // 2


def reflect_conv(x: Tensor, weight: Tensor, bias: Tensor | None, p: int, mode: str = "reflect") -> Tensor:
    """``conv2d(pad(x, p, mode), weight, bias)`` without the padded copy of ``x``.

    The convolution runs with zero padding inside the kernel; only its ``p``-pixel border differs from
    the padded result, and is recomputed from thin padded strips of ``x`` (four small convolutions).
    The same sums per output pixel, so equal to the padded form within float rounding; on large frames
    the padded copy cost as much as a fifth of the network's time. Needs H, W >= 2p.

    Args:
        x: (B, C, H, W).
        weight: (C_out, C, 2p + 1, 2p + 1).
        bias: (C_out,) or None.
        p: the padding, ``kernel // 2``.
        mode: ``"reflect"`` or ``"replicate"``.

    Returns:
        (B, C_out, H, W).
    """
    h, w = x.shape[-2:]
    y = F.conv2d(x, weight, bias, padding=p)
    k = 2 * p
    # rows first (full width, corners included), then the columns between them ('valid' vertically)
    y[..., :p, :] = F.conv2d(F.pad(x[..., :k, :], (p, p, p, 0), mode=mode), weight, bias)
    y[..., h - p:, :] = F.conv2d(F.pad(x[..., h - k:, :], (p, p, 0, p), mode=mode), weight, bias)
    if h <= k:  # no rows between the top and bottom strips
        return y
    y[..., p:h - p, :p] = F.conv2d(F.pad(x[..., :, :k], (p, 0, 0, 0), mode=mode), weight, bias)
    y[..., p:h - p, w - p:] = F.conv2d(F.pad(x[..., :, w - k:], (0, p, 0, 0), mode=mode), weight, bias)
    return y


def _phase_kernels(weight: Tensor) -> Tensor:
    """(4 C_out, C, 3, 3): the four output phases of a 3x3 kernel applied to a 2x nearest-upsampled image.

    Output pixel (2i + r, 2j + s) of the upsampled convolution sees input rows i - 1 + r .. i + r and columns
    j - 1 + s .. j + s of the small image: a 2x2 kernel whose taps are sums of the 3x3 kernel's (for r = 0,
    rows (w0, w1 + w2); for r = 1, (w0 + w1, w2)), placed in a 3x3 kernel at offset (r, s). Channel
    ``c * 4 + r * 2 + s`` is the order :func:`torch.nn.functional.pixel_shuffle` expects.
    """
    def pairs(t: Tensor, dim: int) -> tuple[Tensor, Tensor]:
        a, b, c = t.unbind(dim)
        return torch.stack([a, b + c], dim), torch.stack([a + b, c], dim)

    c_out, c_in = weight.shape[:2]
    phases = weight.new_zeros(c_out, 2, 2, c_in, 3, 3)
    for r, rows in enumerate(pairs(weight, 2)):
        for s, taps in enumerate(pairs(rows, 3)):
            phases[:, r, s, :, r:r + 2, s:s + 2] = taps
    return phases.reshape(4 * c_out, c_in, 3, 3)


def upsample_conv(x: Tensor, weight: Tensor, bias: Tensor | None, mode: str, border: str = "strips") -> Tensor:
    """``conv2d(pad(nearest_upsample_2x(x), 1, mode), weight, bias)`` computed on the small image.

    The four output phases are one convolution of ``x`` (same multiply-adds, a quarter of the pixels, no
    upsampled copy), interleaved by ``pixel_shuffle``. Padding the upsampled image by reflection is
    padding the small one by replication (row -1 of the upsampled image is row 1, which is small row 0);
    zero padding stays zero padding. Equal to the upsampled form within float rounding.

    Args:
        x: (B, C, H, W).
        weight: (C_out, C, 3, 3).
        bias: (C_out,) or None.
        mode: the upsampled image's padding, ``"reflect"`` or ``"constant"`` (zeros).
        border: how a ``"reflect"`` border is computed (see :data:`BORDERS`).

    Returns:
        (B, C_out, 2H, 2W).
    """
    phases = _phase_kernels(weight)
    bias4 = bias.repeat_interleave(4) if bias is not None else None
    if mode == "constant":
        z = F.conv2d(x, phases, bias4, padding=1)
    elif border == "copy":
        z = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), phases, bias4)
    elif min(x.shape[-2:]) >= 2:
        z = reflect_conv(x, phases, bias4, 1, mode="replicate")
    else:
        z = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), phases, bias4)
    return F.pixel_shuffle(z, 2)


class Conv(nn.Module):
    """Explicit padding then a 'valid' convolution, optionally followed by ReLU.

    Args:
        cin, cout: input / output channels.
        kernel: square kernel size.
        stride: 1 or 2.
        relu: apply ReLU after the convolution.
        config: supplies ``bias``, ``padding_mode`` and ``tf_same_stride``.
    """

    def __init__(self, cin: int, cout: int, kernel: int, config: ModelConfig, *, stride: int = 1,
                 relu: bool = False) -> None:
        super().__init__()
        self.kernel, self.stride, self.relu = kernel, stride, relu
        self.border = "strips"  # a reflect border: see BORDERS and set_border
        self.mode = "constant" if (stride > 1 or config.padding_mode == "zeros") else "reflect"
        self.tf_same = stride > 1 and config.tf_same_stride
        # symmetric zero padding is done inside the convolution (no padded copy of the input)
        self.native_pad = self.mode == "constant" and not self.tf_same
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2 if self.native_pad else 0,
                              bias=config.bias)

    def forward(self, x: Tensor) -> Tensor:  # (B, cin, H, W) -> (B, cout, H/stride, W/stride)
        if self.tf_same:
            top, bottom = tf_same_pads(x.shape[-2], self.kernel, self.stride)
            left, right = tf_same_pads(x.shape[-1], self.kernel, self.stride)
            x = self.conv(F.pad(x, (left, right, top, bottom)))
        elif self.native_pad:
            x = self.conv(x)
        elif self.border == "strips" and min(x.shape[-2:]) >= 2 * (self.kernel // 2) and self.kernel > 1:
            x = reflect_conv(x, self.conv.weight, self.conv.bias, self.kernel // 2)
        else:  # a padded copy (border "copy", or too small for the strips)
            p = self.kernel // 2
            x = self.conv(F.pad(x, (p, p, p, p), mode=self.mode))
        # in place: a convolution's backward needs its input, not its output
        return F.relu_(x) if self.relu else x

    def upsampled(self, x: Tensor) -> Tensor:
        """``forward(nearest_upsample_2x(x))`` for a stride-1 3x3 conv, without the upsampled copy."""
        if self.kernel != 3 or self.stride != 1:
            return self(F.interpolate(x, scale_factor=2, mode="nearest"))
        y = upsample_conv(x, self.conv.weight, self.conv.bias, self.mode, self.border)
        return F.relu_(y) if self.relu else y


class ResBlock(nn.Module):
    """x + conv3x3(relu(conv3x3(x))); no activation after the sum."""

    def __init__(self, channels: int, config: ModelConfig) -> None:
        super().__init__()
        self.c1 = Conv(channels, channels, 3, config, relu=True)
        self.c2 = Conv(channels, channels, 3, config)

    def forward(self, x: Tensor) -> Tensor:  # (B, C, H, W) -> (B, C, H, W)
        return self.c2(self.c1(x)).add_(x)  # the sum written into the conv output (not needed by backward)


def _blocks(n: int, channels: int, config: ModelConfig) -> nn.Sequential:
    return nn.Sequential(*[ResBlock(channels, config) for _ in range(n)])


class Encoder(nn.Module):
    """X (B, 3, H, W) -> texture V (B, Ct, H/4, W/4), shape M (B, Cs, H/2, W/2)."""

    def __init__(self, c: ModelConfig) -> None:
        super().__init__()
        self.conv1 = Conv(c.in_channels, c.enc_dim, 7, c, relu=True)
        self.conv2 = Conv(c.enc_dim, c.feat_dim, 3, c, stride=2, relu=True)
        self.blocks = _blocks(c.n_enc_blocks, c.feat_dim, c)
        self.texture_conv = Conv(c.feat_dim, c.texture_dim, 3, c, stride=2, relu=True)
        self.texture_blocks = _blocks(c.n_texture_blocks, c.texture_dim, c)
        if c.shape_conv:
            self.shape_conv: nn.Module = Conv(c.feat_dim, c.shape_dim, 3, c, relu=True)
        elif c.feat_dim != c.shape_dim:
            raise ValueError("ModelConfig: without shape_conv, shape_dim must equal feat_dim")
        else:
            self.shape_conv = nn.Identity()
        self.shape_blocks = _blocks(c.n_shape_blocks, c.shape_dim, c)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        trunk = self.blocks(self.conv2(self.conv1(x)))  # (B, feat, H/2, W/2)
        texture = self.texture_blocks(self.texture_conv(trunk))  # (B, Ct, H/4, W/4)
        shape = self.shape_blocks(self.shape_conv(trunk))  # (B, Cs, H/2, W/2)
        return texture, shape


class Manipulator(nn.Module):
    """The added term h(k * g(delta)) of the manipulator; k = alpha (paper) or alpha - 1 (official)."""

    def __init__(self, c: ModelConfig) -> None:
        super().__init__()
        self.g = Conv(c.shape_dim, c.shape_dim, c.g_kernel, c, relu=True)
        self.h_conv = Conv(c.shape_dim, c.shape_dim, 3, c)
        self.h_blocks = _blocks(c.n_manip_blocks, c.shape_dim, c)
        self.offset = 1.0 if c.manipulator == "official" else 0.0

    def forward(self, delta: Tensor, alpha: Tensor) -> Tensor:
        # delta (B, Cs, H/2, W/2); alpha (B, 1, 1, 1)
        return self.h_blocks(self.h_conv((alpha - self.offset) * self.g(delta)))


class Decoder(nn.Module):
    """(texture (B, Ct, H/4, W/4), shape (B, Cs, H/2, W/2)) -> image (B, 3, H, W), linear output."""

    def __init__(self, c: ModelConfig) -> None:
        super().__init__()
        width = c.texture_dim + c.shape_dim
        self.texture_up = Conv(c.texture_dim, c.texture_dim, 3, c, relu=True)
        self.blocks = _blocks(c.n_dec_blocks, width, c)
        self.up_conv = Conv(width, c.dec_dim, 3, c, relu=True)
        self.pred_conv = Conv(c.dec_dim, c.in_channels, 7, c)

    def forward(self, texture: Tensor, shape: Tensor) -> Tensor:
        texture = self.texture_up.upsampled(texture)  # conv(nearest 2x upsampling), on the small image
        x = self.blocks(torch.cat([texture, shape], dim=1))  # texture first, then shape
        return self.pred_conv(self.up_conv.upsampled(x))


class MagNet(nn.Module):
    """Encoder, manipulator and decoder of the motion-magnification network.

    Args:
        config: the architecture (see :meth:`ModelConfig.from_preset`).

    Shape:
        - images: (B, 3, H, W) in [-1, 1]; ``forward`` takes any H, W, the parts need multiples of 4.
        - texture: (B, texture_dim, H/4, W/4); shape: (B, shape_dim, H/2, W/2).
    """

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else ModelConfig.from_preset("paper")
        self.encoder = Encoder(self.config)
        self.manipulator = Manipulator(self.config)
        self.decoder = Decoder(self.config)
        if self.config.init_std is not None:  # the authors' initializer: truncated normal, std 0.02
            std = self.config.init_std
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.trunc_normal_(m.weight, std=std, a=-2 * std, b=2 * std)

    # -- checks -------------------------------------------------------------------------------
    def _check_image(self, x: Tensor, name: str, *, multiple: int = 4) -> None:
        if not isinstance(x, Tensor):
            raise InputShapeError(f"{name}: expected a torch.Tensor, got {type(x).__name__}")
        if x.ndim != 4:
            raise InputShapeError(f"{name}: expected a (B, {self.config.in_channels}, H, W) tensor, "
                                  f"got rank {x.ndim} with shape {tuple(x.shape)}")
        if x.shape[1] != self.config.in_channels:
            raise InputShapeError(f"{name}: expected {self.config.in_channels} channels in dim 1 (B, C, H, W), "
                                  f"got shape {tuple(x.shape)}")
        if multiple > 1 and (x.shape[-2] % multiple or x.shape[-1] % multiple):
            raise InputShapeError(f"{name}: H and W must be multiples of {multiple}, got {tuple(x.shape[-2:])}; "
                                  "use forward(), which pads and crops")

    def _alpha(self, alpha: float | Tensor, batch: int, like: Tensor) -> Tensor:
        a = torch.as_tensor(alpha, dtype=like.dtype, device=like.device)
        if a.ndim == 0:
            a = a.expand(batch)
        if a.ndim != 1 or a.shape[0] not in (1, batch):
            raise InputShapeError(f"alpha: expected a float or a ({batch},) tensor, got shape {tuple(a.shape)}")
        return a.reshape(-1, 1, 1, 1)

    # -- parts ----------------------------------------------------------------------------------
    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Texture (B, Ct, H/4, W/4) and shape (B, Cs, H/2, W/2) of images (B, 3, H, W).

        Raises:
            InputShapeError: wrong rank/channels, or H, W not multiples of 4.
        """
        self._check_image(x, "x")
        return self.encoder(x)

    def magnify_delta(self, delta: Tensor, alpha: float | Tensor) -> Tensor:
        """The manipulator's added term: paper h(alpha*g(delta)), official h((alpha-1)*g(delta)).

        Args:
            delta: a shape difference M_b - M_a or a temporally filtered shape, (B, Cs, h, w).
            alpha: magnification factor, a float or a (B,) tensor.
        """
        return self.manipulator(delta, self._alpha(alpha, delta.shape[0], delta))

    def manipulate(self, shape_a: Tensor, shape_b: Tensor, alpha: float | Tensor) -> Tensor:
        """Magnified shape: paper M_a + h(alpha g(M_b - M_a)); official M_b + h((alpha - 1) g(M_b - M_a))."""
        base = shape_b if self.config.manipulator == "official" else shape_a
        return base + self.magnify_delta(shape_b - shape_a, alpha)

    def decode(self, texture: Tensor, shape: Tensor) -> Tensor:
        """Image (B, 3, H, W) from texture (B, Ct, H/4, W/4) and shape (B, Cs, H/2, W/2); raw, unclipped."""
        return self.decoder(texture, shape)

    def forward(self, x_a: Tensor, x_b: Tensor, alpha: float | Tensor) -> Tensor:
        """Magnify the motion from ``x_a`` to ``x_b`` by ``alpha``; any H, W (reflect-padded to multiples of 4).

        Args:
            x_a: reference frame (B, 3, H, W) in [-1, 1].
            x_b: current frame, same shape.
            alpha: a float or a (B,) tensor.

        Returns:
            The raw (unclipped) magnified frame (B, 3, H, W).

        Raises:
            InputShapeError: wrong rank, channels, or mismatched shapes.
        """
        self._check_image(x_a, "x_a", multiple=1)
        self._check_image(x_b, "x_b", multiple=1)
        if x_a.shape != x_b.shape:
            raise InputShapeError(f"x_a and x_b must have the same shape, got {tuple(x_a.shape)} and {tuple(x_b.shape)}")
        h, w = x_a.shape[-2:]
        x_a, x_b = pad_to_multiple(x_a, 4), pad_to_multiple(x_b, 4)
        texture_a, shape_a = self.encoder(x_a)
        texture_b, shape_b = self.encoder(x_b)
        y = self.decode(texture_b, self.manipulate(shape_a, shape_b, alpha))
        return y[..., :h, :w]

    @torch.no_grad()
    def magnify(self, x_a: Tensor, x_b: Tensor, alpha: float | Tensor) -> Tensor:
        """Inference convenience: ``forward`` without gradients, clipped to [-1, 1]."""
        return self.forward(x_a, x_b, alpha).clamp_(-1.0, 1.0)


def set_border(model: nn.Module, border: str) -> None:
    """Choose how every reflect-padded convolution of ``model`` computes its border (in place).

    Args:
        model: a :class:`MagNet` or any module holding :class:`Conv` layers.
        border: one of :data:`BORDERS`; equal results within float rounding (about 1e-6 of the range).

    Raises:
        ValueError: an unknown border.
    """
    if border not in BORDERS:
        raise ValueError(f"border: expected one of {', '.join(BORDERS)}, got {border!r}")
    for m in model.modules():
        if isinstance(m, Conv):
            m.border = border


def make_model(preset: str = "paper", **overrides: Any) -> MagNet:
    """A freshly initialised :class:`MagNet` of the named preset (``"paper"`` or ``"official"``)."""
    return MagNet(ModelConfig.from_preset(preset, **overrides))
