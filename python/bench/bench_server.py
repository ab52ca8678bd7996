"""CPU per step and memory per session of `chaosops serve`, measured from outside.

    cargo build --release -p chaosops-cli
    .venv/bin/python python/bench/bench_server.py

- CPU: the server runs as its own process; `chaosops bench --server --connect` plays
  `--steps` noop steps with `--clients` concurrent WebSocket clients against it, and the
  server's CPU time (user + system, from /proc/PID/stat) is divided by the steps.
- Memory: `--sessions` sessions are opened (each with a reset, then left idle) and the
  server's resident set size (VmRSS) grows by what they hold; divided by the sessions.

Linux only (/proc). Needs the `websockets` package (the test requirements have it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def open_sessions(url: str, n: int) -> List[Any]:
    import websockets

    sessions = []
    for i in range(n):
        ws = await websockets.connect(url, max_size=None)
        await ws.send(json.dumps({"type": "reset", "data": {"failure_type": "cascade", "difficulty": "hard", "seed": i}}))
        await ws.recv()
        sessions.append(ws)
    return sessions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", default=str(ROOT / "target" / "release" / "chaosops"))
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--steps", type=int, default=400_000)
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    port = free_port()
    server = subprocess.Popen(
        [args.binary, "serve", "--port", str(port), "--quiet", "--max-sessions", str(args.sessions + 64)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).read()
                break
            except OSError:
                time.sleep(0.05)
        # Warm-up, then the measured run.
        load = [args.binary, "bench", "--server", "--connect", f"127.0.0.1:{port}", "--json", "--clients", str(args.clients)]
        subprocess.run(load + ["--steps", "20000"], check=True, capture_output=True)
        before = cpu_seconds(server.pid)
        out = subprocess.run(load + ["--steps", str(args.steps)], check=True, capture_output=True, text=True)
        cpu = cpu_seconds(server.pid) - before
        run = json.loads(out.stdout.splitlines()[-1])

        idle = rss_kib(server.pid)
        loop = asyncio.new_event_loop()
        sessions = loop.run_until_complete(open_sessions(f"ws://127.0.0.1:{port}/ws", args.sessions))
        time.sleep(0.5)
        held = rss_kib(server.pid)
        async def close_all() -> None:
            await asyncio.gather(*(ws.close() for ws in sessions))

        loop.run_until_complete(close_all())
        time.sleep(1.5)
        after = rss_kib(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=10)

    report: Dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus",
        "clients": args.clients,
        "steps": run["steps"],
        "server_cpu_us_per_step": round(cpu / run["steps"] * 1e6, 2),
        "steps_per_sec": round(run["steps_per_sec"]),
        "sessions": args.sessions,
        "kib_per_session": round((held - idle) / args.sessions, 1),
        "rss_kib": {"after_load": idle, "with_sessions": held, "after_close": after},
    }
    if args.json:
        print(json.dumps(report))
    else:
        print(f"machine: {report['machine']}")
        print(
            f"{args.clients} clients, {run['steps']} steps: server CPU {report['server_cpu_us_per_step']} us/step "
            f"({report['steps_per_sec']:,} steps/s)"
        )
        print(
            f"{args.sessions} idle sessions: {report['kib_per_session']} KiB each "
            f"(RSS {idle} -> {held} KiB; {after} KiB after they closed)"
        )


if __name__ == "__main__":
    main()
