//! Thread proof <-> `Vec<Felt>` (the settlement calldata form).
//!
//! Layout:
//! ```text
//! [n_owners, owner * n_owners, n_m31, packed_m31 * ceil(n_m31 / 8), hash_felt *]
//! ```
//! The owners (one account per input slot, see `PublicInput::check_slot_owners`) come first
//! so the verifier can refuse an undeclared slot before it decodes the STARK proof.
//! All small values (counts, M31 and QM31 coordinates, parameters) go into one M31 stream,
//! packed 8 per felt: `felt = sum_{j<8} m_j * 2^(31 j)` (248 bits < 252). Hashes and the
//! proof-of-work nonce go into the felt stream, in the order they are met. The M31 stream
//! carries, in order:
//! `log_n_rows, range_check_claimed_sum(4), config(6)`, then for each of `commitments`
//! (count c; c hashes in the felt stream), `sampled_values` (trees, then every tree's runs
//! of columns with as many values each, `n_runs, (columns, values per column) * n_runs`,
//! then every value in order, 4 M31 each: one list, as the channel mixes them),
//! `decommitments` (trees, hashes per tree), `queried_values` (trees,
//! then per tree its column count, its row count and each column's values: every column is
//! queried at the same rows, one per distinct query position (a lower column repeats its
//! lifted values), so one count serves the tree), the pow nonce (felt stream), and the FRI
//! proof: first layer, `n_inner`, inner layers (each: witness count + 4 M31 each,
//! decommitment hash count, commitment hash), and the last layer polynomial (count + 4 M31
//! each, stwo's stored bit-reversed coefficient order).
//! Decoding checks every M31 is canonical (< 2^31 - 1) and that both streams are consumed.

use starknet_types_core::felt::Felt;
use stwo::core::fields::m31::{BaseField, P};
use stwo::core::fields::qm31::SecureField;
use stwo::core::fri::{FriConfig, FriLayerProof, FriProof};
use stwo::core::pcs::quotients::CommitmentSchemeProof;
use stwo::core::pcs::{PcsConfig, TreeVec};
use stwo::core::poly::line::LinePoly;
use stwo::core::proof::StarkProof;
use stwo::core::vcs_lifted::verifier::MerkleDecommitmentLifted;
use stwo::prover::backend::simd::SimdBackend;
use stwo::prover::backend::BackendForChannel;

use crate::channel::{HashOf, ThreadChannel};
use crate::prover::ThreadProof;

/// M31 values packed per felt.
pub const M31_PER_FELT: usize = 8;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("proof calldata is truncated")]
    Truncated,
    #[error("proof calldata has trailing data")]
    Trailing,
    #[error("proof calldata holds a value out of range: {0}")]
    OutOfRange(&'static str),
}

struct Writer<MC: ThreadChannel>
where
    SimdBackend: BackendForChannel<MC>,
{
    m31: Vec<u32>,
    felts: Vec<Felt>,
    _mc: std::marker::PhantomData<MC>,
}

impl<MC: ThreadChannel> Writer<MC>
where
    SimdBackend: BackendForChannel<MC>,
{
    fn u(&mut self, v: usize) {
        debug_assert!(v < P as usize);
        self.m31.push(v as u32);
    }
    fn m(&mut self, v: BaseField) {
        self.m31.push(v.0);
    }
    fn qm(&mut self, v: SecureField) {
        v.to_m31_array().into_iter().for_each(|x| self.m(x));
    }
    fn qms(&mut self, vs: &[SecureField]) {
        self.u(vs.len());
        vs.iter().for_each(|v| self.qm(*v));
    }
    fn hash(&mut self, h: &HashOf<MC>) {
        MC::hash_to_felts(h, &mut self.felts);
    }
    /// The sampled values: `n_trees`, every tree's shape as runs of consecutive columns with
    /// as many values each (`n_runs`, then per run its column count and its values per
    /// column), then every value in order (tree, column, point; 4 M31 each). A tree is a few
    /// components, each a run (almost every column sampled at one point), so a few words give
    /// its shape; and the values stand as one list, as the channel mixes them and (without
    /// the composition tree) as the AIR classes take them, so the verifier reads them once.
    fn sampled_shapes_and_values(&mut self, trees: &[Vec<Vec<SecureField>>]) {
        self.u(trees.len());
        for tree in trees {
            let mut runs: Vec<(usize, usize)> = Vec::new();
            for col in tree {
                match runs.last_mut() {
                    Some((columns, values)) if *values == col.len() => *columns += 1,
                    _ => runs.push((1, col.len())),
                }
            }
            self.u(runs.len());
            for (columns, values) in runs {
                self.u(columns);
                self.u(values);
            }
        }
        trees.iter().flatten().flatten().for_each(|v| self.qm(*v));
    }
    fn hashes(&mut self, hs: &[HashOf<MC>]) {
        self.u(hs.len());
        hs.iter().for_each(|h| self.hash(h));
    }
    fn layer(&mut self, layer: &FriLayerProof<MC::H>) {
        self.qms(&layer.fri_witness);
        self.hashes(&layer.decommitment.hash_witness);
        self.hash(&layer.commitment);
    }
}

