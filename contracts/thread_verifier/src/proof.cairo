//! The thread proof's calldata form (harness/thread-prover/src/serialize.rs):
//! `[n_owners, owner * n_owners, n_m31, packed_m31 * ceil(n_m31 / 8), hash_felt *]`: the
//! input slots' owners (`split_slot_owners`), then the STARK proof (`parse_proof`), M31 values packed 8 per felt at bits
//! 31 j; the M31 stream carries counts, parameters and field values, the felt stream carries
//! hashes and the proof-of-work nonce, both in the order the proof meets them.

use core::integer::u128_safe_divmod;
use stark_verifier::fields::{M31, QM31, QM31Trait, P};
use stark_verifier::fri::FriLayerProof;

/// Upper bound on any count (the prover's `MAX_COUNT`).
const MAX_COUNT: u32 = 0x1000000;
const TWO_POW_31_NZ: NonZero<u128> = 0x80000000;
const TWO_POW_27_NZ: NonZero<u128> = 0x8000000;
const TWO_POW_4: u128 = 0x10;

/// stwo's `CommitmentSchemeProof` + the thread proof's own fields, decoded.
#[derive(Drop, Copy)]
pub struct ThreadProof {
    pub log_n_rows: u32,
    pub range_check_claimed_sum: QM31,
    pub pow_bits: u32,
    pub log_blowup: u32,
    pub log_last_layer_degree_bound: u32,
    pub n_queries: u32,
    pub fold_step: u32,
    /// `lifting_log_size + 1`, 0 for None.
    pub lifting: u32,
    pub commitments: Span<felt252>,
    /// Per tree, per column, the values at the column's sample points.
    pub sampled_values: Span<Span<Span<QM31>>>,
    /// Per tree, the Merkle hash witness.
    pub decommitments: Span<Span<felt252>>,
    /// Per tree, per column, the values at the query positions.
    pub queried_values: Span<Span<Span<M31>>>,
    pub proof_of_work: u64,
    pub fri_first_layer: FriLayerProof,
    pub fri_inner_layers: Span<FriLayerProof>,
    pub fri_last_layer_poly: Span<QM31>,
}

/// Unpacks `count` M31 slots from a packed felt (value j at bits 31 j, nothing above bit 248,
/// zero padding beyond `count`). Values are raw 31-bit words here; canonicity is checked when
/// a value is read as a field element.
fn unpack(packed: felt252, count: u32, ref out: Array<u32>) -> bool {
    let value: u256 = packed.into();
    // Straight-line: bits 0..124 of `low` are words 0..3; bits 124..128 + high bits 0..27
    // word 4; high bits 27..120 words 5..7.
    let (low, w0) = u128_safe_divmod(value.low, TWO_POW_31_NZ);
    let (low, w1) = u128_safe_divmod(low, TWO_POW_31_NZ);
    let (low, w2) = u128_safe_divmod(low, TWO_POW_31_NZ);
    let (low, w3) = u128_safe_divmod(low, TWO_POW_31_NZ);
    let (high, high_bits) = u128_safe_divmod(value.high, TWO_POW_27_NZ);
    let w4 = low + high_bits * TWO_POW_4;
    let (high, w5) = u128_safe_divmod(high, TWO_POW_31_NZ);
    let (high, w6) = u128_safe_divmod(high, TWO_POW_31_NZ);
    let (high, w7) = u128_safe_divmod(high, TWO_POW_31_NZ);
    if high != 0 {
        return false; // above 248 bits
    }
    if count == 8 {
        out.append(w0.try_into().unwrap());
        out.append(w1.try_into().unwrap());
        out.append(w2.try_into().unwrap());
        out.append(w3.try_into().unwrap());
        out.append(w4.try_into().unwrap());
        out.append(w5.try_into().unwrap());
        out.append(w6.try_into().unwrap());
        out.append(w7.try_into().unwrap());
        return true;
    }
    let words = [w0, w1, w2, w3, w4, w5, w6, w7];
    let mut ok = true;
    let mut j = 0;
    for word in words.span() {
        if j < count {
            out.append((*word).try_into().unwrap());
        } else if *word != 0 {
            ok = false;
            break;
        }
        j += 1;
    };
    ok
}

