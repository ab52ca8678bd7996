"""Evaluate policies, built-in or your own, exactly as ``chaosops eval`` does.

The episode list, the per-episode records (``episodes.jsonl``) and the aggregates
(``evaluation.json``) are those of the command line, byte for byte: a policy evaluated
here and one evaluated by ``chaosops eval`` are compared on the same episodes.

A policy is

- a built-in name: ``"oracle"``, ``"heuristic"``, ``"random"`` or ``"noop"`` (played in
  Rust, on ``threads`` threads);
- a callable ``policy(observation, mask) -> int``: ``observation`` is the acting role's
  numeric observation (``float32``, shape ``(OBS_LEN,)``; its layout is
  :func:`chaosops.observation_layout`), ``mask`` the action mask of that role (``int8``,
  shape ``(num_actions,)``), and the result an index of the action table
  (:func:`chaosops.action_names`);
- a :class:`BatchPolicy`: a callable ``policy(observations, masks) -> actions`` asked for
  ``batch_size`` episodes at once (arrays of shape ``(batch_size, OBS_LEN)`` and
  ``(batch_size, num_actions)``; rows of idle lanes are zeros and their actions are
  ignored), the way a network is evaluated. The episodes run side by side in Rust.

The arrays a policy is handed are the same two arrays at every call, refilled in place
(as :class:`chaosops.VecEnv` does with its buffers): copy what you keep.

Every role of an episode is played by the same policy; the role is in the observation
(its first four values).

Example::

    import numpy as np
    import chaosops
    from chaosops.evaluation import BatchPolicy, evaluate

    def first_legal(observations, masks):
        return masks.argmax(axis=1)

    result = evaluate(["oracle", BatchPolicy(first_legal, batch_size=64, name="first_legal")],
                      episodes_per_type=10)
    print(result.summary)
    result.write("artifacts/my-eval")
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

from chaosops import _native
from chaosops.errors import ConfigError

__all__ = ["BatchPolicy", "EvalResult", "Policy", "evaluate", "merge", "parse_shard"]

StepCallable = Callable[[npt.NDArray[np.float32], npt.NDArray[np.int8]], int]
BatchCallable = Callable[[npt.NDArray[np.float32], npt.NDArray[np.int8]], Any]


@dataclass(frozen=True)
class BatchPolicy:
    """A policy asked for a batch of episodes at a time.

    Args:
        fn: ``fn(observations, masks)`` returning ``batch_size`` action indices (a list or
            an integer array).
        batch_size: Episodes played side by side, each turn one call.
        name: The policy's name in records and tables (default: ``fn.__name__``).
    """

    fn: BatchCallable
    batch_size: int = 64
    name: Optional[str] = None


#: What :func:`evaluate` accepts as a policy.
Policy = Union[str, StepCallable, BatchPolicy]


def _name_of(fn: Any, given: Optional[str]) -> str:
    name = given or getattr(fn, "__name__", None) or type(fn).__name__
    if name == "<lambda>":
        name = "python"
    return str(name)


def _one_at_a_time(fn: StepCallable) -> BatchCallable:
    def batched(observations: npt.NDArray[np.float32], masks: npt.NDArray[np.int8]) -> List[int]:
        return [int(fn(observations[0], masks[0]))]

    return batched


def _native_policy(policy: Policy) -> Union[str, Tuple[str, BatchCallable, int]]:
    if isinstance(policy, str):
        return policy
    if isinstance(policy, BatchPolicy):
        if policy.batch_size < 1:
            raise ConfigError(f"batch_size {policy.batch_size} is out of range; use 1 or more")
        return (_name_of(policy.fn, policy.name), policy.fn, policy.batch_size)
    if callable(policy):
        return (_name_of(policy, None), _one_at_a_time(policy), 1)
    raise ConfigError(
        f"policy {policy!r} is not a built-in name, a callable or a BatchPolicy"
    )


def parse_shard(shard: Union[None, str, Tuple[int, int]]) -> Tuple[int, int]:
    """``"K/N"`` or ``(K, N)`` as a tuple; ``None`` is the whole list, ``(1, 1)``."""
    if shard is None:
        return (1, 1)
    if isinstance(shard, str):
        ks, sep, ns = shard.partition("/")
        if not sep or not ks.strip().isdigit() or not ns.strip().isdigit():
            raise ConfigError(f'shard "{shard}" is not K/N with 1 <= K <= N (for example 2/8)')
        return (int(ks), int(ns))
    k, n = shard
    if not (isinstance(k, int) and isinstance(n, int) and 1 <= k <= n):
        raise ConfigError(f'shard "{k}/{n}" is not K/N with 1 <= K <= N (for example 2/8)')
    return (k, n)


@dataclass(frozen=True)
class EvalResult:
    """An evaluation's files, as ``chaosops eval`` writes them.

    Attributes:
        run: What the run was asked (``run.json``).
        evaluation: The aggregates (``evaluation.json``): ``aggregates`` per (policy,
            tier), ``by_failure`` per (failure type, policy), ``interrupted`` if any.
        summary: The table ``chaosops eval`` prints.
        records_jsonl: The per-episode records (``episodes.jsonl``), one JSON line each,
            in list order; empty when they were written to ``records_path``.
    """

    run: Dict[str, Any]
    evaluation: Dict[str, Any]
    summary: str
    records_jsonl: bytes
    _run_text: str
    _evaluation_text: str
    _tally_text: str = field(default="", repr=False)

    @property
    def aggregates(self) -> List[Dict[str, Any]]:
        """One row per (policy, tier)."""
        rows: List[Dict[str, Any]] = self.evaluation["aggregates"]
        return rows

    def records(self) -> List[Dict[str, Any]]:
        """The per-episode records as dicts."""
        return [json.loads(line) for line in self.records_jsonl.splitlines()]

    def write(self, out_dir: Union[str, "os.PathLike[str]"]) -> None:
        """Writes ``run.json``, ``episodes.jsonl``, ``evaluation.json`` and
        ``evaluation_summary.txt`` to ``out_dir`` (created if missing), byte for byte what
        ``chaosops eval`` writes there (the command also draws two charts)."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "run.json").write_text(self._run_text)
        if self.records_jsonl or not (out / "episodes.jsonl").exists():
            (out / "episodes.jsonl").write_bytes(self.records_jsonl)
        (out / "evaluation.json").write_text(self._evaluation_text)
        (out / "evaluation_summary.txt").write_text(self.summary)