/// Encodes a proof as felts.
pub fn proof_to_felts<MC: ThreadChannel>(proof: &ThreadProof<MC>) -> Vec<Felt>
where
    SimdBackend: BackendForChannel<MC>,
{
    let mut w = Writer::<MC> { m31: Vec::new(), felts: Vec::new(), _mc: Default::default() };
    w.u(proof.log_n_rows as usize);
    w.qm(proof.range_check_claimed_sum);
    w.stark(&proof.stark);
    w.finish(&proof.slot_owners)
}

/// Encodes a program's proof as felts: the same layout with the header
/// `log_sizes, claimed_sums (4 each)` in the M31 stream (a program fixes both counts; the
/// signed token program's are 6 and 6).
pub fn program_proof_to_felts<MC: ThreadChannel>(
    log_sizes: &[u32],
    claimed_sums: &[SecureField],
    stark: &StarkProof<MC::H>,
    slot_owners: &[Felt],
) -> Vec<Felt>
where
    SimdBackend: BackendForChannel<MC>,
{
    let mut w = Writer::<MC> { m31: Vec::new(), felts: Vec::new(), _mc: Default::default() };
    log_sizes.iter().for_each(|l| w.u(*l as usize));
    claimed_sums.iter().for_each(|s| w.qm(*s));
    w.stark(stark);
    w.finish(slot_owners)
}

impl<MC: ThreadChannel> Writer<MC>
where
    SimdBackend: BackendForChannel<MC>,
{
    /// stwo's proof: config, commitments, sampled values, decommitments, queried values, the
    /// proof-of-work nonce and the FRI proof.
    fn stark(&mut self, stark: &StarkProof<MC::H>) {
        let w = self;
        let p = &stark.0;
        let c = p.config;
        for v in [
            c.pow_bits,
            c.fri_config.log_blowup_factor,
            c.fri_config.log_last_layer_degree_bound,
            c.fri_config.n_queries as u32,
            c.fri_config.fold_step,
            c.lifting_log_size.map_or(0, |l| l + 1),
        ] {
            w.u(v as usize);
        }
        w.hashes(&p.commitments);
        w.sampled_shapes_and_values(&p.sampled_values);
        w.u(p.decommitments.len());
        for d in p.decommitments.iter() {
            w.hashes(&d.hash_witness);
        }
        w.u(p.queried_values.len());
        for tree in p.queried_values.iter() {
            // One row count for the tree: stwo queries every column of a tree at the same
            // rows (the distinct query positions, fewer than `n_queries` when draws repeat).
            let rows = tree.first().map_or(0, Vec::len);
            w.u(tree.len());
            w.u(rows);
            for col in tree.iter() {
                assert_eq!(col.len(), rows, "every column of a tree is queried at the same rows");
                col.iter().for_each(|v| w.m(*v));
            }
        }
        w.felts.push(Felt::from(p.proof_of_work));
        w.layer(&p.fri_proof.first_layer);
        w.u(p.fri_proof.inner_layers.len());
        p.fri_proof.inner_layers.iter().for_each(|l| w.layer(l));
        w.qms(&p.fri_proof.last_layer_poly);
    }

    /// `[n_owners, owners, n_m31, packed m31s, felt stream]`.
    fn finish(self, owners: &[Felt]) -> Vec<Felt> {
        let w = self;
        let mut out =
            Vec::with_capacity(2 + owners.len() + w.m31.len().div_ceil(M31_PER_FELT) + w.felts.len());
        out.push(Felt::from(owners.len() as u64));
        out.extend(owners.iter().copied());
        out.push(Felt::from(w.m31.len() as u64));
        for chunk in w.m31.chunks(M31_PER_FELT) {
            let mut bytes = [0u8; 32];
            // Little-endian bit packing: value j occupies bits [31 j, 31 j + 31).
            let mut acc = [0u64; 4];
            for (j, v) in chunk.iter().enumerate() {
                let bit = 31 * j;
                let (word, off) = (bit / 64, bit % 64);
                acc[word] |= (*v as u64) << off;
                if off > 33 {
                    acc[word + 1] |= (*v as u64) >> (64 - off);
                }
            }
            for (i, word) in acc.iter().enumerate() {
                bytes[32 - 8 * (i + 1)..32 - 8 * i].copy_from_slice(&word.to_be_bytes());
            }
            out.push(Felt::from_bytes_be(&bytes));
        }
        out.extend(w.felts);
        out
    }
}

