//! Gas measurements (printed): each operation runs in a loop of N iterations and the cost of
//! an empty loop is subtracted, because Sierra withdraws gas per loop iteration / function,
//! not per instruction. Run: zkthread-cairo test ... --filter gas
use core::testing::get_available_gas;
use crate::channel::{Poseidon252Channel, ChannelTrait};
use crate::fields::{QM31, QM31Trait, M31, M31Trait};
use super::mul_by_parts;
use crate::merkle::{MerkleVerifierLiftedTrait, hash_children, lifted_leaf_hash};
use super::m;

const N: u32 = 50;

fn empty_loop_gas() -> u128 {
    let before = get_available_gas();
    let mut i = 0;
    let mut acc: u32 = 0;
    while i != N {
        acc = acc + i;
        i += 1;
    };
    core::gas::withdraw_gas().unwrap();
    let spent = before - get_available_gas();
    assert(acc != 1, 'keep acc');
    spent
}

fn x() -> QM31 {
    QM31Trait::from_u32_unchecked(1234567890, 987654321, 2111111111, 7)
}

#[test]
#[available_gas(2000000000)]
fn gas_qm31_mul() {
    let base = empty_loop_gas();
    let before = get_available_gas();
    let mut acc = x();
    let y = QM31Trait::from_u32_unchecked(5, 2000000000, 3, 1999999999);
    let mut i = 0;
    while i != N {
        acc = acc * y;
        i += 1;
    };
    core::gas::withdraw_gas().unwrap();
    let spent = before - get_available_gas();
    println!("gas: qm31_mul (one reduction per coordinate) = {}", (spent - base) / N.into());

    let base = empty_loop_gas();
    let before = get_available_gas();
    let mut acc2 = x();
    let mut i = 0;
    while i != N {
        acc2 = mul_by_parts(acc2, y);
        i += 1;
    };
    core::gas::withdraw_gas().unwrap();
    let spent = before - get_available_gas();
    println!("gas: qm31_mul (reduce every m31 product) = {}", (spent - base) / N.into());
    assert(acc == acc2, 'same product');

    let before = get_available_gas();
    let mut a: M31 = m(123456789);
    let mut i = 0;
    while i != N {
        a = a * m(987654321) + m(5);
        i += 1;
    };
    core::gas::withdraw_gas().unwrap();
    let spent = before - get_available_gas();
    println!("gas: m31 mul+add = {}", (spent - base) / N.into());

    let before = get_available_gas();
    let mut s = x();
    let mut i = 0;
    while i != N {
        s = s + y;
        i += 1;
    };
    core::gas::withdraw_gas().unwrap();
    let spent = before - get_available_gas();
    println!("gas: qm31_add = {}", (spent - base) / N.into());

    let before = get_available_gas();
    let inv = x().inverse();
    core::gas::withdraw_gas().unwrap();
    let spent = before - get_available_gas();
    println!("gas: qm31_inverse = {}", spent);
    assert(inv * x() == QM31Trait::from_u32_unchecked(1, 0, 0, 0), 'inverse');
    assert(M31Trait::reduce_u32(3) == m(3), 'm31');
}

#[test]
#[available_gas(2000000000)]
fn gas_channel() {
    let base = empty_loop_gas();
    let mut channel: Poseidon252Channel = ChannelTrait::new();
    channel.mix_u64(42);

    let before = get_available_gas();
    let mut i = 0;
    let mut acc = QM31Trait::from_u32_unchecked(0, 0, 0, 0);
    while i != N {
        acc = acc + channel.draw_secure_felt();
        i += 1;
    };
    core::gas::withdraw_gas().unwrap();
    let spent = before - get_available_gas();
    println!("gas: channel draw_secure_felt = {}", (spent - base) / N.into());

    let before = get_available_gas();
    let mut i = 0;
    while i != N {
        let words = channel.draw_u32s();
        assert(words.len() == 7, 'seven');
        i += 1;
    };
    core::gas::withdraw_gas().unwrap();
    let spent = before - get_available_gas();
    println!("gas: channel draw_u32s = {}", (spent - base) / N.into());

    let before = get_available_gas();
    let mut i = 0;
    while i != N {
        channel.mix_root(i.into());
        i += 1;
    };
    core::gas::withdraw_gas().unwrap();
    let spent = before - get_available_gas();
    println!("gas: channel mix_root = {}", (spent - base) / N.into());

    let felts = array![acc, acc, acc, acc];
    let before = get_available_gas();
    let mut i = 0;
    while i != N {
        channel.mix_felts(felts.span());
        i += 1;
    };
    core::gas::withdraw_gas().unwrap();
    let spent = before - get_available_gas();
    println!("gas: channel mix_felts(4 qm31) = {}", (spent - base) / N.into());

    let before = get_available_gas();
    let ok = channel.verify_pow_nonce(16, 12345);
    core::gas::withdraw_gas().unwrap();
    let spent = before - get_available_gas();
    println!("gas: channel verify_pow_nonce(16) = {} (accepted: {})", spent, ok);
}

