//! Tests of the one-time signature: roundtrip, every tampering, replay, the trace, the
//! target-sum distribution and pinned vectors.

use proptest::prelude::*;

use crate::domain::AccountId;
use crate::field::{M31, MODULUS};
use crate::hash::permute;
use crate::wots::*;

fn h4(values: [u32; 4]) -> Hash4 {
    M31::array_from_u32(values).unwrap()
}

fn seed_of(values: [u32; 8]) -> KeySeed {
    KeySeed::from_u32(values).unwrap()
}

fn test_seed() -> KeySeed {
    seed_of([1, 2, 3, 4, 5, 6, 7, 8])
}

fn message(next_key: KeyCommitment) -> TransferMessage {
    TransferMessage {
        domain: h4([11, 12, 13, 14]),
        from: h4([21, 22, 23, 24]),
        to: AccountId { low: h4([31, 32, 33, 34]), high: h4([35, 36, 37, 38]) },
        amount: 1_000_000_000_000_000_000u128,
        nonce: 7,
        next_key,
    }
}

fn m31() -> impl Strategy<Value = M31> {
    (0..MODULUS).prop_map(|v| M31::from_u32(v).unwrap())
}

fn hash4() -> impl Strategy<Value = Hash4> {
    proptest::array::uniform4(m31())
}

