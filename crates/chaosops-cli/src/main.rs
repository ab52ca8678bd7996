//! The `chaosops` command.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use std::io::IsTerminal;

use anyhow::{bail, Context};
use chaosops_cli::llm_policy::{LlmConfig, Provider};
use chaosops_cli::policy::{PolicyChoice, PolicyName};
use chaosops_cli::{bench, evaluate, list, live, play, prepare_out_dir, registry, schema, serve};
use chaosops_eval::eval::{self, EvalConfig, Shard, MAX_EPISODES_PER_TYPE};
use chaosops_eval::replay;
use chaosops_model::Role;
use chaosops_model::{Difficulty, FailureId, ScenarioSpec, Split, Variation, DEFAULT_MAX_STEPS};
use chaosops_roles::transcript;
use chaosops_roles::{run_episode, PolicyKind, RunOptions};
use chaosops_sim::split::MAX_SPLIT_SEED_OFFSET;
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// ChaosOps: a deterministic production-incident simulator for training and
/// evaluating incident-response agents.
#[derive(Parser)]
#[command(name = "chaosops", version, about, long_about = None)]
struct Cli {
    /// A folder of scenario packs (incident types written as TOML, see
    /// docs/scenario-packs.md) to load beside the built-in types, for any command; the
    /// environment variable CHAOSOPS_SCENARIOS does the same.
    #[arg(long, global = true, value_name = "DIR")]
    scenarios: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

/// Output format of `chaosops schema`.
#[derive(Clone, Copy, ValueEnum)]
enum SchemaFormat {
    /// The action's JSON schema.
    JsonSchema,
    /// OpenAI-style function-calling tools.
    Openai,
    /// Anthropic-style tools.
    Anthropic,
    /// The RL action table: each index's name, action and which roles the rules allow it.
    ActionTable,
    /// The RL observation vector's layout: each segment's name, start, length and meaning.
    Observation,
}

/// The scenario of a single episode.
#[derive(Args)]
#[command(next_help_heading = "Scenario")]
struct ScenarioArgs {
    /// Failure type to inject (see `chaosops list`), or a compound incident: several types
    /// joined by `+`, e.g. `db_deadlock+memory_leak` (docs/behaviour.md §18).
    #[arg(long)]
    failure: String,
    /// Difficulty: easy, medium, hard or expert (hard and expert add decoy logs).
    #[arg(long, default_value = "easy")]
    difficulty: Difficulty,
    /// Scenario seed (0..=18446744073709551615).
    #[arg(long, default_value_t = 0, allow_hyphen_values = true, value_parser = parse_seed)]
    seed: u64,
    /// Step budget (1..=1000).
    #[arg(long, default_value_t = DEFAULT_MAX_STEPS)]
    max_steps: u32,
    /// Variation: none (the reference incident) or standard (the service hit, magnitudes,
    /// wording, decoys and metric jitter drawn per episode; docs/behaviour.md §15).
    #[arg(long, default_value = "none")]
    variation: Variation,
}

impl ScenarioArgs {
    fn scenario(
        &self,
        registry: &chaosops_sim::Registry,
    ) -> anyhow::Result<chaosops_model::Scenario> {
        let spec = ScenarioSpec {
            failure_type: FailureId::from(self.failure.clone()),
            seed: self.seed,
            difficulty: self.difficulty,
            max_steps: self.max_steps,
            variation: self.variation,
        };
        Ok(registry.scenario(&spec)?)
    }
}

/// How to reach a model for `--policy llm`.
#[derive(Args)]
#[command(
    next_help_heading = "LLM policy (seats played by llm: --policy llm, or a server team's llm seats)"
)]
struct LlmArgs {
    /// The model's API: openai (any OpenAI-compatible chat-completions endpoint) or
    /// anthropic (the Messages API; use --endpoint `https://api.anthropic.com/v1` and
    /// --api-key-env ANTHROPIC_API_KEY).
    #[arg(long, value_enum, default_value_t = Provider::Openai)]
    provider: Provider,
    /// The endpoint: a base URL such as http://127.0.0.1:8080/v1, or the full request URL
    /// (…/chat/completions, or …/messages for anthropic).
    #[arg(long)]
    endpoint: Option<String>,
    /// Model name sent with each request.
    #[arg(long)]
    model: Option<String>,
    /// Environment variable holding the API key (a bearer token for openai, x-api-key for
    /// anthropic; sent when set).
    #[arg(long, default_value = "OPENAI_API_KEY")]
    api_key_env: String,
    /// Seconds before one model request times out.
    #[arg(long, default_value_t = 60.0)]
    llm_timeout: f64,
    /// Attempts per turn (a reminder is appended after an unusable reply) before the noop fallback.
    #[arg(long, default_value_t = 3)]
    llm_attempts: u32,
    /// Largest reply, in tokens.
    #[arg(long, default_value_t = 256)]
    llm_max_tokens: u32,
    /// Sampling temperature.
    #[arg(long, default_value_t = 0.0)]
    llm_temperature: f64,
}

