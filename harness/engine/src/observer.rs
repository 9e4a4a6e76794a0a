//! How a driver watches the engine: steps that take a while (to show progress) and the
//! points of the settle protocol where a crash is interesting (to test recovery).

/// A point in `settle` between two durable events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checkpoint {
    /// `Sending{hash, nonce}` is recorded; nothing is broadcast yet.
    SendRecorded,
    /// The node accepted the transaction; its receipt is not awaited yet.
    Broadcast,
}

impl Checkpoint {
    /// The name drivers use for it (`before-send`, `after-send`).
    pub fn name(self) -> &'static str {
        match self {
            Checkpoint::SendRecorded => "before-send",
            Checkpoint::Broadcast => "after-send",
        }
    }
}

/// Receives the engine's progress. Steps do not nest: each `step` is followed by its `done`,
/// unless the operation fails in between (then no `done` comes).
pub trait Observer: Send + Sync {
    fn step(&self, _what: &str) {}
    fn done(&self, _detail: &str) {}
    /// Called when `settle` reaches `checkpoint`. A driver may stop the process here (a test's
    /// crash point); it cannot change what is sent.
    fn reached(&self, _checkpoint: Checkpoint) {}
}

/// Logs steps with `tracing` (at info) and nothing else.
#[derive(Clone, Copy, Debug, Default)]
pub struct Logged;

impl Observer for Logged {
    fn step(&self, what: &str) {
        tracing::info!("{what}");
    }
    fn done(&self, detail: &str) {
        tracing::info!("done: {detail}");
    }
}