struct Reader<'a, MC: ThreadChannel>
where
    SimdBackend: BackendForChannel<MC>,
{
    m31: std::vec::IntoIter<u32>,
    felts: &'a mut dyn Iterator<Item = Felt>,
    _mc: std::marker::PhantomData<MC>,
}

/// Upper bound on any count in a proof (guards allocations on hostile input).
const MAX_COUNT: u32 = 1 << 24;

impl<MC: ThreadChannel> Reader<'_, MC>
where
    SimdBackend: BackendForChannel<MC>,
{
    fn u(&mut self) -> Result<usize, DecodeError> {
        let v = self.m31.next().ok_or(DecodeError::Truncated)?;
        if v > MAX_COUNT {
            return Err(DecodeError::OutOfRange("count"));
        }
        Ok(v as usize)
    }
    fn m(&mut self) -> Result<BaseField, DecodeError> {
        let v = self.m31.next().ok_or(DecodeError::Truncated)?;
        if v >= P {
            return Err(DecodeError::OutOfRange("M31 not canonical"));
        }
        Ok(BaseField::from_u32_unchecked(v))
    }
    fn qm(&mut self) -> Result<SecureField, DecodeError> {
        Ok(SecureField::from_m31_array([self.m()?, self.m()?, self.m()?, self.m()?]))
    }
    fn qms(&mut self) -> Result<Vec<SecureField>, DecodeError> {
        let n = self.u()?;
        (0..n).map(|_| self.qm()).collect()
    }
    /// What [`Writer::sampled_shapes_and_values`] wrote: per tree, per column, its values.
    fn sampled_shapes_and_values(&mut self) -> Result<Vec<Vec<Vec<SecureField>>>, DecodeError> {
        let n_trees = self.u()?;
        let mut shapes = Vec::new();
        // Values the shapes claim: at most the words left over four, checked run by run, so
        // that no count drives an allocation or a loop past the stream (in u64: a run's two
        // counts multiply to up to 2^48 whatever the target's usize).
        let mut claimed = 0u64;
        for _ in 0..n_trees {
            let n_runs = self.u()?;
            let mut runs = Vec::new();
            let mut previous = 0;
            for _ in 0..n_runs {
                let (columns, values) = (self.u()?, self.u()?);
                // A column without values would cost no word: refused, so that the stream's
                // length bounds the columns read whatever the counts say; and a run of no
                // column or with as many values as the run before (the writer never makes
                // either), so that a proof has one encoding.
                if values == 0 || columns == 0 || values == previous {
                    return Err(DecodeError::OutOfRange("sampled run"));
                }
                previous = values;
                claimed += columns as u64 * values as u64;
                if 4 * claimed > self.m31.len() as u64 {
                    return Err(DecodeError::Truncated);
                }
                runs.push((columns, values));
            }
            shapes.push(runs);
        }
        shapes
            .into_iter()
            .map(|runs| {
                let mut tree = Vec::new();
                for (columns, values) in runs {
                    for _ in 0..columns {
                        tree.push((0..values).map(|_| self.qm()).collect::<Result<Vec<_>, _>>()?);
                    }
                }
                Ok(tree)
            })
            .collect()
    }
    fn hash(&mut self) -> Result<HashOf<MC>, DecodeError> {
        MC::hash_from_felts(self.felts).ok_or(DecodeError::Truncated)
    }
    fn hashes(&mut self) -> Result<Vec<HashOf<MC>>, DecodeError> {
        let n = self.u()?;
        (0..n).map(|_| self.hash()).collect()
    }
    fn layer(&mut self) -> Result<FriLayerProof<MC::H>, DecodeError> {
        Ok(FriLayerProof {
            fri_witness: self.qms()?,
            decommitment: MerkleDecommitmentLifted { hash_witness: self.hashes()? },
            commitment: self.hash()?,
        })
    }
}

