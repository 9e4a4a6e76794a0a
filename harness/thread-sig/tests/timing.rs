//! Measured costs (meaningful in release):
//! `cargo test --release -p zkthread-sig --test timing -- --nocapture`

use std::time::Instant;

use zkthread_sig::{
    commitment, permute, sign, verify, verify_trace, KeyCommitment, KeySeed, TransferMessage, M31,
};

fn per_op<T>(n: u32, mut f: impl FnMut(u32) -> T) -> f64 {
    let start = Instant::now();
    for k in 0..n {
        std::hint::black_box(f(k));
    }
    start.elapsed().as_secs_f64() / n as f64 * 1e6
}

#[test]
fn timing() {
    let seed = KeySeed::generate().expect("OS randomness");
    let n = if cfg!(debug_assertions) { 5 } else { 200 };
    let h = |v: u32| [M31::reduce(v); 4];
    let msg = |k: u32| TransferMessage {
        domain: h(1),
        from: h(2),
        to: zkthread_sig::AccountId { low: h(3), high: h(4) },
        amount: k as u128 * 1_000,
        nonce: k,
        next_key: KeyCommitment(h(k)),
    };
    let perm = per_op(n * 100, |k| permute([M31::reduce(k); 16]));
    let keygen = per_op(n, |k| commitment(&seed, k).unwrap());
    let sign_us = per_op(n, |k| sign(&seed, k, &msg(k)).unwrap());
    let keys: Vec<_> = (0..n).map(|k| commitment(&seed, k).unwrap()).collect();
    let sigs: Vec<_> = (0..n).map(|k| sign(&seed, k, &msg(k)).unwrap()).collect();
    let verify_us = per_op(n, |k| {
        verify(&keys[k as usize], &msg(k), &sigs[k as usize]).unwrap()
    });
    let trace_us = per_op(n, |k| {
        verify_trace(&keys[k as usize], &msg(k), &sigs[k as usize]).unwrap()
    });
    println!(
        "timing ({}; {n} ops each): permutation {perm:.2} us, keygen (commitment) {keygen:.0} us, \
         sign {sign_us:.0} us, verify {verify_us:.0} us, verify_trace {trace_us:.0} us",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
}
