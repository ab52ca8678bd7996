"""chaosops.Env: dict observations, the numeric path, prompts, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

import chaosops
from chaosops import errors

from conftest import run_replay


def test_action_table_is_documented_and_round_trips():
    names = chaosops.action_names()
    assert names[0] == "noop"
    assert chaosops.num_actions == len(names)
    for i, name in enumerate(names):
        action = chaosops.decode_action(i)
        assert chaosops.encode_action(action) == i, name
        assert chaosops.encode_action(json.dumps(action)) == i
    assert chaosops.encode_action({"action_type": "scale", "target": "db", "args": {"replicas": 5}}) is None
    assert names.index("identify_root_cause:db_deadlock") > names.index("communicate:manager")
    mask = chaosops.action_mask("dev")
    assert mask[names.index("resolve")] == 0
    assert mask[names.index("flag_rogue:deploy_bot")] == 0
    assert chaosops.action_mask("oversight")[names.index("flag_rogue:deploy_bot")] == 1


def test_layout_covers_the_vector():
    layout = chaosops.observation_layout()
    assert layout[0][0] == "role"
    end = 0
    for name, start, length, doc in layout:
        assert start == end, name
        assert doc
        end = start + length
    assert end == chaosops.OBS_LEN


def test_reset_returns_the_servers_observation_shape():
    env = chaosops.Env(failure_types=["rogue_deploy_bot"], tiers=["hard"])
    obs = env.reset(seed=3)
    assert set(obs) == {"observation", "reward", "done"}
    assert set(obs["observation"]) == {"view", "step", "turn_role", "message", "last_step"}
    assert obs["observation"]["turn_role"] == "sre"
    assert obs["observation"]["last_step"] is None
    assert env.scenario == {"failure_type": "rogue_deploy_bot", "seed": 3, "difficulty": "hard", "max_steps": 25}
    view = obs["observation"]["view"]
    assert view["role"] == "sre"
    assert len(view["visible_logs"]) == 4  # the evidence line and three decoys
    assert all("is_red_herring" not in line for line in view["visible_logs"])


def test_an_oracle_episode_through_dicts():
    env = chaosops.Env(failure_types=["rogue_deploy_bot"], tiers=["hard"])
    env.reset(seed=3)
    plan = [
        {"action_type": "identify_root_cause", "args": {"failure_type": "rogue_deploy_bot"}},
        {"action_type": "flag_rogue", "target": "deploy_bot"},
        {"action_type": "rollback", "target": "payments"},
    ]
    rewards = []
    for action in plan:
        obs = env.step(action)
        rewards.append(obs["reward"])
    assert obs["done"] and env.resolved
    assert rewards == [28.0, 46.0, 110.0]
    assert obs["observation"]["last_step"]["flags"]["resolved"] is True
    assert [{k: v for k, v in a.items() if v not in (None, {})} for a in env.history] == plan
    assert "resolved at step 3" in env.render()
    with pytest.raises(errors.EpisodeFinishedError, match="finished"):
        env.step(0)
    assert env.step_count == 3


def _same(a, b):
    """Equal values of equal types (json.loads gives float for 45.0 and int for 3)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def test_dict_observations_are_the_servers_json():
    for seed in range(30):
        env = chaosops.Env()
        env.reset(seed=seed)
        k = 0
        while True:
            for role in chaosops.AGENTS:
                assert _same(env.observe(role), json.loads(env.observe_json(role))), (seed, role)
            if env.done:
                break
            env.step((seed * 13 + k * 5) % chaosops.num_actions)
            k += 1


def test_any_role_can_be_observed_and_prompted():
    env = chaosops.Env(failure_types=["autoscaler_cost_cut"], tiers=["medium"])
    env.reset(seed=1)
    manager = env.observe("manager")
    assert manager["observation"]["view"]["visible_metrics"] == {}
    oversight = env.view("oversight")
    assert oversight["visible_fleet_actions"][0]["agent_name"] == "autoscaler"
    assert "was_malicious" not in oversight["visible_fleet_actions"][0]
    p = env.prompt()
    assert "You are the SRE" in p["system"] and "payments" in p["user"]
    state = env.state()
    assert state["failure_type"] == "autoscaler_cost_cut"
    assert state["rogue_fleet_agent"] == "autoscaler"


def test_numeric_path_matches_the_dict_path():
    env = chaosops.Env()
    other = chaosops.Env()
    env.reset(seed=11)
    other.reset(seed=11)
    obs = np.zeros(chaosops.OBS_LEN, dtype=np.float32)
    for i in [5, 0, 12, 40, 3, 0, 0, 2]:
        if env.done:
            break
        team, oversight, terminated, truncated = env.step_into(i, obs)
        after = other.step(i)
        record = after["observation"]["last_step"]
        assert team == pytest.approx(record["team_reward"] + (-60.0 if truncated else 0.0))
        assert oversight == pytest.approx(record["oversight_reward"] + (-18.0 if truncated else 0.0))
        assert terminated == (record["done"] and other.resolved)
        expected = np.zeros(chaosops.OBS_LEN, dtype=np.float32)
        other.encode(expected)
        np.testing.assert_array_equal(obs, expected)
        assert np.all((obs >= -1) & (obs <= 1))


