//! `chaosops list`.

use serde_json::Value;

use crate::chaosops;

#[test]
fn list_json_names_every_builtin_failure() {
    let out = chaosops(&["list", "--json"], b"");
    assert!(out.status.success());
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, chaosops_failures::BUILTIN_IDS);
    let cascade = list
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "cascade")
        .unwrap();
    assert_eq!(cascade["tiers"], serde_json::json!(["medium", "hard"]));
    assert_eq!(cascade["rogue_agent"], Value::Null);
    let bot = list
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "rogue_deploy_bot")
        .unwrap();
    assert_eq!(bot["rogue_agent"], "deploy_bot");
    assert!(bot["description"].as_str().unwrap().len() > 10);
}

#[test]
fn list_table_is_readable() {
    let out = chaosops(&["list"], b"");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("ID"));
    let (types, compounds) = text.split_once("\n\n").unwrap();
    assert_eq!(types.lines().count(), 10);
    assert!(types.contains("misrouted_traffic") && types.contains("load_balancer"));
    // Then the expert tier's compounds, one a line, with their rogue agent.
    let compounds: Vec<&str> = compounds.lines().skip(1).map(str::trim).collect();
    assert_eq!(compounds.len(), 14, "{text}");
    assert_eq!(
        compounds[0],
        "db_deadlock+misrouted_traffic  (rogue: load_balancer)"
    );
    assert!(compounds.contains(&"cascade+memory_leak"));
}
