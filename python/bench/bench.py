"""Throughput of the chaosops Python package, measured from Python.

Run on one core, as the README reports it:

    taskset -c 0 .venv/bin/python python/bench/bench.py

Each figure is the best of --repeats timed runs (wall clock, time.perf_counter), after a warm-up.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from typing import Callable, Dict, List

import numpy as np

import chaosops
from chaosops.gymnasium import SeatVectorEnv
from chaosops.trl import build_dataset, reward_function


def best(fn: Callable[[], int], repeats: int) -> float:
    """Runs `fn` (which returns how many units it did) `repeats` times; the best units/second."""
    fn()
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        units = fn()
        rates.append(units / (time.perf_counter() - t0))
    return max(rates)


def vector(mode: Dict, n: int, steps: int, random_actions: bool, threads: int = 1, own: bool = True) -> Callable[[], int]:
    """`steps` calls of `VecEnv.step` on `n` environments, writing into the env's own arrays
    (`own=True`, `VecEnv.buffers`) or into five arrays passed with every call."""
    v = chaosops.VecEnv(n, threads=threads, **mode)
    w = v.reward_width
    bufs = (
        ()
        if own
        else (
            np.zeros((n, chaosops.OBS_LEN), np.float32),
            np.zeros((n, chaosops.num_actions), np.int8),
            np.zeros((n, w), np.float64),
            np.zeros(n, bool),
            np.zeros(n, bool),
        )
    )
    v.reset(0, *bufs)
    rng = np.random.default_rng(0)
    # Random legal-ish actions drawn once: the cost measured is the engine's, not NumPy's.
    table = rng.integers(0, chaosops.num_actions, size=(64, n)) if random_actions else np.zeros((64, n), np.int64)
    rows = [np.ascontiguousarray(r, dtype=np.int64) for r in table]

    def run_own() -> int:
        step = v.step
        for k in range(steps):
            step(rows[k & 63])
        return steps * n

    def run() -> int:
        step = v.step
        for k in range(steps):
            step(rows[k & 63], *bufs)
        return steps * n

    return run_own if own else run


def gym_vector(n: int, steps: int) -> Callable[[], int]:
    env = SeatVectorEnv(num_envs=n, seat="sre", others="noop")
    env.reset(seed=0)
    actions = np.zeros(n, dtype=np.int64)

    def run() -> int:
        step = env.step
        for _ in range(steps):
            step(actions)
        return steps * n

    return run


def env_round_trip(steps: int) -> Callable[[], int]:
    env = chaosops.Env(max_steps=1000)
    obs = np.zeros(chaosops.OBS_LEN, np.float32)
    env.reset(seed=0)

    def run() -> int:
        done = 0
        step_into = env.step_into
        while done < steps:
            env.reset_only(done)
            for _ in range(500):
                step_into(0, obs)
            done += 500
        return done

    return run


def dict_observation(calls: int) -> Callable[[], int]:
    env = chaosops.Env(failure_types=["autoscaler_cost_cut"], tiers=["hard"])
    env.reset(seed=0)
    env.step({"action_type": "communicate", "args": {"message": "looking at payments"}})

    def run() -> int:
        observe = env.observe
        for _ in range(calls):
            observe("oversight")
        return calls

    return run


def trl_rewards(rows: int, group: int) -> Callable[[], int]:
    data = build_dataset(rows, seed=0, max_depth=6)
    f = reward_function()
    texts = [
        '{"action_type": "restart", "target": "db"}',
        'I think the autoscaler did it. {"action_type": "flag_rogue", "target": "autoscaler"}',
        '```json\n{"action_type": "identify_root_cause", "args": {"failure_type": "db_deadlock"}}\n```',
        "not sure",
    ]
    # GRPOTrainer repeats each prompt row `group` times; the columns hold the row's objects.
    scen = [r["scenario"] for r in data for _ in range(group)]
    acts = [r["actions"] for r in data for _ in range(group)]
    comps = [texts[i % len(texts)] for i in range(len(scen))]

    def run() -> int:
        f(prompts=None, completions=comps, scenario=scen, actions=acts)
        return len(comps)

    return run


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--threads", type=int, default=1, help="worker threads of the vector figures (default 1)")
    p.add_argument("--envs", type=int, default=64, help="environments of the vector figures (default 64)")
    args = p.parse_args()
    r = args.repeats
    t = args.threads
    p_envs = args.envs
    seat_noop = {"seat": "sre", "others": "noop"}
    seat_heuristic = {"seat": "sre", "others": "heuristic"}
    figures: List[Dict] = [
        {"name": f"VecEnv turn mode, {p_envs} envs, noop actions, {t} thread(s)", "unit": "env steps/s", "value": best(vector({}, p_envs, 256000 // p_envs, False, t), r)},
        {"name": "  the same, five arrays passed with each call", "unit": "env steps/s", "value": best(vector({}, p_envs, 256000 // p_envs, False, t, own=False), r)},
        {"name": f"VecEnv turn mode, {p_envs} envs, random actions, {t} thread(s)", "unit": "env steps/s", "value": best(vector({}, p_envs, 256000 // p_envs, True, t), r)},
        {"name": f"VecEnv seat mode (others noop), {p_envs} envs, {t} thread(s)", "unit": "learner steps/s", "value": best(vector(seat_noop, p_envs, 128000 // p_envs, False, t), r)},
        {"name": f"VecEnv seat mode (others heuristic), {p_envs} envs, {t} thread(s)", "unit": "learner steps/s", "value": best(vector(seat_heuristic, p_envs, 64000 // p_envs, True, t), r)},
        {"name": "gymnasium SeatVectorEnv.step (others noop), 64 envs", "unit": "learner steps/s", "value": best(gym_vector(64, 2000), r)},
        {"name": "Env.step_into (step + numeric observation)", "unit": "steps/s", "value": best(env_round_trip(200_000), r)},
        {"name": "Env.observe (dict observation, oversight)", "unit": "µs/call", "value": 1e6 / best(dict_observation(20_000), r)},
        {"name": "trl.reward_function, groups of 8", "unit": "completions/s", "value": best(trl_rewards(2000, 8), r)},
    ]
    machine = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus_allowed": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "chaosops": chaosops.__version__,
    }
    if args.json:
        print(json.dumps({"machine": machine, "figures": figures}, indent=2))
        return
    print(f"python {machine['python']} on {machine['machine']}, {machine['cpus_allowed']} CPU(s) allowed")
    for f in figures:
        v = f["value"]
        text = f"{v:,.2f}" if f["unit"].startswith("µs") else f"{v:,.0f}"
        print(f"{f['name']:<64} {text:>14} {f['unit']}")


if __name__ == "__main__":
    main()