/// Decodes felts produced by [`proof_to_felts`].
pub fn proof_from_felts<MC: ThreadChannel>(felts: &[Felt]) -> Result<ThreadProof<MC>, DecodeError>
where
    SimdBackend: BackendForChannel<MC>,
{
    let (slot_owners, m31, mut rest) = unpack(felts)?;
    let mut r = Reader::<MC> { m31: m31.into_iter(), felts: &mut rest, _mc: Default::default() };
    let log_n_rows = r.u()? as u32;
    let range_check_claimed_sum = r.qm()?;
    let stark = r.stark()?;
    Ok(ThreadProof { slot_owners, log_n_rows, range_check_claimed_sum, stark })
}

/// Decodes felts produced by [`program_proof_to_felts`] with `N` log sizes and `N` claimed
/// sums.
pub fn program_proof_from_felts<MC: ThreadChannel, const N: usize>(
    felts: &[Felt],
) -> Result<(Vec<Felt>, [u32; N], [SecureField; N], StarkProof<MC::H>), DecodeError>
where
    SimdBackend: BackendForChannel<MC>,
{
    let (slot_owners, m31, mut rest) = unpack(felts)?;
    let mut r = Reader::<MC> { m31: m31.into_iter(), felts: &mut rest, _mc: Default::default() };
    let mut log_sizes = [0u32; N];
    for l in log_sizes.iter_mut() {
        *l = r.u()? as u32;
    }
    let mut claimed_sums = [SecureField::default(); N];
    for s in claimed_sums.iter_mut() {
        *s = r.qm()?;
    }
    let stark = r.stark()?;
    Ok((slot_owners, log_sizes, claimed_sums, stark))
}

/// Splits the calldata into the owners, the unpacked M31 stream and the felt stream.
fn unpack(felts: &[Felt]) -> Result<(Vec<Felt>, Vec<u32>, std::vec::IntoIter<Felt>), DecodeError> {
    let n_owners: u64 = (*felts.first().ok_or(DecodeError::Truncated)?)
        .try_into()
        .map_err(|_| DecodeError::OutOfRange("owner count"))?;
    if n_owners > u64::from(MAX_COUNT) || felts.len() as u64 <= n_owners {
        return Err(DecodeError::Truncated);
    }
    let (slot_owners, felts) = felts[1..].split_at(n_owners as usize);
    let n_m31: u64 = (*felts.first().ok_or(DecodeError::Truncated)?)
        .try_into()
        .map_err(|_| DecodeError::OutOfRange("m31 count"))?;
    if n_m31 > u64::from(MAX_COUNT) * 8 {
        return Err(DecodeError::OutOfRange("m31 count"));
    }
    let n_m31 = n_m31 as usize;
    let n_packed = n_m31.div_ceil(M31_PER_FELT);
    if felts.len() < 1 + n_packed {
        return Err(DecodeError::Truncated);
    }
    let mut m31 = Vec::with_capacity(n_m31);
    for (i, f) in felts[1..1 + n_packed].iter().enumerate() {
        let digits = f.to_le_digits();
        let in_this = (n_m31 - i * M31_PER_FELT).min(M31_PER_FELT);
        if digits[3] >> (248 - 192) != 0 {
            return Err(DecodeError::OutOfRange("packed felt above 248 bits"));
        }
        for j in 0..M31_PER_FELT {
            let bit = 31 * j;
            let (word, off) = (bit / 64, bit % 64);
            let mut v = digits[word] >> off;
            if off > 33 {
                v |= digits[word + 1] << (64 - off);
            }
            let v = (v & 0x7fff_ffff) as u32;
            if j < in_this {
                m31.push(v);
            } else if v != 0 {
                return Err(DecodeError::OutOfRange("nonzero packing padding"));
            }
        }
    }
    let rest = felts[1 + n_packed..].to_vec().into_iter();
    Ok((slot_owners.to_vec(), m31, rest))
}

