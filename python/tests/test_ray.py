"""Evaluations sharded over a local Ray instance equal the single-process evaluation."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Iterator, List, Optional

import numpy as np
import pytest
import ray

import chaosops.ray
from chaosops.evaluation import BatchPolicy, evaluate


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    # The workers cannot import this test module: its policies travel by value.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
    )
    yield
    ray.shutdown()


def hashed(observations: np.ndarray, masks: np.ndarray) -> np.ndarray:
    picks = (np.abs(observations).sum(axis=1) * 997).astype(np.int64)
    legal = [np.flatnonzero(m) if m.any() else np.array([0]) for m in masks]
    return np.array([row[p % len(row)] for row, p in zip(legal, picks)], dtype=np.int64)


POLICY = BatchPolicy(hashed, batch_size=16, name="hashed")


@pytest.mark.parametrize("num_shards", [1, 3, 7, None])
def test_a_ray_evaluation_equals_the_local_one(num_shards: Optional[int]) -> None:
    local = evaluate(["heuristic", POLICY], episodes_per_type=6, seed_offset=3)
    reports: List[chaosops.ray.ShardReport] = []
    sharded = chaosops.ray.evaluate(
        ["heuristic", POLICY],
        episodes_per_type=6,
        seed_offset=3,
        num_shards=num_shards,
        progress=reports.append,
    )
    assert sharded.records_jsonl == local.records_jsonl
    assert sharded._evaluation_text == local._evaluation_text
    assert sharded.summary == local.summary
    if num_shards == 3:
        # Variation, a split and the expert tier reach every shard.
        options = dict(tiers=["hard", "expert"], variation="standard", split="test", episodes_per_type=2)
        local_varied = evaluate("heuristic", **options)
        varied = chaosops.ray.evaluate("heuristic", num_shards=3, progress=None, **options)
        assert varied.records_jsonl == local_varied.records_jsonl
        assert varied._evaluation_text == local_varied._evaluation_text
        assert varied.run["variation"] == "standard" and varied.run["split"] == "test"
    if num_shards is None:
        # The default: four shards per CPU of the two-CPU local instance.
        assert chaosops.ray.default_num_shards() == 8
        num_shards = 8
    assert sorted(r.shard for r in reports) == [(k, num_shards) for k in range(1, num_shards + 1)]
    assert [r.done for r in reports] == list(range(1, num_shards + 1))
    assert sum(r.episodes for r in reports) == 2 * 11 * 6


class FailsOnce:
    """A batched policy whose first call in shard 2's worker fails, once: by raising, or by
    killing the worker process. A marker file (the test's temporary folder, shared by the
    local workers) remembers that it failed."""

    def __init__(self, marker: Path, how: str) -> None:
        self.marker = str(marker)
        self.how = how
        self.__name__ = "hashed"

    def __call__(self, observations: np.ndarray, masks: np.ndarray) -> np.ndarray:
        if not os.path.exists(self.marker):
            with open(self.marker, "w") as f:
                f.write("failed once")
            if self.how == "raise":
                raise RuntimeError("a transient failure")
            os._exit(1)
        return hashed(observations, masks)


@pytest.mark.parametrize("how", ["raise", "exit"])
def test_a_failed_shard_is_retried(how: str, tmp_path: Path) -> None:
    marker = tmp_path / f"failed-{how}"
    local = evaluate(POLICY, episodes_per_type=3)
    policy = BatchPolicy(FailsOnce(marker, how), batch_size=16, name="hashed")
    sharded = chaosops.ray.evaluate(policy, episodes_per_type=3, num_shards=3, progress=None)
    assert marker.exists(), "the policy did fail once"
    assert sharded.records_jsonl == local.records_jsonl
    assert sharded._evaluation_text == local._evaluation_text


def test_without_retries_a_failure_is_reported(tmp_path: Path) -> None:
    policy = BatchPolicy(FailsOnce(tmp_path / "no-retry", "raise"), batch_size=4, name="hashed")
    with pytest.raises(Exception, match="a transient failure"):
        chaosops.ray.evaluate(policy, episodes_per_type=1, num_shards=2, max_retries=0, progress=None)
