"""`chaosops serve` against current OpenEnv's own validator (`openenv validate --url`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest


def test_openenv_validate_passes_every_criterion(server: str) -> None:
    openenv = Path(sys.executable).parent / "openenv"
    done = subprocess.run(
        [str(openenv), "validate", "--url", server, "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    report = json.loads(done.stdout[done.stdout.index("{") :])
    failed = [c["id"] for c in report["criteria"] if not c["passed"]]
    assert report["passed"], failed
    assert {c["id"] for c in report["criteria"]} >= {
        "openapi_version_available",
        "health_endpoint",
        "metadata_endpoint",
        "schema_endpoint",
        "mcp_endpoint",
        "mode_endpoint_consistency",
    }
    assert report["mode"] == "simulation"
    assert done.returncode == 0


def rpc(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"{url}/mcp",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as r:
        return json.loads(r.read())


def test_the_mcp_endpoint_offers_the_replay_tool(server: str) -> None:
    init = rpc(server, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}})
    assert init["result"]["serverInfo"]["name"] == "chaosops"
    tools = rpc(server, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    assert [t["name"] for t in tools["result"]["tools"]] == ["replay"]
    call = rpc(
        server,
        {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "tools/call",
            "params": {
                "name": "replay",
                "arguments": {
                    "scenario": {"failure_type": "db_deadlock", "seed": 1},
                    "actions": [{"action_type": "restart", "target": "db"}],
                },
            },
        },
    )
    replay = json.loads(call["result"]["content"][0]["text"])
    assert replay["final_state"]["resolved"] is True
    assert rpc(server, {"jsonrpc": "2.0", "id": 4, "method": "dance"})["error"]["code"] == -32601
    assert rpc(server, {})["error"]["code"] == -32600


ROOT = Path(__file__).resolve().parents[2]


def readme_client() -> tuple:
    """The README's OpenEnv client snippet and the output it shows."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Serving the environment to trainers") :]
    start = section.index("```python\n") + len("```python\n")
    code = section[start : section.index("```", start)]
    after = section[section.index("```", start) + 3 :]
    out_start = after.index("```\n") + 4
    expected = after[out_start : after.index("```", out_start)]
    return code, expected


def core_python() -> Path:
    path = os.environ.get("OPENENV_CORE_PYTHON") or str(ROOT / ".venv-openenv-core" / "bin" / "python")
    assert Path(path).exists(), (
        f"{path} is missing: scripts/test.sh creates that venv with the previous OpenEnv client "
        "(python/requirements-openenv-core.txt)"
    )
    return Path(path)


@pytest.mark.parametrize("client", ["openenv (current)", "openenv-core 0.3"])
def test_both_openenv_clients_play_the_readme_example_unchanged(server: str, client: str) -> None:
    code, expected = readme_client()
    assert "127.0.0.1:8765" in code
    code = code.replace("http://127.0.0.1:8765", server)
    python = sys.executable if client.startswith("openenv (") else str(core_python())
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected
