//! The aggregate view of the analytics that operators read, in the shape the
//! API returns; the dashboard adds its charts on top of it.

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::{Breakdown, DayRange};

/// The longest range a summary covers.
pub const MAX_DAYS: i64 = 366;

#[derive(Serialize, ToSchema, Clone, Debug, Default)]
pub struct DeviceShare {
    pub mobile: f64,
    pub tablet: f64,
    pub desktop: f64,
}

#[derive(Serialize, ToSchema, Clone, Debug)]
pub struct PageCount {
    pub path: String,
    pub pageviews: i64,
}

#[derive(Serialize, ToSchema, Clone, Debug)]
pub struct ReferrerCount {
    pub host: String,
    pub visits: i64,
}

#[derive(Serialize, ToSchema, Clone, Debug)]
pub struct NamedCount {
    pub name: String,
    pub visitors: i64,
}

#[derive(Serialize, ToSchema, Clone, Debug)]
pub struct CampaignClicks {
    pub campaign: String,
    /// Tracked links sent (one per email and link).
    pub sent: i64,
    /// Of those, links clicked at least once.
    pub clicked: i64,
}

#[derive(Serialize, ToSchema, Clone, Debug)]
pub struct DayCount {
    pub date: String,
    pub visitors: i64,
    pub pageviews: i64,
}

/// People only; bots are counted in `bot_pageviews`. A visitor is one
/// browser on one day: the same person tomorrow is a new visitor.
#[derive(Serialize, ToSchema, Clone, Debug)]
pub struct Summary {
    pub from: String,
    pub to: String,
    pub visitors: i64,
    pub pageviews: i64,
    pub bot_pageviews: i64,
    /// Shares of visitors, from 0 to 1.
    pub device_share: DeviceShare,
    pub top_pages: Vec<PageCount>,
    pub referrers: Vec<ReferrerCount>,
    pub browsers: Vec<NamedCount>,
    pub operating_systems: Vec<NamedCount>,
    pub regions: Vec<NamedCount>,
    pub entry_pages: Vec<PageCount>,
    pub exit_pages: Vec<PageCount>,
    pub email_clicks: Vec<CampaignClicks>,
    pub daily: Vec<DayCount>,
}

pub fn day_number(date: NaiveDate) -> i64 {
    date.and_time(chrono::NaiveTime::MIN)
        .and_utc()
        .timestamp()
        .div_euclid(86_400)
}

pub fn date_of(day: i64) -> String {
    chrono::DateTime::from_timestamp(day * 86_400, 0)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// Reads `from`/`to` (`YYYY-MM-DD`, both included); defaults to the last 30 days.
pub fn range(state: &AppState, from: Option<&str>, to: Option<&str>) -> AppResult<DayRange> {
    let parse = |field: &str, raw: Option<&str>| -> AppResult<Option<i64>> {
        match raw.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(|d| Some(day_number(d)))
                .map_err(|_| AppError::invalid(field, "Give the date as YYYY-MM-DD.")),
        }
    };
    let today = state.clock.unix().div_euclid(86_400);
    let to = parse("to", to)?.unwrap_or(today);
    let from = parse("from", from)?.unwrap_or(to - 29);
    if from > to {
        return Err(AppError::invalid("from", "`from` must not be after `to`."));
    }
    if to - from >= MAX_DAYS {
        return Err(AppError::invalid(
            "from",
            "A summary covers at most 366 days.",
        ));
    }
    Ok(DayRange { from, to })
}

pub async fn summarize(state: &AppState, range: DayRange) -> AppResult<Summary> {
    let store = &state.store;
    let (pageviews, visitors, bots) = store.analytics_totals(range).await?;
    let devices = store
        .analytics_visitors_by(Breakdown::Device, range, 10)
        .await?;
    let device_total: i64 = devices.iter().map(|(_, n)| n).sum();
    let share = |name: &str| {
        let n = devices
            .iter()
            .find(|(d, _)| d == name)
            .map_or(0, |(_, n)| *n);
        if device_total == 0 {
            0.0
        } else {
            ((n as f64 / device_total as f64) * 10_000.0).round() / 10_000.0
        }
    };
    let pages = |rows: Vec<(String, i64)>| {
        rows.into_iter()
            .map(|(path, pageviews)| PageCount { path, pageviews })
            .collect::<Vec<_>>()
    };
    let named = |rows: Vec<(String, i64)>| {
        rows.into_iter()
            .map(|(name, visitors)| NamedCount { name, visitors })
            .collect::<Vec<_>>()
    };
    let from_unix = range.from * 86_400;
    let to_unix = (range.to + 1) * 86_400;
    Ok(Summary {
        from: date_of(range.from),
        to: date_of(range.to),
        visitors,
        pageviews,
        bot_pageviews: bots,
        device_share: DeviceShare {
            mobile: share("mobile"),
            tablet: share("tablet"),
            desktop: share("desktop"),
        },
        top_pages: pages(store.analytics_views_by(Breakdown::Path, range, 10).await?),
        referrers: store
            .analytics_views_by(Breakdown::Referrer, range, 10)
            .await?
            .into_iter()
            .map(|(host, visits)| ReferrerCount { host, visits })
            .collect(),
        browsers: named(
            store
                .analytics_visitors_by(Breakdown::Browser, range, 8)
                .await?,
        ),
        operating_systems: named(store.analytics_visitors_by(Breakdown::Os, range, 8).await?),
        regions: named(
            store
                .analytics_visitors_by(Breakdown::Region, range, 8)
                .await?,
        ),
        entry_pages: pages(store.analytics_entry_exit(true, range, 8).await?),
        exit_pages: pages(store.analytics_entry_exit(false, range, 8).await?),
        email_clicks: store
            .email_clicks(from_unix, to_unix)
            .await?
            .into_iter()
            .map(|(campaign, sent, clicked)| CampaignClicks {
                campaign,
                sent,
                clicked,
            })
            .collect(),
        daily: {
            let rows = store.analytics_daily(range).await?;
            (range.from..=range.to)
                .map(|day| {
                    let found = rows.iter().find(|(d, _, _)| *d == day);
                    DayCount {
                        date: date_of(day),
                        visitors: found.map_or(0, |r| r.1),
                        pageviews: found.map_or(0, |r| r.2),
                    }
                })
                .collect()
        },
    })
}