impl LlmArgs {
    /// The model settings, when both an endpoint and a model were given.
    fn config(&self) -> anyhow::Result<Option<Arc<LlmConfig>>> {
        let (Some(endpoint), Some(model)) = (&self.endpoint, &self.model) else {
            if self.endpoint.is_some() != self.model.is_some() {
                bail!("--endpoint and --model go together");
            }
            return Ok(None);
        };
        if !(self.llm_timeout.is_finite() && self.llm_timeout > 0.0 && self.llm_timeout <= 3600.0) {
            bail!(
                "--llm-timeout {} is out of range; allowed: more than 0 up to 3600 seconds",
                self.llm_timeout
            );
        }
        if !(1..=20).contains(&self.llm_attempts) {
            bail!(
                "--llm-attempts {} is out of range; allowed: 1..=20",
                self.llm_attempts
            );
        }
        if !(self.llm_temperature.is_finite() && (0.0..=2.0).contains(&self.llm_temperature)) {
            bail!(
                "--llm-temperature {} is out of range; allowed: 0..=2",
                self.llm_temperature
            );
        }
        Ok(Some(Arc::new(LlmConfig {
            provider: self.provider,
            endpoint: endpoint.clone(),
            model: model.clone(),
            api_key: std::env::var(&self.api_key_env)
                .ok()
                .filter(|k| !k.is_empty()),
            timeout: std::time::Duration::from_secs_f64(self.llm_timeout),
            attempts: self.llm_attempts,
            max_tokens: self.llm_max_tokens.clamp(1, 32_768),
            temperature: self.llm_temperature,
            failures: Default::default(),
        })))
    }
}

/// Options of an evaluation run.
#[derive(Args)]
struct EvalArgs {
    /// Policies to evaluate, space or comma separated: oracle heuristic random noop llm.
    #[arg(long, num_args = 1.., value_delimiter = ',', default_values = ["oracle", "heuristic", "random"])]
    policies: Vec<PolicyName>,
    /// Tiers to evaluate, space or comma separated: easy medium hard expert (expert: two
    /// incidents at once, docs/behaviour.md §18; asked for by name).
    #[arg(long, num_args = 1.., value_delimiter = ',', default_values = ["easy", "medium", "hard"])]
    tiers: Vec<Difficulty>,
    /// Episodes per failure type and tier (seeds follow the curriculum formula), up to
    /// 100000000.
    #[arg(long, default_value_t = 5)]
    episodes_per_type: u32,
    /// Added to every seed of the curriculum lists, to draw other episodes than a run
    /// without it (0..=18446744073709551615).
    #[arg(long, default_value_t = 0, allow_hyphen_values = true, value_parser = parse_seed)]
    seed_offset: u64,
    /// Variation of every episode: none (the reference incidents) or standard (drawn per
    /// episode; docs/behaviour.md §15).
    #[arg(long, default_value = "none")]
    variation: Variation,
    /// Which side of the held-out split to draw: all, train (no held-out family or seed) or
    /// test (held-out families whole, and the held-out seeds of the others;
    /// docs/behaviour.md §16).
    #[arg(long, default_value = "all")]
    split: Split,
    /// Play only shard K of N: a contiguous, disjoint slice of the episode list (the N
    /// shards cover it exactly); merge the shard folders with `chaosops eval merge`.
    #[arg(long, value_name = "K/N", value_parser = Shard::parse)]
    shard: Option<Shard>,
    /// Carry on an interrupted run in --out-dir: episodes already in its episodes.jsonl
    /// are kept, the rest are played. The other options must be the same as that run's.
    #[arg(long)]
    resume: bool,
    /// Output folder (created if missing).
    #[arg(long, default_value = "artifacts/eval")]
    out_dir: PathBuf,
    /// Worker threads; defaults to the number of cores.
    #[arg(long)]
    jobs: Option<usize>,
    #[command(flatten)]
    llm: LlmArgs,
}