#[derive(Drop)]
struct Reader {
    m31s: Span<u32>,
    felts: Span<felt252>,
    error: felt252,
}

#[generate_trait]
impl ReaderImpl of ReaderTrait {
    /// A count (<= MAX_COUNT); records an error and returns 0 when missing or too big.
    fn count(ref self: Reader) -> u32 {
        match self.m31s.pop_front() {
            Option::Some(v) => {
                if *v > MAX_COUNT {
                    self.fail('proof: count out of range');
                    0
                } else {
                    *v
                }
            },
            Option::None => {
                self.fail('proof: truncated');
                0
            },
        }
    }
    fn m31(ref self: Reader) -> M31 {
        match self.m31s.pop_front() {
            Option::Some(v) => {
                if *v >= P {
                    self.fail('proof: M31 not canonical');
                    M31 { inner: 0 }
                } else {
                    M31 { inner: *v }
                }
            },
            Option::None => {
                self.fail('proof: truncated');
                M31 { inner: 0 }
            },
        }
    }
    fn qm31(ref self: Reader) -> QM31 {
        let a = self.m31();
        let b = self.m31();
        let c = self.m31();
        let d = self.m31();
        QM31Trait::from_m31s(a, b, c, d)
    }
    fn qm31s(ref self: Reader) -> Span<QM31> {
        let n = self.count();
        let mut out: Array<QM31> = array![];
        if self.error != 0 {
            return out.span();
        }
        // Counts are at most MAX_COUNT: 4 n cannot overflow.
        if self.m31s.len() < 4 * n {
            self.fail('proof: truncated');
            return out.span();
        }
        let mut values = self.m31s.slice(0, 4 * n);
        self.m31s = self.m31s.slice(4 * n, self.m31s.len() - 4 * n);
        loop {
            match values.multi_pop_front::<4>() {
                Option::Some(block) => {
                    let [a, b, c, d] = (*block).unbox();
                    if a >= P || b >= P || c >= P || d >= P {
                        self.fail('proof: M31 not canonical');
                        break;
                    }
                    out.append(QM31Trait::from_u32_unchecked(a, b, c, d));
                },
                Option::None => { break; },
            }
        };
        out.span()
    }
    fn m31s_list(ref self: Reader) -> Span<M31> {
        let n = self.count();
        let mut out: Array<M31> = array![];
        if self.error != 0 {
            return out.span();
        }
        if self.m31s.len() < n {
            self.fail('proof: truncated');
            return out.span();
        }
        let mut values = self.m31s.slice(0, n);
        self.m31s = self.m31s.slice(n, self.m31s.len() - n);
        // Four values per iteration, then the rest one by one.
        let mut canonical = true;
        loop {
            match values.multi_pop_front::<4>() {
                Option::Some(block) => {
                    let [a, b, c, d] = (*block).unbox();
                    if a >= P || b >= P || c >= P || d >= P {
                        canonical = false;
                        break;
                    }
                    out.append(M31 { inner: a });
                    out.append(M31 { inner: b });
                    out.append(M31 { inner: c });
                    out.append(M31 { inner: d });
                },
                Option::None => { break; },
            }
        };
        if !canonical {
            self.fail('proof: M31 not canonical');
            return out.span();
        }
        loop {
            match values.pop_front() {
                Option::Some(v) => {
                    if *v >= P {
                        self.fail('proof: M31 not canonical');
                        break;
                    }
                    out.append(M31 { inner: *v });
                },
                Option::None => { break; },
            }
        };
        out.span()
    }
    fn hash(ref self: Reader) -> felt252 {
        match self.felts.pop_front() {
            Option::Some(h) => *h,
            Option::None => {
                self.fail('proof: truncated');
                0
            },
        }
    }
    fn hashes(ref self: Reader) -> Span<felt252> {
        let n = self.count();
        if self.error != 0 {
            return array![].span();
        }
        if self.felts.len() < n {
            self.fail('proof: truncated');
            return array![].span();
        }
        let out = self.felts.slice(0, n);
        self.felts = self.felts.slice(n, self.felts.len() - n);
        out
    }
    fn layer(ref self: Reader) -> FriLayerProof {
        let fri_witness = self.qm31s();
        let hash_witness = self.hashes();
        let root = self.hash();
        FriLayerProof { fri_witness, hash_witness, root }
    }
    fn fail(ref self: Reader, reason: felt252) {
        if self.error == 0 {
            self.error = reason;
        }
    }
}

