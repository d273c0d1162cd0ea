//! First-party analytics, recorded on the server as pages are served. Nothing
//! stored identifies a person: the address and the full user agent only feed
//! keyed hashes whose key (the day's salt) is deleted after 48 hours, so a
//! visitor today cannot be linked to yesterday's, nor back to an address.
//! Page views themselves are deleted after the retention period the operator
//! sets (`--analytics-retention-days`).

use std::net::IpAddr;
use std::sync::LazyLock;

use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::Response;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::peer_addr::RequestAddr;
use crate::state::AppState;
use crate::store::PageView;

/// Page views recorded per visitor and day; more are dropped, not refused.
pub const VIEWS_PER_VISITOR_DAY: i64 = 300;
/// Page views recorded per address (an IPv6 /64) and day, whatever user
/// agents it sends: a client rotating agents is many "visitors" but one
/// address. Higher than the visitor cap, for offices behind one NAT.
pub const VIEWS_PER_ADDRESS_DAY: i64 = 600;
/// How long page views are kept unless the operator says otherwise: 13
/// months, so a year can be compared with the one before.
pub const DEFAULT_RETENTION_DAYS: u32 = 395;
/// Salts older than this are deleted by housekeeping (and on every rotation).
pub const SALT_LIFETIME_SECS: i64 = 48 * 3600;
/// Inputs longer than these are cut before parsing: a forged header cannot
/// make the parser or the database work hard.
const MAX_UA: usize = 512;
const MAX_PATH: usize = 200;
const MAX_HOST: usize = 100;

static PARSER: LazyLock<woothee::parser::Parser> = LazyLock::new(woothee::parser::Parser::new);

/// Browser family, OS family and device class of a user agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agent {
    pub browser: String,
    pub os: String,
    pub device: &'static str,
}

fn cut(value: &str, max: usize) -> &str {
    match value.char_indices().nth(max) {
        Some((i, _)) => &value[..i],
        None => value,
    }
}

/// Classifies a user agent with woothee; tablets are told apart from phones
/// by the markers woothee folds together (iPad; Android without "Mobile").
pub fn classify(user_agent: &str) -> Agent {
    let ua = cut(user_agent, MAX_UA);
    if ua.trim().is_empty() {
        // Every browser names itself; a request without a name is a program.
        return Agent {
            browser: "Other".into(),
            os: "Other".into(),
            device: "bot",
        };
    }
    let Some(parsed) = PARSER.parse(ua) else {
        return Agent {
            browser: "Other".into(),
            os: "Other".into(),
            device: "desktop",
        };
    };
    let known = |s: &str| {
        if s.is_empty() || s == "UNKNOWN" {
            "Other".to_string()
        } else {
            cut(s, 40).to_string()
        }
    };
    let device = match parsed.category {
        _ if parsed.name == "HTTP Library" => "bot",
        "crawler" => "bot",
        "smartphone" | "mobilephone" => {
            let tablet = ua.contains("iPad")
                || ua.contains("Tablet")
                || (ua.contains("Android") && !ua.contains("Mobile"));
            if tablet {
                "tablet"
            } else {
                "mobile"
            }
        }
        _ => "desktop",
    };
    let lowered = ua.to_ascii_lowercase();
    let device = if device != "bot"
        && [
            "bot",
            "crawler",
            "spider",
            "headlesschrome",
            "curl/",
            "wget/",
            "python-requests",
        ]
        .iter()
        .any(|m| lowered.contains(m))
    {
        "bot"
    } else {
        device
    };
    Agent {
        browser: known(parsed.name),
        os: known(parsed.os),
        device,
    }
}

fn looks_secret(segment: &str) -> bool {
    segment.len() >= 16 && segment.chars().any(|c| c.is_ascii_digit())
}

