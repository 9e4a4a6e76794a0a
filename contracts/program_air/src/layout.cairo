//! The proof's mask layout described by runs (generated `MASK_SHAPE_RUNS`): shape checks,
//! column log sizes and building a mask from flat words.
//!
//! Runs, per tree (preprocessed, main, interaction): `[n_runs, (columns, values per column) *
//! n_runs]`.

use stark_verifier::fields::{QM31, QM31Trait};
use stark_verifier::fields::qm31::Coordinates;

/// True iff `mask` has exactly the trees, columns and values per column `runs` describes.
/// Walks the spans with `pop_front` (no indexing, no separate counters): most runs are long
/// runs of one-value columns, so the per-column step count is what matters.
pub fn mask_shape_ok_with(mask: Span<Span<Span<Coordinates>>>, runs: Span<u32>) -> bool {
    let mut runs = runs;
    let mut trees = mask;
    let mut ok = true;
    while let Option::Some(n_runs) = runs.pop_front() {
        let mut columns = match trees.pop_front() {
            Option::Some(tree) => *tree,
            Option::None => {
                ok = false;
                break;
            },
        };
        let mut r = *n_runs;
        while r != 0 {
            let (count, values) = match runs.multi_pop_front::<2>() {
                Option::Some(pair) => {
                    let [count, values] = (*pair).unbox();
                    (count, values)
                },
                Option::None => {
                    ok = false;
                    break;
                },
            };
            if !run_ok(ref columns, count, values) {
                ok = false;
                break;
            }
            r -= 1;
        };
        if !ok || !columns.is_empty() {
            ok = false;
            break;
        }
    };
    ok && trees.is_empty()
}

/// Pops `count` columns of `values` values each off `columns`; false if any is missing or has
/// another length.
fn run_ok(ref columns: Span<Span<Coordinates>>, count: u32, values: u32) -> bool {
    let mut ok = true;
    // Four columns per iteration while four remain (runs are up to hundreds of columns long
    // and a loop iteration costs several times a length check).
    let (mut blocks, mut k) = stark_verifier::pcs::blocks_of_four(count);
    while blocks != 0 {
        match columns.multi_pop_front::<4>() {
            Option::Some(block) => {
                let [c0, c1, c2, c3] = (*block).unbox();
                if c0.len() != values || c1.len() != values || c2.len() != values
                    || c3.len() != values {
                    ok = false;
                    break;
                }
            },
            Option::None => {
                ok = false;
                break;
            },
        }
        blocks -= 1;
    };
    if !ok {
        return false;
    }
    while k != 0 {
        match columns.pop_front() {
            Option::Some(column) => {
                if (*column).len() != values {
                    ok = false;
                    break;
                }
            },
            Option::None => {
                ok = false;
                break;
            },
        }
        k -= 1;
    };
    ok
}

/// Appends `log_size` `count` times: 8 per iteration while 8 remain (the columns come in runs
/// of up to 301, and a loop iteration costs several times an append).
pub fn repeat_log_size(ref out: Array<u32>, log_size: u32, count: u32) {
    let mut k = count;
    while k >= 8 {
        out.append(log_size);
        out.append(log_size);
        out.append(log_size);
        out.append(log_size);
        out.append(log_size);
        out.append(log_size);
        out.append(log_size);
        out.append(log_size);
        k -= 8;
    };
    while k != 0 {
        out.append(log_size);
        k -= 1;
    };
}

/// The mask of shape `runs` whose values' M31 coordinates are `words` (four per value, in
/// proof order). Panics unless `words` has exactly the shape's size; the coordinates are
/// trusted to be canonical (below 2^31 - 1).
pub fn mask_from_words_with(words: Span<u32>, runs: Span<u32>) -> Span<Span<Span<QM31>>> {
    let mut trees: Array<Span<Span<QM31>>> = array![];
    let mut w = 0;
    let mut at = 0;
    while at != runs.len() {
        let n_runs = *runs[at];
        at += 1;
        let mut columns: Array<Span<QM31>> = array![];
        let mut r = 0;
        while r != n_runs {
            let count = *runs[at];
            let n_values = *runs[at + 1];
            at += 2;
            let mut k = 0;
            while k != count {
                let mut values: Array<QM31> = array![];
                while values.len() != n_values {
                    values
                        .append(
                            QM31Trait::from_u32_unchecked(
                                *words[w], *words[w + 1], *words[w + 2], *words[w + 3],
                            ),
                        );
                    w += 4;
                };
                columns.append(values.span());
                k += 1;
            };
            r += 1;
        };
        trees.append(columns.span());
    };
    assert(w == words.len(), 'layout: mask word count');
    trees.span()
}