/// What `chaosops eval` can do besides running.
#[derive(Subcommand)]
enum EvalCommand {
    /// Combine the folders of `--shard K/N` runs into the files one unsharded run writes
    /// (byte for byte): episodes.jsonl, evaluation.json, the summary and the charts.
    Merge {
        /// Shard folders, in any order; every shard of the run, each complete.
        #[arg(required = true, num_args = 1..)]
        dirs: Vec<PathBuf>,
        /// Output folder (created if missing).
        #[arg(long, default_value = "artifacts/eval")]
        out_dir: PathBuf,
    },
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
    ///
    /// A line may end with "completion": "MODEL TEXT": after the actions, the text is
    /// parsed into the next turn's action and applied, and the output line adds "parse"
    /// ({"outcome": "parsed"} or {"outcome": "fallback", "reason"}), "step" (that turn's
    /// record) and "blended_reward" (team weight W: W x team + (1 - W) x oversight).
    Replay {
        /// Input file; standard input when absent or "-".
        file: Option<PathBuf>,
        /// Team weight of the blended reward of a completion, in [0, 1].
        #[arg(long, default_value_t = 0.6)]
        team_weight: f64,
    },
    /// Play one episode with one policy in every seat and print a transcript.
    Run {
        #[command(flatten)]
        scenario: ScenarioArgs,
        /// Policy for every role: oracle, heuristic, random, noop or llm.
        #[arg(long, default_value = "oracle")]
        policy: PolicyName,
        /// Print the full episode result (with every observation) as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        llm: LlmArgs,
    },
    /// Evaluate policies on every tier's curriculum list and write a report.
    ///
    /// Writes to the output folder: run.json (what was asked), episodes.jsonl (one record
    /// per episode, streamed in list order as episodes finish, so memory stays bounded
    /// whatever the number of episodes), then evaluation.json (the aggregates),
    /// evaluation_summary.txt (also printed), reward_by_tier.svg and rogue_vs_mttr.svg.
    /// Results are identical whatever --jobs is. Ctrl-C stops after the episodes in
    /// progress and writes the reports of what was played; --resume carries on from there.
    /// `chaosops eval merge DIR...` combines the folders of --shard runs.
    #[command(args_conflicts_with_subcommands = true)]
    Eval {
        #[command(subcommand)]
        command: Option<EvalCommand>,
        #[command(flatten)]
        args: EvalArgs,
    },
    /// Measure throughput: for each built-in failure type, N hard episodes of at most 25
    /// steps, every step through the full environment including the next observation.
    ///
    /// With --server, measure the WebSocket server instead: an in-process server on a
    /// loopback port and --clients concurrent clients playing hard noop episodes.
    Bench {
        /// Policy for every role: noop, random or oracle (heuristic works too).
        #[arg(long, default_value = "noop")]
        policy: PolicyKind,
        /// Episodes per failure type.
        #[arg(long, default_value_t = 2000)]
        episodes: u32,
        /// Benchmark the WebSocket server rather than the environment.
        #[arg(long)]
        server: bool,
        /// With --server: client counts to measure, space or comma separated.
        #[arg(long, num_args = 1.., value_delimiter = ',', default_values_t = [1usize, 8, 64])]
        clients: Vec<usize>,
        /// With --server: steps per client count, shared among the clients.
        #[arg(long, default_value_t = 200_000)]
        steps: u64,
        /// With --server: load a server already running at HOST:PORT instead of an
        /// in-process one (so its own CPU time and memory can be measured apart).
        #[arg(long, value_name = "HOST:PORT")]
        connect: Option<String>,
        /// Print JSON: {"policy", "episodes", "steps", "seconds", "steps_per_sec"}, or with
        /// --server one {"clients", "steps", "seconds", "steps_per_sec"} object per line.
        #[arg(long)]
        json: bool,
    },
    /// Watch an episode unfold in a full-screen terminal dashboard.
    ///
    /// Keys: space pause/resume, n one turn, +/- speed, q quit; on leaving, one line with the
    /// outcome stays in the terminal. The window needs 60x22 at least. When standard output is not
    /// a terminal, prints the plain transcript instead.
    Dashboard {
        #[command(flatten)]
        scenario: ScenarioArgs,
        /// Policy for every role: oracle, heuristic, random, noop or llm.
        #[arg(long, default_value = "heuristic")]
        policy: PolicyName,
        /// Seconds per turn while running (0.05..=10).
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// Instead of the live UI, print one text frame after this many turns.
        #[arg(long)]
        snapshot: Option<u32>,
        /// Size of the --snapshot frame, as WIDTHxHEIGHT (the layout needs 60x22; a smaller
        /// frame shows a note saying so).
        #[arg(long, default_value = "80x24")]
        size: String,
        #[command(flatten)]
        llm: LlmArgs,
    },
    /// Take one seat yourself; a policy plays the other three. You see exactly your role's
    /// view and choose from a menu or type an action.
    Play {
        /// Your role: sre (the default: the first to act, with metrics and logs), dev,
        /// manager or oversight. In another seat the others may fix an easy incident before
        /// your first turn; you are told when they do.
        #[arg(long, default_value = "sre")]
        role: Role,
        /// Failure type to inject (or a compound: types joined by `+`); by default one of
        /// the tier's failure types, chosen by the seed.
        #[arg(long)]
        failure: Option<String>,
        /// Difficulty: easy, medium, hard or expert (two incidents at once).
        #[arg(long, default_value = "easy")]
        difficulty: Difficulty,
        /// Scenario seed (0..=18446744073709551615).
        #[arg(long, default_value_t = 0, allow_hyphen_values = true, value_parser = parse_seed)]
        seed: u64,
        /// Step budget (1..=1000).
        #[arg(long, default_value_t = DEFAULT_MAX_STEPS)]
        max_steps: u32,
        /// Variation: none (the reference incident) or standard (drawn per episode).
        #[arg(long, default_value = "none")]
        variation: Variation,
        /// Policy for the other seats: oracle, heuristic, random, noop or llm.
        #[arg(long, default_value = "heuristic")]
        policy: PolicyName,
        /// Save the final transcript to this file.
        #[arg(long)]
        transcript: Option<PathBuf>,
        #[command(flatten)]
        llm: LlmArgs,
    },
    /// Print the action's JSON schema, or tool specs for function-calling APIs.
    Schema {
        /// json-schema (the action), openai (a `tools` array), anthropic (a `tools` array),
        /// action-table (the RL encoding of actions) or observation (the RL vector's layout).
        #[arg(long, value_enum, default_value_t = SchemaFormat::JsonSchema)]
        format: SchemaFormat,
    },
    /// Print the prompt a role gets at reset: its system prompt and its rendered view.
    Prompt {
        #[command(flatten)]
        scenario: ScenarioArgs,
        /// Whose prompt: sre (the first to act), dev, manager or oversight.
        #[arg(long, default_value = "sre")]
        role: Role,
    },
    /// Serve the environment over the OpenEnv protocol: WebSocket sessions at /ws, and
    /// /health, /schema, /metadata, /state, POST /reset and POST /step over HTTP.
    ///
    /// Each WebSocket connection is one session with its own environment. Ctrl-C or SIGTERM
    /// ends every session and stops the server.
    Serve {
        /// Address to bind; the default only accepts local clients.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Port to bind (0 picks a free one).
        #[arg(long, default_value_t = 8000)]
        port: u16,
        /// Concurrent sessions; one more gets a CAPACITY_REACHED error and is closed.
        #[arg(long, default_value_t = 256)]
        max_sessions: usize,
        /// Seconds a session may stay silent before it is closed (0.1..=86400).
        #[arg(long, default_value_t = 300.0)]
        idle_timeout: f64,
        /// Seconds a reply may wait for a client that does not read before its session is
        /// closed (0.1..=3600).
        #[arg(long, default_value_t = 10.0)]
        send_timeout: f64,
        /// Largest message handled, in bytes; larger ones are refused with an error.
        #[arg(long, default_value_t = 65_536)]
        max_message_bytes: usize,
        /// Open HTTP connections at most; more clients wait in the listen queue.
        #[arg(long, default_value_t = 1024)]
        max_connections: usize,
        /// Seconds a client has to send a request's headers; also how long an idle
        /// keep-alive connection is kept (0.1..=3600).
        #[arg(long, default_value_t = 10.0)]
        header_timeout: f64,
        /// Seconds a client has to send a request's body (0.1..=3600).
        #[arg(long, default_value_t = 10.0)]
        body_timeout: f64,
        /// On Ctrl-C or SIGTERM, seconds sessions and requests get to finish before the
        /// server stops anyway (0.1..=3600); a second signal stops it at once.
        #[arg(long, default_value_t = 5.0)]
        shutdown_timeout: f64,
        /// A browser origin (such as http://localhost:3000) that may open WebSocket
        /// sessions besides the server's own; repeat it for several, or * for any.
        #[arg(long = "allow-origin", value_name = "ORIGIN")]
        allow_origins: Vec<String>,
        /// What to log on standard error: off, error, warn, info (session starts and ends)
        /// or debug. Logging never blocks the server: when stderr is not read, lines are
        /// dropped.
        #[arg(long, value_enum, default_value_t = serve::log::Level::Info)]
        log_level: serve::log::Level,
        /// Log lines as text or as JSON objects, one a line.
        #[arg(long, value_enum, default_value_t = serve::log::Format::Text)]
        log_format: serve::log::Format,
        /// Do not log session starts and ends (the same as --log-level warn).
        #[arg(long)]
        quiet: bool,
        /// The model that plays a seat whose policy is `llm` (a reset's "team", the web
        /// interface's policy menus); without --endpoint and --model, `llm` is refused.
        #[command(flatten)]
        llm: LlmArgs,
    },
}

