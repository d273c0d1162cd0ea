//! What the server logs about a request: a request id and the route's
//! template, never the path itself, which may hold ids and tokens.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Runs `regroup serve` with every request line logged, asks for a join
/// link, and reads what it logged (to standard output).
#[tokio::test]
async fn request_logs_name_the_route_and_never_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server(
        Command::new(env!("CARGO_BIN_EXE_regroup"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(["--media-udp", "127.0.0.1:0", "--media-tcp", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(dir.path())
            .env_remove("REGROUP_DATABASE_URL")
            .env_remove("REGROUP_MASTER_KEY")
            .env("RUST_LOG", "info,tower_http=debug")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (lines, log) = mpsc::channel();
    let stdout = server.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let mut next_line = |what: &str| {
        let line = log
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no {what} in the log within 30 s:\n{}", seen.join("\n")));
        seen.push(line.clone());
        (line, seen.join("\n"))
    };
    let base = loop {
        let (line, _) = next_line("start-up line");
        if let Some(at) = line.find("open http://") {
            // The URL, then the line's fields (`node=…`).
            let url = line[at + "open ".len()..].split_whitespace().next();
            break url.unwrap_or_default().trim_end_matches('/').to_owned();
        }
    };

    let token = "tok3nThatMustNotBeLogged";
    let answer = reqwest::get(format!("{base}/join/{token}")).await.unwrap();
    assert!(answer.status().is_client_error(), "{}", answer.status());
    let all = loop {
        let (line, all) = next_line("finished request");
        if line.contains("finished processing request") {
            break all;
        }
    };
    drop(server);

    assert!(all.contains("/join/{token}"), "{all}");
    assert!(all.contains("request{id="), "{all}");
    assert!(!all.contains(token), "{all}");
}

/// Stops the server however the test ends.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}
