"""Reward functions and prompt datasets for TRL's ``GRPOTrainer``.

A prompt row holds a scenario and an action history; the model's completion is read as
the action of the role whose turn follows, played, and scored exactly as ``chaosops
replay`` scores a ``completion`` line::

    from chaosops.trl import build_dataset, format_reward_function, reward_function

    records = build_dataset(256, seed=0)            # plain dicts: prompt, scenario, actions, role
    # datasets.Dataset.from_list(records) for TRL
    trainer = GRPOTrainer(
        model=...,
        reward_funcs=[reward_function(team_weight=0.6), format_reward_function()],
        train_dataset=dataset,
    )

Everything runs in-process in Rust: no server, no subprocess.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Union

from chaosops import _native

__all__ = ["reward_function", "format_reward_function", "build_dataset", "completion_text"]

Completion = Union[str, Sequence[Dict[str, Any]]]


def completion_text(completion: Completion) -> str:
    """The text of a completion: a string as it is, or the content of the last message of a
    conversational completion (``[{"role": "assistant", "content": ...}]``)."""
    if isinstance(completion, str):
        return completion
    if not completion:
        return ""
    last = completion[-1]
    content = last.get("content", "") if isinstance(last, dict) else last
    if isinstance(content, list):  # multimodal content parts
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def reward_function(team_weight: float = 0.6) -> Callable[..., List[Optional[float]]]:
    """A GRPO reward function: the blended reward of each completion played as the next turn.

    The returned callable has GRPOTrainer's signature, ``f(prompts, completions, **columns)``,
    and reads the dataset columns ``scenario`` (the replay format's scenario object, or its
    JSON text) and ``actions`` (the history: a list of action objects, or JSON text). It
    returns ``team_weight * team + (1 - team_weight) * oversight`` for the completion's turn,
    or ``None`` for a row that cannot be scored (a bad scenario or history, or an episode
    already over), which GRPOTrainer treats as missing.
    """
    weight = float(team_weight)
    if not 0.0 <= weight <= 1.0:
        from chaosops.errors import ConfigError

        raise ConfigError(f"team_weight {team_weight!r} is out of range; allowed: 0..=1")

    def chaosops_reward(
        prompts: Optional[Sequence[Any]] = None,
        completions: Sequence[Completion] = (),
        scenario: Optional[Sequence[Any]] = None,
        actions: Optional[Sequence[Any]] = None,
        **kwargs: Any,
    ) -> List[Optional[float]]:
        if scenario is None or actions is None:
            from chaosops.errors import InvalidArgumentError

            raise InvalidArgumentError(
                "the ChaosOps reward function needs the dataset columns 'scenario' and 'actions' "
                "(see chaosops.trl.build_dataset)"
            )
        texts = [completion_text(c) for c in completions]
        return _native.score_completions(list(scenario), list(actions), texts, weight)

    chaosops_reward.__name__ = "chaosops_reward"
    chaosops_reward.__qualname__ = "chaosops_reward"
    return chaosops_reward


def format_reward_function() -> Callable[..., List[float]]:
    """A GRPO reward function: 1.0 when the parser reads an action from the completion, 0.0
    when it falls back (no JSON object naming an ``action_type``, invalid JSON, an unknown
    action type)."""

    def chaosops_format_reward(completions: Sequence[Completion] = (), **kwargs: Any) -> List[float]:
        return _native.format_scores([completion_text(c) for c in completions])

    chaosops_format_reward.__name__ = "chaosops_format_reward"
    chaosops_format_reward.__qualname__ = "chaosops_format_reward"
    return chaosops_format_reward


def build_dataset(
    n: int,
    *,
    seed: int = 0,
    policy: str = "heuristic",
    max_depth: int = 6,
    chat: bool = True,
    failure_types: Optional[Sequence[str]] = None,
    tiers: Optional[Sequence[str]] = None,
    max_steps: Optional[int] = None,
) -> List[Dict[str, Any]]:
    """``n`` prompt records: scenarios drawn from ``seed`` as ``Env.reset`` draws them, each
    played by the built-in ``policy`` for a random number of turns (0 to ``max_depth``,
    stopping before the episode would end).

    Each record has ``prompt`` (a list of chat messages when ``chat``, else the system prompt
    and the view joined as one string), ``scenario``, ``actions`` and ``role``: the columns
    :func:`reward_function` reads. Deterministic for a given ``seed``.
    """
    rows = _native.prompt_records(
        n,
        seed=seed,
        policy=policy,
        max_depth=max_depth,
        failure_types=None if failure_types is None else list(failure_types),
        tiers=None if tiers is None else list(tiers),
        max_steps=max_steps,
    )
    out = []
    for row in rows:
        system, user = row.pop("system"), row.pop("user")
        if chat:
            row["prompt"] = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        else:
            row["prompt"] = f"{system}\n\n{user}"
        out.append(row)
    return out
