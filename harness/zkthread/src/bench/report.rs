//! The pure half of the chain benchmarks: the rows they record, per-transfer arithmetic, where a
//! measured trend crosses a limit, and the text table and SVG plot made from the rows.

use std::fmt::Write as _;

use serde::Serialize;

/// Devnet 0.10.1's per-transaction execution bound for our Sierra 1.6 classes (metered in Cairo
/// steps: `invoke_tx_max_n_steps`).
pub const STEP_BOUND: u64 = 10_000_000;
/// Starknet mainnet's calldata limit per transaction, in felts (the issue's goal).
pub const CALLDATA_GOAL: usize = 5_000;

/// What one transaction cost, from its receipt.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TxCost {
    pub l2_gas: u64,
    pub l1_gas: u64,
    pub l1_data_gas: u64,
    /// Actual fee in FRI (a decimal string in JSON).
    #[serde(serialize_with = "crate::output::decimal")]
    pub fee_fri: u128,
}

/// Cairo steps of a settlement's execute phase, measured by bisection over the L2 gas bound:
/// more than `low` and at most `high`; `high == None` means above [`STEP_BOUND`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Steps {
    pub low: u64,
    pub high: Option<u64>,
}

impl Steps {
    /// The middle of the bracket (what tables and fits use), `None` above the bound.
    pub fn estimate(&self) -> Option<u64> {
        self.high.map(|high| (self.low + high) / 2)
    }

    pub fn label(&self) -> String {
        match self.high {
            Some(high) => format!("{}-{}", millions(self.low), millions(high)),
            None => format!("> {}", millions(self.low)),
        }
    }
}

/// A revert trace in a few words: the contract's own reason if it has one, "out of Cairo
/// steps" when the VM hit its step limit, else the trace's last line (cut to 160 characters).
pub fn revert_summary(trace: &str) -> String {
    for prefix in ["registry: ", "thread: ", "token: ", "verifier: "] {
        if trace.contains(prefix) {
            return crate::output::short_revert_reason(trace);
        }
    }
    if trace.contains("no remaining steps") {
        return "out of Cairo steps (RunResources has no remaining steps)".to_owned();
    }
    let last = trace
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or_default();
    last.chars().take(160).collect()
}

/// The node's refusal of a transaction too big for one block (devnet's bouncer: "Transaction
/// size exceeds the maximum block capacity"), in a few words with the measures over their cap;
/// None for any other error, which the caller propagates.
pub fn capacity_refusal(error: &str) -> Option<String> {
    if !error.contains("exceeds the maximum block capacity") {
        return None;
    }
    let field = |text: &str, name: &str| -> Option<u128> {
        let rest = &text[text.find(&format!("{name}: "))? + name.len() + 2..];
        rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
    };
    let (capacity, size) = error.split_once("transaction size")?;
    let over: Vec<String> = ["state_diff_size", "sierra_gas", "n_events", "l1_gas"]
        .into_iter()
        .filter_map(|name| {
            let (cap, used) = (field(capacity, name)?, field(size, name)?);
            (used > cap).then(|| format!("{name} {used} > {cap}"))
        })
        .collect();
    Some(format!("REFUSED: exceeds the block capacity ({})", over.join(", ")))
}

/// `7_812_345` -> `7.81M`.
pub fn millions(value: u64) -> String {
    format!("{:.2}M", value as f64 / 1e6)
}

/// Mean, minimum and maximum of a sample.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Spread {
    pub mean: f64,
    pub min: f64,
    pub max: f64,
    pub samples: usize,
}

impl Spread {
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Spread> {
        let mut samples = 0usize;
        let (mut sum, mut min, mut max) = (0.0, f64::INFINITY, f64::NEG_INFINITY);
        for value in values {
            samples += 1;
            sum += value;
            min = min.min(value);
            max = max.max(value);
        }
        (samples > 0).then(|| Spread {
            mean: sum / samples as f64,
            min,
            max,
            samples,
        })
    }
}

