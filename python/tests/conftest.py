"""Shared fixtures: the recorded episodes and the `chaosops` binary."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

ROOT = Path(__file__).resolve().parents[2]
EPISODES = ROOT / "tests" / "data" / "episodes.jsonl"


@pytest.fixture(scope="session")
def recorded() -> List[Dict]:
    """The 400 recorded reference episodes (their `input` objects)."""
    with EPISODES.open() as f:
        return [json.loads(line)["input"] for line in f if line.strip()]


@pytest.fixture(scope="session")
def chaosops_bin() -> Path:
    """The `chaosops` binary: $CHAOSOPS_BIN, else the workspace's build (built if missing)."""
    env = os.environ.get("CHAOSOPS_BIN")
    if env:
        return Path(env)
    for profile in ("debug", "release"):
        path = ROOT / "target" / profile / "chaosops"
        if path.exists():
            return path
    cargo = shutil.which("cargo")
    assert cargo, "cargo is needed to build the chaosops binary (or set CHAOSOPS_BIN)"
    subprocess.run([cargo, "build", "-q", "-p", "chaosops-cli"], cwd=ROOT, check=True)
    return ROOT / "target" / "debug" / "chaosops"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def server(chaosops_bin: Path) -> Iterator[str]:
    """A `chaosops serve` on a free loopback port, ready; yields its base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [str(chaosops_bin), "serve", "--port", str(port), "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def run_replay(binary: Path, lines: List[str], *extra: str) -> List[Dict]:
    """Runs `chaosops replay` on `lines`; returns one parsed output object per line."""
    out = subprocess.run(
        [str(binary), "replay", *extra],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode in (0, 1), out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


def vec_buffers(n: int, reward_width: int):
    """Output arrays for `chaosops.VecEnv`: observations, masks, rewards, terminated, truncated."""
    import numpy as np

    import chaosops

    return (
        np.zeros((n, chaosops.OBS_LEN), np.float32),
        np.zeros((n, chaosops.num_actions), np.int8),
        np.zeros((n, reward_width), np.float64),
        np.zeros(n, bool),
        np.zeros(n, bool),
    )
