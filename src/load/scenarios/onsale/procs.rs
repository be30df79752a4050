//! The watchers of a big onsale run, in child processes of this binary: a
//! process may hold only so many open files, so the WebSockets that wait in
//! line are spread over `--watcher-procs` processes, each on its own
//! loopback source address, each joining the same event and reporting on
//! its JSON line.

use std::ops::Range;
use std::process::Stdio;

use serde_json::Value;
use tokio::process::{Child, Command};

use crate::load::LoadArgs;

/// The children's buyers: the end of this run's range, split evenly.
pub fn ranges(args: &LoadArgs, first: usize, buyers: usize) -> Vec<Range<usize>> {
    let (procs, watchers) = (args.watcher_procs, args.watchers.min(buyers));
    if procs == 0 || watchers == 0 {
        return Vec::new();
    }
    let start = first + buyers - watchers;
    (0..procs)
        .map(|p| start + watchers * p / procs..start + watchers * (p + 1) / procs)
        .filter(|r| !r.is_empty())
        .collect()
}

/// Starts one child per range, each watching every one of its buyers.
pub fn spawn(args: &LoadArgs, event: &str, ranges: &[Range<usize>]) -> Result<Vec<Child>, String> {
    if ranges.is_empty() {
        return Ok(Vec::new());
    }
    let exe = std::env::current_exe().map_err(|e| format!("this program's path: {e}"))?;
    let (Some(target), Some(seed)) = (&args.target, &args.seed) else {
        return Err("--watcher-procs needs --target and --seed".into());
    };
    ranges
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let n = r.len().to_string();
            Command::new(&exe)
                .args([
                    "load",
                    "--scenario",
                    "onsale",
                    "--target",
                    target,
                    "--event",
                    event,
                ])
                .arg("--seed")
                .arg(seed)
                .args([
                    "--buyers-from",
                    &r.start.to_string(),
                    "--buyers",
                    &n,
                    "--watchers",
                    &n,
                ])
                .args(["--bind", &format!("127.0.0.{}", 2 + i % 250)])
                .args(["--pass-secs", &args.pass_secs.to_string()])
                .args(["--think-ms", &args.think_ms.to_string()])
                .args(["--duration", &args.duration.to_string()])
                .args([
                    "--concurrency",
                    &(args.concurrency / ranges.len()).max(4).to_string(),
                ])
                .arg("--json")
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| format!("starting a watcher process: {e}"))
        })
        .collect()
}

/// Each child's JSON line (an error for a child that printed none).
pub async fn collect(children: Vec<Child>) -> Result<Vec<Value>, String> {
    let mut lines = Vec::new();
    for child in children {
        let out = child
            .wait_with_output()
            .await
            .map_err(|e| format!("a watcher process: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().last().unwrap_or_default();
        let v: Value = serde_json::from_str(line)
            .map_err(|e| format!("a watcher process printed no JSON line ({e}): {text}"))?;
        lines.push(v);
    }
    Ok(lines)
}
