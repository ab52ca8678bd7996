//! The files of `chaosops eval`: an output folder holding `run.json` (what the run was
//! asked), `episodes.jsonl` (one record a line, streamed in list order), and, at the end,
//! `evaluation.json`, `evaluation_summary.txt` and the two charts. Resuming and merging
//! shards read those files back. The evaluation itself is `chaosops_eval::eval`.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use chaosops_eval::eval::{
    self, merge_shards, play_range, Evaluation, PolicySource, RunControl, RunInfo, Shard, Tally,
};
use chaosops_sim::Registry;

use crate::plots;

/// `run.json`: what the run in a folder was asked.
pub const RUN_FILE: &str = "run.json";
/// `episodes.jsonl`: one record per episode, in list order.
pub const RECORDS_FILE: &str = "episodes.jsonl";

/// Every file an evaluation writes, for the closing message.
pub struct Written {
    /// The files, in the order they were written.
    pub paths: Vec<PathBuf>,
}

impl std::fmt::Display for Written {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, p) in self.paths.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}", p.display())?;
        }
        Ok(())
    }
}

fn read_run(dir: &Path) -> anyhow::Result<RunInfo> {
    let path = dir.join(RUN_FILE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a run description", path.display()))
}

fn write_json(path: &Path, value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut json = serde_json::to_vec_pretty(value)?;
    json.push(b'\n');
    std::fs::write(path, json).with_context(|| format!("cannot write {}", path.display()))
}

/// Writes the reports of an evaluation into `out_dir`: `evaluation.json`, the summary and
/// the charts; returns the summary and every file of the folder.
pub fn write_reports(out_dir: &Path, evaluation: &Evaluation) -> anyhow::Result<(String, Written)> {
    let json_path = out_dir.join("evaluation.json");
    write_json(&json_path, evaluation)?;
    let summary = eval::render_summary(evaluation);
    let summary_path = out_dir.join("evaluation_summary.txt");
    std::fs::write(&summary_path, &summary)
        .with_context(|| format!("cannot write {}", summary_path.display()))?;
    let reward_svg = out_dir.join("reward_by_tier.svg");
    plots::reward_by_tier(evaluation, &reward_svg)
        .map_err(|e| anyhow::anyhow!("cannot draw {}: {e}", reward_svg.display()))?;
    let rogue_svg = out_dir.join("rogue_vs_mttr.svg");
    plots::rogue_vs_mttr(evaluation, &rogue_svg)
        .map_err(|e| anyhow::anyhow!("cannot draw {}: {e}", rogue_svg.display()))?;
    Ok((
        summary,
        Written {
            paths: vec![
                out_dir.join(RECORDS_FILE),
                json_path,
                summary_path,
                reward_svg,
                rogue_svg,
            ],
        },
    ))
}

/// Where a run starts: a fresh folder, or the end of the records a resumed run left.
fn open_records(
    out_dir: &Path,
    info: &RunInfo,
    resume: bool,
    tally: &mut Tally,
) -> anyhow::Result<(File, u64)> {
    let records = out_dir.join(RECORDS_FILE);
    if !resume {
        write_json(&out_dir.join(RUN_FILE), info)?;
        let file = File::create(&records)
            .with_context(|| format!("cannot write {}", records.display()))?;
        return Ok((file, info.range().start));
    }
    let before = read_run(out_dir).context("--resume needs the folder of an earlier run")?;
    if let Some(d) = info.differs_from(&before) {
        bail!(
            "--resume: {} was written by another evaluation ({d}); use the same options or another --out-dir",
            out_dir.join(RUN_FILE).display()
        );
    }
    if before.shard != info.shard {
        bail!(
            "--resume: {} ran shard {}, not {}",
            out_dir.display(),
            before.shard,
            info.shard
        );
    }
    let complete = match File::open(&records) {
        Ok(f) => tally.count_records(
            BufReader::new(f),
            info.range(),
            &records.display().to_string(),
            |_| Ok(()),
        )?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", records.display())),
    };
    let file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open(&records)
        .with_context(|| format!("cannot write {}", records.display()))?;
    // A record cut off by the interruption is dropped and played again.
    file.set_len(complete)?;
    let mut file = file;
    std::io::Seek::seek(&mut file, std::io::SeekFrom::End(0))?;
    Ok((file, info.range().start + tally.episodes()))
}

/// Plays the run `info` of `plan` into `out_dir` (which exists and takes files): resumes
/// from its records when `resume`, streams new records as they are played, then writes the
/// reports. Returns the evaluation, the summary and the files written.
#[allow(clippy::too_many_arguments)]
pub fn run<P: PolicySource>(
    registry: &'static Registry,
    plan: &eval::Plan<'_, P>,
    info: &RunInfo,
    resume: bool,
    out_dir: &Path,
    control: &RunControl<'_>,
    started: impl FnOnce(u64, u64),
) -> anyhow::Result<(Evaluation, String, Written)> {
    let mut tally = Tally::new(info);
    let (file, start) = open_records(out_dir, info, resume, &mut tally)?;
    started(
        start - info.range().start,
        info.range().end - info.range().start,
    );
    let mut writer = BufWriter::with_capacity(1 << 20, file);
    let records = out_dir.join(RECORDS_FILE);
    play_range(
        registry,
        plan,
        start..info.range().end,
        control,
        &mut tally,
        &mut |line| writer.write_all(line),
    )
    .with_context(|| format!("writing {}", records.display()))?;
    writer
        .flush()
        .with_context(|| format!("cannot write {}", records.display()))?;
    let evaluation = tally.finish(info);
    let (summary, written) = write_reports(out_dir, &evaluation)?;
    Ok((evaluation, summary, written))
}

/// `chaosops eval merge`: the shard folders `dirs` combined into `out_dir`, the files one
/// unsharded run writes.
pub fn merge(out_dir: &Path, dirs: &[PathBuf]) -> anyhow::Result<(Evaluation, String, Written)> {
    let mut shards = Vec::with_capacity(dirs.len());
    for dir in dirs {
        let info = read_run(dir)?;
        let path = dir.join(RECORDS_FILE);
        let file = File::open(&path).with_context(|| format!("cannot read {}", path.display()))?;
        shards.push((info, BufReader::new(file), path.display().to_string()));
    }
    let Some(first) = shards.first() else {
        bail!("name the shard folders to merge");
    };
    let whole = RunInfo {
        shard: Shard::WHOLE,
        ..first.0.clone()
    };
    shards.sort_by_key(|s| s.0.shard.index);
    let infos: Vec<(RunInfo, String)> = shards.iter().map(|s| (s.0.clone(), s.2.clone())).collect();
    eval::check_shards(&whole, &infos)?;
    crate::prepare_out_dir(out_dir)?;
    for dir in dirs {
        if same_dir(dir, out_dir) {
            bail!(
                "--out-dir {} is one of the shard folders; merge into another folder",
                out_dir.display()
            );
        }
    }
    let records = out_dir.join(RECORDS_FILE);
    let file =
        File::create(&records).with_context(|| format!("cannot write {}", records.display()))?;
    let mut writer = BufWriter::with_capacity(1 << 20, file);
    let tally = match merge_shards(&whole, shards, &mut writer) {
        Ok(tally) => tally,
        Err(e) => {
            // No half-merged file is left to be mistaken for a result.
            drop(writer);
            let _ = std::fs::remove_file(&records);
            return Err(e.into());
        }
    };
    writer
        .flush()
        .with_context(|| format!("cannot write {}", records.display()))?;
    write_json(&out_dir.join(RUN_FILE), &whole)?;
    let evaluation = tally.finish(&whole);
    let (summary, written) = write_reports(out_dir, &evaluation)?;
    Ok((evaluation, summary, written))
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
