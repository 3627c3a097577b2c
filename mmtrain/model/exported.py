"""The network's parts run by an inference runtime on the CPU (``mmtrain magnify --backend openvino``).

Each part of a :class:`~mmtrain.model.network.MagNet` (encoder, manipulator, decoder) is exported to
ONNX with a free batch axis once per frame size (about 4 s on a 2-core CPU at 640x352), then compiled
by OpenVINO (about 0.3 s) or loaded by ONNX Runtime. The weights and the maths are
the model's: float32 results equal eager PyTorch's within float rounding (tested on the authors'
golden cases). The export is TorchScript-based (``dynamo=False``): the ``torch.export``-based exporter
gave the same graph but took 58 s instead of 3 s for the encoder and decoder at 320x176. Both
runtimes are optional dependencies (the ``openvino`` extra installs OpenVINO and
onnx, which the export needs).

Precision is a per-part hint: the encoder and the manipulator run float32 always (the manipulator
multiplies their errors by alpha); the decoder runs bf16 only when asked (``bf16-decoder``), which
OpenVINO computes natively on CPUs with AVX-512 bf16 or AMX. OpenVINO's own default on such CPUs
would be bf16 everywhere, so the hint is always set. ONNX Runtime runs float32 only.

On a machine shared with other work, threads must not hold a core they wait on, nor be tied to one
another process may hold: as ``mmtrain`` sets ``OMP_WAIT_POLICY=PASSIVE`` for PyTorch, ONNX Runtime's
worker threads do not spin (``session.intra_op.allow_spinning`` 0) and OpenVINO does not pin its
threads to cores (``ENABLE_CPU_PINNING`` off).

:class:`ExportedNet` offers ``encode``, ``magnify_delta``, ``manipulate`` and ``decode`` with the
signatures of :class:`MagNet`'s, taking and returning float32 CPU tensors, so the video modes run it
unchanged.
"""

from __future__ import annotations

import logging
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from mmdata.errors import ConfigError
from mmtrain.model.network import MagNet

__all__ = ["RUNTIMES", "ExportedNet"]

log = logging.getLogger(__name__)

#: The runtimes and the packages each needs.
RUNTIMES: dict[str, tuple[str, ...]] = {"openvino": ("openvino", "onnx"), "onnxruntime": ("onnxruntime", "onnx")}
#: OpenVINO's inference precision hint of each of our precisions (per part; see the module's docstring).
_HINTS = {"fp32": "f32", "bf16": "bf16"}


def _require(runtime: str) -> None:
    """Raise ConfigError naming the missing package when ``runtime`` cannot run here."""
    import importlib.util

    missing = [name for name in RUNTIMES[runtime] if importlib.util.find_spec(name) is None]
    if missing:
        how = "pip install 'motionmag[openvino]'" if runtime == "openvino" else f"pip install {' '.join(RUNTIMES[runtime])}"
        raise ConfigError(f"backend {runtime}: {' and '.join(missing)} not installed; {how}")


