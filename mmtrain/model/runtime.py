"""How the network runs: CPU threads, memory format, reduced precision and compilation.

None of these change the network's maths; they change how fast it runs and, for reduced precision,
how exactly. Defaults keep float32 results:

==================  =========  ==============================================================================
option              default    effect
==================  =========  ==============================================================================
``threads``         ``None``   CPU intra-op threads; ``None`` = the CPUs this process may run on
                               (``os.sched_getaffinity``), not the machine's core count
``channels_last``   ``True``   NHWC activations and weights: oneDNN's native layout on CPU, tensor cores'
                               on CUDA; exact (same sums, another order: within 1e-5 of NCHW)
``precision``       ``fp32``   ``bf16``: autocast to bfloat16 (CPU and CUDA); ``fp16``: float16 (CUDA only)
``compile``         ``False``  ``torch.compile`` the network (first call compiles: seconds to minutes)
==================  =========  ==============================================================================

Large activations (over 32 MB: a 64-channel map of a 1280x704 frame at half resolution) are, by
glibc's default, mapped fresh from the kernel for each allocation and unmapped when freed, so every
network call page-faults them in again; :func:`retain_freed_memory` keeps freed memory in the process
for reuse (measured at 1280x704: 1.69 s/frame before, 1.20-1.40 s after; no change at 640x352).

Example:
    >>> configure_threads(None)  # doctest: +SKIP
    2
    >>> with autocast(torch.device("cpu"), "bf16"):
    ...     pass
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import ctypes.util
import logging
import os
import sys
from typing import Literal

import torch
from torch import nn

__all__ = ["PRECISIONS", "Precision", "available_cpus", "configure_threads", "check_precision", "autocast", "to_channels_last",
           "maybe_compile", "release_freed_memory", "retain_freed_memory"]

log = logging.getLogger(__name__)

Precision = Literal["fp32", "bf16", "fp16"]
PRECISIONS: tuple[str, ...] = ("fp32", "bf16", "fp16")
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask, e.g. a Slurm or cgroup allowance), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def configure_threads(threads: int | None = None) -> int:
    """Set torch's CPU intra-op threads: ``threads``, or at most the CPUs of this process's allowance.

    More threads than CPUs allowed only make OpenMP threads wait for each other (on a loaded
    machine, each late thread stalls all the others at every operation's barrier).

    Args:
        threads: a positive count, or ``None``: the current count capped at :func:`available_cpus`.

    Returns:
        The thread count now in effect.

    Raises:
        ValueError: ``threads`` below 1.
    """
    if threads is not None and threads < 1:
        raise ValueError(f"threads: expected a positive count, got {threads}")
    # None: never more than the allowance, and never more than already set (OMP_NUM_THREADS, a caller)
    n = threads if threads is not None else min(torch.get_num_threads(), available_cpus())
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
        log.info("torch CPU threads: %d", n)
    return n


_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4  # glibc's mallopt parameters (malloc.h)
_retained: bool | None = None


def _glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc (it has ``gnu_get_libc_version``), else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version.restype = ctypes.c_char_p
        libc.gnu_get_libc_version()
        return libc
    except (OSError, AttributeError):
        return None


def release_freed_memory() -> None:
    """Hand the memory freed so far (by every thread's heap) back to the operating system (glibc).

    For the end of a phase that will not run again, such as the FIR mode's encoding and filtering
    passes: the Dask workers' freed buffers sit in their own heaps, which the decoding pass (on the
    main thread) cannot reuse. Nothing is done where the C library is not glibc.
    """
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


def retain_freed_memory() -> bool:
    """Let the C allocator reuse freed memory instead of mapping and unmapping every large block.

    glibc serves allocations above its mmap threshold (at most 32 MB) with a fresh mapping and returns
    it to the kernel on free, so a network call on a large frame page-faults all its activations in
    again. With mappings off (``M_MMAP_MAX`` 0) and trimming of the heap's top only above 1 GiB, freed
    blocks are reused. Memory then returns to the operating system when the process ends, not when an
    activation is freed; the peak is unchanged. Nothing is done where the C library is not glibc.

    Returns:
        Whether the setting is in effect (idempotent; the first call decides).
    """
    global _retained
    if _retained is None:
        libc = _glibc()
        _retained = bool(libc is not None and libc.mallopt(_M_MMAP_MAX, 0) and libc.mallopt(_M_TRIM_THRESHOLD, 2**30))
        log.debug("freed memory kept for reuse: %s", _retained)
    return _retained


def check_precision(precision: str, device: torch.device) -> None:
    """Raise ValueError when ``precision`` is unknown or not offered on ``device`` (fp16 is CUDA only)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision: expected one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "fp16" and device.type != "cuda":
        raise ValueError("precision: fp16 autocast is for CUDA; use bf16 on CPU")


def autocast(device: torch.device, precision: str = "fp32") -> contextlib.AbstractContextManager:
    """The autocast context of ``precision`` on ``device`` (a no-op for ``fp32``).

    Raises:
        ValueError: see :func:`check_precision`.
    """
    check_precision(precision, device)
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=_DTYPES[precision])


def to_channels_last(x: torch.Tensor) -> torch.Tensor:
    """A 4-D tensor in channels_last memory format (other ranks unchanged)."""
    return x.contiguous(memory_format=torch.channels_last) if x.ndim == 4 else x


def maybe_compile(model: nn.Module, enabled: bool) -> nn.Module:
    """The model with its top-level parts (encoder, manipulator, decoder) ``torch.compile``-d, if ``enabled``.

    A shallow copy sharing the weights is returned, so that ``encode``/``decode``/``manipulate`` (which the
    video modes call, rather than ``forward``) run compiled, and the caller's model is left as it was.
    Dynamic shapes are off: each frame size compiles once.
    """
    if not enabled:
        return model
    log.info("compiling the network with torch.compile (the first call of each frame size is slow)")
    compiled = copy.copy(model)
    compiled._modules = dict(model._modules)  # a copy of the registry: the parts are replaced in the copy only
    for name, part in model.named_children():
        setattr(compiled, name, torch.compile(part, dynamic=False))
    return compiled
