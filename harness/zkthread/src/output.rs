//! Progress and result printing shared by the subcommands.
//!
//! Progress goes to stderr (a spinner per step on a terminal, one line per finished step
//! otherwise); results go to stdout, as text or, with `--json`, as one JSON document.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::sync::Mutex;

use zkthread_engine::{Checkpoint, Observer};

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

/// The engine's progress as this command's steps on stderr; at a settle checkpoint named by
/// `ZKTHREAD_CRASH_AT`, a test-only crash.
pub struct Steps {
    progress: Progress,
    current: Mutex<Option<Step>>,
}

impl Steps {
    pub fn new(json: bool) -> Self {
        Steps {
            progress: Progress::new(json),
            current: Mutex::new(None),
        }
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<Step>> {
        // A step is only display state: a poisoned lock still holds a usable one.
        self.current.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Observer for Steps {
    fn step(&self, what: &str) {
        *self.slot() = Some(self.progress.step(what));
    }

    fn done(&self, detail: &str) {
        if let Some(step) = self.slot().take() {
            step.done(detail);
        }
    }

    fn reached(&self, checkpoint: Checkpoint) {
        crash_point(checkpoint.name());
    }
}

/// The engine's progress as log lines (a service has no terminal to draw on), with the same
/// test-only crash points as [`Steps`].
pub struct Logged;

impl Observer for Logged {
    fn step(&self, what: &str) {
        zkthread_engine::Logged.step(what);
    }

    fn done(&self, detail: &str) {
        zkthread_engine::Logged.done(detail);
    }

    fn reached(&self, checkpoint: Checkpoint) {
        crash_point(checkpoint.name());
    }
}

/// Environment variable naming a test-only crash point of `settle` (`before-send`: right
/// after recording `Sending`; `after-send`: right after broadcasting).
pub const CRASH_AT_ENV: &str = "ZKTHREAD_CRASH_AT";

/// Test-only crash point: `ZKTHREAD_CRASH_AT=<point>` stops the process here with `abort()`
/// (no unwinding, no destructors: what a power cut or `kill -9` would leave). It can only
/// stop the process, never change what is sent.
fn crash_point(point: &str) {
    if std::env::var(CRASH_AT_ENV).is_ok_and(|at| at == point) {
        eprintln!("{CRASH_AT_ENV}={point}: aborting (test-only crash point)");
        std::process::abort();
    }
}

pub fn seconds(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

pub use zkthread_engine::{hex, short_revert_reason};

/// An amount in FRI as STRK (18 decimals), for people.
pub fn strk(fri: u128) -> String {
    let whole = fri / 1_000_000_000_000_000_000;
    let frac = fri % 1_000_000_000_000_000_000;
    format!("{whole}.{:06} STRK", frac / 1_000_000_000_000)
}

/// Serializes an amount (u128) as a decimal string: JSON readers that hold numbers as doubles
/// lose u128 precision, so every amount and fee in the CLI's JSON is a string.
pub fn decimal<S: serde::Serializer>(value: &u128, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&value.to_string())
}

/// Serializes a duration held in milliseconds as seconds: every duration in the CLI's JSON is
/// a number of seconds.
pub fn ms_as_seconds<S: serde::Serializer>(ms: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(ms / 1e3)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strk_shows_six_decimals() {
        assert_eq!(strk(1_500_000_000_000_000_000), "1.500000 STRK");
        assert_eq!(strk(1_447_000_000_000_000), "0.001447 STRK");
    }
}
