//! A real proof by the Rust prover verifies; every tampering is rejected.

use crate::generated_params::default_params;
use crate::verifier::verify_thread_proof;
use crate::statement::{HEADER_LEN, StatementSlot, statement_slots};
use super::proof_vector::{proof, public_input, test_params};

/// Felts of the proof calldata before the STARK proof: the owner count and the owners.
fn prefix_len() -> u32 {
    let n: u32 = (*proof()[0]).try_into().unwrap();
    1 + n
}

/// The STARK part of the proof calldata (what `parse_proof` reads).
fn stark() -> Span<felt252> {
    let p = proof();
    p.slice(prefix_len(), p.len() - prefix_len())
}

/// The proof calldata with the real owners and `stark` as the STARK part.
fn full(stark: Span<felt252>) -> Span<felt252> {
    let mut out: Array<felt252> = array![];
    out.append_span(proof().slice(0, prefix_len()));
    out.append_span(stark);
    out.span()
}

/// `felts` with entry `index` increased by `delta`.
fn bumped(felts: Span<felt252>, index: u32, delta: felt252) -> Span<felt252> {
    let mut out: Array<felt252> = array![];
    let mut i = 0;
    while i != felts.len() {
        if i == index {
            out.append(*felts[i] + delta);
        } else {
            out.append(*felts[i]);
        }
        i += 1;
    };
    out.span()
}

#[test]
#[available_gas(10000000000)]
fn real_proof_verifies() {
    let before = core::testing::get_available_gas();
    let result = verify_thread_proof(public_input(), proof(), @test_params());
    let after = core::testing::get_available_gas();
    assert(result == Result::Ok(()), 'proof rejected');
    println!("gas: verify_thread_proof (test params, {} felts) {}", proof().len(), before - after);
}

#[test]
#[available_gas(10000000000)]
fn shipped_params_refuse_the_test_proof() {
    let result = verify_thread_proof(public_input(), proof(), @default_params());
    assert(result == Result::Err('verifier: params mismatch'), 'weaker proof accepted');
}

#[test]
fn statement_slots_follow_the_prover() {
    let slots = statement_slots(public_input()).unwrap();
    // Two tokens: the input list's first contract is token 0.
    let first: StatementSlot = *slots[0];
    assert(first.index == 0 && first.token == 0, 'first slot');
    let last: StatementSlot = *slots[slots.len() - 1];
    assert(last.index == slots.len() - 1 && last.token == 1, 'last slot');
}

#[test]
#[available_gas(100000000000)]
fn every_public_input_entry_is_bound() {
    let pi = public_input();
    let mut i = 0;
    while i != pi.len() {
        let result = verify_thread_proof(bumped(pi, i, 1), proof(), @test_params());
        assert(result.is_err(), 'tampered input accepted');
        i += 1;
    };
}

/// 2^(31 j): moves M31 lane j of a packed felt by one.
fn lane_delta(lane: u32) -> felt252 {
    let mut d: felt252 = 1;
    let mut k = 0;
    while k != lane {
        d = d * 0x80000000;
        k += 1;
    };
    d
}

/// Mutates proof felts `start, start + stride, ...` below `end` (one at a time) and counts the
/// rejections; a packed-M31 felt is moved in lane `k % 8` for the k-th mutation, so every lane is
/// exercised.
fn mutations_rejected(start: u32, end: u32, stride: u32) -> u32 {
    let p = stark();
    let n_m31: u32 = (*p[0]).try_into().unwrap();
    let n_packed = (n_m31 + 7) / 8;
    let mut rejected = 0;
    let mut i = start;
    while i < end {
        let delta = if i >= 1 && i <= n_packed {
            lane_delta(((i - start) / stride) % 8)
        } else {
            1
        };
        let result = verify_thread_proof(public_input(), full(bumped(p, i, delta)), @test_params());
        assert(result.is_err(), 'tampered proof accepted');
        rejected += 1;
        i += stride;
    };
    rejected
}

fn n_packed() -> u32 {
    let n_m31: u32 = (*stark()[0]).try_into().unwrap();
    (n_m31 + 7) / 8
}

#[test]
#[available_gas(1000000000000)]
fn mutations_of_the_packed_m31_stream_are_rejected() {
    // Felt 0 (the M31 count) and the packed M31 felts: counts, claimed sum, parameters,
    // sampled values, queried values, FRI witnesses, last layer.
    let n = mutations_rejected(0, 1 + n_packed(), 2);
    println!("mutations rejected (m31 stream, every 2nd felt): {}", n);
}

