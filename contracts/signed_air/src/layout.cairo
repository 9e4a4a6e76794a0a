//! The proof's mask layout described by runs (generated `MASK_SHAPE_RUNS`): shape checks,
//! column log sizes and building a mask from flat words.
//!
//! Runs, per tree (preprocessed, main, interaction): `[n_runs, (columns, values per column) *
//! n_runs]`.

use stark_verifier::fields::{QM31, QM31Trait};

/// True iff `mask` has exactly the trees, columns and values per column `runs` describes.
pub fn mask_shape_ok_with(mask: Span<Span<Span<QM31>>>, runs: Span<u32>) -> bool {
    let mut at = 0;
    let mut t = 0;
    let mut ok = true;
    while at != runs.len() {
        if t == mask.len() {
            ok = false;
            break;
        }
        let columns = *mask[t];
        let n_runs = *runs[at];
        at += 1;
        let mut c = 0;
        let mut r = 0;
        while r != n_runs {
            let count = *runs[at];
            let values = *runs[at + 1];
            at += 2;
            let mut k = 0;
            while k != count {
                if c == columns.len() || (*columns[c]).len() != values {
                    ok = false;
                    break;
                }
                c += 1;
                k += 1;
            };
            if !ok {
                break;
            }
            r += 1;
        };
        if !ok || c != columns.len() {
            ok = false;
            break;
        }
        t += 1;
    };
    ok && t == mask.len()
}

/// Appends `log_size` `count` times.
pub fn repeat_log_size(ref out: Array<u32>, log_size: u32, count: u32) {
    let mut k = 0;
    while k != count {
        out.append(log_size);
        k += 1;
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
