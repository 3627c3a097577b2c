"""The mmtrain program makes OpenMP threads sleep, not spin, while they wait (steady beside other jobs)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = "import os, sys; import mmtrain.cli; import torch; print(os.environ.get('OMP_WAIT_POLICY'))"


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("given", "expected"), [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_the_program_sets_a_passive_wait_policy_unless_the_user_chose_one(given: str | None, expected: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if given is not None:
        env["OMP_WAIT_POLICY"] = given
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == expected


def test_the_policy_is_set_before_any_module_of_the_program_loads_torch() -> None:
    # the OpenMP runtime reads the variable once, when torch loads it
    import mmtrain.cli

    source = open(mmtrain.cli.__file__, encoding="utf-8").read()
    first_import = min(source.index(f"\n{word} mm") for word in ("from", "import") if f"\n{word} mm" in source)
    assert source.index('os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")') < first_import
