import numpy as np
import gymnasium as gym

import chaosops
from chaosops.pettingzoo import env as aec_env
from chaosops.trl import build_dataset, reward_function

# 1. PettingZoo AEC loop: four roles, masks say what the rules allow.
env = aec_env(failure_types=["rogue_deploy_bot"], tiers=["hard"], render_mode="ansi")
env.reset(seed=3)
rng = np.random.default_rng(0)
for agent in env.agent_iter():
    obs, reward, termination, truncation, info = env.last()
    if termination or truncation:
        action = None
    else:
        action = int(rng.choice(np.flatnonzero(obs["action_mask"])))
    env.step(action)
print(env.render().splitlines()[-1])

# 2. The Rust-backed Gymnasium vector env: one learner seat, heuristic teammates.
vec = gym.make_vec("ChaosOps/Seat-v0", num_envs=64, vectorization_mode="vector_entry_point",
                   seat="dev", others="heuristic")
obs, info = vec.reset(seed=0)
for _ in range(100):
    actions = np.array([vec.single_action_space.sample(mask=m) for m in info["action_mask"]])
    obs, rewards, terminated, truncated, info = vec.step(actions)
print(obs.shape, rewards.dtype, int(terminated.sum() + truncated.sum()), "episodes ended on the last step")

# 3. A GRPO reward function: completions scored as the next turn, in-process.
rows = build_dataset(2, seed=1)
reward = reward_function(team_weight=0.6)
completions = ['{"action_type": "identify_root_cause", "args": {"failure_type": "autoscaler_cost_cut"}}',
               "I am not sure what to do."]
print(reward(prompts=[r["prompt"] for r in rows], completions=completions,
             scenario=[r["scenario"] for r in rows], actions=[r["actions"] for r in rows]))
