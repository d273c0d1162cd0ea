//! The analytics dashboard: the site's traffic over a date range, as charts.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use serde::Deserialize;

use super::super::{charts, render, Nav};
use crate::auth::csrf::CsrfToken;
use crate::auth::operator::PageOperator;
use crate::error::AppResult;
use crate::extract::QueryString;
use crate::site::summary::{self, NamedCount, PageCount, Summary};
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub(super) struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
}

#[derive(Template)]
#[template(path = "admin_dashboard.html")]
struct Dashboard {
    nav: Nav,
    s: Summary,
    daily_svg: String,
    device_svg: String,
    pages_svg: String,
    referrers_svg: String,
    browsers_svg: String,
    os_svg: String,
    entry_svg: String,
    exit_svg: String,
    regions_svg: String,
    paths: Vec<(String, String, i64)>,
    error: Option<String>,
}

impl Dashboard {
    fn pct(&self, clicked: &i64, sent: &i64) -> String {
        if *sent == 0 {
            "–".into()
        } else {
            format!("{:.0}%", *clicked as f64 * 100.0 / *sent as f64)
        }
    }

    fn views_per_visitor(&self) -> String {
        if self.s.visitors == 0 {
            "–".into()
        } else {
            format!("{:.1}", self.s.pageviews as f64 / self.s.visitors as f64)
        }
    }

    fn mobile_pct(&self) -> String {
        format!(
            "{:.0}%",
            (self.s.device_share.mobile + self.s.device_share.tablet) * 100.0
        )
    }
}

/// Bars of pageviews per path (top, entry and exit pages alike).
fn page_bars(rows: &[PageCount]) -> String {
    let pairs: Vec<(String, i64)> = rows.iter().map(|p| (p.path.clone(), p.pageviews)).collect();
    charts::bars(&pairs)
}

/// Bars of visitors per name (browsers, operating systems, regions alike).
fn named_bars(rows: &[NamedCount]) -> String {
    let pairs: Vec<(String, i64)> = rows.iter().map(|r| (r.name.clone(), r.visitors)).collect();
    charts::bars(&pairs)
}

pub(super) async fn dashboard(
    State(state): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    PageOperator(signed): PageOperator,
    QueryString(query): QueryString<RangeQuery>,
) -> AppResult<Response> {
    // A bad range still shows the default one, with the reason above it.
    let (range, error) = match summary::range(&state, query.from.as_deref(), query.to.as_deref()) {
        Ok(range) => (range, None),
        Err(err) => (summary::range(&state, None, None)?, Some(err.message)),
    };
    let s = summary::summarize(&state, range).await?;
    let refs: Vec<(String, i64)> = s
        .referrers
        .iter()
        .map(|r| (r.host.clone(), r.visits))
        .collect();
    let paths = state.store.analytics_paths(range, 8).await?;
    Ok(render(
        StatusCode::OK,
        &Dashboard {
            nav: Nav::signed(&csrf, &signed),
            daily_svg: charts::daily(&s.daily),
            device_svg: charts::device_share(
                s.device_share.mobile,
                s.device_share.tablet,
                s.device_share.desktop,
            ),
            pages_svg: page_bars(&s.top_pages),
            referrers_svg: charts::bars(&refs),
            browsers_svg: named_bars(&s.browsers),
            os_svg: named_bars(&s.operating_systems),
            regions_svg: named_bars(&s.regions),
            entry_svg: page_bars(&s.entry_pages),
            exit_svg: page_bars(&s.exit_pages),
            paths,
            s,
            error,
        },
    ))
}