/// Felt-stream mutations in chunks: the runner keeps one test's whole execution in memory, so
/// a single test cannot run hundreds of full verifications.
fn felt_stream_chunk(chunk: u32) {
    let stream_start = 1 + n_packed();
    // Stride 64, offset 2 * chunk: the 32 chunks together mutate every 2nd felt of the stream.
    let n = mutations_rejected(stream_start + 2 * chunk, stark().len(), 64);
    println!("mutations rejected (felt stream, chunk {}): {}", chunk, n);
}

#[test]
#[available_gas(1000000000000)]
fn felt_stream_mutations_chunk_0() {
    felt_stream_chunk(0);
}
#[test]
#[available_gas(1000000000000)]
fn felt_stream_mutations_chunk_1() {
    felt_stream_chunk(1);
}
#[test]
#[available_gas(1000000000000)]
fn felt_stream_mutations_chunk_2() {
    felt_stream_chunk(2);
}
#[test]
#[available_gas(1000000000000)]
fn felt_stream_mutations_chunk_3() {
    felt_stream_chunk(3);
}
#[test]
#[available_gas(1000000000000)]
fn felt_stream_mutations_chunk_4() {
    felt_stream_chunk(4);
}
#[test]
#[available_gas(1000000000000)]
fn felt_stream_mutations_chunk_5() {
    felt_stream_chunk(5);
}
#[test]
#[available_gas(1000000000000)]
fn felt_stream_mutations_chunk_6() {
    felt_stream_chunk(6);
}
#[test]
#[available_gas(1000000000000)]
fn felt_stream_mutations_chunk_7() {
    felt_stream_chunk(7);
}
#[test]
#[available_gas(1000000000000)]
fn felt_stream_mutations_chunk_8() {
    felt_stream_chunk(8);
}
#[test]
#[available_gas(1000000000000)]
fn felt_stream_mutations_chunk_9() {
    felt_stream_chunk(9);
}
#[test]
#[available_gas(1000000000000)]
fn felt_stream_mutations_chunk_10() {
    felt_stream_chunk(10);
}
#[test]
#[available_gas(1000000000000)]
fn felt_stream_mutations_chunk_11() {
    felt_stream_chunk(11);
}
#[test]
#[available_gas(1000000000000)]
fn felt_stream_mutations_chunk_12() {
    felt_stream_chunk(12);
}
#[test]
#[available_gas(1000000000000)]
fn felt_stream_mutations_chunk_13() {
    felt_stream_chunk(13);
}
#[test]
#[available_gas(1000000000000)]
fn felt_stream_mutations_chunk_14() {
    felt_stream_chunk(14);
}
#[test]
#[available_gas(1000000000000)]
fn felt_stream_mutations_chunk_15() {
    felt_stream_chunk(15);
}
#[test]
#[available_gas(1000000000000)]
fn felt_stream_mutations_chunk_16() {
    felt_stream_chunk(16);
}
#[test]
#[available_gas(1000000000000)]
fn felt_stream_mutations_chunk_17() {
    felt_stream_chunk(17);
}
#[test]
#[available_gas(1000000000000)]
fn felt_stream_mutations_chunk_18() {
    felt_stream_chunk(18);
}
#[test]
#[available_gas(1000000000000)]
fn felt_stream_mutations_chunk_19() {
    felt_stream_chunk(19);
}
#[test]
#[available_gas(1000000000000)]
fn felt_stream_mutations_chunk_20() {
    felt_stream_chunk(20);
}
#[test]
#[available_gas(1000000000000)]
fn felt_stream_mutations_chunk_21() {
    felt_stream_chunk(21);
}
#[test]
#[available_gas(1000000000000)]
fn felt_stream_mutations_chunk_22() {
    felt_stream_chunk(22);
}
#[test]
#[available_gas(1000000000000)]
fn felt_stream_mutations_chunk_23() {
    felt_stream_chunk(23);
}
#[test]
#[available_gas(1000000000000)]
fn felt_stream_mutations_chunk_24() {
    felt_stream_chunk(24);
}
#[test]
#[available_gas(1000000000000)]
fn felt_stream_mutations_chunk_25() {
    felt_stream_chunk(25);
}
#[test]
#[available_gas(1000000000000)]
fn felt_stream_mutations_chunk_26() {
    felt_stream_chunk(26);
}
#[test]
#[available_gas(1000000000000)]
fn felt_stream_mutations_chunk_27() {
    felt_stream_chunk(27);
}
#[test]
#[available_gas(1000000000000)]
fn felt_stream_mutations_chunk_28() {
    felt_stream_chunk(28);
}
#[test]
#[available_gas(1000000000000)]
fn felt_stream_mutations_chunk_29() {
    felt_stream_chunk(29);
}
#[test]
#[available_gas(1000000000000)]
fn felt_stream_mutations_chunk_30() {
    felt_stream_chunk(30);
}
#[test]
#[available_gas(1000000000000)]
fn felt_stream_mutations_chunk_31() {
    felt_stream_chunk(31);
}


