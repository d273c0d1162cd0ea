//! Where a room lives: on the node holding its lease, or, when nobody holds
//! one, on the live node with the fewest participants that is not draining.
//! Pages give browsers the chosen node's socket URL; a socket that still
//! reaches the wrong node is told where to go (`moved`) and closed.

use std::hash::{Hash, Hasher};

use crate::ids::SessionId;
use crate::state::AppState;

/// The socket URL on another node for the room of `session_id`, or `None`
/// when this node holds the room or should start it. `path` is the
/// socket's path (`/join/…/ws`).
pub async fn elsewhere(
    state: &AppState,
    session_id: &SessionId,
    path: &str,
) -> Result<Option<String>, sqlx::Error> {
    if state.rooms.is_live(session_id) {
        return Ok(None);
    }
    let now = state.clock.unix();
    if let Some((node, url)) = state.store.room_holder(session_id, now).await? {
        return Ok((node != state.node.id)
            .then(|| socket_url(&url, path))
            .flatten());
    }
    let nodes = state.store.nodes().await?;
    // Fewest participants, then fewest rooms; ties broken by a hash of the
    // session and the node, so equally idle nodes share new rooms evenly
    // and every node makes the same choice for the same session.
    let best = nodes
        .iter()
        .filter(|n| n.is_alive(now) && !n.is_draining())
        .min_by_key(|n| (n.participants, n.rooms, tie_break(session_id, &n.id)));
    Ok(match best {
        Some(node) if node.id != state.node.id => socket_url(&node.url, path),
        _ => None,
    })
}

fn tie_break(session_id: &SessionId, node_id: &str) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (session_id, node_id).hash(&mut hasher);
    hasher.finish()
}

/// `ws(s)://` + the node's URL (which may carry a path prefix a proxy
/// routes by) + `path`.
pub fn socket_url(node_url: &str, path: &str) -> Option<String> {
    let rest = node_url
        .strip_prefix("https://")
        .map(|r| format!("wss://{r}"))
        .or_else(|| {
            node_url
                .strip_prefix("http://")
                .map(|r| format!("ws://{r}"))
        })?;
    Some(format!("{}{path}", rest.trim_end_matches('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_urls_keep_the_node_prefix_and_swap_the_scheme() {
        assert_eq!(
            socket_url("https://regroup.example/n/east-2/", "/join/abc/ws").as_deref(),
            Some("wss://regroup.example/n/east-2/join/abc/ws")
        );
        assert_eq!(
            socket_url("http://127.0.0.1:8081/", "/sessions/x/ws").as_deref(),
            Some("ws://127.0.0.1:8081/sessions/x/ws")
        );
        assert_eq!(socket_url("ftp://x/", "/a"), None);
    }
}