/// Splits the proof calldata into the input slots' owners and the STARK proof felts.
pub fn split_slot_owners(
    felts: Span<felt252>,
) -> Result<(Span<felt252>, Span<felt252>), felt252> {
    if felts.len() == 0 {
        return Result::Err('proof: truncated');
    }
    let n: u32 = match (*felts[0]).try_into() {
        Option::Some(n) => n,
        Option::None => { return Result::Err('proof: owner count'); },
    };
    if n > MAX_COUNT || felts.len() <= n {
        return Result::Err('proof: truncated');
    }
    Result::Ok((felts.slice(1, n), felts.slice(1 + n, felts.len() - 1 - n)))
}

/// Decodes a thread proof (header `log_n_rows, range_check_claimed_sum`); Err(reason) on any
/// malformed input (never panics on hostile calldata).
pub fn parse_proof(felts: Span<felt252>) -> Result<ThreadProof, felt252> {
    let (counts, sums, s) = parse_stark_proof(felts, 1, 1)?;
    Result::Ok(
        ThreadProof {
            log_n_rows: *counts[0],
            range_check_claimed_sum: *sums[0],
            pow_bits: s.pow_bits,
            log_blowup: s.log_blowup,
            log_last_layer_degree_bound: s.log_last_layer_degree_bound,
            n_queries: s.n_queries,
            fold_step: s.fold_step,
            lifting: s.lifting,
            commitments: s.commitments,
            sampled_values: s.sampled_values,
            decommitments: s.decommitments,
            queried_values: s.queried_values,
            proof_of_work: s.proof_of_work,
            fri_first_layer: s.fri_first_layer,
            fri_inner_layers: s.fri_inner_layers,
            fri_last_layer_poly: s.fri_last_layer_poly,
        },
    )
}

/// stwo's `CommitmentSchemeProof`, decoded: the part every program's proof shares.
#[derive(Drop, Copy)]
pub struct StarkPart {
    pub pow_bits: u32,
    pub log_blowup: u32,
    pub log_last_layer_degree_bound: u32,
    pub n_queries: u32,
    pub fold_step: u32,
    /// `lifting_log_size + 1`, 0 for None.
    pub lifting: u32,
    pub commitments: Span<felt252>,
    pub sampled_values: Span<Span<Span<QM31>>>,
    pub decommitments: Span<Span<felt252>>,
    pub queried_values: Span<Span<Span<M31>>>,
    pub proof_of_work: u64,
    pub fri_first_layer: FriLayerProof,
    pub fri_inner_layers: Span<FriLayerProof>,
    pub fri_last_layer_poly: Span<QM31>,
}

