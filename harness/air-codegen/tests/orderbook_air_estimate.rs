//! Measurement, not a generator: the constraint programs the order book's Cairo AIR class
//! would carry (fill, place, cancel and the framework's authorization roles), encoded by the
//! same emitter as the token's `generated_air.cairo` (`cairo::component_program`), next to the
//! token's. Prints words and the felts the class would store (one `u32` constant a word, as
//! `signed.rs` stores them: ~0.8 CASM felt a word, counted as one), and asserts the estimate of the
//! order book's AIR class fits a class (`docs/thread-programs.md`, "The Cairo verifier").

use std::collections::BTreeMap;

use stwo::core::fields::qm31::SecureField;
use stwo_constraint_framework::{FrameworkComponent, TraceLocationAllocator};
use zkthread_air_codegen::cairo::{self, component_program};
use zkthread_air_codegen::signed::{
    relation_order, symbolic_signed_components, N_PREPROCESSED_COLUMNS, POSEIDON2_INDEX,
};
use zkthread_air_codegen::symbolic::SymbolicComponent;
use zkthread_orderbook::{CancelRole, FillRole, PlaceRole};
use zkthread_prover::auth::roles::{ChainStepRole, DigestRole, KeySpongeRole, TxListRole};
use zkthread_prover::role::{Relations, Role, RoleEval};

mod common;
use common::MAX_CONTRACT_BYTECODE_FELTS;

/// `SignedAir`'s CASM size (`signed_air_size.rs`), measured 2026-12-01.
const SIGNED_AIR_CASM_FELTS: usize = 19_080;

fn symbolic<R: Role>(allocator: &mut TraceLocationAllocator) -> SymbolicComponent {
    let zero = SecureField::from_u32_unchecked(0, 0, 0, 0);
    let component = FrameworkComponent::new(allocator, RoleEval::<R>::new(4, Relations::dummy()), zero);
    SymbolicComponent::new(R::NAME, &component).expect("symbolic component")
}

/// Felts a program of `words` words is stored in: one `u32` constant a word (an upper bound:
/// measured ~0.8 CASM felt a word).
fn stored_felts(words: usize) -> usize {
    words
}

/// `(name, words, stored felts)` of each component's program but Poseidon2's (hand-written
/// loops over tables, the same in every program).
fn programs(components: &[SymbolicComponent], skip: Option<usize>) -> Vec<(String, usize, usize)> {
    let index: BTreeMap<String, u32> = relation_order()
        .iter()
        .enumerate()
        .map(|(i, (name, _))| (name.to_string(), i as u32))
        .collect();
    let starts = zkthread_air_codegen::signed::mask_starts(&cairo::mask_shape(components, N_PREPROCESSED_COLUMNS));
    components
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != skip)
        .map(|(_, c)| {
            let words = component_program(c, &index, &starts).expect("program").len();
            (c.name.clone(), words, stored_felts(words))
        })
        .collect()
}

fn print(label: &str, programs: &[(String, usize, usize)]) -> usize {
    let felts: usize = programs.iter().map(|p| p.2).sum();
    println!("{label}:");
    for (name, words, stored) in programs {
        println!("  {name:>16}: {words:>6} words, {stored:>5} felts stored");
    }
    println!("  {:>16}: {felts:>5} felts", "total");
    felts
}

#[test]
fn orderbook_air_class_estimate() {
    let token = programs(&symbolic_signed_components().expect("token components"), Some(POSEIDON2_INDEX));
    // The token's proof order: its role, the four authorization roles, Poseidon2, range table.
    let token_felts = print("token (SignedAir)", &token);
    let mut a = TraceLocationAllocator::default();
    let book: Vec<SymbolicComponent> = vec![
        symbolic::<FillRole>(&mut a),
        symbolic::<PlaceRole>(&mut a),
        symbolic::<CancelRole>(&mut a),
        symbolic::<ChainStepRole>(&mut a),
        symbolic::<DigestRole>(&mut a),
        symbolic::<KeySpongeRole>(&mut a),
        symbolic::<TxListRole>(&mut a),
    ];
    let book_programs = programs(&book, None);
    // The range table's program (41 words) is the token's: the framework's table.
    let book_felts = print("order book (roles and authorization)", &book_programs) + 41;
    let estimate = SIGNED_AIR_CASM_FELTS - token_felts + book_felts;
    println!(
        "order-book AIR class estimate: {SIGNED_AIR_CASM_FELTS} - {token_felts} + {book_felts} = {estimate} CASM felts (limit {MAX_CONTRACT_BYTECODE_FELTS}), \
         plus two more components' accumulate wrappers (not measured)"
    );
    assert!(estimate + 1_000 < MAX_CONTRACT_BYTECODE_FELTS, "the order book's AIR class would not fit");
}
