//! A network of the test's own for Firefox. Firefox never pairs loopback ICE
//! candidates, so its media server needs a non-loopback address; tests may
//! not use the machine's. A test that needs one runs again, as a child
//! process of itself, inside a fresh network namespace (`unshare --net`)
//! that holds a veth pair with a test address. The server, the drivers and
//! the browsers all run in there; pages stay on 127.0.0.1 (a secure
//! context, which camera access needs), media goes to the test address.

use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;

const INSIDE: &str = "REGROUP_TEST_NETNS";

/// The media server's address inside the namespace.
pub const TEST_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 213, 0, 1));

/// Whether this process is the one inside the namespace.
pub fn inside() -> bool {
    std::env::var_os(INSIDE).is_some()
}

/// Runs the test named `test` (its full path in this binary) again inside
/// a namespace and asserts that it passed there. Returns without running
/// anything only where the kernel refuses namespaces to this user, saying so.
pub fn run_inside(test: &str) {
    let allowed = Command::new("unshare")
        .args(["--net", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !allowed {
        eprintln!("skipped {test}: cannot create a network namespace here (unshare --net needs root or user namespaces)");
        return;
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let status = Command::new("unshare")
        .args(["--net", "--"])
        .arg(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(INSIDE, "1")
        .status()
        .expect("unshare runs");
    assert!(
        status.success(),
        "{test} failed inside its network namespace"
    );
}

/// Inside: loopback up, a veth pair with the test address, a default route.
pub fn set_up_network() {
    let steps: [&[&str]; 6] = [
        &["link", "set", "lo", "up"],
        &["link", "add", "rg0", "type", "veth", "peer", "name", "rg1"],
        &["addr", "add", "10.213.0.1/24", "dev", "rg0"],
        &["link", "set", "rg0", "up"],
        &["link", "set", "rg1", "up"],
        // Browsers take a machine without a default route for offline.
        &["route", "add", "default", "dev", "rg0"],
    ];
    for args in steps {
        let ok = Command::new("ip")
            .args(args)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "ip {} failed", args.join(" "));
    }
}