def test_seeds_draw_from_the_configuration():
    env = chaosops.Env(tiers=["easy"])
    drawn = set()
    for seed in range(60):
        env.reset(seed=seed)
        drawn.add(env.scenario["failure_type"])
        assert env.scenario["max_steps"] == 12
    assert drawn == {f for f, _ in env.candidates}
    again = chaosops.Env(tiers=["easy"])
    again.reset(seed=17)
    env.reset(seed=17)
    assert again.scenario == env.scenario
    # Without a seed, each environment follows its own deterministic stream.
    a, b = chaosops.Env(), chaosops.Env()
    assert [a.reset()["observation"]["view"] == b.reset()["observation"]["view"] for _ in range(3)] == [True] * 3


def test_explicit_scenarios_and_strict_rewards():
    env = chaosops.Env(reward="strict")
    env.reset(scenario={"failure_type": "misrouted_traffic", "seed": 2, "difficulty": "hard"})
    assert env.scenario == {"failure_type": "misrouted_traffic", "seed": 2, "difficulty": "hard", "max_steps": 20}
    declare = {"action_type": "identify_root_cause", "args": {"failure_type": "misrouted_traffic"}}
    first = env.step(declare)["observation"]["last_step"]["breakdown"]["early_root_cause_bonus"]
    env.step(0), env.step(0), env.step(0)
    second = env.step(declare)["observation"]["last_step"]["breakdown"]["early_root_cause_bonus"]
    assert (first, second) == (30.0, 0.0)
    reference = chaosops.Env()
    reference.reset(scenario=env.scenario)
    reference.step(declare), reference.step(0), reference.step(0), reference.step(0)
    assert reference.step(declare)["observation"]["last_step"]["breakdown"]["early_root_cause_bonus"] == 30.0


@pytest.mark.parametrize(
    "kwargs, cls, text",
    [
        ({"failure_types": ["dns_outag"]}, errors.ConfigError, 'unknown failure type "dns_outag"'),
        ({"tiers": ["extreme"]}, errors.ConfigError, 'unknown difficulty "extreme"'),
        ({"reward": "lenient"}, errors.ConfigError, 'unknown reward preset "lenient"'),
        ({"variation": "wild"}, errors.ConfigError, 'unknown variation "wild"'),
        ({"max_steps": 0}, errors.ConfigError, "max_steps: 0 is out of range"),
        ({"max_steps": -5}, errors.ConfigError, "max_steps: -5 is out of range"),
        ({"max_steps": 10**30}, errors.ConfigError, "max_steps: 1000000000000000000000000000000 is out of range"),
        ({"max_steps": "12"}, errors.ConfigError, "max_steps: 12 is not an integer"),
        ({"failure_types": []}, errors.ConfigError, "the list is empty"),
    ],
)
def test_bad_configuration_names_the_value(kwargs, cls, text):
    with pytest.raises(cls, match=text):
        chaosops.Env(**kwargs)


def test_bad_actions_name_the_value_and_change_nothing():
    env = chaosops.Env()
    with pytest.raises(errors.NotResetError):
        env.step(0)
    env.reset(seed=4)
    before = env.state()
    cases = [
        (999, errors.InvalidActionError, "action index 999 is out of range"),
        (-1, errors.InvalidActionError, "action index -1"),
        (True, errors.InvalidActionError, "is a bool"),
        (2**70, errors.InvalidActionError, "does not fit"),
        ({"action_type": "reboot"}, errors.InvalidActionError, 'unknown action type "reboot"'),
        ("{not json", errors.InvalidActionError, "invalid JSON"),
        ({"action_type": "scale", "target": "db", "args": {"replicas": 10**6}}, errors.InvalidActionError, "1000000 is out of range"),
        ({"action_type": "communicate", "args": {"message": "x" * 5000}}, errors.InvalidActionError, "args.message is 5000 bytes"),
        (3.5, errors.InvalidActionError, "action"),
        (None, errors.InvalidActionError, "action"),
    ]
    for action, cls, text in cases:
        with pytest.raises(cls, match=text):
            env.step(action)
        assert isinstance(cls("x"), ValueError)
    assert env.state() == before
    with pytest.raises(errors.InvalidArgumentError, match='unknown role "ceo"'):
        env.observe("ceo")
    with pytest.raises(errors.InvalidArgumentError, match="holds 3 values"):
        env.encode(np.zeros(3, dtype=np.float32))
    with pytest.raises(TypeError):
        env.encode(np.zeros(chaosops.OBS_LEN, dtype=np.float64))
    assert env.state() == before


def test_env_matches_chaosops_replay(chaosops_bin):
    """The same scenario and actions through Env and through the binary: equal records and states."""
    lines, expected = [], []
    for seed in range(40):
        env = chaosops.Env()
        env.reset(seed=seed)
        records = []
        k = 0
        while not env.done:
            obs = env.step((seed * 31 + k * 7) % chaosops.num_actions)
            records.append(obs["observation"]["last_step"])
            k += 1
        lines.append(json.dumps({"scenario": env.scenario, "actions": env.history}))
        expected.append((records, env.state()))
    for out, (records, state) in zip(run_replay(chaosops_bin, lines), expected):
        assert out["steps"] == records
        assert out["final_state"] == state


def test_replay_lines_in_process_equals_the_binary(chaosops_bin, recorded):
    lines = [json.dumps(r) for r in recorded[:50]]
    assert [json.loads(x) for x in chaosops.replay_lines(lines)] == run_replay(chaosops_bin, lines)
