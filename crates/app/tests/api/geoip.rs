//! Region and city from a tiny MaxMind-format database the test writes.

use reqwest::StatusCode;

use crate::helpers::{Backend, TestApp};

/// Writes a MaxMind DB (format 2.0, IPv4, 24-bit records) mapping 127.0.0.0/8
/// to Illinois / Chicago: just enough of the format for a real reader.
fn tiny_mmdb() -> Vec<u8> {
    fn str_(s: &str) -> Vec<u8> {
        let mut out = vec![(2 << 5) | s.len() as u8];
        out.extend(s.as_bytes());
        out
    }
    fn map(pairs: Vec<(&str, Vec<u8>)>) -> Vec<u8> {
        let mut out = vec![(7 << 5) | pairs.len() as u8];
        for (k, v) in pairs {
            out.extend(str_(k));
            out.extend(v);
        }
        out
    }
    fn array(items: Vec<Vec<u8>>) -> Vec<u8> {
        // Arrays are extended type 11: type bits 0, then 11 - 7.
        let mut out = vec![items.len() as u8, 4];
        for i in items {
            out.extend(i);
        }
        out
    }
    fn uint16(v: u16) -> Vec<u8> {
        let mut out = vec![(5 << 5) | 2];
        out.extend(v.to_be_bytes());
        out
    }
    fn uint32(v: u32) -> Vec<u8> {
        let mut out = vec![(6 << 5) | 4];
        out.extend(v.to_be_bytes());
        out
    }
    fn uint64(v: u64) -> Vec<u8> {
        // Extended type 9: 9 - 7 = 2.
        let mut out = vec![8, 2];
        out.extend(v.to_be_bytes());
        out
    }
    let names = |n: &str| map(vec![("names", map(vec![("en", str_(n))]))]);
    let data = map(vec![
        ("city", names("Chicago")),
        ("subdivisions", array(vec![names("Illinois")])),
    ]);
    // One node per bit of 127 (0b0111_1111); the eighth points at the data.
    let node_count: u32 = 8;
    let mut tree = Vec::new();
    for depth in 0..8u32 {
        let bit = (127u8 >> (7 - depth)) & 1;
        let next = if depth == 7 {
            node_count + 16 // data section offset 0
        } else {
            depth + 1
        };
        let (left, right) = if bit == 0 {
            (next, node_count)
        } else {
            (node_count, next)
        };
        tree.extend(&left.to_be_bytes()[1..]);
        tree.extend(&right.to_be_bytes()[1..]);
    }
    let mut db = tree;
    db.extend([0u8; 16]);
    db.extend(data);
    db.extend(b"\xAB\xCD\xEFMaxMind.com");
    db.extend(map(vec![
        ("node_count", uint32(node_count)),
        ("record_size", uint16(24)),
        ("ip_version", uint16(4)),
        ("database_type", str_("Regroup-Test-City")),
        ("languages", array(vec![str_("en")])),
        ("binary_format_major_version", uint16(2)),
        ("binary_format_minor_version", uint16(0)),
        ("build_epoch", uint64(1_700_000_000)),
        ("description", map(vec![("en", str_("test"))])),
    ]));
    db
}

async fn page_views_carry_region_and_city_from_the_configured_database(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("city.mmdb");
    std::fs::write(&path, tiny_mmdb()).unwrap();
    let app = TestApp::spawn_with(backend, |config| config.geoip_db = Some(path.clone())).await;
    let status = app
        .api
        .get(app.url("/privacy"))
        .header(
            "user-agent",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0 Safari/537.36",
        )
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::OK);
    let range = regroup::store::DayRange {
        from: 0,
        to: i64::MAX / 86_400,
    };
    let regions = app
        .store()
        .analytics_visitors_by(regroup::store::Breakdown::Region, range, 5)
        .await
        .unwrap();
    assert_eq!(regions, vec![("Illinois".to_string(), 1)]);
}

#[tokio::test]
async fn page_views_carry_region_and_city_on_sqlite() {
    page_views_carry_region_and_city_from_the_configured_database(Backend::Sqlite).await;
}

#[tokio::test]
async fn page_views_carry_region_and_city_on_postgres() {
    page_views_carry_region_and_city_from_the_configured_database(Backend::Postgres).await;
}