#[test]
#[available_gas(1000000000000)]
fn every_commitment_the_pow_nonce_and_fri_roots_are_bound() {
    let p = stark();
    let parsed = crate::proof::parse_proof(p).unwrap();
    let stream_start = 1 + n_packed();
    let mut positions: Array<u32> = array![];
    // The 4 tree roots.
    let mut k = 0;
    while k != 4 {
        positions.append(stream_start + k);
        k += 1;
    };
    // The proof-of-work nonce follows the trees' Merkle witnesses.
    let mut pow_at = stream_start + 4;
    for witness in parsed.decommitments {
        pow_at += (*witness).len();
    };
    positions.append(pow_at);
    // The first FRI layer's root, then each inner layer's root.
    let mut at = pow_at + 1 + parsed.fri_first_layer.hash_witness.len();
    positions.append(at);
    for layer in parsed.fri_inner_layers {
        at += (*layer).hash_witness.len() + 1;
        positions.append(at);
    };
    assert(at == p.len() - 1, 'layout: last felt is a root');
    for i in positions.span() {
        let result = verify_thread_proof(public_input(), full(bumped(p, *i, 1)), @test_params());
        assert(result.is_err(), 'tampered root accepted');
    };
    println!("mutations rejected (roots + pow nonce): {}", positions.len());
}

#[test]
#[available_gas(10000000000)]
fn malformed_proofs_are_rejected_without_panicking() {
    let p = stark();
    assert(verify_thread_proof(public_input(), array![].span(), @test_params()).is_err(), 'empty');
    assert(verify_thread_proof(public_input(), full(array![].span()), @test_params()).is_err(), 'no stark');
    assert(
        verify_thread_proof(public_input(), full(p.slice(0, p.len() - 1)), @test_params()) == Result::Err(
            'proof: truncated',
        ),
        'truncated',
    );
    let mut longer: Array<felt252> = array![];
    longer.append_span(p);
    longer.append(0);
    assert(
        verify_thread_proof(public_input(), full(longer.span()), @test_params()) == Result::Err(
            'proof: trailing data',
        ),
        'trailing',
    );
    // A packed felt above 248 bits.
    assert(
        verify_thread_proof(public_input(), full(bumped(p, 1, lane_delta(8))), @test_params()) == Result::Err(
            'proof: bad m31 packing',
        ),
        'packing',
    );
}

/// `n` packed felts of distinct canonical words (word k of the stream at bits 31 (k % 8) of
/// felt k / 8), the stream's last word the largest canonical value, and the words.
fn packed_stream(n: u32) -> (Array<felt252>, Array<felt252>) {
    let mut packed: Array<felt252> = array![];
    let mut words: Array<felt252> = array![];
    let mut f: u32 = 0;
    while f != n {
        let mut felt: felt252 = 0;
        let mut j: u32 = 0;
        while j != 8 {
            let k = 8 * f + j;
            let word: felt252 = if k == 8 * n - 1 {
                0x7ffffffe
            } else {
                ((k * 1000003 + 12345) % 0x7fffffff).into()
            };
            words.append(word);
            felt += word * lane_delta(j);
            j += 1;
        };
        packed.append(felt);
        f += 1;
    };
    (packed, words)
}

/// `felts` with entry `index` increased by `delta`, as an array.
fn bumped_array(felts: Span<felt252>, index: u32, delta: felt252) -> Array<felt252> {
    let mut out: Array<felt252> = array![];
    out.append_span(bumped(felts, index, delta));
    out
}