#[test]
#[available_gas(2000000000)]
fn gas_merkle_path_depth_20() {
    // One query into a tree of height 20 over one column of 4-value rows... the root is
    // computed here from an arbitrary witness, so this only measures the verifier's cost.
    let position: u32 = 0x5a5a5;
    let row = array![m(11), m(22), m(33), m(44)];
    let mut witness: Array<felt252> = array![];
    let mut node = lifted_leaf_hash(row.span());
    let mut index = position;
    let mut level: u32 = 0;
    while level != 20 {
        let sibling: felt252 = (level + 1000).into();
        witness.append(sibling);
        node = if index % 2 == 0 {
            hash_children(node, sibling)
        } else {
            hash_children(sibling, node)
        };
        index = index / 2;
        level += 1;
    };
    let log_sizes = array![20, 20, 20, 20];
    let verifier = MerkleVerifierLiftedTrait::new(node, log_sizes.span(), Option::None);
    let c0: Array<felt252> = array![11];
    let c1: Array<felt252> = array![22];
    let c2: Array<felt252> = array![33];
    let c3: Array<felt252> = array![44];
    let values = array![c0.span(), c1.span(), c2.span(), c3.span()];
    let queries = array![position];

    let before = get_available_gas();
    let result = verifier.verify(queries.span(), values.span(), witness.span());
    core::gas::withdraw_gas().unwrap();
    let spent = before - get_available_gas();
    println!("gas: merkle lifted verify, 1 query, depth 20, 4 columns = {}", spent);
    assert(result == Result::Ok(()), 'path verifies');
}

#[test]
#[available_gas(2000000000)]
fn gas_merkle_pieces() {
    let base = empty_loop_gas();
    let before = get_available_gas();
    let mut node: felt252 = 1;
    let mut i = 0;
    while i != N {
        node = hash_children(node, 7);
        i += 1;
    };
    core::gas::withdraw_gas().unwrap();
    let spent = before - get_available_gas();
    println!("gas: merkle hash_children = {}", (spent - base) / N.into());

    let row = array![m(11), m(22), m(33), m(44)];
    let before = get_available_gas();
    let mut i = 0;
    while i != N {
        node = node + lifted_leaf_hash(row.span());
        i += 1;
    };
    core::gas::withdraw_gas().unwrap();
    let spent = before - get_available_gas();
    println!("gas: merkle lifted_leaf_hash(4 values) = {}", (spent - base) / N.into());
    assert(node != 0, 'keep');
}

fn walk_path(leaf: felt252, position: u32, witness: Span<felt252>) -> felt252 {
    let mut node = leaf;
    let mut index = position;
    let mut rest = witness;
    loop {
        match rest.pop_front() {
            Option::Some(sibling) => {
                let (parent, bit) = core::integer::u32_safe_divmod(index, 2);
                node = if bit == 0 {
                    hash_children(node, *sibling)
                } else {
                    hash_children(*sibling, node)
                };
                index = parent;
            },
            Option::None => { break; },
        }
    };
    node
}

#[test]
#[available_gas(2000000000)]
fn gas_single_path_walk_depth_20() {
    let mut witness: Array<felt252> = array![];
    let mut level: u32 = 0;
    while level != 20 {
        witness.append((level + 1000).into());
        level += 1;
    };
    let before = get_available_gas();
    let root = walk_path(5, 0x5a5a5, witness.span());
    core::gas::withdraw_gas().unwrap();
    let spent = before - get_available_gas();
    println!("gas: bare path walk depth 20 (reference) = {}", spent);
    assert(root != 0, 'keep');
}
