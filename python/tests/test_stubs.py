"""The package type-checks, and the native module's stub matches the module (mypy, stubtest)."""

from __future__ import annotations

import subprocess
import sys


def test_the_stub_matches_the_native_module():
    out = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "chaosops._native"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_package_type_checks():
    from conftest import ROOT

    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--ignore-missing-imports", str(ROOT / "python" / "chaosops")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
