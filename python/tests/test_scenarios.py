"""Beyond the nine reference incidents, from Python: scenario packs (the folder
$CHAOSOPS_SCENARIOS names joins the registry when the package is first used, and its types
play like the built-in ones) and variation `standard`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = """
import json
import chaosops
types = {t["id"]: t for t in chaosops.failure_types()}
env = chaosops.Env(failure_types=["certificate_expiry"], tiers=["easy"])
env.reset(seed=3)
rewards = []
for action in [
    {"action_type": "identify_root_cause", "args": {"failure_type": "certificate_expiry"}},
    {"action_type": "noop"},
    {"action_type": "restart", "target": "auth"},
]:
    rewards.append(env.step(action)["reward"])
print(json.dumps({"types": types, "num_actions": chaosops.num_actions, "done": env.done,
                  "resolved": env.state()["resolved"]}))
"""


def run(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, env=env, check=False
    )


def test_a_pack_folder_joins_the_registry_and_plays() -> None:
    env = dict(os.environ, CHAOSOPS_SCENARIOS=str(ROOT / "scenarios"))
    done = run(env)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    packs = {i: t for i, t in out["types"].items() if t["source"] != "built-in"}
    assert len(packs) == 9 and len(out["types"]) == 18
    assert packs["certificate_expiry"]["source"].endswith("scenarios/certificate_expiry.toml")
    # identify_root_cause has one entry per registered type: 48 + 9.
    assert out["num_actions"] == 57
    assert out["done"] and out["resolved"]


def test_a_bad_pack_is_a_config_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text('id = "broken"\ndescription = "x"\nfix = 3\n')
    done = run(dict(os.environ, CHAOSOPS_SCENARIOS=str(tmp_path)))
    assert done.returncode != 0
    assert "ConfigError" in done.stderr and "broken.toml:3:" in done.stderr, done.stderr


def test_standard_variation_draws_episodes_that_a_memorised_answer_does_not_solve() -> None:
    import chaosops

    targets = set()
    for seed in range(40):
        env = chaosops.Env(failure_types=["memory_leak"], tiers=["easy"], variation="standard")
        env.reset(seed=seed)
        state = env.state()
        targets.add(state.get("variant_targets", {}).get("notifications"))
        again = chaosops.Env(failure_types=["memory_leak"], tiers=["easy"], variation="standard")
        again.reset(seed=seed)
        assert again.state() == state, "one seed, one episode"
    assert targets == {"auth", "payments", "notifications", "db"}
    reference = chaosops.Env(failure_types=["memory_leak"], tiers=["easy"])
    reference.reset(seed=1)
    assert "variant_targets" not in reference.state()
    with pytest.raises(chaosops.ConfigError, match=re.escape('unknown variation "wild"')):
        chaosops.Env(variation="wild")


def test_the_split_sides_are_disjoint_and_the_held_out_family_is_test_only() -> None:
    import chaosops

    def episodes(split: str) -> set:
        env = chaosops.Env(tiers=["medium"], split=split)
        seen = set()
        for seed in range(60):
            env.reset(seed=seed)
            state = env.state()
            seen.add((state["failure_type"], state["episode_id"]))
        return seen

    train, test = episodes("train"), episodes("test")
    assert train and test and not train & test
    # autoscaler_cost_cut is the held-out "autoscaling" family: test only.
    assert any(f == "autoscaler_cost_cut" for f, _ in test)
    assert not any(f == "autoscaler_cost_cut" for f, _ in train)
    with pytest.raises(chaosops.ConfigError, match=re.escape('held-out family "autoscaling"')):
        chaosops.Env(failure_types=["autoscaler_cost_cut"], split="train")
    with pytest.raises(chaosops.ConfigError, match=re.escape('unknown split "dev"')):
        chaosops.Env(split="dev")


def test_compound_incidents_run_through_env_replay_and_the_expert_tier() -> None:
    import chaosops

    # A compound named in a config: the expert tier's default pool is the compounds.
    env = chaosops.Env(tiers=["expert"])
    env.reset(seed=3)
    assert "+" in env.scenario["failure_type"]
    assert env.scenario["difficulty"] == "expert"
    # An explicit scenario naming the parts as a list; the oracle's moves resolve it at step 7.
    env = chaosops.Env()
    env.reset(scenario={"failure_type": ["memory_leak", "db_deadlock"], "difficulty": "expert", "max_steps": 30})
    assert env.state()["failure_type"] == "db_deadlock+memory_leak"
    moves = [
        {"action_type": "identify_root_cause", "args": {"failure_type": "db_deadlock"}},
        {"action_type": "noop"},
        {"action_type": "restart", "target": "db"},
        {"action_type": "noop"},
        {"action_type": "identify_root_cause", "args": {"failure_type": "memory_leak"}},
        {"action_type": "noop"},
        {"action_type": "restart", "target": "notifications"},
    ]
    for i, move in enumerate(moves):
        env.step(move)
        assert env.done == (i == len(moves) - 1), i
        if i == 2:
            assert env.state()["parts_fixed"] == 1 and not env.resolved
    assert env.resolved
    assert env.state()["cumulative_reward"] == 128.0
    # The same line through the replay path scores the same.
    line = json.dumps({"scenario": {"failure_type": "db_deadlock+memory_leak", "difficulty": "expert",
                                    "max_steps": 30}, "actions": moves})
    (out,) = chaosops.replay_lines([line])
    assert json.loads(out)["final_state"]["cumulative_reward"] == 128.0
    for bad, named in [("db_deadlock+db_deadlock", "named twice"), ("db_deadlock+nope", 'unknown failure type "nope"')]:
        with pytest.raises(chaosops.ConfigError, match=re.escape(named)):
            chaosops.Env(failure_types=[bad])