/// A settlement's cost shared by the transfers it settles.
pub fn per_transfer(total: f64, transfers: usize) -> f64 {
    if transfers == 0 {
        f64::NAN
    } else {
        total / transfers as f64
    }
}

/// Least-squares line `y = slope * x + intercept` through `points` (needs two distinct x).
pub fn linear_fit(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    if sxx == 0.0 {
        return None;
    }
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    let slope = sxy / sxx;
    Some((slope, mean_y - slope * mean_x))
}

/// Where the fitted line through `points` reaches `limit` (x), if it rises towards it.
pub fn crossing(points: &[(f64, f64)], limit: f64) -> Option<f64> {
    let (slope, intercept) = linear_fit(points)?;
    (slope > 0.0).then(|| (limit - intercept) / slope)
}

/// One size of `bench verify`.
#[derive(Clone, Debug, Serialize)]
pub struct VerifyRow {
    pub transfers: usize,
    pub log_rows: u32,
    pub slots_in: usize,
    pub slots_out: usize,
    pub proof_felts: usize,
    pub calldata_felts: usize,
    pub steps: Option<Steps>,
    pub cost: TxCost,
    /// `SUCCEEDED`, `REVERTED: <short reason>`, or `REFUSED: <why>` when the node would not
    /// take the transaction at all (no receipt: zero cost, no hash).
    pub status: String,
    pub prove_seconds: f64,
    /// Shown in ms in the table; JSON durations are seconds.
    #[serde(rename = "verify_seconds", serialize_with = "crate::output::ms_as_seconds")]
    pub verify_ms: f64,
    pub tx_hash: String,
}

pub fn verify_table(rows: &[VerifyRow]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>9} {:>5} {:>6} {:>11} {:>8} {:>15} {:>13} {:>11} {:>11} {:>8}  status",
        "transfers",
        "xfer rows",
        "slots",
        "proof felts",
        "calldata",
        "Cairo steps",
        "L2 gas",
        "L1 data gas",
        "fee STRK",
        "prove s"
    );
    for r in rows {
        let steps = r.steps.map_or_else(|| "-".to_owned(), |s| s.label());
        let _ = writeln!(
            out,
            "{:>9} {:>5} {:>6} {:>11} {:>8} {:>15} {:>13} {:>11} {:>11.4} {:>8.1}  {}",
            r.transfers,
            format!("2^{}", r.log_rows),
            format!("{}/{}", r.slots_in, r.slots_out),
            r.proof_felts,
            r.calldata_felts,
            steps,
            r.cost.l2_gas,
            r.cost.l1_data_gas,
            r.cost.fee_fri as f64 / 1e18,
            r.prove_seconds,
            r.status
        );
    }
    out
}