class ExportedNet:
    """A :class:`MagNet`'s encoder, manipulator and decoder exported to ONNX and run by ``runtime`` on the CPU.

    Args:
        model: the network (eval mode, on the CPU); its weights are read at export time.
        runtime: ``openvino`` or ``onnxruntime``.
        threads: CPU threads of each inference.
        encode_precision: ``fp32`` or ``bf16`` (OpenVINO only), the encoder's and manipulator's precision.
        decode_precision: ``fp32`` or ``bf16`` (OpenVINO only), the decoder's.

    Raises:
        ConfigError: an unknown runtime, its packages missing, or a precision it does not offer.
    """

    def __init__(self, model: MagNet, *, runtime: str = "openvino", threads: int, encode_precision: str = "fp32",
                 decode_precision: str = "fp32") -> None:
        if runtime not in RUNTIMES:
            raise ConfigError(f"backend: expected one of {', '.join(RUNTIMES)}, got {runtime!r}")
        offered = _HINTS if runtime == "openvino" else {"fp32": "f32"}
        for p in (encode_precision, decode_precision):
            if p not in offered:
                raise ConfigError(f"backend {runtime}: precision {p} is not offered; use "
                                  f"{'fp32, bf16 or bf16-decoder' if runtime == 'openvino' else 'fp32'}")
        _require(runtime)
        self.runtime = runtime
        if runtime == "openvino":
            import openvino

            self._core = openvino.Core()
        self.model, self.config = model, model.config
        self._threads = threads
        self._hints = {"encoder": _HINTS[encode_precision], "manipulator": _HINTS[encode_precision],
                       "decoder": _HINTS[decode_precision]}
        self._read: dict[tuple[Any, ...], Any] = {}  # (part, per-sample input shapes) -> compiled model or session

    # -- export and loading ----------------------------------------------------------------------
    def _graph(self, part: str, inputs: tuple[Tensor, ...]) -> Any:
        """The part exported to ONNX (free batch axis) and loaded by the runtime, once per sample shape."""
        key = (part, *(tuple(x.shape[1:]) for x in inputs))
        if key not in self._read:
            module: nn.Module = getattr(self.model, part)
            names = [f"in{i}" for i in range(len(inputs))]
            start = time.perf_counter()
            with tempfile.TemporaryDirectory() as tmp, torch.no_grad(), warnings.catch_warnings():
                # the tracer's notes that Python values (the frame size's padding) become constants, and the
                # exporter's on constant folding and on its own deprecation: each frame size is exported anew
                warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
                warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\.onnx\.")
                warnings.filterwarnings("ignore", category=DeprecationWarning)  # the exporter's own (see the module's note)
                path = Path(tmp) / f"{part}.onnx"
                torch.onnx.export(module, inputs, str(path), input_names=names, dynamo=False, opset_version=17,
                                  dynamic_axes={n: {0: "batch"} for n in names})
                self._read[key] = self._load(path, part)
            log.info("%s: %s exported for inputs %s in %.1f s", self.runtime, part, [tuple(x.shape[1:]) for x in inputs],
                     time.perf_counter() - start)
        return self._read[key]

    def _load(self, path: Path, part: str) -> Any:
        """The runtime's model of the ONNX file at ``path``: a compiled OpenVINO model or an ONNX Runtime session.

        Both keep the batch axis free: a batch of another size is not compiled again.
        """
        if self.runtime == "openvino":
            return self._core.compile_model(self._core.read_model(str(path)), "CPU", {
                "INFERENCE_NUM_THREADS": self._threads, "PERFORMANCE_HINT": "LATENCY",
                "INFERENCE_PRECISION_HINT": self._hints[part], "ENABLE_CPU_PINNING": False})
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = self._threads, 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def _run(self, part: str, *inputs: Tensor) -> list[Tensor]:
        """The outputs of ``part`` on ``inputs`` (float32 CPU tensors)."""
        arrays = [np.ascontiguousarray(x.detach().float().cpu().numpy()) for x in inputs]
        model = self._graph(part, inputs)
        if self.runtime == "onnxruntime":
            return [torch.from_numpy(o) for o in model.run(None, {f"in{i}": a for i, a in enumerate(arrays)})]
        result = model(arrays)
        return [torch.from_numpy(np.array(result[out])) for out in model.outputs]

    # -- MagNet's parts -------------------------------------------------------------------------
    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Texture (B, Ct, H/4, W/4) and shape (B, Cs, H/2, W/2) of images (B, 3, H, W); as :meth:`MagNet.encode`."""
        self.model._check_image(x, "x")
        texture, shape = self._run("encoder", x)
        return texture, shape

    def magnify_delta(self, delta: Tensor, alpha: float | Tensor) -> Tensor:
        """The manipulator's added term; as :meth:`MagNet.magnify_delta`."""
        return self._run("manipulator", delta, self.model._alpha(alpha, delta.shape[0], delta))[0]

    #: Magnified shape: :meth:`MagNet.manipulate` itself, which needs only ``config`` and ``magnify_delta``.
    manipulate = MagNet.manipulate

    def decode(self, texture: Tensor, shape: Tensor) -> Tensor:
        """Image (B, 3, H, W) from texture and shape; raw, unclipped; as :meth:`MagNet.decode`."""
        return self._run("decoder", texture, shape)[0]