/// The unpacking of the M31 stream takes eight felts per loop iteration and the rest one at a
/// time: for every length 0..=17 (each remainder mod 8, so each tail, after none, one and two
/// blocks), every word comes back in order; a P (non-canonical) word in the last felt, or in
/// the first felt of the tail, or in word 0 of a block's fourth felt, is reported at its index
/// (the first one when there are two);
/// bits above 248 in any one felt (each place of a block and of the tail) are refused.
#[test]
#[available_gas(10000000000)]
fn unpacking_handles_every_tail_length() {
    unpacking_handles_every_tail_length_with::<crate::proof::Masked>();
}

/// The same words and refusals when word 0 is cut by a division (`Divided`, the order book's).
#[test]
#[available_gas(10000000000)]
fn divided_unpacking_handles_every_tail_length() {
    unpacking_handles_every_tail_length_with::<crate::proof::Divided>();
}

/// The same words and refusals when six felts of every block are cut by a division
/// (`Mixed`, the list verifier's): each place of a block is checked above, so a felt of
/// either cut that goes wrong is seen.
#[test]
#[available_gas(10000000000)]
fn mixed_unpacking_handles_every_tail_length() {
    unpacking_handles_every_tail_length_with::<crate::proof::Mixed>();
}

fn unpacking_handles_every_tail_length_with<T, +crate::proof::LowWords<T>>() {
    let mut n: u32 = 0;
    while n != 18 {
        let (packed, words) = packed_stream(n);
        let packed = packed.span();
        let (out, first_bad) = crate::proof::unpack_m31s::<T>(packed).unwrap();
        assert(out == words, 'words lost or reordered');
        assert(first_bad.is_none(), 'no P in the stream');
        if n != 0 {
            let last = n - 1;
            // P at lane j (1..=7, varying with n) of the last felt: the word there is raised
            // to P.
            let j = 1 + n % 7;
            let index = 8 * last + j;
            let to_p = (0x7fffffff - *words[index]) * lane_delta(j);
            let with_p = bumped_array(packed, last, to_p);
            let (_, first_bad) = crate::proof::unpack_m31s::<T>(with_p.span()).unwrap();
            assert(first_bad == Option::Some(index), 'P in the last felt');
            // A second P at lane 0 of the tail's first felt (or the last felt's lane 0) is
            // the first one.
            let tail_start = n - n % 8;
            let first = if tail_start == n {
                last
            } else {
                tail_start
            };
            let to_p0 = (0x7fffffff - *words[8 * first]);
            let with_two = bumped_array(with_p.span(), first, to_p0);
            let (_, first_bad) = crate::proof::unpack_m31s::<T>(with_two.span()).unwrap();
            assert(first_bad == Option::Some(8 * first), 'first P');
            // P in word 0 (the word `Divided` cuts by a division) of the fourth felt of the
            // first block, a felt `Mixed` cuts that way.
            if n >= 8 {
                let to_p = 0x7fffffff - *words[24];
                let (_, first_bad) = crate::proof::unpack_m31s::<T>(bumped(packed, 3, to_p))
                    .unwrap();
                assert(first_bad == Option::Some(24), 'P in a block felt');
                // And in the fifth felt, the fourth `Mixed` divided, and the second and third,
                // which it divides since session 59.
                for felt in array![4_u32, 1, 2] {
                    let to_p = 0x7fffffff - *words[8 * felt];
                    let (_, first_bad) = crate::proof::unpack_m31s::<T>(
                        bumped(packed, felt, to_p),
                    )
                        .unwrap();
                    assert(first_bad == Option::Some(8 * felt), 'P in a block felt');
                };
            }
            // Bits above 248 in any one felt.
            let high = lane_delta(8);
            let mut f: u32 = 0;
            while f != n {
                assert(crate::proof::unpack_m31s::<T>(bumped(packed, f, high)).is_none(), 'bits above 248');
                f += 1;
            };
            assert(crate::proof::unpack_m31s::<T>(bumped(packed, last, 4 * high)).is_none(), 'bit 250');
        }
        n += 1;
    };
}

/// M31 value `index` of `stark`'s packed stream.
fn word_at(stark: Span<felt252>, index: u32) -> felt252 {
    let word: u256 = (*stark[1 + index / 8]).into();
    let mut shifted = word;
    let mut k = 0;
    while k != index % 8 {
        shifted = shifted / 0x80000000;
        k += 1;
    };
    (shifted % 0x80000000).try_into().unwrap()
}

/// `stark` with M31 value `index` of the packed stream set to P (2^31 - 1, not canonical).
fn with_p_at(stark: Span<felt252>, index: u32) -> Span<felt252> {
    let current = word_at(stark, index);
    bumped(stark, 1 + index / 8, (0x7fffffff - current) * lane_delta(index % 8))
}