/// Where the verify rows put the two lines of issue 4, in words.
pub fn verify_lines(rows: &[VerifyRow]) -> Vec<String> {
    let mut lines = Vec::new();
    let over_steps: Vec<usize> = rows
        .iter()
        .filter(|r| r.steps.is_some_and(|s| s.high.is_none()))
        .map(|r| r.transfers)
        .collect();
    // The slope between the two tallest traces measured: below the 2^16-row range-table floor
    // the verifier's work does not depend on the transfer count, and proof-size noise (query
    // positions that share Merkle paths) would swamp a fit over every size.
    let mut points: Vec<(f64, f64)> = rows
        .iter()
        .filter_map(|r| Some((f64::from(r.log_rows), r.steps?.estimate()? as f64)))
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    points.dedup_by(|later, earlier| {
        // Keep the largest step count per trace height.
        if later.0 == earlier.0 {
            earlier.1 = earlier.1.max(later.1);
            true
        } else {
            false
        }
    });
    let tallest = &points[points.len().saturating_sub(2)..];
    match (over_steps.first(), crossing(tallest, STEP_BOUND as f64)) {
        (Some(first), _) => lines.push(format!(
            "step bound: measured — {first} transfers need more than {} Cairo steps",
            millions(STEP_BOUND)
        )),
        (None, Some(log_rows)) => {
            let (slope, _) = linear_fit(tallest).unwrap_or_default();
            lines.push(format!(
                "step bound: not reached; EXTRAPOLATION from the two tallest traces measured ({:+.0} steps per doubling of the trace): {} steps at 2^{:.1} transfer rows",
                slope,
                millions(STEP_BOUND),
                log_rows
            ));
        }
        (None, None) => lines.push(
            "step bound: not reached; no rising slope to extrapolate from the two tallest traces"
                .to_owned(),
        ),
    }
    if let Some(r) = rows.iter().find(|r| r.calldata_felts > CALLDATA_GOAL) {
        lines.push(format!(
            "calldata goal: crossed at {} transfers ({} felts > {CALLDATA_GOAL})",
            r.transfers, r.calldata_felts
        ));
    } else if let Some(r) = rows.iter().max_by_key(|r| r.calldata_felts) {
        // Settle calldata = proof + 3 felts per input and per output slot + a few headers.
        let per_slot_pair = 6;
        let room = CALLDATA_GOAL.saturating_sub(r.calldata_felts);
        lines.push(format!(
            "calldata goal: met everywhere (max {} felts); the room left ({room} felts) holds ~{} more distinct balance slots (6 felts each: in + out)",
            r.calldata_felts,
            room / per_slot_pair
        ));
    }
    lines
}

/// Cost of a sub-block settled through the thread.
#[derive(Clone, Debug, Serialize)]
pub struct ThreadCost {
    pub status: String,
    pub tx_hash: String,
    pub slots_in: usize,
    /// Net state diff: the slots the settlement writes.
    pub slots_out: usize,
    pub proof_felts: usize,
    pub calldata_felts: usize,
    pub cost: TxCost,
    pub l2_gas_per_transfer: f64,
    pub fee_fri_per_transfer: f64,
    pub prove_seconds: f64,
}

/// Cost of the same transfers sent one by one as direct `transfer` transactions.
#[derive(Clone, Debug, Serialize)]
pub struct DirectCost {
    /// How many of the sub-block's transfers were sent (all, or a sample).
    pub sent: usize,
    pub l2_gas: Spread,
    pub fee_fri: Spread,
    /// Distinct token balance slots the sent transfers wrote.
    pub balance_slots_written: usize,
}

/// One (accounts, size) point of `bench settle`.
#[derive(Clone, Debug, Serialize)]
pub struct SettlePoint {
    /// `few` or `many`.
    pub accounts: &'static str,
    pub transfers: usize,
    pub thread: ThreadCost,
    pub direct: DirectCost,
}

impl SettlePoint {
    /// Whether the thread settlement went through (a reverted one has no per-transfer cost).
    pub fn settled(&self) -> bool {
        self.thread.status == "SUCCEEDED"
    }
    /// Direct L2 gas per transfer over thread L2 gas per transfer.
    pub fn l2_gas_ratio(&self) -> Option<f64> {
        self.settled()
            .then(|| self.direct.l2_gas.mean / self.thread.l2_gas_per_transfer)
    }
    pub fn fee_ratio(&self) -> Option<f64> {
        self.settled()
            .then(|| self.direct.fee_fri.mean / self.thread.fee_fri_per_transfer)
    }
}

