//! `regroup-sfu-server`: Regroup's media engine in a process of its own, for
//! `room-load compare`. It binds UDP on 127.0.0.1 (a free port), writes
//! `{"type":"ready","udp":…}` and then serves the JSON-lines protocol of
//! `regroup_loadtest::control` on stdin/stdout until stdin closes.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use anyhow::Context;
use regroup_loadtest::control::{to_line, Message, Request};
use regroup_sfu::{Event, Sfu, SfuConfig, SfuHandle};
use tokio::sync::mpsc;

// The allocator of the `regroup` server, in which the engine runs for real.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Silent unless asked: stdout carries the protocol, the log goes to stderr.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    match serve() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("regroup-sfu-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve() -> anyhow::Result<()> {
    let workers = std::env::args()
        .nth(1)
        .map(|w| w.parse::<usize>())
        .transpose()
        .context("usage: regroup-sfu-server [WORKERS]")?
        .unwrap_or(SfuConfig::default().workers);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    let (sfu, mut events) = Sfu::start(SfuConfig {
        udp_addr: "127.0.0.1:0".parse()?,
        tcp_addr: None,
        workers,
        ..SfuConfig::default()
    })?;
    emit(&Message::Ready {
        udp: sfu.udp_addr(),
    })?;
    let (tx, mut requests) = mpsc::unbounded_channel();
    // stdin blocks, so a plain thread reads it; its end closes the channel.
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            match serde_json::from_str::<Request>(&line) {
                Ok(r) => {
                    if tx.send(r).is_err() {
                        break;
                    }
                }
                Err(e) => eprintln!("regroup-sfu-server: a request that is not JSON: {e}"),
            }
        }
    });
    rt.block_on(async {
        loop {
            tokio::select! {
                r = requests.recv() => match r {
                    Some(r) => emit(&handle(&sfu, r).await)?,
                    None => break,
                },
                e = events.recv() => match e {
                    Some(e) => if let Some(m) = forward(e) { emit(&m)? },
                    None => anyhow::bail!("the engine stopped"),
                },
            }
        }
        Ok::<(), anyhow::Error>(())
    })?;
    sfu.shutdown();
    Ok(())
}

async fn handle(sfu: &SfuHandle, r: Request) -> Message {
    let (id, result) = match r {
        Request::Join {
            id,
            room,
            participant,
            sdp,
        } => (id, sfu.join(room, participant, sdp).await.map(Some)),
        Request::Answer {
            id,
            room,
            participant,
            sdp,
        } => (id, sfu.answer(room, participant, sdp).await.map(|()| None)),
        Request::Layer {
            id,
            room,
            participant,
            layer,
        } => (
            id,
            sfu.set_preferred_layer(room, participant, layer)
                .await
                .map(|()| None),
        ),
    };
    match result {
        Ok(sdp) => Message::Reply {
            id,
            sdp,
            error: None,
        },
        Err(e) => Message::Reply {
            id,
            sdp: None,
            error: Some(e.to_string()),
        },
    }
}

/// The events the harness acts on; the rest (speaker, tracks) it ignores.
fn forward(e: Event) -> Option<Message> {
    match e {
        Event::Offer {
            room,
            participant,
            sdp,
        } => Some(Message::Offer {
            room: room.0,
            participant: participant.0,
            sdp,
        }),
        Event::Disconnected {
            room,
            participant,
            reason,
        } => Some(Message::Disconnected {
            room: room.0,
            participant: participant.0,
            reason: format!("{reason:?}"),
        }),
        _ => None,
    }
}

fn emit(m: &Message) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(to_line(m).as_bytes())?;
    out.flush().context("writing to the harness")
}
