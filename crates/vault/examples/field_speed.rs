//! How long sealing and opening one short field takes: the work a client
//! list does twice per client (name and email). Prints nanoseconds per call.
//!
//!     cargo run --release -p regroup-vault --example field_speed

use std::hint::black_box;
use std::time::Instant;

use regroup_vault::{DataKey, FieldContext};

const ROUNDS: u32 = 200_000;

fn per_call(mut work: impl FnMut()) -> f64 {
    // One pass to warm caches and the allocator, then the measured pass.
    for _ in 0..ROUNDS / 10 {
        work();
    }
    let started = Instant::now();
    for _ in 0..ROUNDS {
        work();
    }
    started.elapsed().as_nanos() as f64 / f64::from(ROUNDS)
}

fn main() {
    let key = DataKey::generate();
    // Ids shaped like the application's (UUIDs), a typical email.
    let ctx = FieldContext {
        owner: "019ad2f4-6c1e-7d39-9a51-3f0e2b7c8d41",
        table: "clients",
        column: "email",
        row_id: "019ad2f5-0b7a-7e12-8c3d-5a6b9e0f1c27",
    };
    let email = "client17@example.org";
    let sealed = key.seal_str(&ctx, email);
    assert_eq!(key.open_str(&ctx, &sealed).unwrap(), email);
    let seal = per_call(|| {
        black_box(key.seal_str(black_box(&ctx), black_box(email)));
    });
    let open = per_call(|| {
        black_box(key.open_str(black_box(&ctx), black_box(&sealed)).unwrap());
    });
    println!("seal_str, {} bytes: {seal:.0} ns", email.len());
    println!("open_str, {} bytes: {open:.0} ns", email.len());
}
