//! The class hashes of a program's AIR classes as constants of that program's verifier: the
//! token's `SignedAir` (`contracts/programs/token/signed_air`) in
//! `contracts/programs/token/signed_verifier/src/generated_air_class.cairo`, the token list
//! program's `ListAir` in `contracts/programs/token/list_verifier/src/generated_air_class.cairo`,
//! the order book's
//! `OrderBookFillAir` and `OrderBookAir` (`contracts/programs/orderbook/orderbook_air`) in
//! `contracts/programs/orderbook/orderbook_verifier/src/generated_air_class.cairo`.
//! A verifier library-calls its AIR classes, and naming them in its own code makes the
//! verifier's class hash (a thread's `program_hash`) commit to them.
//!
//! A two-stage build: compile the AIR class, compute its Sierra class hash
//! (`zkthread-cairo-build`), write it here, then compile the verifier. The tests
//! `tests/signed_air_class_fresh.rs` and `tests/orderbook_verifier_fresh.rs` do the first stage
//! and fail if a committed constant is stale (`ZKTHREAD_WRITE_SIGNED_AIR_CLASS=1` /
//! `ZKTHREAD_WRITE_ORDERBOOK_AIR_CLASS=1` rewrite it), so regenerate after any change to the
//! AIR's package or its dependencies (`signed_air`, `stark_verifier`, `thread_verifier`) — also
//! after `cargo run -p zkthread-air-codegen`, which rewrites the AIRs' programs.

use starknet_types_core::felt::Felt;

/// One program's AIR class and where its verifier names it.
#[derive(Clone, Copy, Debug)]
pub struct AirClassConstant {
    /// The generated constant, relative to the workspace root.
    pub relative_path: &'static str,
    /// The AIR class: Scarb package and contract.
    pub package: &'static str,
    pub contract: &'static str,
    /// The verifier class that library-calls it.
    pub verifier: &'static str,
    /// What the class evaluates, in words (the constant's doc).
    pub air: &'static str,
    /// The Cairo constant's name.
    pub constant: &'static str,
    /// The command that rewrites the constant.
    pub regenerate: &'static str,
}

/// The token program's AIR class.
pub const SIGNED_AIR: AirClassConstant = AirClassConstant {
    relative_path: "contracts/programs/token/signed_verifier/src/generated_air_class.cairo",
    package: "signed_air",
    contract: "SignedAir",
    verifier: "SignedVerifier",
    air: "the signed AIR's composition",
    constant: "SIGNED_AIR_CLASS_HASH",
    regenerate: "ZKTHREAD_WRITE_SIGNED_AIR_CLASS=1 cargo test -p zkthread-air-codegen --test\n// signed_air_class_fresh",
};

/// The token list program's AIR class.
pub const LIST_AIR: AirClassConstant = AirClassConstant {
    relative_path: "contracts/programs/token/list_verifier/src/generated_air_class.cairo",
    package: "list_air",
    contract: "ListAir",
    verifier: "ListVerifier",
    air: "the token list AIR's composition",
    constant: "LIST_AIR_CLASS_HASH",
    regenerate: "ZKTHREAD_WRITE_LIST_AIR_CLASS=1 cargo test -p zkthread-air-codegen --test\n// list_classes",
};

/// The order book's AIR class for the fill (the first component: its compiled program does not
/// fit one class with the others').
pub const ORDERBOOK_FILL_AIR: AirClassConstant = AirClassConstant {
    relative_path: "contracts/programs/orderbook/orderbook_verifier/src/generated_air_class.cairo",
    package: "orderbook_air",
    contract: "OrderBookFillAir",
    verifier: "OrderBookVerifier",
    air: "the fill's part of the order book's composition",
    constant: "ORDERBOOK_FILL_AIR_CLASS_HASH",
    regenerate: "ZKTHREAD_WRITE_ORDERBOOK_AIR_CLASS=1 cargo test -p zkthread-air-codegen --test\n// orderbook_verifier_fresh",
};