prop_compose! {
    fn any_message()(domain in hash4(), from in hash4(), low in hash4(), high in hash4(),
                     amount in any::<u128>(), nonce in 0..MODULUS, next in hash4()) -> TransferMessage {
        TransferMessage { domain, from, to: AccountId { low, high }, amount, nonce, next_key: KeyCommitment(next) }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn sign_verify_roundtrip(s in proptest::array::uniform8(0..MODULUS), index in 0..MAX_KEY_INDEX + 1,
                             msg in any_message()) {
        let seed = seed_of(s);
        let k = commitment(&seed, index).unwrap();
        let sig = sign(&seed, index, &msg).unwrap();
        prop_assert_eq!(verify(&k, &msg, &sig), Ok(()));
        let trace = verify_trace(&k, &msg, &sig).unwrap();
        prop_assert_eq!(trace.digit_sum, TARGET_SUM);
        prop_assert_eq!(trace.chain_steps.len(), VERIFY_CHAIN_STEPS);
        // The serialized form round-trips.
        prop_assert_eq!(Signature::from_u32(&sig.to_u32()).unwrap(), sig);
    }
}

#[test]
fn signing_is_deterministic() {
    let seed = test_seed();
    let msg = message(commitment(&seed, 1).unwrap());
    assert_eq!(sign(&seed, 0, &msg).unwrap(), sign(&seed, 0, &msg).unwrap());
    // Another index, or another message, draws another rho.
    assert_ne!(
        sign(&seed, 0, &msg).unwrap().rho,
        sign(&seed, 2, &msg).unwrap().rho
    );
    let other = TransferMessage { amount: 1, ..msg };
    assert_ne!(
        sign(&seed, 0, &msg).unwrap().rho,
        sign(&seed, 0, &other).unwrap().rho
    );
}

/// Every variant of the message that differs in one field, element by element.
fn tampered_messages(msg: &TransferMessage) -> Vec<(String, TransferMessage)> {
    let bump = |x: M31| x + M31::ONE;
    let mut out = Vec::new();
    for k in 0..4 {
        let mut m = *msg;
        m.domain[k] = bump(m.domain[k]);
        out.push((format!("domain[{k}]"), m));
        let mut m = *msg;
        m.from[k] = bump(m.from[k]);
        out.push((format!("from[{k}]"), m));
        let mut m = *msg;
        m.to.low[k] = bump(m.to.low[k]);
        out.push((format!("to.low[{k}]"), m));
        let mut m = *msg;
        m.to.high[k] = bump(m.to.high[k]);
        out.push((format!("to.high[{k}]"), m));
        let mut m = *msg;
        m.next_key.0[k] = bump(m.next_key.0[k]);
        out.push((format!("next_key[{k}]"), m));
    }
    for limb in 0..8 {
        out.push((
            format!("amount limb {limb}"),
            TransferMessage {
                amount: msg.amount ^ (1u128 << (16 * limb)),
                ..*msg
            },
        ));
    }
    out.push((
        "amount top bit".into(),
        TransferMessage {
            amount: msg.amount ^ (1u128 << 127),
            ..*msg
        },
    ));
    out.push((
        "nonce".into(),
        TransferMessage {
            nonce: msg.nonce + 1,
            ..*msg
        },
    ));
    // from/to swapped: same elements, other positions.
    out.push((
        "from<->to".into(),
        TransferMessage {
            from: msg.to.low,
            to: AccountId { low: msg.from, ..msg.to },
            ..*msg
        },
    ));
    out
}

#[test]
fn every_message_field_is_signed() {
    let seed = test_seed();
    let k = commitment(&seed, 0).unwrap();
    let msg = message(commitment(&seed, 1).unwrap());
    let sig = sign(&seed, 0, &msg).unwrap();
    verify(&k, &msg, &sig).unwrap();
    for (what, m) in tampered_messages(&msg) {
        assert_ne!(m, msg, "{what}");
        let err = verify(&k, &m, &sig).expect_err(&what);
        assert!(
            matches!(
                err,
                SignatureError::TargetSum { .. } | SignatureError::KeyMismatch
            ),
            "{what}: {err:?}"
        );
    }
}

#[test]
fn every_signature_field_is_checked() {
    let seed = test_seed();
    let k = commitment(&seed, 0).unwrap();
    let msg = message(commitment(&seed, 1).unwrap());
    let sig = sign(&seed, 0, &msg).unwrap();
    for r in 0..RHO_LEN {
        let mut s = sig;
        s.rho[r] = s.rho[r] + M31::ONE;
        assert!(verify(&k, &msg, &s).is_err(), "rho[{r}]");
    }
    for e in 0..HASH_LEN {
        let mut s = sig;
        s.pp[e] = s.pp[e] + M31::ONE;
        assert_eq!(
            verify(&k, &msg, &s),
            Err(SignatureError::KeyMismatch),
            "pp[{e}]"
        );
    }
    for i in 0..V {
        let mut s = sig;
        s.chains[i][i % HASH_LEN] = s.chains[i][i % HASH_LEN] + M31::ONE;
        assert_eq!(
            verify(&k, &msg, &s),
            Err(SignatureError::KeyMismatch),
            "chain {i}"
        );
    }
    // Moving a chain one position forward (a value the signer revealed, walked once) breaks
    // the commitment too: the verifier walks it from the digit's position.
    let x = verify_trace(&k, &msg, &sig).unwrap().digits;
    if let Some(i) = (0..V).find(|&i| x[i] < CHAIN_END) {
        let mut s = sig;
        s.chains[i] = chain_step(&sig.pp, i as u8, x[i], &sig.chains[i]);
        assert_eq!(verify(&k, &msg, &s), Err(SignatureError::KeyMismatch));
    }
}

#[test]
fn wrong_key_is_rejected() {
    let seed = test_seed();
    let msg = message(commitment(&seed, 1).unwrap());
    let sig = sign(&seed, 5, &msg).unwrap();
    verify(&commitment(&seed, 5).unwrap(), &msg, &sig).unwrap();
    for k in [
        commitment(&seed, 4).unwrap(),
        commitment(&seed, 6).unwrap(),
        commitment(&seed_of([8, 7, 6, 5, 4, 3, 2, 1]), 5).unwrap(),
    ] {
        assert!(verify(&k, &msg, &sig).is_err());
    }
    // A signature made by another seed at the same index.
    let other = sign(&seed_of([8, 7, 6, 5, 4, 3, 2, 1]), 5, &msg).unwrap();
    assert!(verify(&commitment(&seed, 5).unwrap(), &msg, &other).is_err());
    assert_eq!(
        verify(&KeyCommitment::NONE, &msg, &sig),
        Err(SignatureError::NoKey)
    );
}

/// After settlement the key slot holds `(K_next, nonce + 1)`: replaying the signature (as is,
/// or with the nonce updated) against it fails.
#[test]
fn replay_after_rotation_is_rejected() {
    let seed = test_seed();
    let k0 = commitment(&seed, 0).unwrap();
    let k1 = commitment(&seed, 1).unwrap();
    let msg = message(k1);
    let sig = sign(&seed, 0, &msg).unwrap();
    verify(&k0, &msg, &sig).unwrap();
    assert!(verify(&k1, &msg, &sig).is_err());
    let bumped = TransferMessage {
        nonce: msg.nonce + 1,
        ..msg
    };
    assert!(verify(&k1, &bumped, &sig).is_err());
    assert!(verify(&k0, &bumped, &sig).is_err());
}

#[test]
fn unencodable_message_or_index() {
    let seed = test_seed();
    let msg = TransferMessage {
        nonce: MODULUS,
        ..message(KeyCommitment::NONE)
    };
    assert_eq!(
        sign(&seed, 0, &msg),
        Err(SignError::Message(MessageError::NonceOutOfRange(MODULUS)))
    );
    let good = sign(&seed, 0, &message(KeyCommitment::NONE)).unwrap();
    assert_eq!(
        verify(&commitment(&seed, 0).unwrap(), &msg, &good),
        Err(SignatureError::Message(MessageError::NonceOutOfRange(
            MODULUS
        )))
    );
    assert_eq!(
        commitment(&seed, MODULUS),
        Err(SignError::IndexOutOfRange(MODULUS))
    );
    assert!(commitment(&seed, MAX_KEY_INDEX).is_ok());
    assert!(matches!(
        Signature::from_u32(&[0; SIGNATURE_LEN - 1]),
        Err(SignatureFormatError::Length { .. })
    ));
    let mut raw = good.to_u32();
    raw[7] = MODULUS;
    assert!(matches!(
        Signature::from_u32(&raw),
        Err(SignatureFormatError::NotCanonical(_))
    ));
}

#[test]
fn message_block_layout() {
    let rho = [M31::reduce(91), M31::reduce(92), M31::reduce(93)];
    let msg = TransferMessage {
        domain: h4([1, 2, 3, 4]),
        from: h4([5, 6, 7, 8]),
        to: AccountId { low: h4([9, 10, 11, 12]), high: h4([85, 86, 87, 88]) },
        amount: 0x0008_0007_0006_0005_0004_0003_0002_0001,
        nonce: 77,
        next_key: KeyCommitment(h4([81, 82, 83, 84])),
    };
    let b = msg.blocks(&rho).unwrap().map(M31::array_to_u32);
    assert_eq!(
        b,
        [
            [1, 2, 3, 4, 5, 6, 7, 8],
            [9, 10, 11, 12, 1, 2, 3, 4],
            [5, 6, 7, 8, 77, 81, 82, 83],
            [84, 91, 92, 93, 85, 86, 87, 88],
        ]
    );
}

#[test]
fn digits_layout() {
    // d[0] = 0b..._11_10_01_00 (low 16 bits), high bits ignored.
    let mut d = [M31::ZERO; RATE];
    d[0] = M31::reduce(0x7fff_0000 | 0b1110_0100);
    d[7] = M31::reduce(0xFFFF);
    let x = digits(&d);
    assert_eq!(&x[0..8], &[0, 1, 2, 3, 0, 0, 0, 0]);
    assert_eq!(&x[56..64], &[3; 8]);
    assert_eq!(digit_sum(&x), 6 + 24);
}

/// The trace has every value the AIR needs, consistent with the permutation.
#[test]
fn verification_trace_is_consistent() {
    let seed = test_seed();
    let k = commitment(&seed, 3).unwrap();
    let msg = message(commitment(&seed, 4).unwrap());
    let sig = sign(&seed, 3, &msg).unwrap();
    let t = verify_trace(&k, &msg, &sig).unwrap();
    let perms = t.permutations();
    assert_eq!(perms.len(), VERIFY_PERMUTATIONS);
    assert_eq!(VERIFY_PERMUTATIONS, 124);
    for p in &perms {
        assert_eq!(permute(p.input), p.output, "{:?}", p.role);
    }
    // Chain steps: feed-forward outputs, linked, ending at the chain ends.
    let mut expected_steps = 0;
    for i in 0..V {
        let steps: Vec<_> = t
            .chain_steps
            .iter()
            .filter(|s| s.chain as usize == i)
            .collect();
        assert_eq!(steps.len(), (CHAIN_END - t.digits[i]) as usize);
        expected_steps += steps.len();
        let mut value = sig.chains[i];
        for (n, s) in steps.iter().enumerate() {
            assert_eq!(s.position, t.digits[i] + n as u8);
            assert_eq!(s.input, value);
            assert_eq!(s.pp, sig.pp);
            assert_eq!(
                s.output,
                std::array::from_fn(|e| s.permutation_output[e] + s.input[e])
            );
            value = s.output;
        }
        assert_eq!(t.chain_ends[i], value);
    }
    assert_eq!(expected_steps, VERIFY_CHAIN_STEPS);
    assert_eq!(t.recomputed_key, k);
    assert_eq!(&t.key_states[KEY_BLOCKS][0..4], &k.0);
    assert_eq!(&t.digest_states[MESSAGE_BLOCKS][0..8], &t.digest);
    assert_eq!(t.digest_states[0][8..12], k.0);
    assert_eq!(t.digest_states[0][12], TAG_MSG);
    assert_eq!(t.key_states[0][8..12], sig.pp);
    assert_eq!(t.key_states[0][12], TAG_PK);

    // A failing signature still has a full trace; `check` says why.
    let bad = TransferMessage {
        amount: msg.amount + 1,
        ..msg
    };
    let bt = verification_trace(&k, &bad, &sig).unwrap();
    assert_eq!(bt.check(), verify(&k, &bad, &sig));
    assert!(bt.check().is_err());
}

/// Exact `P[sum of 64 uniform digits in 0..4 == 104]` by dynamic programming.
fn target_probability() -> f64 {
    let mut dist = vec![1.0f64];
    for _ in 0..V {
        let mut next = vec![0.0; dist.len() + 3];
        for (s, p) in dist.iter().enumerate() {
            for d in 0..4 {
                next[s + d] += p / 4.0;
            }
        }
        dist = next;
    }
    dist[TARGET_SUM as usize]
}

#[test]
fn target_sum_rejection_sampling() {
    let p = target_probability();
    assert!((0.0295..0.0302).contains(&p), "{p}");
    // Digest digit sums over random digests: mean 96, P[104] ~ p.
    let n = 20_000u32;
    let mut state = [M31::ZERO; 16];
    let (mut hits, mut total) = (0u32, 0u64);
    for k in 0..n {
        state[15] = M31::reduce(k);
        let out = permute(state);
        let s = digit_sum(&digits(&std::array::from_fn(|e| out[e])));
        total += s as u64;
        hits += (s == TARGET_SUM) as u32;
    }
    let mean = total as f64 / n as f64;
    assert!((95.8..96.2).contains(&mean), "mean digit sum {mean}");
    let freq = hits as f64 / n as f64;
    // sd of the frequency ~ sqrt(p / n) = 0.0012.
    assert!(
        (p - 0.005..p + 0.005).contains(&freq),
        "P[sum = T] measured {freq}, exact {p}"
    );

    // Mean tries of the signer: geometric with mean 1/p ~ 33.4 (sd ~ 33): over 200
    // signatures the mean is within 33.4 +- 2.3 (1 sd); accept +-8.
    let seed = test_seed();
    let signatures = 200u32;
    let mut tries = 0u32;
    for k in 0..signatures {
        let msg = TransferMessage {
            amount: k as u128,
            ..message(KeyCommitment::NONE)
        };
        tries += sign_counting(&seed, k, &msg).unwrap().1;
    }
    let mean_tries = tries as f64 / signatures as f64;
    println!("target sum: exact P = {p:.5} (1/P = {:.1}), measured P = {freq:.5}, mean tries = {mean_tries:.1}", 1.0 / p);
    assert!(
        (1.0 / p - 8.0..1.0 / p + 8.0).contains(&mean_tries),
        "mean tries {mean_tries}"
    );
}

/// Our pinned outputs: the key commitment and a signature's `rho` for a fixed seed. A change
/// here means a different scheme (or permutation): every registered key would be invalid.
#[test]
fn pinned_scheme_vectors() {
    let seed = test_seed();
    let k0 = commitment(&seed, 0).unwrap();
    let k1 = commitment(&seed, 1).unwrap();
    assert_eq!(k0.to_u32(), PINNED_K0);
    let sig = sign(&seed, 0, &message(k1)).unwrap();
    assert_eq!(M31::array_to_u32(sig.rho), PINNED_RHO);
    assert_eq!(M31::array_to_u32(sig.pp), PINNED_PP);
}

const PINNED_K0: [u32; 4] = [1502837685, 1727027930, 1087567118, 1844329868];
// Re-pinned in session 50: the message's last four elements carry the receiver's high id
// words (they were zeros), so the deterministic rho moved; the key material did not.
const PINNED_RHO: [u32; 3] = [243475204, 1010470802, 1029639120];
const PINNED_PP: [u32; 4] = [1843855635, 1616815089, 1513992502, 922838015];

/// The digest-element bound excludes exactly the values the AIR's `hi * 2^16 + lo` split
/// cannot represent uniquely (`hi = 2^15 - 1`), and every signature's digest is inside it.
#[test]
fn digest_elements_stay_below_the_split_bound() {
    let at = |v: u32| {
        let mut d = [M31::ZERO; RATE];
        d[5] = M31::from_u32(v).unwrap();
        digest_in_range(&d)
    };
    assert!(at(0) && at(DIGEST_ELEMENT_BOUND - 1));
    assert!(!at(DIGEST_ELEMENT_BOUND) && !at(MODULUS - 1));
    assert_eq!(DIGEST_ELEMENT_BOUND >> 16, (1 << 15) - 1, "hi = 2^15 - 1 is excluded");
    let seed = test_seed();
    for index in 0..8 {
        let msg = message(commitment(&seed, index + 1).unwrap());
        let sig = sign(&seed, index, &msg).unwrap();
        let trace = verification_trace(&commitment(&seed, index).unwrap(), &msg, &sig).unwrap();
        assert!(digest_in_range(&trace.digest));
        assert_eq!(trace.check(), Ok(()));
    }
}

/// A program message that is not a transfer (test double): a type tag and 15 payload values,
/// the shape an order book's place/cancel messages take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct TaggedTestMessage {
    domain: Hash4,
    signer: Hash4,
    nonce: u32,
    next_key: KeyCommitment,
    tag: u32,
    values: [u32; PAYLOAD_LEN - 1],
}

