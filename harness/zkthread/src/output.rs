//! Progress and result printing shared by the subcommands.
//!
//! Progress goes to stderr (a spinner per step on a terminal, one line per finished step
//! otherwise); results go to stdout, as text or, with `--json`, as one JSON document.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use zkthread_client::Felt;

/// Shows the progress of one command's steps.
pub struct Progress {
    /// No step lines at all (JSON mode on a non-terminal, where only the document matters).
    quiet: bool,
    terminal: bool,
}

impl Progress {
    pub fn new(json: bool) -> Self {
        let terminal = std::io::stderr().is_terminal();
        Progress {
            quiet: json && !terminal,
            terminal,
        }
    }

    /// Starts a step: a spinner that ticks on its own thread, so blocking work keeps it alive.
    pub fn step(&self, message: impl Into<String>) -> Step {
        let message = message.into();
        let bar = if self.terminal && !self.quiet {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner:.cyan} {msg} [{elapsed}]")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_message(message.clone());
            bar.enable_steady_tick(Duration::from_millis(100));
            Some(bar)
        } else {
            None
        };
        Step {
            bar,
            message,
            started: Instant::now(),
            quiet: self.quiet,
        }
    }
}

/// One running step.
pub struct Step {
    bar: Option<ProgressBar>,
    message: String,
    started: Instant,
    quiet: bool,
}

impl Step {
    /// Ends the step with a short result; returns how long it took.
    pub fn done(mut self, detail: impl AsRef<str>) -> Duration {
        let elapsed = self.started.elapsed();
        let detail = detail.as_ref();
        let line = if detail.is_empty() {
            format!("ok {} ({})", self.message, seconds(elapsed))
        } else {
            format!("ok {}: {} ({})", self.message, detail, seconds(elapsed))
        };
        match self.bar.take() {
            Some(bar) => bar.finish_with_message(line),
            None if !self.quiet => eprintln!("{line}"),
            None => {}
        }
        elapsed
    }
}

impl Drop for Step {
    fn drop(&mut self) {
        // A step dropped without `done` failed: clear the spinner so the error line stands alone.
        if let Some(bar) = &self.bar {
            if !bar.is_finished() {
                bar.finish_and_clear();
            }
        }
    }
}

pub fn seconds(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// `0x...` form of a felt.
pub fn hex(felt: Felt) -> String {
    format!("{felt:#x}")
}

/// An amount in FRI as STRK (18 decimals), for people.
pub fn strk(fri: u128) -> String {
    let whole = fri / 1_000_000_000_000_000_000;
    let frac = fri % 1_000_000_000_000_000_000;
    format!("{whole}.{:06} STRK", frac / 1_000_000_000_000)
}

/// Prints `value` as pretty JSON on stdout.
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// An error whose command already printed its JSON report (with an `error` field) on stdout:
/// under `--json` the edge adds no second document, only the stderr line.
#[derive(Debug)]
pub struct Reported(pub String);

impl std::fmt::Display for Reported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Reported {}

/// "Nothing to do" is a normal outcome, not an error (exit 0): one line, or
/// `{"thread_id", "status": "nothing to do", "reason"}` under `--json`.
pub fn nothing_to_do(thread_id: u64, reason: &str, json: bool) -> anyhow::Result<()> {
    if json {
        return print_json(&serde_json::json!({
            "thread_id": thread_id,
            "status": "nothing to do",
            "reason": reason,
        }));
    }
    println!("nothing to do for thread {thread_id}: {reason}");
    Ok(())
}

/// The registry's short revert string (e.g. `registry: stale input`) out of a full revert trace.
pub fn short_revert_reason(trace: &str) -> String {
    for prefix in ["registry: ", "thread: ", "token: "] {
        if let Some(start) = trace.find(prefix) {
            let rest = &trace[start..];
            let end = rest
                .find(|c: char| c == '\'' || c == '"' || c == '\n' || c == ')' || c == ',')
                .unwrap_or(rest.len());
            return rest[..end].trim().to_owned();
        }
    }
    trace.lines().next().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_reason_is_cut_from_a_nested_trace() {
        let trace = "Transaction execution has failed:\n0: Error in the called contract (0x1):\nExecution failed. Failure reason:\n(0x7265 ('registry: stale input'), 0x454e ('ENTRYPOINT_FAILED')).\n";
        assert_eq!(short_revert_reason(trace), "registry: stale input");
        assert_eq!(short_revert_reason("plain failure\nmore"), "plain failure");
    }

    #[test]
    fn strk_shows_six_decimals() {
        assert_eq!(strk(1_500_000_000_000_000_000), "1.500000 STRK");
        assert_eq!(strk(1_447_000_000_000_000), "0.001447 STRK");
    }
}
