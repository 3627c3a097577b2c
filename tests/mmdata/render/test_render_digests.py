"""The renderer's bytes are pinned: every existing shard must keep auditing after any renderer change.

Each case renders one sample (all five frames, default settings incl. photon noise and stochastic
rounding; the seed-7 config of the test fixtures) from the bundled-photograph test catalogue and
compares the sha256 of its frames, concatenated in FRAME_FIELDS order, with a digest recorded from
the renderer as it was before the issue-15 speed-ups (commit 86a809c, numpy 2.4.6, scipy 1.17.1,
recorded by running this file's ``_digest`` over every case). Hard-coded digests are right
here and nowhere else: they are the bytes of every dataset already rendered.

If a case fails after a renderer change, the change is not exact: revert it, unless the change is
meant to alter the dataset (then bump the render-config hash and re-record, saying so in the log).
"""

from __future__ import annotations

import hashlib

import pytest

from mmdata.render.composite import FRAME_FIELDS, render
from mmdata.spec import DatasetSpec

# (image_size, noise.noisy_target, part, index, sha256 of the five frames)
RECORDED = [
    (64, False, 1, 0, "edd388d700a6abccde899ad13ec87d4f429d85737863e819627a871d434752bf"),
    (64, False, 1, 1, "cad2b044414f963f2982672472f9c089207f235a2706057eaa1f25a54e011ea0"),
    (64, False, 2, 0, "bc4bc54cad7a194723c96404b53991836233a87c8f1b027f5983d54b24b3a0f1"),
    (64, False, 2, 1, "b8feda788eca744ad3dc51fde596187befbf425145013edd7169bac475c45641"),
    (64, False, 3, 0, "e360bbb9842d5498719088065308d03a33451e9e9413b4c39d7f0cb47081f366"),
    (64, False, 3, 1, "ca9213536585470dc717ad59248a6b92861b53c71750b3ed485a07e66e628d55"),
    (64, False, 4, 0, "c89c65312fd57e4de6e877b28cbde788707e36b47b34d7861fca41f4c01d3624"),
    (64, False, 4, 1, "81815736b934493093a56ca4a50cc1463a37a4939f58bef875aec38d404b5efd"),
    (64, False, 5, 0, "648a5d4d6856c9a0266e4cb774bafec64d74cfb4666d17bf20a2277fee9bb3eb"),
    (64, False, 5, 1, "d07e7d05751ed8af413b5bd7d42b727bd5039f3115c8946e4972cc4502e7b96a"),
    (64, True, 1, 2, "2379136b6f92a60a047ac3702738ac678b49dcb3be8f801937b9b18384aa25c5"),
    (64, True, 3, 2, "92352e36f6a5a7b2f4d90e3e918e1a428119bcc45288d466556a9f1ace63e2df"),
    (128, False, 1, 0, "f3b4d88443d7120b05efbba5d03656cba636d355afa5403e530f6bcd60f670e6"),
    (384, False, 1, 3, "071a4cd3215e4da7589d316f05126a5ed88643d682db03d963b147005d590343"),
]


def _digest(catalogue, size: int, noisy_target: bool, part: int, index: int) -> str:
    spec = DatasetSpec.from_config({"seed": 7, "dataset": {"image_size": size, "noise": {"noisy_target": noisy_target}}})
    _, frames = render(spec, part, index, catalogue)
    h = hashlib.sha256()
    for field in FRAME_FIELDS:
        h.update(frames[field].tobytes())
    return h.hexdigest()


@pytest.mark.parametrize(("size", "noisy_target", "part", "index", "expected"), RECORDED)
def test_rendered_bytes_match_the_recorded_digests(catalogue, size, noisy_target, part, index, expected):
    assert _digest(catalogue, size, noisy_target, part, index) == expected
