//! Just enough HTTP/1.0 to talk JSON to Janus on loopback: one request per
//! connection, the server closes it after the reply.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::Value;

/// Sends `body` (POST) or nothing (GET) to `path` and parses the JSON reply.
pub fn request(
    addr: SocketAddr,
    path: &str,
    body: Option<&Value>,
    timeout: Duration,
) -> anyhow::Result<Value> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout).context("connecting to Janus")?;
    stream.set_read_timeout(Some(timeout))?;
    let payload = body.map(Value::to_string).unwrap_or_default();
    let method = if body.is_some() { "POST" } else { "GET" };
    let head = format!(
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        payload.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(payload.as_bytes())?;
    let mut reply = Vec::new();
    stream
        .read_to_end(&mut reply)
        .context("reading Janus's reply")?;
    parse_reply(&reply)
}

/// The JSON body of a 200 reply.
pub fn parse_reply(reply: &[u8]) -> anyhow::Result<Value> {
    let split = reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("an HTTP reply without a body")?;
    let status = std::str::from_utf8(&reply[..split])?
        .split_whitespace()
        .nth(1)
        .unwrap_or("?")
        .to_owned();
    if status != "200" {
        bail!("Janus answered HTTP {status}");
    }
    Ok(serde_json::from_slice(&reply[split + 4..])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_body_is_parsed_after_the_headers() {
        let ok = b"HTTP/1.0 200 OK\r\nContent-Length: 14\r\n\r\n{\"janus\":\"ack\"}";
        assert_eq!(parse_reply(ok).unwrap()["janus"], "ack");
        assert!(parse_reply(b"HTTP/1.0 404 Not Found\r\n\r\n{}").is_err());
        assert!(parse_reply(b"HTTP/1.0 200 OK\r\n").is_err());
    }
}