/// `parse_proof`'s refusal reason with values `first` and `then` set to P: a read that
/// checks its words before it takes them refuses at `first` as not canonical, where one that
/// left the check to later reads would meet `then` (a count, refused as out of range) first.
fn refusal_before(p: Span<felt252>, first: u32, then: u32) -> felt252 {
    match crate::proof::parse_proof(with_p_at(with_p_at(p, first), then)) {
        Result::Ok(_) => 'parsed',
        Result::Err(reason) => reason,
    }
}

/// `parse_proof`'s refusal reason with value `index` set to P ('parsed' if accepted).
fn refusal(p: Span<felt252>, index: u32) -> felt252 {
    match crate::proof::parse_proof(with_p_at(p, index)) {
        Result::Ok(_) => 'parsed',
        Result::Err(reason) => reason,
    }
}

/// A value equal to P is refused by the read that meets it, with that read's reason: a count,
/// a single M31 (the claimed sum), a queried column (a view of the stream) and a QM31 list
/// (the FRI last layer, the stream's end).
#[test]
#[available_gas(100000000000)]
fn non_canonical_values_are_refused_where_read() {
    let p = stark();
    let n_m31: u32 = (*p[0]).try_into().unwrap();
    let parsed = crate::proof::parse_proof(p).unwrap();
    // Value 0 is the log_n_rows count, value 1 the claimed sum's first coordinate.
    assert(refusal(p, 0) == 'proof: count out of range', 'count');
    assert(refusal(p, 1) == 'proof: M31 not canonical', 'claimed sum');
    let after_queried = words_after_queried(@parsed);
    assert(refusal(p, n_m31 - 1 - after_queried) == 'proof: M31 not canonical', 'queried');
    assert(refusal(p, n_m31 - 1) == 'proof: M31 not canonical', 'last layer');
    // The widest tree's queried values, which the reader takes eight columns at a time with
    // one check for the whole tree (`m31_columns`): its first value, a value of its middle
    // column and its last value are each still refused, and so are its two counts.
    let (tree_start, tree) = widest_queried_tree(p, @parsed, after_queried);
    let n = (*tree[0]).len();
    let middle = tree.len() / 2;
    assert(middle >= 2, 'a tree of several columns');
    assert(word_at(p, tree_start + 2) == *(*tree[0])[0], 'the first value');
    assert(refusal(p, tree_start + 2) == 'proof: M31 not canonical', 'first queried');
    let middle_value = tree_start + 2 + middle * n + n / 2;
    assert(word_at(p, middle_value) == *(*tree[middle])[n / 2], 'the middle value');
    assert(refusal(p, middle_value) == 'proof: M31 not canonical', 'middle queried');
    let last_value = tree_start + 1 + tree.len() * n;
    assert(word_at(p, last_value) == *(*tree[tree.len() - 1])[n - 1], 'the last value');
    assert(refusal(p, last_value) == 'proof: M31 not canonical', 'last queried');
    assert(refusal(p, tree_start) == 'proof: count out of range', 'column count');
    assert(refusal(p, tree_start + 1) == 'proof: count out of range', 'row count');
    // Refused by the queried values' own check, before the count after them (the first FRI
    // layer's witness count) is read.
    let after = n_m31 - after_queried;
    assert(word_at(p, after) == parsed.fri_first_layer.fri_witness.len().into(), 'the count after');
    assert(
        refusal_before(p, tree_start + 2, after) == 'proof: M31 not canonical', 'checked where read',
    );
}

/// The widest tree of `parsed`'s queried values and where its column count word is in the
/// stream of `stark` (`after_queried`: the stream's words behind the last queried value).
/// Each tree is its column count, its row count, then that many values per column (no count
/// per column).
fn widest_queried_tree(
    stark: Span<felt252>, parsed: @crate::proof::ThreadProof, after_queried: u32,
) -> (u32, Span<Span<felt252>>) {
    let n_m31: u32 = (*stark[0]).try_into().unwrap();
    let trees: Span<Span<Span<felt252>>> = *parsed.queried_values;
    let mut queried_words = 0;
    let mut widest = 0;
    let mut widest_start = 0;
    let mut t = 0;
    for tree in trees {
        if (*tree).len() > (*trees[widest]).len() {
            widest = t;
            widest_start = queried_words;
        }
        queried_words += 2;
        for column in *tree {
            assert((*column).len() == (*(*tree)[0]).len(), 'one row count a tree');
            queried_words += (*column).len();
        };
        t += 1;
    };
    (n_m31 - after_queried - queried_words + widest_start, *trees[widest])
}

