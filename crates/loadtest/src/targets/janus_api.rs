//! Janus's HTTP API and VideoRoom requests, as the harness sends them
//! (janus-gateway 1.1, src/plugins/janus_videoroom.c). Pure builders, so the
//! messages are tested without a Janus.

use serde_json::{json, Value};

pub const VIDEOROOM: &str = "janus.plugin.videoroom";

/// `{"janus": kind, "transaction": …}` plus `extra` fields.
pub fn envelope(kind: &str, transaction: &str, extra: Value) -> Value {
    let mut m = json!({ "janus": kind, "transaction": transaction });
    if let (Some(m), Value::Object(extra)) = (m.as_object_mut(), extra) {
        m.extend(extra);
    }
    m
}

/// A plugin message with an optional JSEP.
pub fn message(transaction: &str, body: Value, jsep: Option<Value>) -> Value {
    let mut extra = json!({ "body": body });
    if let Some(j) = jsep {
        extra["jsep"] = j;
    }
    envelope("message", transaction, extra)
}

/// A room for `publishers` people with the codecs the peers send, the
/// audio-level and transport-wide-cc extensions as browsers negotiate them.
pub fn create_room(room: u64, publishers: usize) -> Value {
    json!({
        "request": "create",
        "room": room,
        "publishers": publishers,
        "audiocodec": "opus",
        "videocodec": "vp8",
        "audiolevel_ext": true,
        "transport_wide_cc_ext": true,
        // No REMB cap: bandwidth is the peers' business, as with the engine.
        "bitrate": 0,
    })
}

/// Joins as publisher `id` and publishes at once (`joinandconfigure`).
pub fn publish(room: u64, id: u64, display: &str) -> Value {
    json!({
        "request": "joinandconfigure",
        "ptype": "publisher",
        "room": room,
        "id": id,
        "display": display,
        "audio": true,
        "video": true,
    })
}

/// An SDP for Janus. The peers write simulcast layers low to high (q;h;f),
/// and Janus assumes high to low unless told (`rid_order`). No trickle:
/// the candidates are in the SDP.
pub fn jsep(kind: &str, sdp: &str, simulcast_low_first: bool) -> Value {
    let mut j = json!({ "type": kind, "sdp": sdp, "trickle": false });
    if simulcast_low_first {
        j["rid_order"] = json!("lmh");
    }
    j
}

/// Janus's substream for the web app's layer cap: 0 is the lowest, and
/// "no cap" is the highest of three.
pub fn substream(cap: Option<usize>) -> u64 {
    cap.map_or(2, |c| c.min(2) as u64)
}

/// One multistream subscription to all of `feeds` (every stream of each),
/// video at `substream`.
pub fn subscribe(room: u64, feeds: &[u64], substream: u64) -> Value {
    let streams: Vec<Value> = feeds
        .iter()
        .map(|f| json!({ "feed": f, "substream": substream }))
        .collect();
    json!({
        "request": "join",
        "ptype": "subscriber",
        "room": room,
        "streams": streams,
    })
}

/// The subscriber's answer goes with `start`.
pub fn start() -> Value {
    json!({ "request": "start" })
}

/// The plugin's data in a Janus reply or event, or the error it carries.
pub fn plugin_data(reply: &Value) -> Result<&Value, String> {
    if let Some(e) = reply.get("error") {
        return Err(format!("janus error {}", e));
    }
    let data = reply.pointer("/plugindata/data").ok_or_else(|| {
        format!(
            "no plugin data in {}",
            reply.get("janus").unwrap_or(&Value::Null)
        )
    })?;
    if let Some(e) = data.get("error") {
        return Err(format!("videoroom error {}: {}", data["error_code"], e));
    }
    Ok(data)
}

/// The `data.id` of a `create` or `attach` success.
pub fn new_id(reply: &Value) -> Result<u64, String> {
    if let Some(e) = reply.get("error") {
        return Err(format!("janus error {e}"));
    }
    reply
        .pointer("/data/id")
        .and_then(Value::as_u64)
        .ok_or_else(|| "no id in the reply".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_publish_message_carries_the_offer_with_low_first_rids() {
        let m = message("t1", publish(7, 3, "p03"), Some(jsep("offer", "v=0", true)));
        assert_eq!(m["janus"], "message");
        assert_eq!(m["transaction"], "t1");
        assert_eq!(m["body"]["request"], "joinandconfigure");
        assert_eq!(m["body"]["ptype"], "publisher");
        assert_eq!(
            (m["body"]["room"].as_u64(), m["body"]["id"].as_u64()),
            (Some(7), Some(3))
        );
        assert_eq!(m["jsep"]["type"], "offer");
        assert_eq!(m["jsep"]["trickle"], false);
        assert_eq!(m["jsep"]["rid_order"], "lmh");
        assert!(message("t", start(), None).get("jsep").is_none());
    }

    #[test]
    fn a_subscription_names_every_other_feed_at_the_app_layer() {
        let body = subscribe(7, &[1, 3], substream(Some(0)));
        assert_eq!(body["ptype"], "subscriber");
        assert_eq!(body["streams"].as_array().map(Vec::len), Some(2));
        assert_eq!(body["streams"][1]["feed"], 3);
        assert_eq!(body["streams"][0]["substream"], 0);
        assert_eq!(substream(None), 2);
        assert_eq!(substream(Some(1)), 1);
    }

    #[test]
    fn replies_give_ids_data_or_errors() {
        let ok: Value = serde_json::from_str(r#"{"janus":"success","data":{"id":99}}"#).unwrap();
        assert_eq!(new_id(&ok), Ok(99));
        let err: Value = serde_json::from_str(
            r#"{"janus":"success","plugindata":{"plugin":"janus.plugin.videoroom","data":{"videoroom":"event","error_code":427,"error":"Room exists"}}}"#,
        )
        .unwrap();
        assert!(plugin_data(&err).unwrap_err().contains("427"));
        let created: Value = serde_json::from_str(
            r#"{"janus":"success","plugindata":{"plugin":"janus.plugin.videoroom","data":{"videoroom":"created","room":7}}}"#,
        )
        .unwrap();
        assert_eq!(plugin_data(&created).unwrap()["videoroom"], "created");
        let env = envelope("attach", "t2", json!({ "plugin": VIDEOROOM }));
        assert_eq!(
            (env["janus"].as_str(), env["plugin"].as_str()),
            (Some("attach"), Some(VIDEOROOM))
        );
    }
}