pub fn settle_table(points: &[SettlePoint]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>8} {:>9} {:>11} {:>9} {:>13} {:>12} {:>12} | {:>6} {:>24} {:>12} | {:>8} {:>8}  thread status",
        "accounts", "transfers", "diff slots", "calldata", "settle L2 gas", "L2 gas/xfer", "fee/xfer", "sent", "direct L2 gas/xfer (min-max)", "fee/xfer", "L2 ratio", "fee ratio"
    );
    for p in points {
        let t = &p.thread;
        let d = &p.direct;
        let ratio = |r: Option<f64>| r.map_or_else(|| "-".to_owned(), ratio_label);
        let (gas_per, fee_per) = if p.settled() {
            (
                format!("{:.0}", t.l2_gas_per_transfer),
                strk_short(t.fee_fri_per_transfer),
            )
        } else {
            ("-".to_owned(), "-".to_owned())
        };
        let _ =
            writeln!(
            out,
            "{:>8} {:>9} {:>11} {:>9} {:>13} {:>12} {:>12} | {:>6} {:>24} {:>12} | {:>8} {:>8}  {}",
            p.accounts,
            p.transfers,
            t.slots_out,
            t.calldata_felts,
            t.cost.l2_gas,
            gas_per,
            fee_per,
            d.sent,
            format!("{:.0} ({:.0}-{:.0})", d.l2_gas.mean, d.l2_gas.min, d.l2_gas.max),
            strk_short(d.fee_fri.mean),
            ratio(p.l2_gas_ratio()),
            ratio(p.fee_ratio()),
            t.status
        );
    }
    out
}

/// `2.93` -> `2.9x`, `0.00072` -> `0.00072x`: enough digits to read a ratio far below one.
pub fn ratio_label(ratio: f64) -> String {
    if ratio >= 10.0 {
        format!("{ratio:.0}x")
    } else if ratio >= 1.0 {
        format!("{ratio:.1}x")
    } else {
        format!("{ratio:.2e}x")
    }
}

/// FRI as STRK with enough digits for per-transfer amounts.
pub fn strk_short(fri: f64) -> String {
    format!("{:.3e}", fri / 1e18)
}

/// One line of the plot.
pub struct Series<'a> {
    pub label: &'a str,
    pub color: &'a str,
    pub dashed: bool,
    /// (transfers per sub-block, L2 gas per transfer); non-positive y are left out.
    pub points: Vec<(f64, f64)>,
}

/// The four series of `bench settle`: thread-few, thread-many, direct-few, direct-many.
pub fn settle_series(points: &[SettlePoint]) -> Vec<Series<'static>> {
    let pick = |accounts: &str, thread: bool| -> Vec<(f64, f64)> {
        points
            .iter()
            .filter(|p| p.accounts == accounts && (!thread || p.settled()))
            .map(|p| {
                let y = if thread {
                    p.thread.l2_gas_per_transfer
                } else {
                    p.direct.l2_gas.mean
                };
                (p.transfers as f64, y)
            })
            .collect()
    };
    vec![
        Series {
            label: "thread, few accounts",
            color: "#1f77b4",
            dashed: false,
            points: pick("few", true),
        },
        Series {
            label: "thread, many accounts",
            color: "#d62728",
            dashed: false,
            points: pick("many", true),
        },
        Series {
            label: "direct, few accounts",
            color: "#1f77b4",
            dashed: true,
            points: pick("few", false),
        },
        Series {
            label: "direct, many accounts",
            color: "#d62728",
            dashed: true,
            points: pick("many", false),
        },
    ]
}

