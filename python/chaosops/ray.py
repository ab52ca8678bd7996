"""Shard an evaluation over a Ray cluster.

:func:`evaluate` splits the episode list of :func:`chaosops.evaluation.evaluate` into
shards, plays each as a Ray task (any policy :mod:`chaosops.evaluation` accepts, sent to
the workers with Ray's serialiser), reports each shard as it finishes, retries a shard
whose worker failed, and merges the shards' exact tallies and records into exactly the
result of a single-process run, whatever the number of workers or shards.

Example::

    import chaosops.ray
    from chaosops.evaluation import BatchPolicy

    def first_legal(observations, masks):
        return masks.argmax(axis=1)

    # address=None starts (or joins) a local Ray; "auto" or "ray://HOST:10001" a cluster.
    result = chaosops.ray.evaluate(BatchPolicy(first_legal, batch_size=256),
                                   episodes_per_type=10_000, num_shards=16, address="auto")
    print(result.summary)

Ray is not a dependency of ``chaosops``: install it (``pip install "ray[default]"``) where
this module is used.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from chaosops import evaluation
from chaosops.errors import ConfigError
from chaosops.evaluation import EvalResult, Policy

__all__ = ["SHARDS_PER_CPU", "ShardReport", "default_num_shards", "evaluate"]

#: Shards per cluster CPU when :func:`evaluate` is not told how many. Shards of equal length
#: are not of equal work (hard-tier episodes run longer, and the list is in tier order), so
#: a few shards per worker let Ray balance the load; a shard costs a few milliseconds.
SHARDS_PER_CPU = 4


@dataclass(frozen=True)
class ShardReport:
    """One finished shard, as :func:`evaluate` reports it.

    Attributes:
        shard: ``(K, N)``.
        episodes: Episodes the shard played.
        seconds: Wall time from submitting the shard to receiving its result (queueing,
            retries and transfer included).
        done: Shards finished so far, this one included.
    """

    shard: Tuple[int, int]
    episodes: int
    seconds: float
    done: int


def _print_report(report: ShardReport) -> None:
    k, n = report.shard
    print(
        f"chaosops.ray: shard {k}/{n} done ({report.episodes} episodes, "
        f"{report.seconds:.1f} s); {report.done}/{n} shards finished",
        file=sys.stderr,
    )


def _run_shard(
    policies: Sequence[Policy], shard: Tuple[int, int], options: Dict[str, Any]
) -> EvalResult:
    # The result carries the shard's exact tally: the merge copies its records, unparsed.
    return evaluation.evaluate(policies, shard=shard, **options)


def default_num_shards() -> int:
    """:data:`SHARDS_PER_CPU` times the CPUs of the Ray cluster this process is connected
    to (at least 1)."""
    import ray

    return max(1, SHARDS_PER_CPU * int(ray.cluster_resources().get("CPU", 1)))


def evaluate(
    policies: Union[Policy, Sequence[Policy]] = ("oracle", "heuristic", "random"),
    *,
    num_shards: Optional[int] = None,
    address: Optional[str] = None,
    num_cpus_per_shard: float = 1,
    max_retries: int = 3,
    progress: Optional[Callable[[ShardReport], None]] = _print_report,
    ray_init: Optional[Dict[str, Any]] = None,
    tiers: Sequence[str] = ("easy", "medium", "hard"),
    episodes_per_type: int = 5,
    seed_offset: int = 0,
    variation: str = "none",
    split: str = "all",
) -> EvalResult:
    """Evaluates ``policies`` on a Ray cluster; the result equals
    :func:`chaosops.evaluation.evaluate`'s with the same arguments.

    Args:
        policies: As :func:`chaosops.evaluation.evaluate` takes them.
        num_shards: Shards to cut the episode list into (default:
            :func:`default_num_shards`, four per cluster CPU). Each shard is one task;
            more shards than workers balance the load, as shards of equal length are not
            of equal work.
        address: Passed to ``ray.init`` when Ray is not initialised yet: ``None`` starts
            or joins a local instance, ``"auto"`` joins the running cluster, or
            ``"ray://HOST:10001"``.
        num_cpus_per_shard: CPUs a shard task reserves (its built-in policies use that
            many threads).
        max_retries: How often a shard whose worker died or raised is run again.
        progress: Called with a :class:`ShardReport` as each shard finishes (by default,
            a line on stderr); ``None`` for silence.
        ray_init: More keyword arguments for ``ray.init`` (``num_cpus``, ``runtime_env``...).
        tiers: Tiers, in report order.
        episodes_per_type: Episodes per failure type and tier.
        seed_offset: Added to every curriculum seed.
        variation: ``"none"`` or ``"standard"``, as :func:`chaosops.evaluation.evaluate`.
        split: ``"all"``, ``"train"`` or ``"test"``, as :func:`chaosops.evaluation.evaluate`.

    Returns:
        The merged :class:`~chaosops.evaluation.EvalResult` (records included).
    """
    import ray

    if isinstance(policies, (str, evaluation.BatchPolicy)) or callable(policies):
        policies = [policies]  # type: ignore[list-item]
    if not ray.is_initialized():
        ray.init(address=address, **(ray_init or {}))
    if num_shards is None:
        num_shards = default_num_shards()
    if num_shards < 1:
        raise ConfigError(f"num_shards {num_shards} is out of range; use 1 or more")
    if max_retries < 0:
        raise ConfigError(f"max_retries {max_retries} is out of range; use 0 or more")
    options = {
        "tiers": list(tiers),
        "episodes_per_type": episodes_per_type,
        "seed_offset": seed_offset,
        "variation": variation,
        "split": split,
        "threads": max(1, int(num_cpus_per_shard)),
    }
    task = ray.remote(
        num_cpus=num_cpus_per_shard, max_retries=max_retries, retry_exceptions=True
    )(_run_shard)
    policy_list = list(policies)  # type: ignore[arg-type]
    # Sent once to the object store, not once per shard.
    policy_ref: Any = ray.put(policy_list)
    started = time.monotonic()
    pending: Dict[Any, Tuple[int, int]] = {
        task.remote(policy_ref, (k, num_shards), options): (k, num_shards)
        for k in range(1, num_shards + 1)
    }
    outputs: List[EvalResult] = []
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            shard = pending.pop(ref)
            result: EvalResult = ray.get(ref)
            outputs.append(result)
            if progress is not None:
                progress(
                    ShardReport(
                        shard=shard,
                        episodes=result.evaluation["episodes"],
                        seconds=time.monotonic() - started,
                        done=len(outputs),
                    )
                )
    return evaluation.merge(outputs)
