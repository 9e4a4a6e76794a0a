//! The `SignedVerifier` class (`contracts/programs/token/signed_verifier/src/contract.cairo`) compiled Sierra
//! -> CASM by the harness's path (`zkthread-cairo-build`, the compiler devnet uses), the way
//! `contract_size.rs` measures `ThreadVerifier`. Built into a temporary target directory, so the
//! repository's `target/dev` artifacts are left alone.

mod common;
use common::MAX_CONTRACT_BYTECODE_FELTS;

/// The class fits: measured 70,048 CASM felts (32,962 Sierra), 11,872 under the limit, since
/// the DEEP quotients' eight-query sums take two columns per iteration (+300 felts for -15,464
/// steps on a SIGNED_PARAMS proof). Before: 69,748 (32,779 Sierra), since the proof reader
/// unpacks the M31 stream four felts per iteration (+642 felts for -10,472 steps). Before:
/// 69,106. Before that: 69,086 (32,393 Sierra), since
/// the transcript moved to the framework's generic verifier core (`program_verifier`, shared
/// with `OrderBookVerifier`; +2,205 felts, +687 steps per proof). Before: 66,881 (32,875 Sierra), since
/// the signed AIR's composition moved to its own class `SignedAir` (library-called; 19,080
/// felts, `signed_air_size.rs`; the calldata encoder's eight-columns-per-iteration loop is
/// +642 felts for -52k steps per proof) — the verifier core and one program's constraints did not fit
/// in one class with room for a second program (`docs/thread-programs.md`). Before: 80,195
/// (42,489 Sierra), 1,725 under the limit, after the verifier's fifth round (2026-12-01: DEEP pass four columns per iteration with its proof-reader
/// helpers out of line, -1,342; Merkle and reader cuts). Before: 80,228 after the
/// signed statement's per-slot cuts (+785: straight-line boundary terms, one binding walk).
/// Before them: 79,443 after the verifier's third round (range checks, 2026-11-30): M31
/// reductions on bounded-integer
/// division (75,002 from 78,019), the M31 stream as felt252 (+1,831), the stream unpacked two
/// felts per iteration (+~1,000), then the small role programs stored one word per constant
/// instead of packed (+1,586: ~6,000 range checks less per proof; `MAX_UNPACKED_PROGRAM_WORDS`
/// in the generator). Before: 78,019 (41,524 Sierra) after the second round of step cuts
/// (M31 add/sub/neg on non-panicking u32 libfuncs: -5,391 felts; once-per-proof field
/// operations out of line) and with the transaction-list commitment (+1,969: the `tx_list`
/// role's program and shape, parsing the packed capacity, one more boundary pair in the state
/// boundary's single inversion). Before both: 79,776 (42,007 Sierra; the DEEP batches' main
/// pass carrying only the sums: -660 felts), after the verifier's step cuts of 2026-11-30
/// (Merkle runs -267, OODS interpreter -240, one-pass DEEP batches +~1,900 — cold QM31 products
/// kept out of line, the shifted-point cache dropped: +28k steps for -573 felts). Before:
/// 79,522 (8-bit range table, one preprocessed root per height), 82,665 before the role and
/// range-table programs were packed 7 words per felt252 (`program_air::packed`). This test
/// asserts the fit, and fails if the class grows past this ceiling (the programs' packing is
/// now the AIR class's trade-off, not this one's).
/// 2026-12-02: 71,298 with the last layer's unreduced fold (+~300 net: the reduced fold and
/// its fallback removed), the Merkle leaves hashed eight rows per pass instead of four (+254;
/// -22k steps), sample points handed to the PCS as runs (+321; -47k steps) and the last
/// layer's bound taken at the proof's height (+189).
/// 2026-12-02 (session 20): 72,371 with the M31 stream unpacked eight felts per iteration
/// (+560; -9.8k steps), the DEEP sums four columns per iteration (+~300; -9.1k steps), the
/// Merkle walk halving indexes by a bitwise AND and trees keeping their sizes and blowup apart
/// (-1.3k range checks and -8k steps in `commit`).
/// 2026-12-02 (session 21): 72,691 with the AIR classes taken as a list whose answers add up
/// (a program's constraints may take several classes: the order book's take two; +251), then
/// 72,530 with the mask's shape check and its encoding in one walk.
/// 2026-12-02 (session 22): 73,477 with a cumulative-sum column's main-point sample folded
/// into the main DEEP batch as it is read (`pcs::set_aside_pair`: -18.8k steps on a 32-transfer
/// signed proof).
/// 2026-12-02 (session 23): 73,543 with their previous-point and periodicity samples folded
/// into their batches as they are read too (`pcs::fold_pair_column`, +96: -42.8k steps) and
/// the shifted points read from the generator's doublings (`pcs::shifted_point`, -30: -5.1k).
/// 2026-12-06 (session 43): 73,455 with the last FRI layer compared by an exact felt252
/// division (`poly::equals_mod_p`: -3.7k steps on a 32-transfer signed proof); 73,484 with the
/// last layer's coefficient count checked where it is folded (+29).
/// 2026-12-06 (session 49): 74,293 with the statement's distinct-id map (`thread_statement::
/// ids::DistinctIds`, a `Felt252Dict` and its squash) and the key-step rule (+809).
/// 2026-12-06 (session 50): 74,920 with each balance and key slot named by its owner's
/// 248-bit id (`thread_statement::ids::account_id_wide`, four more words in a `Balance` and a
/// `Key` tuple: +627).
/// 2026-12-07 (session 57): 75,576 with the DEEP sums of blocks of eight queries eight
/// columns an iteration (`stark_verifier::merkle::RowsByEightWide`, `pcs::sums_eight_wide`:
/// +656; -4.3k steps on a 32-transfer signed proof, 1.331e8 -> 1.326e8); 75,468 with the
/// owner's high id words summed once per changed slot in the statement (-108; -61 steps a
/// written slot).
const SIGNED_VERIFIER_CEILING_FELTS: usize = 75_600;

#[test]
fn signed_verifier_casm_size() {
    let (artifact, bytecode) = common::class_artifact("signed_verifier", "SignedVerifier");
    let sierra_felts = artifact.sierra.sierra_program.len();
    // The same build pins the class hash the engine tells a signed thread by.
    common::assert_pinned_verifier_class("SIGNED_VERIFIER_CLASS_HASH", artifact.class_hash);
    let fit = if bytecode <= MAX_CONTRACT_BYTECODE_FELTS {
        "fits".to_string()
    } else {
        format!("OVER by {}", bytecode - MAX_CONTRACT_BYTECODE_FELTS)
    };
    println!(
        "SignedVerifier: {} Sierra felts, {bytecode} CASM felts (class limit {MAX_CONTRACT_BYTECODE_FELTS}: {fit})",
        sierra_felts
    );
    assert!(
        bytecode <= MAX_CONTRACT_BYTECODE_FELTS,
        "SignedVerifier is {bytecode} CASM felts, over Starknet's {MAX_CONTRACT_BYTECODE_FELTS} class limit"
    );
    assert!(
        bytecode <= SIGNED_VERIFIER_CEILING_FELTS,
        "SignedVerifier grew to {bytecode} CASM felts, past its recorded {SIGNED_VERIFIER_CEILING_FELTS} ceiling"
    );
}
