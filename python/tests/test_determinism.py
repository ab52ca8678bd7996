"""One seed, one episode: through Env, the AEC env, the vector env at any thread count, and `chaosops replay`."""

from __future__ import annotations

import json

import numpy as np

import chaosops
from chaosops import pettingzoo as cz

from conftest import run_replay, vec_buffers


def _actions(seed, k):
    return (seed * 1_000_003 + k * 7919) % chaosops.num_actions


def test_the_same_seed_gives_the_same_episode_everywhere(chaosops_bin):
    seeds = list(range(20, 44))
    # Env
    runs = {}
    for seed in seeds:
        env = chaosops.Env()
        env.reset(seed=seed)
        rewards, k = [], 0
        while not env.done:
            rewards.append(env.step_index(_actions(seed, k)))
            k += 1
        runs[seed] = (rewards, env.scenario, env.history, env.state())
    # AEC
    for seed in seeds:
        e = cz.raw_env()
        e.reset(seed=seed)
        got, k = [], 0
        for agent in e.agent_iter():
            _, _, term, trunc, _ = e.last()
            if term or trunc:
                e.step(None)
                continue
            e.step(_actions(seed, k))
            got.append((e.rewards["sre"], e.rewards["oversight"], any(e.terminations.values()), any(e.truncations.values())))
            k += 1
        assert got == runs[seed][0]
        assert e.state() == runs[seed][3]
    # Vector env, turn mode: environment i plays seed base + i.
    for threads in (1, 2, 3):
        n = len(seeds)
        v = chaosops.VecEnv(n, threads=threads)
        bufs = vec_buffers(n, 4)
        v.reset(seeds[0], *bufs)
        longest = max(len(r[0]) for r in runs.values())
        for k in range(longest):
            v.step(np.array([_actions(s, k) for s in seeds], dtype=np.int64), *bufs)
            for i, s in enumerate(seeds):
                rewards = runs[s][0]
                if k < len(rewards):
                    team, oversight, term, trunc = rewards[k]
                    assert tuple(bufs[2][i][:2]) == (team, oversight), (threads, s, k)
                    assert (bufs[3][i], bufs[4][i]) == (term, trunc)
    # chaosops replay
    lines = [json.dumps({"scenario": runs[s][1], "actions": runs[s][2]}) for s in seeds]
    for s, out in zip(seeds, run_replay(chaosops_bin, lines)):
        assert out["final_state"] == runs[s][3]
        assert [(r["team_reward"], r["oversight_reward"]) for r in out["steps"][:-1]] == [r[:2] for r in runs[s][0][:-1]]