impl<MC: ThreadChannel> Reader<'_, MC>
where
    SimdBackend: BackendForChannel<MC>,
{
    /// Reads what [`Writer::stark`] wrote, then requires both streams to be consumed.
    fn stark(&mut self) -> Result<StarkProof<MC::H>, DecodeError> {
        let r = self;
        let cfg: Vec<u32> = (0..6).map(|_| r.u().map(|v| v as u32)).collect::<Result<_, _>>()?;
        if !(1..=16).contains(&cfg[1]) || cfg[2] > 10 || cfg[4] == 0 {
            return Err(DecodeError::OutOfRange("config"));
        }
        let config = PcsConfig {
            pow_bits: cfg[0],
            fri_config: FriConfig::new(cfg[2], cfg[1], cfg[3] as usize, cfg[4]),
            lifting_log_size: cfg[5].checked_sub(1),
        };
        let commitments = TreeVec::new(r.hashes()?);
        let sampled_values = r.sampled_shapes_and_values()?;
        let n_trees = r.u()?;
        let decommitments = (0..n_trees)
            .map(|_| Ok(MerkleDecommitmentLifted { hash_witness: r.hashes()? }))
            .collect::<Result<Vec<_>, DecodeError>>()?;
        let n_trees = r.u()?;
        let mut queried_values = Vec::new();
        for _ in 0..n_trees {
            let n_cols = r.u()?;
            let rows = r.u()?;
            // A column without rows would cost no word: refused, so that the stream's length
            // bounds the columns read (and the allocations) whatever the counts say; and rows
            // of no column, so that a proof has one encoding.
            if (rows == 0) != (n_cols == 0) {
                return Err(DecodeError::OutOfRange("queried rows"));
            }
            let mut tree = Vec::new();
            for _ in 0..n_cols {
                tree.push((0..rows).map(|_| r.m()).collect::<Result<Vec<_>, _>>()?);
            }
            queried_values.push(tree);
        }
        let pow: u64 = r
            .felts
            .next()
            .ok_or(DecodeError::Truncated)?
            .try_into()
            .map_err(|_| DecodeError::OutOfRange("proof of work nonce"))?;
        let first_layer = r.layer()?;
        let n_inner = r.u()?;
        let inner_layers = (0..n_inner).map(|_| r.layer()).collect::<Result<Vec<_>, _>>()?;
        let coeffs = r.qms()?;
        if !coeffs.len().is_power_of_two() {
            return Err(DecodeError::OutOfRange("last layer size"));
        }
        let last_layer_poly = LinePoly::new(coeffs);
        if r.m31.next().is_some() || r.felts.next().is_some() {
            return Err(DecodeError::Trailing);
        }
        Ok(StarkProof(CommitmentSchemeProof {
            config,
            commitments,
            sampled_values: TreeVec::new(sampled_values),
            decommitments: TreeVec::new(decommitments),
            queried_values: TreeVec::new(queried_values),
            proof_of_work: pow,
            fri_proof: FriProof { first_layer, inner_layers, last_layer_poly },
        }))
    }
}
