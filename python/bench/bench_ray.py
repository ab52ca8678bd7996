"""Throughput of an evaluation sharded over Ray, against the same evaluation in one process.

    .venv/bin/python python/bench/bench_ray.py --workers 2

The policy is batched and vectorised (a fixed linear map of the observation, masked
argmax: a stand-in for a small network). Reported:

- single process: episodes/s of chaosops.evaluation.evaluate;
- Ray: episodes/s of chaosops.ray.evaluate with one large shard per worker, and its
  efficiency = Ray rate / (single-process rate x workers);
- overhead per shard: the wall time of many near-empty shards, times the workers, per
  shard (scheduling, transfer and merging, with warm workers).

Every figure is the best of --repeats runs after a warm-up; the Ray and local results are
checked equal.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from typing import Any, Callable, Dict

import numpy as np

import chaosops
from chaosops.evaluation import BatchPolicy, evaluate


class Linear:
    """A fixed linear policy: scores = observation @ W, the best legal action."""

    def __init__(self, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.w = rng.standard_normal((chaosops.OBS_LEN, chaosops.num_actions)).astype(np.float32)
        self.__name__ = "linear"

    def __call__(self, observations: np.ndarray, masks: np.ndarray) -> np.ndarray:
        scores = observations @ self.w
        scores[masks == 0] = -np.inf
        return scores.argmax(axis=1)


def best(fn: Callable[[], Any], repeats: int) -> float:
    """Best wall time of `repeats` runs of `fn`, after one warm-up run."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--episodes-per-type", type=int, default=6000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import ray

    import chaosops.ray

    policy = BatchPolicy(Linear(), batch_size=args.batch_size, name="linear")
    episodes = 11 * args.episodes_per_type
    local_result = evaluate(policy, episodes_per_type=args.episodes_per_type)
    local_s = best(lambda: evaluate(policy, episodes_per_type=args.episodes_per_type), args.repeats)

    ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
    sharded = chaosops.ray.evaluate(
        policy, episodes_per_type=args.episodes_per_type, num_shards=args.workers, progress=None
    )
    assert sharded.records_jsonl == local_result.records_jsonl, "Ray and local results differ"
    ray_s = best(
        lambda: chaosops.ray.evaluate(
            policy,
            episodes_per_type=args.episodes_per_type,
            num_shards=args.workers,
            progress=None,
        ),
        args.repeats,
    )
    shards = 64
    tiny_s = best(
        lambda: chaosops.ray.evaluate(
            policy, tiers=["easy"], episodes_per_type=16, num_shards=shards, progress=None
        ),
        args.repeats,
    )
    ray.shutdown()

    local_rate = episodes / local_s
    ray_rate = episodes / ray_s
    report: Dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus, {platform.python_version()}",
        "episodes": episodes,
        "workers": args.workers,
        "batch_size": args.batch_size,
        "local_episodes_per_s": round(local_rate),
        "ray_episodes_per_s": round(ray_rate),
        "efficiency": round(ray_rate / (local_rate * args.workers), 3),
        "overhead_per_shard_ms": round(tiny_s * args.workers / shards * 1000, 2),
    }
    if args.json:
        print(json.dumps(report))
    else:
        print(f"machine: {report['machine']}")
        print(f"single process: {local_rate:,.0f} episodes/s ({episodes} episodes in {local_s:.2f} s)")
        print(
            f"Ray, {args.workers} workers, {args.workers} shards: {ray_rate:,.0f} episodes/s "
            f"= {report['efficiency']:.0%} of {args.workers} x single process"
        )
        print(f"overhead per shard: {report['overhead_per_shard_ms']} ms ({shards} shards of 1 ms of work or less)")


if __name__ == "__main__":
    main()
