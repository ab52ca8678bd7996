"""chaosops.trl: the GRPO reward function equals `chaosops replay`, in every completion format."""

from __future__ import annotations

import json

import pytest

import chaosops
from chaosops import errors
from chaosops.trl import build_dataset, completion_text, format_reward_function, reward_function

from conftest import run_replay


def _styles(action):
    text = json.dumps(action)
    return [
        text,
        f"The fix is clear. {text} That should do it.",
        f"```json\n{text}\n```",
    ]


def test_the_reward_function_scores_like_chaosops_replay(recorded, chaosops_bin):
    """Every recorded episode: history = all but the last action, completion = the last."""
    scenarios, histories, completions, lines = [], [], [], []
    for episode in recorded:
        if not episode["actions"]:
            continue
        *history, last = episode["actions"]
        for text in _styles(last):
            scenarios.append(episode["scenario"])
            histories.append(history)
            completions.append(text)
            lines.append(json.dumps({"scenario": episode["scenario"], "actions": history, "completion": text}))
    assert len(completions) > 1000
    for weight in (0.6, 0.25):
        f = reward_function(team_weight=weight)
        got = f(prompts=[None] * len(completions), completions=completions, scenario=scenarios, actions=histories)
        expected = [o["blended_reward"] for o in run_replay(chaosops_bin, lines, "--team-weight", str(weight))]
        assert got == expected


def test_conversational_completions_and_json_columns():
    rows = build_dataset(6, seed=3, max_depth=4)
    f = reward_function()
    action = '{"action_type": "noop"}'
    chat = [[{"role": "assistant", "content": action}] for _ in rows]
    plain = [action for _ in rows]
    as_json = dict(scenario=[json.dumps(r["scenario"]) for r in rows], actions=[json.dumps(r["actions"]) for r in rows])
    as_objects = dict(scenario=[r["scenario"] for r in rows], actions=[r["actions"] for r in rows])
    a = f(prompts=None, completions=chat, **as_objects)
    assert a == f(prompts=None, completions=plain, **as_json)
    assert all(isinstance(x, float) for x in a)
    assert completion_text([{"role": "assistant", "content": [{"type": "text", "text": "hi"}]}]) == "hi"
    assert completion_text([]) == ""


def test_unscorable_rows_are_none():
    f = reward_function()
    done = {"failure_type": "db_deadlock", "seed": 1}
    fixed = [{"action_type": "restart", "target": "db"}]
    rewards = f(
        prompts=None,
        completions=["{}", "{}", "{}"],
        scenario=[done, {"failure_type": "nope"}, done],
        actions=[fixed, [], [{"action_type": "noop"}]],
    )
    assert rewards[0] is None and rewards[1] is None and isinstance(rewards[2], float)
    with pytest.raises(errors.InvalidArgumentError, match="'scenario' and 'actions'"):
        f(prompts=None, completions=["x"])
    with pytest.raises(errors.ConfigError, match="team_weight 1.5"):
        reward_function(team_weight=1.5)


def test_format_reward():
    f = format_reward_function()
    assert f.__name__ == "chaosops_format_reward"
    assert f(completions=['{"action_type": "escalate"}', "I would restart db", '{"action_type": "reboot"}']) == [1.0, 0.0, 0.0]


def test_parse_action_reports_the_outcome():
    action, report = chaosops.parse_action('Sure: {"action_type": "scale", "target": "db", "args": {"replicas": "lots"}}')
    assert action["action_type"] == "scale" and report["outcome"] == "parsed"
    action, report = chaosops.parse_action("no idea")
    assert action == {"action_type": "noop", "target": None, "args": {}}
    assert report["outcome"] == "fallback" and "reason" in report


def test_the_dataset_is_deterministic_and_promptable():
    a = build_dataset(20, seed=9, policy="random", max_depth=8)
    assert a == build_dataset(20, seed=9, policy="random", max_depth=8)
    assert a != build_dataset(20, seed=10, policy="random", max_depth=8)
    for row in a:
        assert set(row) == {"prompt", "scenario", "actions", "role"}
        assert row["prompt"][0]["role"] == "system" and row["prompt"][1]["role"] == "user"
        p = chaosops.prompt(row["scenario"], row["actions"])
        assert p["role"] == row["role"]
        assert p["system"] == row["prompt"][0]["content"] and p["user"] == row["prompt"][1]["content"]
    assert max(len(r["actions"]) for r in a) > 2
    text = build_dataset(1, seed=9, chat=False)[0]["prompt"]
    assert isinstance(text, str) and "Your action" in text
    with pytest.raises(errors.ConfigError, match='unknown policy "genius"'):
        build_dataset(1, policy="genius")
    with pytest.raises(errors.EpisodeFinishedError):
        chaosops.prompt({"failure_type": "db_deadlock", "seed": 1}, [{"action_type": "restart", "target": "db"}])