/// Decodes the STARK proof felts (after the owners) of any program: the program's header —
/// `n_counts` counts then `n_sums` QM31 values at the start of the M31 stream — and stwo's
/// proof. Err(reason) on any malformed input (never panics on hostile calldata).
pub fn parse_stark_proof(
    felts: Span<felt252>, n_counts: u32, n_sums: u32,
) -> Result<(Span<u32>, Span<QM31>, StarkPart), felt252> {
    let mut felts = felts;
    let n_m31: u32 = match felts.pop_front() {
        Option::Some(n) => match (*n).try_into() {
            Option::Some(n) => n,
            Option::None => { return Result::Err('proof: m31 count'); },
        },
        Option::None => { return Result::Err('proof: truncated'); },
    };
    if n_m31 > MAX_COUNT * 8 {
        return Result::Err('proof: m31 count');
    }
    let n_packed = (n_m31 + 7) / 8;
    if felts.len() < n_packed {
        return Result::Err('proof: truncated');
    }
    let mut m31s: Array<u32> = array![];
    let mut ok = true;
    let mut packed = felts.slice(0, n_packed);
    let mut remaining = n_m31;
    loop {
        match packed.pop_front() {
            Option::Some(word) => {
                let in_this = if remaining < 8 {
                    remaining
                } else {
                    8
                };
                if !unpack(*word, in_this, ref m31s) {
                    ok = false;
                    break;
                }
                remaining -= in_this;
            },
            Option::None => { break; },
        }
    };
    if !ok {
        return Result::Err('proof: bad m31 packing');
    }
    let mut r = Reader {
        m31s: m31s.span(), felts: felts.slice(n_packed, felts.len() - n_packed), error: 0,
    };

    let mut counts: Array<u32> = array![];
    while counts.len() != n_counts {
        counts.append(r.count());
    };
    let mut sums: Array<QM31> = array![];
    while sums.len() != n_sums {
        sums.append(r.qm31());
    };
    let pow_bits = r.count();
    let log_blowup = r.count();
    let log_last_layer_degree_bound = r.count();
    let n_queries = r.count();
    let fold_step = r.count();
    let lifting = r.count();
    let commitments = r.hashes();

    let n_trees = r.count();
    let mut sampled_values: Array<Span<Span<QM31>>> = array![];
    while sampled_values.len() != n_trees && r.error == 0 {
        let n_cols = r.count();
        let mut tree: Array<Span<QM31>> = array![];
        while tree.len() != n_cols && r.error == 0 {
            tree.append(r.qm31s());
        };
        sampled_values.append(tree.span());
    };
    let n_trees = r.count();
    let mut decommitments: Array<Span<felt252>> = array![];
    while decommitments.len() != n_trees && r.error == 0 {
        decommitments.append(r.hashes());
    };
    let n_trees = r.count();
    let mut queried_values: Array<Span<Span<M31>>> = array![];
    while queried_values.len() != n_trees && r.error == 0 {
        let n_cols = r.count();
        let mut tree: Array<Span<M31>> = array![];
        while tree.len() != n_cols && r.error == 0 {
            tree.append(r.m31s_list());
        };
        queried_values.append(tree.span());
    };
    let pow_felt = r.hash();
    let proof_of_work: u64 = match pow_felt.try_into() {
        Option::Some(v) => v,
        Option::None => {
            r.fail('proof: pow nonce');
            0
        },
    };
    let fri_first_layer = r.layer();
    let n_inner = r.count();
    let mut inner: Array<FriLayerProof> = array![];
    while inner.len() != n_inner && r.error == 0 {
        inner.append(r.layer());
    };
    let fri_last_layer_poly = r.qm31s();
    if r.error != 0 {
        return Result::Err(r.error);
    }
    if r.m31s.len() != 0 || r.felts.len() != 0 {
        return Result::Err('proof: trailing data');
    }
    let stark = StarkPart {
        pow_bits,
        log_blowup,
        log_last_layer_degree_bound,
        n_queries,
        fold_step,
        lifting,
        commitments,
        sampled_values: sampled_values.span(),
        decommitments: decommitments.span(),
        queried_values: queried_values.span(),
        proof_of_work,
        fri_first_layer,
        fri_inner_layers: inner.span(),
        fri_last_layer_poly,
    };
    Result::Ok((counts.span(), sums.span(), stark))
}
