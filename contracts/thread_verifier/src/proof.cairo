//! The thread proof's calldata form (harness/thread-prover/src/serialize.rs):
//! `[n_m31, packed_m31 * ceil(n_m31 / 8), hash_felt *]`, M31 values packed 8 per felt at bits
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
    let mut words: Array<u128> = array![];
    // Bits 0..124 of `low`: four words; bits 124..128 + high bits 0..27: the fifth.
    let mut low = value.low;
    let mut k = 0;
    while k != 4 {
        let (next, word) = u128_safe_divmod(low, TWO_POW_31_NZ);
        words.append(word);
        low = next;
        k += 1;
    };
    let (high_rest, high_bits) = u128_safe_divmod(value.high, TWO_POW_27_NZ);
    words.append(low + high_bits * TWO_POW_4);
    let mut high = high_rest;
    let mut k = 0;
    while k != 3 {
        let (next, word) = u128_safe_divmod(high, TWO_POW_31_NZ);
        words.append(word);
        high = next;
        k += 1;
    };
    if high != 0 {
        return false; // above 248 bits
    }
    let mut ok = true;
    let mut j = 0;
    while j != 8 {
        let word = *words[j];
        if j < count {
            out.append(word.try_into().unwrap());
        } else if word != 0 {
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
        // A truncated stream stops the loop: counts cannot make us read past the data.
        while out.len() != n && self.error == 0 {
            out.append(self.qm31());
        };
        out.span()
    }
    fn m31s_list(ref self: Reader) -> Span<M31> {
        let n = self.count();
        let mut out: Array<M31> = array![];
        while out.len() != n && self.error == 0 {
            out.append(self.m31());
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
        let mut out: Array<felt252> = array![];
        while out.len() != n && self.error == 0 {
            out.append(self.hash());
        };
        out.span()
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

/// Decodes a proof; Err(reason) on any malformed input (never panics on hostile calldata).
pub fn parse_proof(felts: Span<felt252>) -> Result<ThreadProof, felt252> {
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
    let mut i = 0;
    while i != n_packed {
        let in_this = if n_m31 - i * 8 < 8 {
            n_m31 - i * 8
        } else {
            8
        };
        if !unpack(*felts[i], in_this, ref m31s) {
            ok = false;
            break;
        }
        i += 1;
    };
    if !ok {
        return Result::Err('proof: bad m31 packing');
    }
    let mut r = Reader {
        m31s: m31s.span(), felts: felts.slice(n_packed, felts.len() - n_packed), error: 0,
    };

    let log_n_rows = r.count();
    let range_check_claimed_sum = r.qm31();
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
    Result::Ok(
        ThreadProof {
            log_n_rows,
            range_check_claimed_sum,
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
        },
    )
}