/// The stream's words behind the last queried value of `parsed`: each FRI layer's witness (a
/// count and 4 values per QM31) and the count of its hash witness (the hashes are in the felt
/// stream), the inner layer count, and the last layer (a count and 4 values per QM31).
fn words_after_queried(parsed: @crate::proof::ThreadProof) -> u32 {
    let mut after_queried = 1 + 4 * (*parsed.fri_first_layer.fri_witness).len() + 1 + 1;
    for layer in *parsed.fri_inner_layers {
        after_queried += 1 + 4 * (*layer.fri_witness).len() + 1;
    };
    after_queried + 1 + 4 * (*parsed.fri_last_layer_poly).len()
}

/// The proof carries two counts for a tree's queried values, its columns and its rows, and
/// none per column. Changing either count of the widest tree by one either way misaligns the
/// rest of the stream: refused, never parsed or panicking. Columns without rows (a row count
/// of 0) are refused by the read itself: they would cost no word of the stream.
#[test]
#[available_gas(100000000000)]
fn a_changed_column_or_row_count_is_refused() {
    let p = stark();
    let parsed = crate::proof::parse_proof(p).unwrap();
    let (tree_start, tree) = widest_queried_tree(p, @parsed, words_after_queried(@parsed));
    assert(word_at(p, tree_start) == tree.len().into(), 'the column count');
    let rows_at = tree_start + 1;
    let rows = (*tree[0]).len();
    assert(word_at(p, rows_at) == rows.into(), 'the row count');
    for at in array![tree_start, rows_at] {
        for delta in array![1, -1] {
            let changed = bumped(p, 1 + at / 8, delta * lane_delta(at % 8));
            let accepted = match crate::proof::parse_proof(changed) {
                Result::Ok(_) => true,
                Result::Err(_) => false,
            };
            assert(!accepted, 'changed count parsed');
        };
    };
    let no_rows = bumped(p, 1 + rows_at / 8, -rows.into() * lane_delta(rows_at % 8));
    match crate::proof::parse_proof(no_rows) {
        Result::Ok(_) => panic!("parsed without rows"),
        Result::Err(reason) => assert(reason == 'proof: queried rows', 'no rows'),
    }
}

/// Where each tree's sampled-value shape is in the stream of `stark`, and its runs: per tree
/// `(n_runs word, [(run's column count word, columns, values per column, the run's first value
/// word)])`. After `log_n_rows`, the claimed sum (4), 6 parameters, the commitment count and
/// the tree count come every tree's shape (its run count, then per run its column count and
/// its values per column), then every value, 4 words each. Checks the layout against `parsed`
/// as it walks.
fn sampled_runs_at(
    stark: Span<felt252>, parsed: @crate::proof::ThreadProof,
) -> Array<(u32, Array<(u32, u32, u32, u32)>)> {
    let mut at = 1 + 4 + 6 + 1 + 1;
    // Per tree its shape's start and its runs (column count word, columns, values per column).
    let mut shapes: Array<(u32, Array<(u32, u32, u32)>)> = array![];
    for tree in *parsed.sampled_values {
        let columns = *tree;
        let tree_start = at;
        at += 1;
        let mut runs = array![];
        let mut c = 0;
        while c != columns.len() {
            // A run: the columns from c on with as many values as column c.
            let n = (*columns[c]).len();
            let first = c;
            while c != columns.len() && (*columns[c]).len() == n {
                c += 1;
            };
            assert(word_at(stark, at) == (c - first).into(), 'the run column count');
            assert(word_at(stark, at + 1) == n.into(), 'the run value count');
            runs.append((at, c - first, n));
            at += 2;
        };
        assert(word_at(stark, tree_start) == runs.len().into(), 'the run count');
        shapes.append((tree_start, runs));
    };
    // The values, after every shape.
    let mut trees = array![];
    let mut t = 0;
    for shape in shapes {
        let (tree_start, runs) = shape;
        let columns = *parsed.sampled_values[t];
        let mut c = 0;
        let mut located = array![];
        for run in runs {
            let (run_start, n_cols, n) = run;
            let (value, _, _, _) = *(*columns[c])[0];
            assert(word_at(stark, at) == value, 'a run starts here');
            located.append((run_start, n_cols, n, at));
            at += 4 * n_cols * n;
            c += n_cols;
        };
        trees.append((tree_start, located));
        t += 1;
    };
    trees
}

