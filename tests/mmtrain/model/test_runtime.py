"""mmtrain.model.runtime: threads, precision, memory format and compilation leave the maths unchanged."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest
import torch

from fakes import single_thread  # noqa: F401 (autouse fixture)

from mmtrain.model.network import make_model
from mmtrain.model.runtime import autocast, available_cpus, check_precision, configure_threads, maybe_compile

SMALL = dict(n_enc_blocks=1, n_texture_blocks=1, n_shape_blocks=1, n_dec_blocks=2)


def test_threads_default_to_the_affinity_mask() -> None:
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(available_cpus() + 3)
        assert configure_threads(None) == available_cpus() == len(os.sched_getaffinity(0))
        assert configure_threads(1) == 1 == torch.get_num_threads()
        assert configure_threads(None) == 1  # an explicit lower count is kept
        with pytest.raises(ValueError, match="threads"):
            configure_threads(0)
    finally:
        torch.set_num_threads(before)


def test_precision_checks() -> None:
    cpu = torch.device("cpu")
    check_precision("bf16", cpu)
    with pytest.raises(ValueError, match="CUDA"):
        check_precision("fp16", cpu)
    with pytest.raises(ValueError, match="precision"):
        autocast(cpu, "fp8")
    with autocast(cpu, "bf16"):
        assert torch.is_autocast_enabled("cpu")
    assert not torch.is_autocast_enabled("cpu")


@pytest.mark.parametrize("preset", ["paper", "official"])
def test_channels_last_forward_and_gradients_equal_contiguous(preset: str) -> None:
    torch.manual_seed(0)
    model = make_model(preset, **SMALL)
    x_a, x_b = torch.rand(2, 2, 3, 36, 44) * 2 - 1
    y = model(x_a, x_b, 5.0)
    grads = torch.autograd.grad(y.square().mean(), list(model.parameters()))
    model.to(memory_format=torch.channels_last)
    cl = [x.contiguous(memory_format=torch.channels_last) for x in (x_a, x_b)]
    y_cl = model(*cl, 5.0)
    grads_cl = torch.autograd.grad(y_cl.square().mean(), list(model.parameters()))
    assert torch.allclose(y, y_cl, atol=1e-5)
    for g, g_cl in zip(grads, grads_cl):
        assert torch.allclose(g, g_cl, atol=1e-5, rtol=1e-4)


def test_in_place_activations_match_a_functional_reference() -> None:
    """ReLU and residual sums are written in place: same values as the out-of-place formulas."""
    torch.manual_seed(0)
    model = make_model("official", **SMALL)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    block = model.encoder.blocks[0]
    h = torch.rand(1, 32, 16, 16)
    c1, c2 = block.c1, block.c2
    ref = h + c2.conv(torch.nn.functional.pad(
        torch.relu(c1.conv(torch.nn.functional.pad(h, (1,) * 4, mode="reflect"))), (1,) * 4, mode="reflect"))
    assert torch.allclose(block(h.clone()), ref, atol=1e-6)
    model(x, x, 2.0).sum().backward()  # no in-place error in autograd


def test_compiled_parts_share_the_weights_and_leave_the_model_alone() -> None:
    model = make_model("paper", **SMALL)
    assert maybe_compile(model, False) is model
    compiled = maybe_compile(model, True)  # compilation itself happens lazily, on the first call
    assert compiled is not model and compiled.encoder is not model.encoder
    assert type(model.encoder).__name__ == "Encoder"
    assert compiled.encoder._orig_mod is model.encoder


_HEAP = """
import ctypes, sys
import numpy as np
from mmtrain.model.runtime import release_freed_memory, retain_freed_memory

class Info(ctypes.Structure):  # glibc's struct mallinfo2
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Info
if sys.argv[1] == "retain":
    assert retain_freed_memory() and retain_freed_memory()
a = np.ones(16 * 2**20, np.float32)  # 64 MB, above glibc's largest mmap threshold (32 MB)
mapped = libc.mallinfo2().hblkhd  # bytes in blocks mapped on their own
del a
kept = libc.mallinfo2().fordblks  # freed bytes kept in the heap for reuse
release_freed_memory()
print(mapped, kept, libc.mallinfo2().fordblks)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc"
                    or tuple(int(v) for v in platform.libc_ver()[1].split(".")[:2]) < (2, 33), reason="glibc >= 2.33")
def test_retained_memory_is_kept_for_reuse_and_released_on_request() -> None:
    # each in a fresh process: the allocator setting is process-wide
    def heap(mode: str) -> list[int]:
        out = subprocess.run([sys.executable, "-c", _HEAP, mode], check=True, capture_output=True, text=True)
        return [int(v) for v in out.stdout.split()[-3:]]

    block = 64 * 2**20
    mapped, kept, _ = heap("default")
    assert mapped >= block and kept < block  # a mapping of its own, unmapped when freed
    mapped, kept, after_release = heap("retain")
    assert mapped < block <= kept  # from the heap, and kept there when freed
    assert after_release < block  # until release_freed_memory hands it back
