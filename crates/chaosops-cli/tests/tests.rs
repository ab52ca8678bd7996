//! Integration tests of the `chaosops` command and the engine behind it.

mod conformance;
mod docs;
mod eval;
mod list;
mod llm;
mod packs;
mod properties;
mod replay_errors;
mod serve;
mod ui;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// Runs the built `chaosops` binary with `args`, feeding `stdin`.
pub fn chaosops(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chaosops"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn chaosops");
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        // The child may exit before reading everything; a broken pipe is fine here.
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait for chaosops");
    writer.join().unwrap();
    out
}

/// The vendored data folder at the repository root.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data")
}

/// Asserts a command succeeded and reads the `evaluation.json` it wrote to `dir`.
pub fn read_evaluation(out: &Output, dir: &std::path::Path) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(dir.join("evaluation.json")).expect("evaluation.json written");
    serde_json::from_slice(&bytes).expect("evaluation.json is JSON")
}

/// The records of `episodes.jsonl` in `dir`, one JSON value a line.
pub fn read_records(dir: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("episodes.jsonl"))
        .expect("episodes.jsonl written")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a record is JSON"))
        .collect()
}