/// The order book's AIR class for the components after the fill.
pub const ORDERBOOK_AIR: AirClassConstant = AirClassConstant {
    relative_path: "contracts/programs/orderbook/orderbook_verifier/src/generated_air_class.cairo",
    package: "orderbook_air",
    contract: "OrderBookAir",
    verifier: "OrderBookVerifier",
    air: "the other components' part",
    constant: "ORDERBOOK_AIR_CLASS_HASH",
    regenerate: "ZKTHREAD_WRITE_ORDERBOOK_AIR_CLASS=1 cargo test -p zkthread-air-codegen --test\n// orderbook_verifier_fresh",
};

/// The order book's AIR classes, in the order its verifier calls them (one generated file).
pub const ORDERBOOK_AIR_CLASSES: [AirClassConstant; 2] = [ORDERBOOK_FILL_AIR, ORDERBOOK_AIR];

/// The token's constant, relative to the workspace root.
pub const SIGNED_AIR_CLASS_RELATIVE_PATH: &str = SIGNED_AIR.relative_path;

/// The token's AIR class: Scarb package and contract.
pub const SIGNED_AIR_CLASS: (&str, &str) = (SIGNED_AIR.package, SIGNED_AIR.contract);

pub fn signed_air_class_path() -> std::path::PathBuf {
    crate::workspace_path(SIGNED_AIR.relative_path)
}

/// Where `air`'s constant is written.
pub fn air_class_path(air: &AirClassConstant) -> std::path::PathBuf {
    crate::workspace_path(air.relative_path)
}

/// The token's generated module naming `class_hash` (`SignedAir`'s Sierra class hash).
pub fn render_signed_air_class(class_hash: Felt) -> String {
    render_air_class(&SIGNED_AIR, class_hash)
}

/// The generated Cairo module naming `class_hash` as `air`'s constant.
pub fn render_air_class(air: &AirClassConstant, class_hash: Felt) -> String {
    render_air_classes(&[(air, class_hash)])
}

/// The generated Cairo module naming each class hash as its class's constant (classes of one
/// verifier, in the order it calls them; the header is the first's).
pub fn render_air_classes(classes: &[(&AirClassConstant, Felt)]) -> String {
    let Some((first, _)) = classes.first() else {
        return String::new();
    };
    let AirClassConstant { package, verifier, regenerate, .. } = first;
    let contracts: Vec<String> = classes.iter().map(|(c, _)| format!("`{}`", c.contract)).collect();
    let (what, it, them) = if classes.len() == 1 {
        (format!("hash of the class {}", contracts[0]), "that class", "it")
    } else {
        (format!("hashes of the classes {}", contracts.join(", ")), "those classes", "them")
    };
    let mut out = format!(
        "// @generated by `{regenerate}` from the package {package} (the Sierra class {what}, as
// harness/cairo-build computes {them}). Do not edit: that test fails if a constant is stale.
//! What `{verifier}` library-calls for the composition at the OODS point: constants of the
//! verifier's code, so the verifier's class hash commits to {them}. Declare {it} before using
//! this verifier.
",
    );
    for (air, class_hash) in classes {
        let AirClassConstant { package, contract, air, constant, .. } = air;
        out.push_str(&format!(
            "
/// Sierra class hash of `{package}::air_class::{contract}` ({air}).
pub const {constant}: felt252 = {class_hash:#x};
"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_constant_is_the_hash_in_hex() {
        let text = render_signed_air_class(Felt::from(0x1234_u64));
        assert!(text.contains("pub const SIGNED_AIR_CLASS_HASH: felt252 = 0x1234;\n"));
        let text = render_air_classes(&[(&ORDERBOOK_FILL_AIR, Felt::from(0x98_u64)), (&ORDERBOOK_AIR, Felt::from(0x99_u64))]);
        let fill = text.find("pub const ORDERBOOK_FILL_AIR_CLASS_HASH: felt252 = 0x98;\n").expect("fill constant");
        let others = text.find("pub const ORDERBOOK_AIR_CLASS_HASH: felt252 = 0x99;\n").expect("air constant");
        assert!(fill < others, "the constants in call order");
    }
}
