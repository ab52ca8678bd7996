//! The web interface at `/web`: one page, embedded in the binary (no CDN, works offline),
//! that watches and plays incidents over the same WebSocket protocol as any client, with
//! the spectator fields of a reset with `"spectate": true`.

use chaosops_model::{Difficulty, Role, Variation};
use chaosops_sim::Registry;
use serde_json::json;

/// The page: HTML, CSS and script in one file.
pub const INDEX_HTML: &str = include_str!("web/index.html");

/// What the page offers in its menus (`GET /web/catalog`): the registered failure types
/// (built-in, plugin and pack-loaded alike) with their tiers, the expert tier's compound
/// incidents, the difficulties, the
/// variations the server supports, the roles in turn order, and the policies a seat may
/// be given (`llm` only when the server has a model).
pub fn catalog(registry: &Registry, llm: bool) -> String {
    let mut policies = vec!["oracle", "heuristic", "random", "noop"];
    if llm {
        policies.push("llm");
    }
    json!({
        "failures": registry.infos(),
        "compounds": registry.expert_infos(),
        "difficulties": Difficulty::ALL,
        "variations": Variation::ALL,
        "roles": Role::TURN_ORDER,
        "policies": policies,
        "default_max_steps": chaosops_model::DEFAULT_MAX_STEPS,
    })
    .to_string()
}
