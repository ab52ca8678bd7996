//! The docs stand alone: citations point at the repository's own behaviour reference and
//! name sections it has, and the README's replay example is what `replay` reads.

use std::path::{Path, PathBuf};

use crate::chaosops;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every Rust, Markdown, Python and TOML file of the repository (build and venv trees
/// left out).
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if !(name.starts_with('.') || name == "target" || name == "__pycache__") {
                sources(&path, out);
            }
        } else if ["rs", "md", "py", "pyi", "toml"]
            .iter()
            .any(|ext| name.ends_with(&format!(".{ext}")))
        {
            out.push(path);
        }
    }
}

#[test]
fn citations_point_at_sections_the_behaviour_reference_has() {
    let reference = std::fs::read_to_string(root().join("docs/behaviour.md")).unwrap();
    let sections: Vec<u32> = reference
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .filter_map(|l| l.split('.').next()?.parse().ok())
        .collect();
    assert_eq!(sections, (1..=18).collect::<Vec<_>>());
    let mut files = Vec::new();
    sources(&root(), &mut files);
    assert!(files.len() > 50, "{} files", files.len());
    let mut citations = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let shown = file.strip_prefix(root()).unwrap_or(file).display();
        // This file names both forms to check them.
        if file.ends_with("tests/docs.rs") {
            continue;
        }
        {
            assert!(
                !text.contains("SPEC section") && !text.contains("SPEC.md"),
                "{shown} cites a document the repository does not contain"
            );
        }
        for (i, _) in text.match_indices("docs/behaviour.md §") {
            let rest = &text[i + "docs/behaviour.md §".len()..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            let n: u32 = digits
                .parse()
                .unwrap_or_else(|_| panic!("{shown}: bad citation"));
            assert!(
                sections.contains(&n),
                "{shown} cites §{n}, which does not exist"
            );
            citations += 1;
        }
    }
    assert!(citations >= 27, "{citations} citations");
}

#[test]
fn the_readme_replay_example_is_one_episode_a_line_that_replay_reads() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = &readme[readme.find("### `replay`").expect("a replay section")..];
    let start = section.find("```json\n").expect("a JSON example") + "```json\n".len();
    let example = &section[start..start + section[start..].find("```").unwrap()];
    assert_eq!(
        example.lines().count(),
        1,
        "one episode, one line:\n{example}"
    );
    let out = chaosops(&["replay"], example.as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["final_state"]["resolved"], true);
}