/// The path as recorded: ids and tokens replaced by placeholders, the query
/// dropped except for `utm_*` campaign parameters. Returns `None` for paths
/// that are not recorded at all (API, assets, the operators' console).
pub fn recorded_path(path: &str, query: Option<&str>) -> Option<String> {
    // `/calendar/` is read by calendar apps, and its path is a secret.
    const SKIP: [&str; 7] = [
        "/api/",
        "/static/",
        "/admin",
        "/dev/",
        "/health",
        "/r/",
        "/calendar/",
    ];
    if SKIP.iter().any(|p| path.starts_with(p)) {
        return None;
    }
    let mut out = String::new();
    let mut previous = "";
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        out.push('/');
        let redacted = match previous {
            "join" | "verify-email" | "reset-password" | "confirm-email" | "unsubscribe" => {
                Some(":token")
            }
            "clients" | "sessions" | "support" | "tickets" => Some(":id"),
            _ if looks_secret(segment) => Some(":id"),
            _ => None,
        };
        match redacted {
            Some(placeholder) if segment != "new" => out.push_str(placeholder),
            _ => out.extend(
                segment
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c)),
            ),
        }
        previous = segment;
    }
    if out.is_empty() {
        out.push('/');
    }
    let utm: Vec<String> = query
        .unwrap_or("")
        .split('&')
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            let key = key.to_ascii_lowercase();
            let clean: String = value
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
                .take(40)
                .collect();
            (key.starts_with("utm_") && key.len() <= 20 && !clean.is_empty())
                .then(|| format!("{key}={clean}"))
        })
        .take(5)
        .collect();
    if !utm.is_empty() {
        out.push('?');
        out.push_str(&utm.join("&"));
    }
    Some(cut(&out, MAX_PATH).to_string())
}

/// The host of the referring page, when it is another site.
pub fn referrer_host(referer: Option<&str>, own_host: Option<&str>) -> Option<String> {
    let url = url::Url::parse(cut(referer?, 2048)).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let host = url
        .host_str()?
        .trim_start_matches("www.")
        .to_ascii_lowercase();
    if host.is_empty() || host.len() > MAX_HOST || Some(host.as_str()) == own_host {
        return None;
    }
    Some(host)
}

