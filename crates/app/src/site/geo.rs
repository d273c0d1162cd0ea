//! Region and city of a page view from a MaxMind-format database that the
//! operator supplies. Nothing is looked up anywhere else; without a file,
//! page views carry no place.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use serde::Deserialize;

#[derive(Clone)]
pub struct GeoIp(Arc<maxminddb::Reader<Vec<u8>>>);

impl std::fmt::Debug for GeoIp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GeoIp")
    }
}

#[derive(Deserialize, Default)]
struct Named {
    #[serde(default)]
    names: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
struct Place {
    #[serde(default)]
    subdivisions: Vec<Named>,
    #[serde(default)]
    city: Named,
}

impl GeoIp {
    pub fn open(path: Option<&Path>) -> anyhow::Result<Option<Self>> {
        let Some(path) = path else {
            return Ok(None);
        };
        let reader = maxminddb::Reader::open_readfile(path)
            .with_context(|| format!("while opening the GeoIP database {}", path.display()))?;
        Ok(Some(Self(Arc::new(reader))))
    }

    /// (region, city) in English, when the database knows them.
    pub fn place(&self, addr: IpAddr) -> (Option<String>, Option<String>) {
        let found = self
            .0
            .lookup(addr)
            .ok()
            .and_then(|r| r.decode::<Place>().ok().flatten());
        let Some(place) = found else {
            return (None, None);
        };
        let english = |n: &Named| {
            n.names
                .get("en")
                .map(|s| s.chars().take(80).collect::<String>())
        };
        (
            place.subdivisions.first().and_then(english),
            english(&place.city),
        )
    }
}