/// Sampled values stay the stream's words (felt252 coordinates, never `u32`s, so no range
/// check catches a bad one): a coordinate equal to P is still refused as not canonical, in
/// the first and the last column of each run (all trees' values are checked once, as one
/// list), a column of two values (a cumulative sum's) and the last value of the composition
/// tree.
#[test]
#[available_gas(100000000000)]
fn non_canonical_sampled_values_are_refused() {
    let p = stark();
    let parsed = crate::proof::parse_proof(p).unwrap();
    let mut targets: Array<u32> = array![];
    let mut two_values = false;
    let mut end = 0;
    for tree in sampled_runs_at(p, @parsed) {
        let (_, runs) = tree;
        for run in runs {
            let (_, columns, n, start) = run;
            // The run's first coordinate and its last.
            targets.append(start);
            end = start + 4 * columns * n;
            targets.append(end - 1);
            if n == 2 {
                two_values = true;
                targets.append(start + 4 + 2);
            }
        };
    };
    assert(two_values, 'a two-value column');
    assert(targets.len() >= 2 * parsed.sampled_values.len(), 'positions');
    let first = *targets[0];
    for index in targets {
        assert(refusal(p, index) == 'proof: M31 not canonical', 'sampled value accepted');
    };
    // The composition tree is last: its last value ends the section, before the
    // decommitments' tree count. The values are refused by their one check, before that count.
    assert(word_at(p, end) == parsed.decommitments.len().into(), 'the section ends');
    assert(refusal_before(p, first, end) == 'proof: M31 not canonical', 'checked where read');
}

/// A tree's sampled values carry their shape as runs (all trees' shapes before any value), no
/// count per column. Changing a run's
/// column count or its values per column by one either way, in the main tree's first run and
/// the interaction tree's last, misaligns the rest of the stream: refused, never parsed or
/// panicking. A run of columns without values is refused by the read itself (they would cost
/// no word), a run count equal to P as a count out of range, and two neighbouring runs with as
/// many values per column (a split run) when the second's counts are read.
#[test]
#[available_gas(100000000000)]
fn a_changed_sampled_run_is_refused() {
    let p = stark();
    let parsed = crate::proof::parse_proof(p).unwrap();
    let trees = sampled_runs_at(p, @parsed);
    assert(trees.len() >= 3, 'three trees and composition');
    let (main_start, main_runs) = trees[1];
    let (_, interaction_runs) = trees[2];
    let (first_run, _, _, _) = *main_runs[0];
    let (last_run, _, _, _) = *interaction_runs[interaction_runs.len() - 1];
    for at in array![first_run, first_run + 1, last_run, last_run + 1] {
        for delta in array![1, -1] {
            let changed = bumped(p, 1 + at / 8, delta * lane_delta(at % 8));
            let accepted = match crate::proof::parse_proof(changed) {
                Result::Ok(_) => true,
                Result::Err(_) => false,
            };
            assert(!accepted, 'changed run parsed');
        };
    };
    let (_, _, n, _) = *main_runs[0];
    let no_values = bumped(p, 1 + (first_run + 1) / 8, -n.into() * lane_delta((first_run + 1) % 8));
    match crate::proof::parse_proof(no_values) {
        Result::Ok(_) => panic!("parsed without sampled values"),
        Result::Err(reason) => assert(reason == 'proof: empty sampled run', 'no values'),
    }
    assert(refusal(p, *main_start) == 'proof: count out of range', 'run count');
    // A run with as many values per column as the run before is the split of one run: refused
    // when its counts are read (the prover merges such runs: one encoding a proof).
    assert(interaction_runs.len() >= 2, 'two runs');
    let (_, _, n0, _) = *interaction_runs[0];
    let (second, _, n1, _) = *interaction_runs[1];
    assert(n0 != n1, 'runs differ');
    let split = bumped(
        p, 1 + (second + 1) / 8, (n0.into() - n1.into()) * lane_delta((second + 1) % 8),
    );
    match crate::proof::parse_proof(split) {
        Result::Ok(_) => panic!("parsed a split run"),
        Result::Err(reason) => assert(reason == 'proof: split sampled run', 'split run'),
    }
}