impl Message for TaggedTestMessage {
    fn domain(&self) -> Hash4 {
        self.domain
    }
    fn signer(&self) -> Hash4 {
        self.signer
    }
    fn nonce(&self) -> u32 {
        self.nonce
    }
    fn next_key(&self) -> KeyCommitment {
        self.next_key
    }
    fn set_next_key(&mut self, key: KeyCommitment) {
        self.next_key = key;
    }
    fn payload(&self) -> Result<[M31; PAYLOAD_LEN], MessageError> {
        let mut p = [M31::ZERO; PAYLOAD_LEN];
        p[0] = M31::reduce(self.tag);
        for (slot, v) in p[1..].iter_mut().zip(self.values) {
            *slot = M31::from_u32(v)
                .map_err(|_| MessageError::Field { field: "value", reason: "not below 2^31 - 1" })?;
        }
        Ok(p)
    }
}

fn tagged(tag: u32, next_key: KeyCommitment) -> TaggedTestMessage {
    TaggedTestMessage {
        domain: h4([11, 12, 13, 14]),
        signer: h4([21, 22, 23, 24]),
        nonce: 3,
        next_key,
        tag,
        values: std::array::from_fn(|i| 100 + i as u32),
    }
}

#[test]
fn program_payload_layout() {
    let rho = [M31::reduce(91), M31::reduce(92), M31::reduce(93)];
    let msg = tagged(7, KeyCommitment(h4([81, 82, 83, 84])));
    let b = message_blocks(&msg, &rho).unwrap().map(M31::array_to_u32);
    assert_eq!(
        b,
        [
            [11, 12, 13, 14, 21, 22, 23, 24],
            [7, 100, 101, 102, 103, 104, 105, 106],
            [107, 108, 109, 110, 3, 81, 82, 83],
            [84, 91, 92, 93, 111, 112, 113, 114],
        ]
    );
    // A transfer is the same layout with payload [to.low, amount, to.high].
    let t = message(KeyCommitment(h4([81, 82, 83, 84])));
    assert_eq!(t.blocks(&rho).unwrap(), message_blocks(&t, &rho).unwrap());
}

