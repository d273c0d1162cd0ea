//! Analytics stay bounded: one address cannot record more than its daily cap
//! by rotating user agents, and page views older than the retention period
//! are deleted by housekeeping.

use futures_util::stream::{self, StreamExt};
use regroup::site::analytics::{DEFAULT_RETENTION_DAYS, VIEWS_PER_ADDRESS_DAY};
use regroup::store::DayRange;
use reqwest::StatusCode;

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(
    a_thousand_views_from_one_address_with_rotating_agents_stay_within_the_cap,
    page_views_older_than_the_retention_period_are_deleted,
);

async fn totals(app: &TestApp) -> (i64, i64) {
    let (views, visitors, _) = app
        .store()
        .analytics_totals(DayRange {
            from: 0,
            to: i64::MAX / 86_400,
        })
        .await
        .unwrap();
    (views, visitors)
}

async fn a_thousand_views_from_one_address_with_rotating_agents_stay_within_the_cap(app: TestApp) {
    // Every request claims to be another browser; 50 are in flight at once.
    let statuses: Vec<StatusCode> = stream::iter(0..1000)
        .map(|i| {
            let request = app.api.get(app.url("/")).header(
                "user-agent",
                format!(
                    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0.{i}.0 Safari/537.36"
                ),
            );
            async move { request.send().await.unwrap().status() }
        })
        .buffer_unordered(50)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == StatusCode::OK));
    let (views, visitors) = totals(&app).await;
    assert_eq!(
        views, VIEWS_PER_ADDRESS_DAY,
        "one address records its cap, no more, whatever the agents"
    );
    assert_eq!(visitors, VIEWS_PER_ADDRESS_DAY);
}

async fn page_views_older_than_the_retention_period_are_deleted(app: TestApp) {
    const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";
    let get = |path: &str| {
        app.api
            .get(app.url(path))
            .header("user-agent", FIREFOX)
            .send()
    };
    assert_eq!(get("/").await.unwrap().status(), StatusCode::OK);
    assert_eq!(get("/privacy").await.unwrap().status(), StatusCode::OK);
    app.clock.advance(chrono::Duration::days(200));
    assert_eq!(get("/").await.unwrap().status(), StatusCode::OK);
    regroup::site::housekeeping(&app.state).await;
    assert_eq!(totals(&app).await.0, 3, "nothing is old enough yet");

    // The first two are now one day past the default retention.
    app.clock.advance(chrono::Duration::days(
        i64::from(DEFAULT_RETENTION_DAYS) - 199,
    ));
    regroup::site::housekeeping(&app.state).await;
    assert_eq!(totals(&app).await.0, 1, "only the newer view is left");
}