/// HMAC(salt, address group, user agent): the same for one browser all day,
/// and meaningless once the salt is gone.
pub fn visitor_hash(salt: &[u8], addr: IpAddr, user_agent: &str) -> String {
    // HMAC takes keys of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(salt).expect("HMAC accepts any key length");
    mac.update(addr.to_string().as_bytes());
    mac.update(&[0]);
    mac.update(cut(user_agent, MAX_UA).as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

/// HMAC(salt, address group) alone: the key of the per-address cap. An IPv6
/// client holds a whole /64, so that is one address here.
pub fn address_hash(salt: &[u8], addr: IpAddr) -> String {
    let group = match addr {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    };
    // HMAC takes keys of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(salt).expect("HMAC accepts any key length");
    mac.update(b"address");
    mac.update(&[0]);
    mac.update(group.as_bytes());
    format!("a:{}", hex::encode(&mac.finalize().into_bytes()[..16]))
}

/// Day number and start of the hour of a Unix time.
pub fn day_and_hour(unix: i64) -> (i64, i64) {
    (unix.div_euclid(86_400), unix - unix.rem_euclid(3600))
}

/// Middleware: after a successful HTML page, records the view. Recording
/// never changes the response: a failure is logged (without the address or
/// user agent) and forgotten.
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let candidate = (request.method() == Method::GET)
        .then(|| recorded_path(request.uri().path(), request.uri().query()))
        .flatten();
    let Some(path) = candidate else {
        return next.run(request).await;
    };
    let headers = request.headers();
    let text = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let user_agent = text(header::USER_AGENT);
    let referer = text(header::REFERER);
    let addr = request
        .extensions()
        .get::<RequestAddr>()
        .map(|a| a.0)
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let response = next.run(request).await;
    let is_page = response.status().is_success()
        && response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html"));
    if is_page {
        let own = state.settings.public_url.host_str().map(str::to_owned);
        let referrer = referrer_host(
            Some(&referer).filter(|r| !r.is_empty()).map(|r| r.as_str()),
            own.as_deref(),
        );
        if let Err(err) = store_view(&state, &path, referrer.as_deref(), addr, &user_agent).await {
            tracing::warn!(error = %err, "could not record a page view");
        }
    }
    response
}

async fn store_view(
    state: &AppState,
    path: &str,
    referrer: Option<&str>,
    addr: IpAddr,
    user_agent: &str,
) -> anyhow::Result<()> {
    let now = state.clock.unix();
    let (day, hour) = day_and_hour(now);
    let salt = state.store.analytics_salt(day, now).await?;
    let address = address_hash(&salt, addr);
    if state.store.count_analytics_view(day, &address).await? > VIEWS_PER_ADDRESS_DAY {
        return Ok(());
    }
    let visitor = visitor_hash(&salt, addr, user_agent);
    if state.store.count_analytics_view(day, &visitor).await? > VIEWS_PER_VISITOR_DAY {
        return Ok(());
    }
    let agent = classify(user_agent);
    let (region, city) = match &state.settings.geoip {
        Some(geo) if agent.device != "bot" => geo.place(addr),
        _ => (None, None),
    };
    state
        .store
        .insert_page_view(&PageView {
            day,
            hour,
            visitor: &visitor,
            path,
            referrer_host: referrer,
            browser: &agent.browser,
            os: &agent.os,
            device: agent.device,
            region: region.as_deref(),
            city: city.as_deref(),
        })
        .await?;
    Ok(())
}

/// Deletes salts past their lifetime (and any for days before yesterday),
/// with the view counts keyed by them.
pub async fn purge_salts(state: &AppState) -> anyhow::Result<u64> {
    let now = state.clock.unix();
    let (today, _) = day_and_hour(now);
    state.store.purge_analytics_counts(today - 1).await?;
    Ok(state
        .store
        .purge_analytics_salts(now - SALT_LIFETIME_SECS, today - 1)
        .await?)
}

/// Deletes page views older than the retention period.
pub async fn purge_views(state: &AppState) -> anyhow::Result<u64> {
    let (today, _) = day_and_hour(state.clock.unix());
    let keep = i64::from(state.settings.analytics_retention_days);
    Ok(state.store.purge_page_views(today - keep).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1";
    const IPAD: &str = "Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1";
    const DESKTOP: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
    const ANDROID_TABLET: &str = "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

    #[test]
    fn phones_tablets_desktops_and_bots_are_told_apart() {
        assert_eq!(classify(IPHONE).device, "mobile");
        assert_eq!(classify(IPAD).device, "tablet");
        assert_eq!(classify(ANDROID_TABLET).device, "tablet");
        assert_eq!(classify(DESKTOP).device, "desktop");
        assert_eq!(classify(DESKTOP).browser, "Chrome");
        assert_eq!(classify(DESKTOP).os, "Windows 10");
        assert_eq!(
            classify("Googlebot/2.1 (+http://www.google.com/bot.html)").device,
            "bot"
        );
        assert_eq!(classify(&"x".repeat(100_000)).browser, "Other");
        assert_eq!(classify("").device, "bot");
    }

    #[test]
    fn secrets_and_ids_in_paths_are_redacted() {
        let p = |path: &str, q: Option<&str>| recorded_path(path, q).unwrap_or_default();
        assert_eq!(p("/join/abcDEF123ghiJKL456", None), "/join/:token");
        assert_eq!(
            p("/clients/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", None),
            "/clients/:id"
        );
        assert_eq!(p("/clients/new", None), "/clients/new");
        assert_eq!(
            p("/privacy", Some("utm_source=news&email=a@b.c")),
            "/privacy?utm_source=news"
        );
        assert_eq!(p("/", Some("q=secret")), "/");
        assert!(recorded_path("/api/v1/me", None).is_none());
        assert!(recorded_path("/admin", None).is_none());
    }

    #[test]
    fn referrers_keep_only_other_hosts() {
        assert_eq!(
            referrer_host(Some("https://www.Example.org/a?b=c"), Some("regroup.test")),
            Some("example.org".into())
        );
        assert_eq!(
            referrer_host(Some("https://regroup.test/x"), Some("regroup.test")),
            None
        );
        assert_eq!(referrer_host(Some("javascript:alert(1)"), None), None);
        assert_eq!(referrer_host(Some(&"h".repeat(5000)), None), None);
    }

    #[test]
    fn the_visitor_hash_changes_with_the_salt() {
        let addr: IpAddr = "203.0.113.7".parse().unwrap();
        let a = visitor_hash(b"salt-1", addr, DESKTOP);
        assert_eq!(a, visitor_hash(b"salt-1", addr, DESKTOP));
        assert_ne!(a, visitor_hash(b"salt-2", addr, DESKTOP));
        assert!(!a.contains("203"));
    }

    #[test]
    fn the_address_hash_ignores_the_agent_and_the_host_part_of_an_ipv6_address() {
        let v4: IpAddr = "203.0.113.7".parse().unwrap();
        assert_eq!(address_hash(b"s", v4), address_hash(b"s", v4));
        assert_ne!(
            address_hash(b"s", v4),
            address_hash(b"s", "203.0.113.8".parse().unwrap())
        );
        assert_ne!(address_hash(b"s", v4), address_hash(b"t", v4));
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_hash(b"s", a), address_hash(b"s", b));
        assert_ne!(address_hash(b"s", a), address_hash(b"s", other));
        let mapped: IpAddr = "::ffff:203.0.113.7".parse().unwrap();
        assert_eq!(address_hash(b"s", mapped), address_hash(b"s", v4));
        assert!(!address_hash(b"s", v4).contains("203"));
    }
}
