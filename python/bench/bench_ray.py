"""Throughput of an evaluation sharded over Ray, against the same evaluation in one process.

    .venv/bin/python python/bench/bench_ray.py --workers 2

The policy is batched and vectorised (a fixed linear map of the observation, masked
argmax: a stand-in for a small network). Reported:

- single process: episodes/s of chaosops.evaluation.evaluate;
- Ray: episodes/s of chaosops.ray.evaluate on --workers workers, with its default shards
  (or --shards), and its efficiency = Ray rate / (single-process rate x workers);
- overhead per shard: the wall time of many near-empty shards, times the workers, per
  shard (scheduling, transfer and merging, with warm workers).

The single-process and Ray runs alternate (--repeats pairs after a warm-up of each), so a
change in the machine's speed during the benchmark hits both; the efficiency is reported
per pair (median and range). BLAS is held to one thread in this process, as Ray holds it
in a one-CPU worker, so both sides do the same work per core. The Ray and local results
are checked equal.
"""

from __future__ import annotations

import os

# Before NumPy loads: the single process gets what a one-CPU Ray worker gets.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from typing import Any, Callable, Dict, List, Optional  # noqa: E402

import numpy as np  # noqa: E402

import chaosops  # noqa: E402
from chaosops.evaluation import BatchPolicy, evaluate  # noqa: E402


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


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def best(fn: Callable[[], Any], repeats: int) -> float:
    """Best wall time of `repeats` runs of `fn`, after one warm-up run."""
    fn()
    return min(timed(fn) for _ in range(repeats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--episodes-per-type", type=int, default=6000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument(
        "--shards", type=int, default=None, help="shards (default: chaosops.ray's default)"
    )
    parser.add_argument("--repeats", type=int, default=5, help="pairs of timed runs")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import ray

    import chaosops.ray

    policy = BatchPolicy(Linear(), batch_size=args.batch_size, name="linear")
    episodes = 11 * args.episodes_per_type

    def local() -> Any:
        return evaluate(policy, episodes_per_type=args.episodes_per_type)

    ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
    shards: Optional[int] = args.shards

    def sharded() -> Any:
        return chaosops.ray.evaluate(
            policy, episodes_per_type=args.episodes_per_type, num_shards=shards, progress=None
        )

    assert sharded().records_jsonl == local().records_jsonl, "Ray and local results differ"
    local_times: List[float] = []
    ray_times: List[float] = []
    for _ in range(args.repeats):
        local_times.append(timed(local))
        ray_times.append(timed(sharded))
    efficiencies = sorted(l / (r * args.workers) for l, r in zip(local_times, ray_times))
    tiny_shards = 64
    tiny_s = best(
        lambda: chaosops.ray.evaluate(
            policy, tiers=["easy"], episodes_per_type=16, num_shards=tiny_shards, progress=None
        ),
        3,
    )
    used_shards = shards or chaosops.ray.default_num_shards()
    ray.shutdown()

    local_rate = episodes / statistics.median(local_times)
    ray_rate = episodes / statistics.median(ray_times)
    report: Dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus, {platform.python_version()}",
        "episodes": episodes,
        "workers": args.workers,
        "shards": used_shards,
        "batch_size": args.batch_size,
        "local_episodes_per_s": round(local_rate),
        "ray_episodes_per_s": round(ray_rate),
        "efficiency_median": round(statistics.median(efficiencies), 3),
        "efficiency_range": [round(efficiencies[0], 3), round(efficiencies[-1], 3)],
        "overhead_per_shard_ms": round(tiny_s * args.workers / tiny_shards * 1000, 2),
    }
    if args.json:
        print(json.dumps(report))
    else:
        print(f"machine: {report['machine']}")
        print(
            f"single process: {local_rate:,.0f} episodes/s "
            f"(median of {args.repeats} runs of {episodes} episodes)"
        )
        print(
            f"Ray, {args.workers} workers, {used_shards} shards: {ray_rate:,.0f} episodes/s; "
            f"efficiency (vs {args.workers} x single process, per pair of runs): median "
            f"{report['efficiency_median']:.0%}, range {efficiencies[0]:.0%}-{efficiencies[-1]:.0%}"
        )
        print(
            f"overhead per shard: {report['overhead_per_shard_ms']} ms "
            f"({tiny_shards} shards of 1 ms of work or less)"
        )


if __name__ == "__main__":
    main()