def _result(outcome: Tuple[str, str, str, bytes, str]) -> EvalResult:
    run_text, evaluation_text, summary, records, tally = outcome
    return EvalResult(
        run=json.loads(run_text),
        evaluation=json.loads(evaluation_text),
        summary=summary,
        records_jsonl=bytes(records),
        _run_text=run_text,
        _evaluation_text=evaluation_text,
        _tally_text=tally,
    )


def evaluate(
    policies: Union[Policy, Sequence[Policy]] = ("oracle", "heuristic", "random"),
    *,
    tiers: Sequence[str] = ("easy", "medium", "hard"),
    episodes_per_type: int = 5,
    seed_offset: int = 0,
    shard: Union[None, str, Tuple[int, int]] = None,
    threads: Optional[int] = None,
    records_path: Union[None, str, "os.PathLike[str]"] = None,
    variation: str = "none",
    split: str = "all",
) -> EvalResult:
    """Evaluates ``policies`` on every tier's curriculum list, as ``chaosops eval`` does.

    Args:
        policies: One policy or several (see the module's documentation); names must
            differ.
        tiers: Tiers, in report order: ``"easy"``, ``"medium"``, ``"hard"``, and
            ``"expert"`` (compound incidents, asked for by name).
        episodes_per_type: Episodes per failure type and tier.
        seed_offset: Added to every curriculum seed.
        shard: ``"K/N"`` or ``(K, N)``: play only that contiguous slice of the episode list;
            :func:`merge` combines the shards' results.
        threads: Threads for built-in policies (default: the number of cores). Python
            policies run on the calling thread.
        records_path: Write the records to this file as they are played instead of
            keeping them in memory (for large evaluations).
        variation: ``"none"`` (the reference incidents) or ``"standard"`` (each episode
            draws its target, magnitudes, wording, decoys and jitter), as
            ``chaosops eval --variation``.
        split: ``"all"``, ``"train"`` or ``"test"``: one side of the held-out partition
            by incident family and seed, as ``chaosops eval --split``.

    Returns:
        The run, the aggregates, the summary and the records.

    Raises:
        ConfigError: An unknown policy, tier, variation or split, a bad shard, a count
            out of range.
        InvalidActionError: A policy chose an index outside the action table.
    """
    if isinstance(policies, (str, BatchPolicy)) or callable(policies):
        policies = [policies]  # type: ignore[list-item]
    native = [_native_policy(p) for p in policies]  # type: ignore[union-attr]
    outcome = _native.evaluate(
        native,
        list(tiers),
        int(episodes_per_type),
        int(seed_offset),
        parse_shard(shard),
        int(threads or os.cpu_count() or 1),
        None if records_path is None else os.fspath(records_path),
        variation,
        split,
    )
    return _result(outcome)


def merge(
    shards: Sequence[Union[EvalResult, Tuple[Union[str, Dict[str, Any]], bytes]]],
) -> EvalResult:
    """Combines shard results, in any order, into the result of the whole run, byte for
    byte what an unsharded run gives. Every shard of the run must be there, complete.

    A shard is the :class:`EvalResult` that :func:`evaluate` returned for it (its exact
    aggregates are merged and its records copied), or a (``run.json`` text or dict,
    ``episodes.jsonl`` bytes) pair, for instance read back from disk (its records are
    parsed and checked one by one).

    Raises:
        ConfigError: The shards are of different runs, miss or repeat a shard, or a
            shard's records are incomplete.
    """
    if shards and all(isinstance(s, EvalResult) and s._tally_text for s in shards):
        results: List[EvalResult] = list(shards)  # type: ignore[arg-type]
        return _result(
            _native.merge_shard_outputs(
                [r._run_text for r in results],
                [r.records_jsonl for r in results],
                [r._tally_text for r in results],
            )
        )
    runs: List[str] = []
    records: List[bytes] = []
    for shard in shards:
        if isinstance(shard, EvalResult):
            runs.append(shard._run_text)
            records.append(shard.records_jsonl)
        else:
            run, recs = shard
            runs.append(run if isinstance(run, str) else json.dumps(run))
            records.append(bytes(recs))
    return _result(_native.merge_shard_outputs(runs, records))
