//! The engine as the bench's room driver sees it: join, answer, cap a layer,
//! and the events that need a reply. Implemented in-process (`SfuHandle`, for
//! `room-load` alone) and over the control channel of `regroup-sfu-server`
//! (for `room-load compare`, where the engine's CPU is its process's).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc as std_mpsc, Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use regroup_sfu::{Event, EventReceiver, SfuHandle};
use tokio::sync::{mpsc, oneshot};

use crate::control::{to_line, Message, Request};

/// Engine events the room driver must act on.
#[derive(Debug)]
pub enum EngineEvent {
    Offer {
        room: String,
        participant: String,
        sdp: String,
    },
    Disconnected {
        room: String,
        participant: String,
        reason: String,
    },
}

#[allow(async_fn_in_trait)] // Used with static dispatch inside this crate only.
pub trait Engine {
    async fn join(&self, room: &str, participant: &str, offer: String) -> anyhow::Result<String>;
    /// `Err` when the engine refused the answer (e.g. a superseded offer).
    async fn answer(&self, room: &str, participant: &str, sdp: String) -> anyhow::Result<()>;
    async fn set_layer(
        &self,
        room: &str,
        participant: &str,
        cap: Option<usize>,
    ) -> anyhow::Result<()>;
    /// `None` once the engine has stopped.
    async fn next_event(&mut self) -> Option<EngineEvent>;
    fn shutdown(&mut self);
}

/// The engine inside the bench's own process.
pub struct InProcess {
    pub sfu: SfuHandle,
    pub events: EventReceiver,
}

impl Engine for InProcess {
    async fn join(&self, room: &str, participant: &str, offer: String) -> anyhow::Result<String> {
        Ok(self.sfu.join(room, participant, offer).await?)
    }

    async fn answer(&self, room: &str, participant: &str, sdp: String) -> anyhow::Result<()> {
        Ok(self.sfu.answer(room, participant, sdp).await?)
    }

    async fn set_layer(
        &self,
        room: &str,
        participant: &str,
        cap: Option<usize>,
    ) -> anyhow::Result<()> {
        Ok(self.sfu.set_preferred_layer(room, participant, cap).await?)
    }

    async fn next_event(&mut self) -> Option<EngineEvent> {
        loop {
            match self.events.recv().await? {
                Event::Offer {
                    room,
                    participant,
                    sdp,
                } => {
                    return Some(EngineEvent::Offer {
                        room: room.0,
                        participant: participant.0,
                        sdp,
                    })
                }
                Event::Disconnected {
                    room,
                    participant,
                    reason,
                } => {
                    return Some(EngineEvent::Disconnected {
                        room: room.0,
                        participant: participant.0,
                        reason: format!("{reason:?}"),
                    })
                }
                _ => {}
            }
        }
    }

    fn shutdown(&mut self) {
        self.sfu.shutdown();
    }
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Option<String>, String>>>>>;

/// `regroup-sfu-server` as a child process.
pub struct Remote {
    child: Child,
    stdin: Option<ChildStdin>,
    pending: Pending,
    next_id: AtomicU64,
    events: mpsc::UnboundedReceiver<EngineEvent>,
}

impl Remote {
    /// Starts the server at `program` with `workers` engine workers and
    /// waits for it to say where it listens.
    pub fn start(program: &Path, workers: usize) -> anyhow::Result<Remote> {
        let mut child = Command::new(program)
            .arg(workers.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().context("no stdout")?;
        let pending: Pending = Arc::default();
        let (events_tx, events) = mpsc::unbounded_channel();
        let (ready_tx, ready) = std_mpsc::channel();
        let replies = pending.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let Ok(message) = serde_json::from_str::<Message>(&line) else {
                    eprintln!("regroup-sfu-server said something unexpected");
                    continue;
                };
                match message {
                    Message::Ready { udp } => {
                        let _ = ready_tx.send(udp);
                    }
                    Message::Reply { id, sdp, error } => {
                        let waiter = replies
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .remove(&id);
                        if let Some(w) = waiter {
                            let _ = w.send(error.map_or(Ok(sdp), Err));
                        }
                    }
                    Message::Offer {
                        room,
                        participant,
                        sdp,
                    } => {
                        let _ = events_tx.send(EngineEvent::Offer {
                            room,
                            participant,
                            sdp,
                        });
                    }
                    Message::Disconnected {
                        room,
                        participant,
                        reason,
                    } => {
                        let _ = events_tx.send(EngineEvent::Disconnected {
                            room,
                            participant,
                            reason,
                        });
                    }
                }
            }
        });
        // The peers learn the address from the engine's answers.
        let _udp: SocketAddr = ready
            .recv_timeout(Duration::from_secs(10))
            .context("regroup-sfu-server did not start")?;
        Ok(Remote {
            child,
            stdin,
            pending,
            next_id: AtomicU64::new(1),
            events,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    async fn call(&self, make: impl FnOnce(u64) -> Request) -> anyhow::Result<Option<String>> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, tx);
        let mut stdin = self.stdin.as_ref().context("the server is stopped")?;
        stdin
            .write_all(to_line(&make(id)).as_bytes())
            .context("writing to regroup-sfu-server")?;
        rx.await
            .context("regroup-sfu-server stopped")?
            .map_err(|e| anyhow!("the engine refused: {e}"))
    }
}

impl Engine for Remote {
    async fn join(&self, room: &str, participant: &str, offer: String) -> anyhow::Result<String> {
        let answer = self
            .call(|id| Request::Join {
                id,
                room: room.into(),
                participant: participant.into(),
                sdp: offer,
            })
            .await?;
        answer.context("a join reply without an answer")
    }

    async fn answer(&self, room: &str, participant: &str, sdp: String) -> anyhow::Result<()> {
        self.call(|id| Request::Answer {
            id,
            room: room.into(),
            participant: participant.into(),
            sdp,
        })
        .await
        .map(drop)
    }

    async fn set_layer(
        &self,
        room: &str,
        participant: &str,
        cap: Option<usize>,
    ) -> anyhow::Result<()> {
        self.call(|id| Request::Layer {
            id,
            room: room.into(),
            participant: participant.into(),
            layer: cap,
        })
        .await
        .map(drop)
    }

    async fn next_event(&mut self) -> Option<EngineEvent> {
        self.events.recv().await
    }

    fn shutdown(&mut self) {
        // Closing stdin ends the server; kill it if it does not go.
        self.stdin = None;
        for _ in 0..50 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A sibling binary of the running one (`regroup-sfu-server`, `udp-relay`):
/// cargo builds them into the same directory.
pub fn sibling(name: &str) -> anyhow::Result<std::path::PathBuf> {
    let me = std::env::current_exe()?;
    let dir = me.parent().context("no directory")?;
    // Tests run from target/*/deps; the binaries sit one level up.
    for d in [dir, dir.parent().unwrap_or(dir)] {
        let p = d.join(name);
        if p.exists() {
            return Ok(p);
        }
    }
    bail!(
        "{name} is not built next to {}: cargo build --release -p regroup-loadtest",
        me.display()
    )
}
