//! The proof's mask layout described by runs (generated `MASK_SHAPE_RUNS`): the verifier's
//! shape check of a proof (`mask_values_of`, the proof's run words against the AIR's) and its
//! AIR call's mask part (`mask_call`, the proof's flat words copied once); shape checks and
//! encodings of a mask held per column (the AIR classes' tests and the thread program); column
//! log sizes; building a mask from flat words.
//!
//! Runs, per tree (preprocessed, main, interaction): `[n_runs, (columns, values per column) *
//! n_runs]`.

use stark_verifier::fields::{QM31, QM31Trait};
use stark_verifier::fields::qm31::Coordinates;
use stark_verifier::pcs::only;

/// True iff `mask` has exactly the trees, columns and values per column `runs` describes
/// (`encode_mask_with`'s walk, its encoding dropped).
pub fn mask_shape_ok_with(mask: Span<Span<Span<Coordinates>>>, runs: Span<u32>) -> bool {
    encode_mask_with(0, mask, runs).is_some()
}

/// `[input_felts]` and then the coordinates of `mask`'s values in proof order (the mask part of
/// an AIR class's input, `crate::air_call`, as `mask_call` copies it from a proof), if `mask` has exactly the trees, columns and
/// values per column `runs` describes; None otherwise. Walks the spans with `pop_front` (no
/// indexing, no separate counters): most runs are long runs of one-value columns, so the
/// per-column step count is what matters. One walk for the shape check and the encoding: the
/// verifier does both on every proof.
pub fn encode_mask_with(
    input_felts: u32, mask: Span<Span<Span<Coordinates>>>, runs: Span<u32>,
) -> Option<Array<felt252>> {
    let mut out: Array<felt252> = array![input_felts.into()];
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
            if !run_encoded(ref out, ref columns, count, values) {
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
    if ok && trees.is_empty() {
        Option::Some(out)
    } else {
        Option::None
    }
}

#[inline(always)]
fn append_coordinates(ref out: Array<felt252>, value: Coordinates) {
    let (a, b, c, d) = value;
    out.append(a);
    out.append(b);
    out.append(c);
    out.append(d);
}

fn append_column(ref out: Array<felt252>, column: Span<Coordinates>) {
    let mut values = column;
    while let Option::Some(value) = values.pop_front() {
        append_coordinates(ref out, *value);
    };
}

/// Pops `count` columns of `values` values each off `columns` and appends their coordinates
/// to `out`; false if any is missing or has another length. Eight columns per iteration (a
/// loop iteration costs more than its appends), one-value columns (most) without a loop of
/// their own.
fn run_encoded(
    ref out: Array<felt252>, ref columns: Span<Span<Coordinates>>, count: u32, values: u32,
) -> bool {
    let mut ok = true;
    let (blocks, mut k) = core::integer::u32_safe_divmod(count, 8);
    let mut blocks: felt252 = blocks.into();
    while blocks != 0 {
        match columns.multi_pop_front::<8>() {
            Option::Some(block) => {
                let [c0, c1, c2, c3, c4, c5, c6, c7] = (*block).unbox();
                if c0.len() != values || c1.len() != values || c2.len() != values
                    || c3.len() != values || c4.len() != values || c5.len() != values
                    || c6.len() != values || c7.len() != values {
                    ok = false;
                    break;
                }
                if values == 1 {
                    append_coordinates(ref out, only(c0));
                    append_coordinates(ref out, only(c1));
                    append_coordinates(ref out, only(c2));
                    append_coordinates(ref out, only(c3));
                    append_coordinates(ref out, only(c4));
                    append_coordinates(ref out, only(c5));
                    append_coordinates(ref out, only(c6));
                    append_coordinates(ref out, only(c7));
                } else {
                    append_column(ref out, c0);
                    append_column(ref out, c1);
                    append_column(ref out, c2);
                    append_column(ref out, c3);
                    append_column(ref out, c4);
                    append_column(ref out, c5);
                    append_column(ref out, c6);
                    append_column(ref out, c7);
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
                append_column(ref out, *column);
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

/// How many values the mask holds if a proof's sampled-value shape (`shape`, per tree its runs'
/// `(columns, values per column)` words as the proof reader hands them out) is the AIR's mask
/// shape `runs` (`[n_runs, (columns, values)*]` per tree) followed by one tree of
/// `last_columns` one-value columns (the composition tree); None otherwise. A comparison of a
/// few dozen words: the proof carries its shape as runs, so no column is visited.
pub fn mask_values_of(shape: Span<Span<felt252>>, runs: Span<u32>, last_columns: u32) -> Option<u32> {
    let mut runs = runs;
    let mut trees = shape;
    let mut n_values: u32 = 0;
    let mut ok = true;
    while let Option::Some(n_runs) = runs.pop_front() {
        let mut tree = match trees.pop_front() {
            Option::Some(tree) => *tree,
            Option::None => {
                ok = false;
                break;
            },
        };
        if tree.len() != 2 * *n_runs {
            ok = false;
            break;
        }
        while let Option::Some(run) = tree.multi_pop_front::<2>() {
            let [columns, values] = (*run).unbox();
            let [count, per_column] = (*runs.multi_pop_front::<2>().unwrap()).unbox();
            if columns != count.into() || values != per_column.into() {
                ok = false;
                break;
            }
            n_values += count * per_column;
        };
        if !ok {
            break;
        }
    };
    if !ok || trees.len() != 1 || *trees[0] != array![last_columns.into(), 1].span() {
        return Option::None;
    }
    Option::Some(n_values)
}

/// `[input_felts]` and then `words` (the mask's coordinates, four per value, in proof order: the
/// start of an AIR class's input, `crate::air_call`): one copy of the proof's flat sampled
/// words, sixteen per iteration.
pub fn mask_call(input_felts: u32, words: Span<felt252>) -> Array<felt252> {
    let mut out: Array<felt252> = array![input_felts.into()];
    let mut rest = words;
    while let Option::Some(block) = rest.multi_pop_front::<16>() {
        let [w0, w1, w2, w3, w4, w5, w6, w7, w8, w9, w10, w11, w12, w13, w14, w15] = (*block)
            .unbox();
        out.append(w0);
        out.append(w1);
        out.append(w2);
        out.append(w3);
        out.append(w4);
        out.append(w5);
        out.append(w6);
        out.append(w7);
        out.append(w8);
        out.append(w9);
        out.append(w10);
        out.append(w11);
        out.append(w12);
        out.append(w13);
        out.append(w14);
        out.append(w15);
    };
    while let Option::Some(word) = rest.pop_front() {
        out.append(*word);
    };
    out
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
