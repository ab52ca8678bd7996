//! The `chaosops` command.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chaosops_cli::{list, registry, replay};
use clap::{Parser, Subcommand};

/// ChaosOps: a deterministic production-incident simulator for training and
/// evaluating incident-response agents.
#[derive(Parser)]
#[command(name = "chaosops", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the registered failure types.
    List {
        /// Print a JSON array of {"id", "description", "tiers", "rogue_agent"}.
        #[arg(long)]
        json: bool,
    },
    /// Replay episodes: read JSONL (one {"scenario", "actions"} object a line) and write
    /// one {"steps", "final_state"} line per input line.
    ///
    /// Each input line is {"scenario": {"failure_type", "seed", "difficulty", "max_steps"},
    /// "actions": [{"action_type", "target", "args"}, ...]} (a line wrapped as
    /// {"input": {...}} is accepted too). Actions are applied in order through the
    /// environment, which forces the acting role. A bad line gets {"error": "line N: ..."}
    /// and the others still run; the exit status is 1 if any line failed. Blank lines are
    /// skipped. Limits: lines up to 1 MiB, max_steps up to 1000, messages up to 2048 bytes,
    /// names up to 64 bytes, |replicas| up to 1000.
    Replay {
        /// Input file; standard input when absent or "-".
        file: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("chaosops: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let registry = registry().context("building the plugin registry")?;
    let stdout = io::stdout();
    match cli.command {
        Command::List { json } => {
            let infos = list::failures(registry);
            let mut out = stdout.lock();
            if json {
                serde_json::to_writer_pretty(&mut out, &infos)?;
                writeln!(out)?;
            } else {
                write!(out, "{}", list::render_table(&infos))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Replay { file } => {
            let out = BufWriter::new(stdout.lock());
            let summary = match file.filter(|f| f.as_os_str() != "-") {
                Some(path) => {
                    let f = File::open(&path)
                        .with_context(|| format!("cannot open {}", path.display()))?;
                    replay::replay_stream(registry, BufReader::new(f), out)?
                }
                None => replay::replay_stream(registry, io::stdin().lock(), out)?,
            };
            if summary.errors > 0 {
                eprintln!(
                    "chaosops replay: {} line(s) replayed, {} failed",
                    summary.ok, summary.errors
                );
                return Ok(ExitCode::from(1));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
