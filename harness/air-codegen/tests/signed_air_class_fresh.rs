//! The signed verifier's constant `SIGNED_AIR_CLASS_HASH`
//! (`contracts/programs/token/signed_verifier/src/generated_air_class.cairo`) must be the Sierra class hash of
//! the committed `SignedAir` class (`contracts/programs/token/signed_air`), compiled by the harness's path (the
//! hash devnet declares it under). A stale constant would make the verifier library-call a class
//! nobody declares (or an old AIR).

use zkthread_air_codegen::signed_air_class as v;

mod common;

/// `ZKTHREAD_WRITE_SIGNED_AIR_CLASS=1` rewrites the constant (the build's second stage).
#[test]
fn committed_air_class_hash_is_fresh() {
    let (package, contract) = v::SIGNED_AIR_CLASS;
    let (artifact, _) = common::class_artifact(package, contract);
    common::assert_fresh(
        v::signed_air_class_path(),
        v::render_signed_air_class(artifact.class_hash),
        "ZKTHREAD_WRITE_SIGNED_AIR_CLASS=1 cargo test -p zkthread-air-codegen --test signed_air_class_fresh",
        Some("ZKTHREAD_WRITE_SIGNED_AIR_CLASS"),
    );
}