#[test]
fn program_messages_sign_and_every_payload_element_is_signed() {
    let seed = test_seed();
    let k = commitment(&seed, 0).unwrap();
    let msg = tagged(1, commitment(&seed, 1).unwrap());
    let sig = sign(&seed, 0, &msg).unwrap();
    verify(&k, &msg, &sig).unwrap();
    let trace = verify_trace(&k, &msg, &sig).unwrap();
    assert_eq!(trace.message_blocks, message_blocks(&msg, &sig.rho).unwrap());
    // Another type tag with the same values: another message.
    let err = verify(&k, &tagged(2, msg.next_key), &sig).unwrap_err();
    assert!(matches!(err, SignatureError::TargetSum { .. } | SignatureError::KeyMismatch), "{err:?}");
    for i in 0..PAYLOAD_LEN - 1 {
        let mut m = msg;
        m.values[i] += 1;
        let err = verify(&k, &m, &sig).expect_err("a payload element changed");
        assert!(matches!(err, SignatureError::TargetSum { .. } | SignatureError::KeyMismatch), "{i}: {err:?}");
    }
    let mut bad = msg;
    bad.values[3] = MODULUS;
    assert_eq!(
        sign(&seed, 0, &bad).unwrap_err(),
        SignError::Message(MessageError::Field { field: "value", reason: "not below 2^31 - 1" })
    );
}