/// A log-log line plot as a standalone SVG document.
pub fn render_svg(title: &str, x_label: &str, y_label: &str, series: &[Series<'_>]) -> String {
    const W: f64 = 820.0;
    const H: f64 = 520.0;
    const LEFT: f64 = 90.0;
    const RIGHT: f64 = 250.0;
    const TOP: f64 = 50.0;
    const BOTTOM: f64 = 60.0;
    let visible: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|s| s.points.iter().copied())
        .filter(|&(x, y)| x > 0.0 && y > 0.0 && y.is_finite())
        .collect();
    let (x_lo, x_hi) = bounds(visible.iter().map(|p| p.0.log2()), 1.0);
    let (y_lo, y_hi) = bounds(visible.iter().map(|p| p.1.log10()), 1.0);
    let (x_lo, x_hi) = (x_lo.floor(), x_hi.ceil().max(x_lo.floor() + 1.0));
    let (y_lo, y_hi) = (y_lo.floor(), y_hi.ceil().max(y_lo.floor() + 1.0));
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let px = |x: f64| LEFT + (x.log2() - x_lo) / (x_hi - x_lo) * plot_w;
    let py = |y: f64| TOP + (y_hi - y.log10()) / (y_hi - y_lo) * plot_h;

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="28" font-size="16" text-anchor="middle">{}</text>"#,
        LEFT + plot_w / 2.0,
        escape(title)
    );
    // Grid and ticks: every power of two on x (labelled), every decade on y.
    let mut log2 = x_lo;
    while log2 <= x_hi + 1e-9 {
        let x = LEFT + (log2 - x_lo) / (x_hi - x_lo) * plot_w;
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#e5e5e5"/>"##,
            TOP + plot_h
        );
        let value = 2f64.powf(log2);
        let _ = writeln!(
            svg,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            TOP + plot_h + 18.0,
            value.round()
        );
        log2 += if x_hi - x_lo > 12.0 { 2.0 } else { 1.0 };
    }
    let mut decade = y_lo;
    while decade <= y_hi + 1e-9 {
        let y = TOP + (y_hi - decade) / (y_hi - y_lo) * plot_h;
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e5e5e5"/>"##,
            LEFT + plot_w
        );
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">1e{}</text>"#,
            LEFT - 8.0,
            y + 4.0,
            decade as i64
        );
        decade += 1.0;
    }
    let _ = writeln!(
        svg,
        r#"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="black"/>"#
    );
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        LEFT + plot_w / 2.0,
        H - 18.0,
        escape(x_label)
    );
    let _ = writeln!(
        svg,
        r#"<text transform="translate(22 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        TOP + plot_h / 2.0,
        escape(y_label)
    );
    for (index, s) in series.iter().enumerate() {
        let points: Vec<(f64, f64)> = s
            .points
            .iter()
            .copied()
            .filter(|&(x, y)| x > 0.0 && y > 0.0 && y.is_finite())
            .collect();
        let dash = if s.dashed {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        if points.len() > 1 {
            let path: Vec<String> = points
                .iter()
                .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
                .collect();
            let _ = writeln!(
                svg,
                r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2"{dash}/>"#,
                path.join(" "),
                s.color
            );
        }
        for &(x, y) in &points {
            let _ = writeln!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{}"><title>{}: {} transfers, {:.0}</title></circle>"#,
                px(x),
                py(y),
                s.color,
                escape(s.label),
                x,
                y
            );
        }
        let ly = TOP + 10.0 + 22.0 * index as f64;
        let lx = LEFT + plot_w + 16.0;
        let _ = writeln!(
            svg,
            r#"<line x1="{lx:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{}" stroke-width="2"{dash}/>"#,
            lx + 28.0,
            s.color
        );
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
            lx + 34.0,
            ly + 4.0,
            escape(s.label)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// Min and max of `values`, or `default..default+1` if there are none.
fn bounds(values: impl Iterator<Item = f64>, default: f64) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if lo.is_finite() && hi.is_finite() {
        (lo, hi)
    } else {
        (default - 1.0, default)
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    #[test]
    fn spread_and_per_transfer_math() {
        let s = Spread::of([3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.mean, s.min, s.max, s.samples), (2.0, 1.0, 3.0, 3));
        assert!(Spread::of(std::iter::empty()).is_none());
        assert_eq!(per_transfer(1_800_000_000.0, 4096), 439_453.125);
        assert!(per_transfer(1.0, 0).is_nan());
    }

    #[test]
    fn capacity_refusal_names_what_is_over_the_cap() {
        let refused = "JSON-RPC: JSON-RPC error: code=-1, message=\"Message(\"Transaction size exceeds the maximum block capacity. Max block capacity: BouncerWeights { l1_gas: 4950000, message_segment_length: 18446744073709551615, n_events: 5000, n_txs: 18446744073709551615, state_diff_size: 4000, sierra_gas: 2000000000, proving_gas: 18446744073709551615, receipt_l2_gas: 18446744073709551615 }, transaction size: BouncerWeights { l1_gas: 0, message_segment_length: 0, n_events: 45, n_txs: 1, state_diff_size: 8214, sierra_gas: 2913778653, proving_gas: 3869788356661859067, receipt_l2_gas: 3340185280 }.\")\"";
        assert_eq!(
            capacity_refusal(refused).as_deref(),
            Some("REFUSED: exceeds the block capacity (state_diff_size 8214 > 4000, sierra_gas 2913778653 > 2000000000)")
        );
        assert_eq!(capacity_refusal("connection refused"), None);
    }

    #[test]
    fn revert_summary_names_the_cause() {
        let steps = "Transaction execution has failed:\n0: Error in the called contract (contract address: 0x1):\nCould not reach the end of the program. RunResources has no remaining steps.\n";
        assert_eq!(
            revert_summary(steps),
            "out of Cairo steps (RunResources has no remaining steps)"
        );
        let own = "Transaction execution has failed:\n(0x7265 ('registry: stale input'), 0x454e ('ENTRYPOINT_FAILED')).";
        assert_eq!(revert_summary(own), "registry: stale input");
        assert_eq!(
            revert_summary("Insufficient max L2Gas: 5\n\n"),
            "Insufficient max L2Gas: 5"
        );
    }

    #[test]
    fn fit_and_crossing_follow_the_points() {
        // steps = 500k * log_rows + 0 -> 10M at log_rows 20.
        let points = [(16.0, 8.0e6), (17.0, 8.5e6), (18.0, 9.0e6)];
        let (slope, intercept) = linear_fit(&points).unwrap();
        assert!((slope - 5.0e5).abs() < 1e-6 && intercept.abs() < 1e-3);
        assert!((crossing(&points, 1.0e7).unwrap() - 20.0).abs() < 1e-9);
        // One trace height only: no slope.
        assert!(linear_fit(&[(16.0, 1.0), (16.0, 2.0)]).is_none());
        // A falling trend never reaches the limit.
        assert!(crossing(&[(1.0, 3.0), (2.0, 2.0)], 10.0).is_none());
    }

    /// A measured point (also the sample `bench settle`'s JSON test reports).
    pub(in crate::bench) fn point(
        accounts: &'static str,
        transfers: usize,
        settle_gas: u64,
        direct_gas: f64,
    ) -> SettlePoint {
        let thread_fee = settle_gas as u128 * 1_000_000_000;
        SettlePoint {
            accounts,
            transfers,
            thread: ThreadCost {
                status: "SUCCEEDED".into(),
                tx_hash: "0x1".into(),
                slots_in: 4,
                slots_out: 4,
                proof_felts: 3_900,
                calldata_felts: 3_950,
                cost: TxCost {
                    l2_gas: settle_gas,
                    l1_gas: 0,
                    l1_data_gas: 200,
                    fee_fri: thread_fee,
                },
                l2_gas_per_transfer: per_transfer(settle_gas as f64, transfers),
                fee_fri_per_transfer: per_transfer(thread_fee as f64, transfers),
                prove_seconds: 20.0,
            },
            direct: DirectCost {
                sent: transfers.min(256),
                l2_gas: Spread {
                    mean: direct_gas,
                    min: direct_gas,
                    max: direct_gas,
                    samples: 1,
                },
                fee_fri: Spread {
                    mean: direct_gas * 1e9,
                    min: 0.0,
                    max: 0.0,
                    samples: 1,
                },
                balance_slots_written: 4,
            },
        }
    }

    #[test]
    fn ratio_is_direct_over_thread_per_transfer_and_absent_when_reverted() {
        let p = point("few", 4096, 1_800_000_000, 1_000_000.0);
        let ratio = p.l2_gas_ratio().unwrap();
        assert!((ratio - 1_000_000.0 / (1.8e9 / 4096.0)).abs() < 1e-9);
        assert!((p.fee_ratio().unwrap() - ratio).abs() < 1e-9);
        let mut reverted = p.clone();
        reverted.thread.status = "REVERTED: out of steps".into();
        assert!(reverted.l2_gas_ratio().is_none());
        let table = settle_table(&[p, reverted]);
        assert!(table.contains("2.3x"), "{table}");
        assert!(table.lines().nth(2).unwrap().contains(" - "), "{table}");
        assert_eq!(ratio_label(0.000_72), "7.20e-4x");
        assert_eq!(ratio_label(150.4), "150x");
        assert_eq!(table.lines().count(), 3);
    }

    #[test]
    fn svg_has_one_line_per_series_and_points_in_order() {
        let points: Vec<SettlePoint> = [1usize, 64, 1024, 4096]
            .iter()
            .flat_map(|&n| {
                [
                    point("few", n, 1_800_000_000, 1_200_000.0),
                    point("many", n, 2_000_000_000 + n as u64 * 10_000, 1_300_000.0),
                ]
            })
            .collect();
        let series = settle_series(&points);
        assert_eq!(series.len(), 4);
        let svg = render_svg("t <&>", "transfers", "L2 gas", &series);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 4);
        assert_eq!(svg.matches("<circle").count(), 16);
        assert!(svg.contains("t &lt;&amp;&gt;"));
        // Thread cost per transfer falls with the sub-block size: y (down is larger) grows.
        let first = svg.lines().find(|l| l.starts_with("<polyline")).unwrap();
        let ys: Vec<f64> = first
            .split('"')
            .nth(1)
            .unwrap()
            .split(' ')
            .map(|p| p.split(',').nth(1).unwrap().parse().unwrap())
            .collect();
        assert!(ys.windows(2).all(|w| w[1] > w[0]), "{ys:?}");
        // A reverted thread point is left out of its line.
        let mut with_revert = points.clone();
        with_revert[7].thread.status = "REVERTED".into();
        let svg = render_svg("t", "x", "y", &settle_series(&with_revert));
        assert_eq!(svg.matches("<circle").count(), 15);
    }

    #[test]
    fn verify_lines_name_measured_and_extrapolated_crossings() {
        let row = |transfers: usize, log_rows: u32, steps: Steps, calldata: usize| VerifyRow {
            transfers,
            log_rows,
            slots_in: 4,
            slots_out: 4,
            proof_felts: calldata - 30,
            calldata_felts: calldata,
            steps: Some(steps),
            cost: TxCost::default(),
            status: "SUCCEEDED".into(),
            prove_seconds: 1.0,
            verify_ms: 1.0,
            tx_hash: "0x1".into(),
        };
        let rows = vec![
            row(
                64,
                16,
                Steps {
                    low: 7_800_000,
                    high: Some(7_810_000),
                },
                3_950,
            ),
            row(
                65_536,
                17,
                Steps {
                    low: 8_300_000,
                    high: Some(8_310_000),
                },
                4_100,
            ),
        ];
        let lines = verify_lines(&rows);
        assert!(
            lines[0].contains("EXTRAPOLATION") && lines[0].contains("2^20.4"),
            "{lines:?}"
        );
        // Only the two tallest traces count: a noisy lower point does not move the line.
        let mut noisy = rows.clone();
        noisy.insert(
            0,
            row(
                64,
                6,
                Steps {
                    low: 7_900_000,
                    high: Some(7_910_000),
                },
                3_950,
            ),
        );
        assert!(verify_lines(&noisy)[0].contains("2^20.4"));
        assert!(lines[1].contains("met everywhere"), "{lines:?}");
        let mut over = rows.clone();
        over.push(row(
            131_072,
            18,
            Steps {
                low: STEP_BOUND,
                high: None,
            },
            5_100,
        ));
        let lines = verify_lines(&over);
        assert!(
            lines[0].contains("measured — 131072 transfers"),
            "{lines:?}"
        );
        assert!(lines[1].contains("crossed at 131072"), "{lines:?}");
        assert!(verify_table(&over).contains("> 10.00M"));
    }
}
