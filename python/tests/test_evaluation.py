"""Evaluations from Python equal `chaosops eval`'s, for built-in and Python policies."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import chaosops
from chaosops.evaluation import BatchPolicy, evaluate, merge

FILES = ["run.json", "episodes.jsonl", "evaluation.json", "evaluation_summary.txt"]


def cli_eval(binary: Path, out: Path, *args: str) -> None:
    done = subprocess.run(
        [str(binary), "eval", *args, "--out-dir", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def same_files(a: Path, b: Path) -> None:
    for name in FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_builtin_policies_equal_the_command_line(chaosops_bin: Path, tmp_path: Path) -> None:
    cli_eval(chaosops_bin, tmp_path / "cli", "--episodes-per-type", "2", "--seed-offset", "5")
    result = evaluate(["oracle", "heuristic", "random"], episodes_per_type=2, seed_offset=5)
    result.write(tmp_path / "py")
    same_files(tmp_path / "cli", tmp_path / "py")
    assert result.aggregates[0]["policy"] == "oracle"
    assert result.aggregates[0]["mean_reward"] == 134.0
    assert len(result.records()) == 3 * 11 * 2



def test_variation_split_and_the_expert_tier_equal_the_command_line(
    chaosops_bin: Path, tmp_path: Path
) -> None:
    args = ["--tiers", "easy,expert", "--variation", "standard", "--split", "test"]
    cli_eval(chaosops_bin, tmp_path / "cli", *args, "--episodes-per-type", "2")
    result = evaluate(
        ["oracle", "heuristic", "random"],
        tiers=["easy", "expert"],
        variation="standard",
        split="test",
        episodes_per_type=2,
    )
    result.write(tmp_path / "py")
    same_files(tmp_path / "cli", tmp_path / "py")
    assert result.run["variation"] == "standard" and result.run["split"] == "test"
    expert = [r for r in result.records() if r["tier"] == "expert"]
    assert expert and all("+" in r["failure_type"] for r in expert)
    for bad, named in [({"variation": "wild"}, 'unknown variation "wild"'),
                       ({"split": "dev"}, 'unknown split "dev"')]:
        with pytest.raises(chaosops.ConfigError, match=named):
            evaluate("oracle", **bad)

def noop(observation: np.ndarray, mask: np.ndarray) -> int:
    assert observation.shape == (chaosops.OBS_LEN,) and observation.dtype == np.float32
    assert mask.shape == (chaosops.num_actions,) and mask.dtype == np.int8
    assert mask[0] == 1, "noop is always allowed"
    return 0


def noop_batch(observations: np.ndarray, masks: np.ndarray) -> np.ndarray:
    return np.zeros(len(observations), dtype=np.int64)


@pytest.mark.parametrize(
    "policy",
    [
        noop,
        BatchPolicy(noop_batch, batch_size=1, name="noop"),
        BatchPolicy(noop_batch, batch_size=7, name="noop"),
        BatchPolicy(noop_batch, batch_size=256, name="noop"),
    ],
    ids=["step", "batch1", "batch7", "batch256"],
)
def test_a_python_policy_plays_the_same_episodes_as_the_command_line(
    policy: object, chaosops_bin: Path, tmp_path: Path
) -> None:
    # A Python policy that always plays noop, named noop (a function's name is its
    # policy name), is indistinguishable from the built-in noop policy: same episode
    # list, records and aggregates, byte for byte.
    cli_eval(chaosops_bin, tmp_path / "cli", "--policies", "noop", "--episodes-per-type", "3")
    evaluate(policy, episodes_per_type=3).write(tmp_path / "py")  # type: ignore[arg-type]
    same_files(tmp_path / "cli", tmp_path / "py")


def hashed(observations: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """A deterministic policy that depends on the observation: a legal action picked by a
    hash of the vector."""
    picks = (np.abs(observations).sum(axis=1) * 997).astype(np.int64)
    legal = [np.flatnonzero(m) if m.any() else np.array([0]) for m in masks]
    return np.array([row[p % len(row)] for row, p in zip(legal, picks)], dtype=np.int64)


def test_batched_results_do_not_depend_on_the_batch_size_and_shards_merge_exactly() -> None:
    results = [
        evaluate(BatchPolicy(hashed, batch_size=n, name="hashed"), episodes_per_type=4)
        for n in (1, 5, 64)
    ]
    assert all(r.records_jsonl == results[0].records_jsonl for r in results)
    assert all(r.evaluation == results[0].evaluation for r in results)
    rewards = {r["cumulative_reward"] for r in results[0].records()}
    assert len(rewards) > 5, "the policy really varies its play"
    shards = [
        evaluate(BatchPolicy(hashed, batch_size=8, name="hashed"), episodes_per_type=4, shard=k)
        for k in ("3/3", "1/3", "2/3")
    ]
    # Read back from their records, and merged from the shards' own tallies: one result.
    for merged in (merge([(s.run, s.records_jsonl) for s in shards]), merge(shards)):
        assert merged.records_jsonl == results[0].records_jsonl
        assert merged.summary == results[0].summary
        assert merged._evaluation_text == results[0]._evaluation_text
    # A merge of merges: the merged tally is exact too.
    assert merge([merge(shards)])._evaluation_text == results[0]._evaluation_text


def test_a_merge_of_tallies_refuses_records_that_do_not_match_them() -> None:
    shards = [evaluate("random", tiers=["easy"], episodes_per_type=2, shard=(k, 2)) for k in (1, 2)]
    first, second = shards
    cut = replace(first, records_jsonl=first.records_jsonl[:-1])
    with pytest.raises(chaosops.ConfigError, match="shard 1/2: its records hold 3 complete lines where the shard has 4"):
        merge([cut, second])
    swapped = replace(first, records_jsonl=second.records_jsonl)
    with pytest.raises(chaosops.ConfigError, match="shard 1/2: its first record is episode 4 where episode 0"):
        merge([swapped, second])
    foreign = replace(first, _tally_text=second._tally_text)
    with pytest.raises(chaosops.ConfigError, match="its tally counts other episodes than 0..4"):
        merge([foreign, second])
    with pytest.raises(chaosops.InvalidArgumentError, match="tally 0 is not a tally"):
        merge([replace(first, _tally_text="{}"), second])


def test_mixed_builtin_and_python_policies_keep_the_list_order(tmp_path: Path) -> None:
    mixed = evaluate(
        ["oracle", BatchPolicy(hashed, batch_size=8, name="hashed"), "random"],
        episodes_per_type=1,
        records_path=tmp_path / "records.jsonl",
    )
    assert mixed.records_jsonl == b""
    lines = (tmp_path / "records.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["index"] for r in records] == list(range(33))
    assert [r["policy"] for r in records[::11]] == ["oracle", "hashed", "random"]
    assert [a["policy"] for a in mixed.aggregates][::3] == ["oracle", "hashed", "random"]


def test_bad_policies_and_options_are_named() -> None:
    with pytest.raises(chaosops.InvalidActionError, match="chose action 999 in episode 0"):
        evaluate(lambda o, m: 999, tiers=["easy"], episodes_per_type=1)
    with pytest.raises(chaosops.InvalidArgumentError, match="returned 1 action indices for a batch of 4"):
        evaluate(BatchPolicy(lambda o, m: [0], batch_size=4), tiers=["easy"], episodes_per_type=1)
    with pytest.raises(chaosops.InvalidArgumentError, match="expected 2 integer action indices"):
        evaluate(BatchPolicy(lambda o, m: "noop", batch_size=2), tiers=["easy"], episodes_per_type=1)
    with pytest.raises(chaosops.ConfigError, match='unknown policy "genius"'):
        evaluate("genius")
    with pytest.raises(chaosops.ConfigError, match='policy name "noop" is given twice'):
        evaluate(["noop", BatchPolicy(noop_batch, name="noop")])
    with pytest.raises(chaosops.ConfigError, match='shard "4/3" is not K/N'):
        evaluate("noop", shard="4/3")
    with pytest.raises(chaosops.ConfigError, match='unknown difficulty "extreme"'):
        evaluate("noop", tiers=["extreme"])
    with pytest.raises(chaosops.ConfigError, match="episodes_per_type 0 is out of range"):
        evaluate("noop", episodes_per_type=0)

    class Boom(Exception):
        pass

    def explodes(o: np.ndarray, m: np.ndarray) -> int:
        raise Boom("the policy's own error")

    with pytest.raises(Boom, match="the policy's own error"):
        evaluate(explodes, tiers=["easy"], episodes_per_type=1)
    shard = evaluate("noop", tiers=["easy"], episodes_per_type=2, shard="1/2")
    with pytest.raises(chaosops.ConfigError, match="1 of 2 shards given"):
        merge([(shard.run, shard.records_jsonl)])