/// A seed: any integer in 0..=u64::MAX, with an error that names the value.
fn parse_seed(text: &str) -> Result<u64, String> {
    text.trim()
        .parse::<u64>()
        .map_err(|_| match text.trim().parse::<i128>() {
            Ok(_) => format!("seed {text} is out of range; allowed: 0..={}", u64::MAX),
            Err(_) => format!("seed {text:?} is not an integer"),
        })
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
    chaosops_packs::install_from_env(cli.scenarios.as_deref()).map_err(anyhow::Error::msg)?;
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
                let compounds = registry.expert_infos();
                write!(out, "{}", list::render_table(&infos, &compounds))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Replay { file, team_weight } => {
            if !(team_weight.is_finite() && (0.0..=1.0).contains(&team_weight)) {
                bail!("--team-weight {team_weight} is out of range; allowed: 0..=1");
            }
            let options = replay::ReplayOptions { team_weight };
            let out = BufWriter::new(stdout.lock());
            let summary = match file.filter(|f| f.as_os_str() != "-") {
                Some(path) => {
                    if path.is_dir() {
                        bail!(
                            "{} is a directory; give a JSONL file, or - for standard input",
                            path.display()
                        );
                    }
                    let f = File::open(&path)
                        .with_context(|| format!("cannot open {}", path.display()))?;
                    replay::replay_stream(registry, &options, BufReader::new(f), out)
                        .with_context(|| format!("cannot read {}", path.display()))?
                }
                None => replay::replay_stream(registry, &options, io::stdin().lock(), out)?,
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
        Command::Run {
            scenario,
            policy,
            json,
            llm,
        } => {
            let policy = choose(policy, &llm)?;
            let mut team = policy.team(scenario.seed, registry);
            let scenario = scenario.scenario(registry)?;
            let options = RunOptions {
                record_observations: json,
                ..RunOptions::default()
            };
            let result = run_episode(registry, &scenario, &mut team, options)?;
            let mut out = stdout.lock();
            if json {
                serde_json::to_writer_pretty(&mut out, &result)?;
                writeln!(out)?;
            } else {
                write!(out, "{}", transcript::render(&result, policy.name()))?;
            }
            Ok(llm_verdict(result.parse_stats))
        }
        Command::Eval {
            command: Some(EvalCommand::Merge { dirs, out_dir }),
            ..
        } => {
            // A merge refuses incomplete shards, so the merged run is complete.
            let (_, summary, written) = evaluate::merge(&out_dir, &dirs)?;
            let mut out = stdout.lock();
            write!(out, "{summary}")?;
            writeln!(out, "\nmerged {} shard(s) into {written}", dirs.len())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Eval {
            command: None,
            args,
        } => {
            let EvalArgs {
                policies,
                tiers,
                episodes_per_type,
                seed_offset,
                variation,
                split,
                shard,
                resume,
                out_dir,
                jobs,
                llm,
            } = args;
            let llm = llm.config()?;
            let policies = dedup(policies)
                .into_iter()
                .map(|p| PolicyChoice::resolve(p, llm.as_ref()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(anyhow::Error::msg)?;
            if !(1..=MAX_EPISODES_PER_TYPE).contains(&episodes_per_type) {
                bail!("--episodes-per-type {episodes_per_type} is out of range; allowed: 1..={MAX_EPISODES_PER_TYPE}");
            }
            if jobs == Some(0) {
                bail!("--jobs 0 is out of range; use 1 or more");
            }
            let config = EvalConfig {
                policies,
                tiers: dedup(tiers),
                episodes_per_type,
                seed_offset,
                variation,
                split,
            };
            if !split.is_all() && seed_offset > MAX_SPLIT_SEED_OFFSET {
                bail!("--seed-offset {seed_offset} is out of range with --split {split}; allowed: 0..={MAX_SPLIT_SEED_OFFSET}");
            }
            prepare_out_dir(&out_dir)?;
            for policy in &config.policies {
                policy.check().map_err(anyhow::Error::msg)?;
            }
            let plan = eval::Plan::new(registry, &config);
            let info = eval::RunInfo::new(&plan, shard.unwrap_or(Shard::WHOLE));
            let total = info.range().end - info.range().start;
            let bar = if io::stdout().is_terminal() {
                let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stdout());
                bar.set_style(
                    ProgressStyle::with_template(
                        "{bar:40} {pos}/{len} episodes ({per_sec}, {eta} left)",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                bar
            } else {
                ProgressBar::hidden()
            };
            let threads = jobs
                .and_then(std::num::NonZeroUsize::new)
                .or_else(|| std::thread::available_parallelism().ok())
                .unwrap_or(std::num::NonZeroUsize::MIN);
            stop_on_interrupt(
                "chaosops eval",
                "finishing the episodes in progress, then writing the results so far",
            )?;
            let control = eval::RunControl {
                threads,
                progress: &|| bar.inc(1),
                stop: &STOP,
                records: true,
            };
            let shard_note = shard.map_or_else(String::new, |s| format!(", shard {s}"));
            let (evaluation, summary, written) = evaluate::run(
                registry,
                &plan,
                &info,
                resume,
                &out_dir,
                &control,
                |done, total| {
                    bar.set_position(done);
                    eprintln!(
                        "chaosops eval: {total} episodes ({} polic{} x {} tier(s){shard_note}){} on up to {} worker(s); Ctrl-C stops and keeps what is done",
                        config.policies.len(),
                        if config.policies.len() == 1 { "y" } else { "ies" },
                        config.tiers.len(),
                        if done > 0 { format!(", {done} already played") } else { String::new() },
                        (threads.get() as u64).min(total.saturating_sub(done).max(1))
                    );
                },
            )?;
            bar.finish_and_clear();
            let mut out = stdout.lock();
            write!(out, "{summary}")?;
            writeln!(out, "\nwrote {written}")?;
            if let Some(i) = evaluation.interrupted {
                eprintln!(
                    "chaosops eval: interrupted after {} of {} episodes; the files above hold those (--resume carries on)",
                    i.episodes_played, i.episodes_planned
                );
                return Ok(ExitCode::from(130));
            }
            Ok(llm_verdict(evaluation.model_stats))
        }
        Command::Bench {
            server: true,
            clients,
            steps,
            connect,
            json,
            ..
        } => {
            if clients.iter().any(|c| !(1..=4096).contains(c)) {
                bail!("--clients {clients:?} is out of range; each count must be in 1..=4096");
            }
            if !(1..=100_000_000).contains(&steps) {
                bail!("--steps {steps} is out of range; allowed: 1..=100000000");
            }
            let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            runtime.block_on(async {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                let addr = match &connect {
                    Some(target) => tokio::net::lookup_host(target.as_str())
                        .await
                        .with_context(|| format!("--connect {target}: not a reachable HOST:PORT"))?
                        .next()
                        .ok_or_else(|| anyhow::anyhow!("--connect {target}: no address"))?,
                    None => listener.local_addr()?,
                };
                let config = serve::ServeConfig {
                    max_sessions: clients.iter().copied().max().unwrap_or(1),
                    ..serve::ServeConfig::default()
                };
                let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
                let server = tokio::spawn(serve::serve(listener, registry, config, async {
                    let _ = stop_rx.await;
                }));
                for &n in &clients {
                    let report = chaosops_cli::load::run(addr, n, steps)
                        .await
                        .map_err(|e| anyhow::anyhow!(e))?;
                    let mut out = io::stdout().lock();
                    if json {
                        serde_json::to_writer(&mut out, &report)?;
                        writeln!(out)?;
                    } else {
                        writeln!(
                            out,
                            "{:>4} client(s): {} steps in {:.3} s = {:.0} steps/s over WebSocket",
                            report.clients, report.steps, report.seconds, report.steps_per_sec
                        )?;
                    }
                }
                let _ = stop_tx.send(());
                server.await??;
                anyhow::Ok(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Dashboard {
            scenario,
            policy,
            speed,
            snapshot,
            size,
            llm,
        } => {
            let (width, height) = size
                .split_once('x')
                .and_then(|(w, h)| Some((w.parse::<u16>().ok()?, h.parse::<u16>().ok()?)))
                .filter(|(w, h)| (10..=500).contains(w) && (3..=300).contains(h))
                .ok_or_else(|| {
                    anyhow::anyhow!("--size \"{size}\" is not WIDTHxHEIGHT within 10x3..=500x300")
                })?;
            if !(speed.is_finite() && (0.05..=10.0).contains(&speed)) {
                bail!("--speed {speed} is out of range; allowed: 0.05..=10 seconds per turn");
            }
            let policy = choose(policy, &llm)?;
            let team = policy.team(scenario.seed, registry);
            let scenario = scenario.scenario(registry)?;
            let mut episode = live::LiveEpisode::new(registry, scenario, team, policy.name())?;
            if let Some(turns) = snapshot {
                for _ in 0..turns {
                    if episode.is_done() {
                        break;
                    }
                    episode.advance()?;
                }
                let controls = chaosops_cli::dashboard::Controls {
                    paused: true,
                    seconds_per_turn: speed,
                };
                write!(
                    stdout.lock(),
                    "{}",
                    chaosops_cli::dashboard::snapshot(&episode, controls, width, height)?
                )?;
            } else if io::stdout().is_terminal() {
                let episode = chaosops_cli::dashboard::run(episode, speed)
                    .context("running the dashboard")?;
                return Ok(llm_verdict(episode.result().parse_stats));
            } else {
                while !episode.is_done() {
                    episode.advance()?;
                }
                write!(
                    stdout.lock(),
                    "{}",
                    transcript::render(&episode.result(), policy.name())
                )?;
            }
            Ok(llm_verdict(episode.result().parse_stats))
        }
        Command::Play {
            role,
            failure,
            difficulty,
            seed,
            max_steps,
            variation,
            policy,
            transcript: transcript_path,
            llm,
        } => {
            let policy = choose(policy, &llm)?;
            let failure = match failure {
                Some(f) => FailureId::from(f),
                None => play::draw_failure(registry, difficulty, seed),
            };
            let spec = ScenarioSpec {
                failure_type: failure,
                seed,
                difficulty,
                max_steps,
                variation,
            };
            let scenario = registry.scenario(&spec)?;
            let team = policy.team(seed, registry);
            let episode = live::LiveEpisode::new(registry, scenario, team, policy.name())?;
            let outcome = play::play(
                registry,
                episode,
                role,
                &mut io::stdin().lock(),
                &mut stdout.lock(),
            )?;
            if let Some(path) = transcript_path {
                std::fs::write(&path, &outcome.transcript)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                eprintln!("transcript saved to {}", path.display());
            }
            Ok(llm_verdict(outcome.parse_stats))
        }
        Command::Schema { format } => {
            let value = match format {
                SchemaFormat::JsonSchema => chaosops_llm::action_schema(registry),
                SchemaFormat::Openai => chaosops_llm::openai_tools(registry),
                SchemaFormat::Anthropic => chaosops_llm::anthropic_tools(registry),
                SchemaFormat::ActionTable => schema::action_table(registry),
                SchemaFormat::Observation => schema::observation_layout(),
            };
            let mut out = stdout.lock();
            serde_json::to_writer_pretty(&mut out, &value)?;
            writeln!(out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Prompt { scenario, role } => {
            let scenario = scenario.scenario(registry)?;
            let env =
                chaosops_sim::Environment::new(registry, &scenario, Default::default(), None)?;
            let observation = chaosops_model::Observation {
                view: env.simulator().project_view(role),
                turn_role: role,
                ..env.observation()
            };
            let ids: Vec<&str> = registry.ids().collect();
            let system = chaosops_llm::system_prompt(role, &ids);
            let user = chaosops_llm::render_observation(&observation);
            let mut out = stdout.lock();
            writeln!(out, "=== system ===\n{system}\n\n=== user ===\n{user}")?;
            eprintln!(
                "(about {} tokens: system {}, user {}; estimated at 4 bytes a token)",
                chaosops_llm::estimate_tokens(&system) + chaosops_llm::estimate_tokens(&user),
                chaosops_llm::estimate_tokens(&system),
                chaosops_llm::estimate_tokens(&user)
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve {
            llm,
            host,
            port,
            max_sessions,
            idle_timeout,
            send_timeout,
            max_message_bytes,
            max_connections,
            header_timeout,
            body_timeout,
            shutdown_timeout,
            allow_origins,
            log_level,
            log_format,
            quiet,
        } => {
            if max_sessions == 0 {
                bail!("--max-sessions 0 is out of range; use 1 or more");
            }
            let seconds = |name: &str, value: f64, max: f64| {
                if value.is_finite() && (0.1..=max).contains(&value) {
                    Ok(std::time::Duration::from_secs_f64(value))
                } else {
                    Err(anyhow::anyhow!(
                        "{name} {value} is out of range; allowed: 0.1..={max} seconds"
                    ))
                }
            };
            let idle_timeout = seconds("--idle-timeout", idle_timeout, 86_400.0)?;
            let send_timeout = seconds("--send-timeout", send_timeout, 3_600.0)?;
            let header_timeout = seconds("--header-timeout", header_timeout, 3_600.0)?;
            let body_timeout = seconds("--body-timeout", body_timeout, 3_600.0)?;
            let shutdown_timeout = seconds("--shutdown-timeout", shutdown_timeout, 3_600.0)?;
            if !(1..=1_000_000).contains(&max_connections) {
                bail!("--max-connections {max_connections} is out of range; allowed: 1..=1000000");
            }
            if !(256..=64 * 1024 * 1024).contains(&max_message_bytes) {
                bail!("--max-message-bytes {max_message_bytes} is out of range; allowed: 256..=67108864");
            }
            let level = if quiet {
                log_level.min(serve::log::Level::Warn)
            } else {
                log_level
            };
            let log = serve::log::Log::stderr(level, log_format);
            let config = serve::ServeConfig {
                max_sessions,
                idle_timeout,
                send_timeout,
                max_message_bytes,
                max_connections,
                header_timeout,
                body_timeout,
                shutdown_timeout,
                allowed_origins: allow_origins,
                log: log.clone(),
                llm: llm.config()?,
            };
            let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            runtime.block_on(async {
                let listener = tokio::net::TcpListener::bind((host.as_str(), port))
                    .await
                    .with_context(|| format!("cannot bind {host}:{port}"))?;
                let addr = listener.local_addr()?;
                log.log(
                    serve::log::Level::Info,
                    &format!("chaosops serve: listening on http://{addr} (web interface at http://{addr}/web, WebSocket sessions at ws://{addr}/ws); Ctrl-C stops"),
                    &[],
                );
                serve::serve(listener, registry, config, shutdown_signal(log.clone())).await?;
                log.log(serve::log::Level::Info, "chaosops serve: stopped", &[]);
                // Give the log thread a moment to write the last lines.
                std::thread::sleep(std::time::Duration::from_millis(50));
                anyhow::Ok(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench {
            policy,
            episodes,
            json,
            ..
        } => {
            if episodes == 0 || episodes > 10_000_000 {
                bail!("--episodes {episodes} is out of range; allowed: 1..=10000000");
            }
            let report = bench::run(registry, policy, episodes)?;
            let mut out = stdout.lock();
            if json {
                serde_json::to_writer(&mut out, &report)?;
                writeln!(out)?;
            } else {
                writeln!(
                    out,
                    "policy {}: {} episodes x {} failure types, {} steps in {:.3} s = {:.0} steps/s",
                    report.policy,
                    report.episodes,
                    chaosops_failures::BUILTIN_IDS.len(),
                    report.steps,
                    report.seconds,
                    report.steps_per_sec
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal(log: serve::log::Log) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    log.log(
        serve::log::Level::Info,
        "chaosops serve: shutting down",
        &[],
    );
    // A second signal does not wait for anyone.
    let second = log.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        second.log(
            serve::log::Level::Warn,
            "chaosops serve: second signal; stopping now",
            &[],
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::process::exit(130);
    });
    #[cfg(unix)]
    tokio::spawn(async move {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
            log.log(
                serve::log::Level::Warn,
                "chaosops serve: second signal; stopping now",
                &[],
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
            std::process::exit(143);
        }
    });
}

/// Resolves a policy name and, for `llm`, checks its endpoint answers.
fn choose(name: PolicyName, llm: &LlmArgs) -> anyhow::Result<PolicyChoice> {
    let policy = PolicyChoice::resolve(name, llm.config()?.as_ref()).map_err(anyhow::Error::msg)?;
    policy.check().map_err(anyhow::Error::msg)?;
    Ok(policy)
}

/// Says on stderr how a model's requests went, and fails the command (status 1) when every
/// request failed: its figures are then the noop fallback's, not the model's.
fn llm_verdict(stats: Option<chaosops_roles::ParseStats>) -> ExitCode {
    let Some(s) = stats.filter(|s| s.requests > 0) else {
        return ExitCode::SUCCESS;
    };
    eprintln!(
        "chaosops: llm: {} request(s), {} failed; {} of {} turn(s) fell back to noop",
        s.requests, s.failed_requests, s.fallbacks, s.turns
    );
    if s.every_request_failed() {
        eprintln!(
            "chaosops: every request to the model failed, so every llm turn was the noop fallback; the results above are not the model's"
        );
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// Set by the first Ctrl-C or SIGTERM of a long command that can stop cleanly.
static STOP: AtomicBool = AtomicBool::new(false);

/// Makes the first Ctrl-C (or SIGTERM) set [`STOP`], saying what happens next; a second one
/// exits at once with status 130.
fn stop_on_interrupt(command: &'static str, what_next: &'static str) -> anyhow::Result<()> {
    ctrlc::set_handler(move || {
        if STOP.swap(true, Ordering::SeqCst) {
            eprintln!("{command}: interrupted again; quitting without writing");
            std::process::exit(130);
        }
        eprintln!("{command}: interrupted; {what_next} (Ctrl-C again quits at once)");
    })
    .context("installing the Ctrl-C handler")
}

/// Keeps the first occurrence of each value, in order.
fn dedup<T: PartialEq + Copy>(values: Vec<T>) -> Vec<T> {
    let mut out = Vec::with_capacity(values.len());
    for v in values {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}