/// The values are one flat list, so a shape that keeps their number can parse: one column
/// moved from the main tree's first run to the preprocessed tree (both runs one value a
/// column) is refused by the verifier's shape check, not by the reader; two-value columns read
/// as twice as many one-value ones, by the reader (a split run).
#[test]
#[available_gas(100000000000)]
fn a_shape_with_as_many_values_is_refused() {
    let p = stark();
    let parsed = crate::proof::parse_proof(p).unwrap();
    let trees = sampled_runs_at(p, @parsed);
    let (_, preprocessed) = trees[0];
    let (_, main) = trees[1];
    let (pre_run, _, pre_n, _) = *preprocessed[0];
    let (main_run, main_columns, main_n, _) = *main[0];
    assert(pre_n == 1 && main_n == 1 && main_columns >= 2, 'one-value runs');
    let moved = bumped(
        bumped(p, 1 + pre_run / 8, lane_delta(pre_run % 8)), 1 + main_run / 8,
        -lane_delta(main_run % 8),
    );
    assert(crate::proof::parse_proof(moved).is_ok(), 'a moved column parses');
    let result = verify_thread_proof(public_input(), full(moved), @test_params());
    assert(result == Result::Err('verifier: mask shape'), 'moved column');
    // The interaction tree's first two-value run (c columns, 2 values) as 2c one-value
    // columns: as many values again.
    let (_, interaction) = trees[2];
    let mut pair_run = Option::None;
    for run in interaction.span() {
        let (at, columns, n, _) = *run;
        if n == 2 && pair_run.is_none() {
            pair_run = Option::Some((at, columns));
        }
    };
    let (at, columns) = pair_run.expect('a two-value run');
    let halved = bumped(
        bumped(p, 1 + at / 8, columns.into() * lane_delta(at % 8)), 1 + (at + 1) / 8,
        -lane_delta((at + 1) % 8),
    );
    // Refused by the reader already: the one-value run before it makes it a split run.
    let result = verify_thread_proof(public_input(), full(halved), @test_params());
    assert(result == Result::Err('proof: split sampled run'), 'two-value run read as one');
}

/// Every input slot must be `balances[owner]` of its contract: a changed owner, a missing or
/// an extra one is refused before the STARK proof is read.
#[test]
#[available_gas(100000000000)]
fn slot_owners_bind_every_input_slot() {
    let p = proof();
    let n = prefix_len() - 1;
    assert(n == (*public_input()[HEADER_LEN]).try_into().unwrap(), 'one owner per input');
    let mut i = 1;
    while i != prefix_len() {
        let result = verify_thread_proof(public_input(), bumped(p, i, 1), @test_params());
        assert(result == Result::Err('statement: unbound slot'), 'changed owner accepted');
        i += 1;
    };
    // One owner fewer (the count and the list shrink together): the count no longer matches.
    let mut fewer: Array<felt252> = array![(n - 1).into()];
    fewer.append_span(p.slice(1, n - 1));
    fewer.append_span(stark());
    let result = verify_thread_proof(public_input(), fewer.span(), @test_params());
    assert(result == Result::Err('statement: owner count'), 'missing owner accepted');
}

/// A "balance" entry aimed at another variable of the token is not a declared slot, whoever
/// is named as its owner.
#[test]
fn keys_outside_the_storage_layout_are_not_balance_keys() {
    let owner: felt252 = 1;
    assert(crate::statement::balance_key(owner) != selector!("total_supply"), 'total_supply');
    assert(crate::statement::balance_key(owner) != selector!("name"), 'name');
    // The key Cairo's own Map derives for `balances[owner]`.
    let base = starknet::storage_access::storage_base_address_from_felt252(
        core::pedersen::pedersen(selector!("balances"), owner),
    );
    let expected: felt252 = starknet::storage_access::storage_address_from_base(base).into();
    assert(crate::statement::balance_key(owner) == expected, 'map key');
}

#[test]
#[available_gas(10000000000)]
fn malformed_public_inputs_are_rejected() {
    let pi = public_input();
    assert(
        verify_thread_proof(pi.slice(0, pi.len() - 1), proof(), @test_params()) == Result::Err(
            'statement: truncated',
        ),
        'truncated',
    );
    let mut longer: Array<felt252> = array![];
    longer.append_span(pi);
    longer.append(0);
    assert(
        verify_thread_proof(longer.span(), proof(), @test_params()) == Result::Err(
            'statement: trailing felts',
        ),
        'trailing',
    );
}
