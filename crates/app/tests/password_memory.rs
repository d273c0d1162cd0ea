//! A storm of sign-ins must not run the host out of memory: each Argon2 run
//! holds 19 MiB, so they are limited to one per core with a short queue, and
//! callers beyond it get 503 with Retry-After. This is its own test binary so
//! that the process's peak memory (VmHWM) is this test's alone.

#[path = "api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use helpers::{Backend, TestApp, PASSWORD};
use reqwest::StatusCode;
use serde_json::json;

// The server's allocator (src/main.rs), so the peak is the one it would see.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SIGN_INS: usize = 300;
const RSS_LIMIT_KIB: u64 = 300 * 1024;

/// A line of /proc/self/status, in KiB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_hundred_concurrent_sign_ins_stay_under_300_mb() {
    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        // Each sign-in comes from its own address, so the throttle lets
        // every one through to the password check.
        config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    // One hash for every account: the setup itself must not hash 300 times.
    let hash = regroup::auth::password::hash(PASSWORD).await.unwrap();
    for i in 0..SIGN_INS {
        app.store()
            .insert_account(
                regroup::store::NewAccount {
                    role: regroup::store::Role::Therapist,
                    name: "Storm Therapist",
                    email: &format!("t{i}@example.com"),
                    password_hash: &hash,
                    email_verified: true,
                },
                app.clock.unix(),
            )
            .await
            .unwrap();
    }
    let before = status_kib("VmRSS");
    let sign_ins = (0..SIGN_INS).map(|i| {
        let request = app
            .api
            .post(app.url("/api/v1/auth/login"))
            .header(
                "x-forwarded-for",
                format!("198.51.{}.{}", i / 250, i % 250 + 1),
            )
            .json(&json!({"email": format!("t{i}@example.com"), "password": PASSWORD}));
        async move { request.send().await.unwrap() }
    });
    let responses = futures_util::future::join_all(sign_ins).await;
    let peak = status_kib("VmHWM");
    let mut signed_in = 0;
    let mut busy = 0;
    for response in responses {
        match response.status() {
            StatusCode::OK => signed_in += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                assert!(response.headers().contains_key("retry-after"));
                let body: serde_json::Value = response.json().await.unwrap();
                assert_eq!(body["error"]["code"], "busy");
                busy += 1;
            }
            other => panic!("a sign-in answered {other}"),
        }
    }
    eprintln!(
        "{SIGN_INS} sign-ins: {signed_in} signed in, {busy} told to retry; \
         RSS before {} MiB, peak {} MiB",
        before / 1024,
        peak / 1024
    );
    assert!(
        signed_in >= 2,
        "the password check ran for too few sign-ins"
    );
    assert!(
        peak < RSS_LIMIT_KIB,
        "peak RSS {} MiB is over {} MiB",
        peak / 1024,
        RSS_LIMIT_KIB / 1024
    );
}
