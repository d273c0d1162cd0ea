//! Queries of the first-party analytics: daily salts, page views, summaries.
//! Every summary leaves bots out; they are counted on their own.

use base64::Engine;
use rand::RngCore;

use super::Store;

/// A page view as stored: nothing in it names a person or a device.
#[derive(Clone, Debug)]
pub struct PageView<'a> {
    pub day: i64,
    pub hour: i64,
    pub visitor: &'a str,
    pub path: &'a str,
    pub referrer_host: Option<&'a str>,
    pub browser: &'a str,
    pub os: &'a str,
    pub device: &'a str,
    pub region: Option<&'a str>,
    pub city: Option<&'a str>,
}

/// Days are UTC day numbers (`unix / 86400`); ranges include both ends.
#[derive(Clone, Copy, Debug)]
pub struct DayRange {
    pub from: i64,
    pub to: i64,
}

const HUMANS: &str = "device <> 'bot' AND day >= $1 AND day <= $2";

impl Store {
    /// Today's salt, created by the first node that needs it.
    pub async fn analytics_salt(&self, day: i64, now: i64) -> Result<Vec<u8>, sqlx::Error> {
        let mut fresh = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut fresh);
        let encoded = base64::engine::general_purpose::STANDARD.encode(fresh);
        sqlx::query(
            "INSERT INTO analytics_salts (day, salt, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (day) DO NOTHING",
        )
        .bind(day)
        .bind(&encoded)
        .bind(now)
        .execute(self.pool())
        .await?;
        let stored: String = sqlx::query_scalar("SELECT salt FROM analytics_salts WHERE day = $1")
            .bind(day)
            .fetch_one(self.pool())
            .await?;
        Ok(base64::engine::general_purpose::STANDARD
            .decode(stored)
            .unwrap_or_default())
    }

    /// Deletes salts created before `before` or for days before `min_day`.
    pub async fn purge_analytics_salts(
        &self,
        before: i64,
        min_day: i64,
    ) -> Result<u64, sqlx::Error> {
        let done = sqlx::query("DELETE FROM analytics_salts WHERE created_at < $1 OR day < $2")
            .bind(before)
            .bind(min_day)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }

    pub async fn analytics_salt_days(&self) -> Result<Vec<i64>, sqlx::Error> {
        sqlx::query_scalar("SELECT day FROM analytics_salts ORDER BY day")
            .fetch_all(self.pool())
            .await
    }

    /// Counts one more page view for `hash` on `day`; returns the count with
    /// it. One statement, so concurrent views each get their own number.
    pub async fn count_analytics_view(&self, day: i64, hash: &str) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(
            "INSERT INTO analytics_counts (day, hash, views) VALUES ($1, $2, 1) \
             ON CONFLICT (day, hash) DO UPDATE SET views = analytics_counts.views + 1 \
             RETURNING views",
        )
        .bind(day)
        .bind(hash)
        .fetch_one(self.pool())
        .await
    }

    /// Deletes the view counts of days before `min_day` (their salts are gone).
    pub async fn purge_analytics_counts(&self, min_day: i64) -> Result<u64, sqlx::Error> {
        let done = sqlx::query("DELETE FROM analytics_counts WHERE day < $1")
            .bind(min_day)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }

    /// Deletes page views of days before `min_day`: the retention period.
    pub async fn purge_page_views(&self, min_day: i64) -> Result<u64, sqlx::Error> {
        let done = sqlx::query("DELETE FROM page_views WHERE day < $1")
            .bind(min_day)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }

    pub async fn insert_page_view(&self, view: &PageView<'_>) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO page_views (day, hour, visitor, path, referrer_host, browser, os, device, region, city) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(view.day)
        .bind(view.hour)
        .bind(view.visitor)
        .bind(view.path)
        .bind(view.referrer_host)
        .bind(view.browser)
        .bind(view.os)
        .bind(view.device)
        .bind(view.region)
        .bind(view.city)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// (page views, visitors) of people, and page views of bots.
    pub async fn analytics_totals(&self, range: DayRange) -> Result<(i64, i64, i64), sqlx::Error> {
        let views: i64 =
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM page_views WHERE {HUMANS}"))
                .bind(range.from)
                .bind(range.to)
                .fetch_one(self.pool())
                .await?;
        let visitors: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM (SELECT DISTINCT day, visitor FROM page_views WHERE {HUMANS}) v"
        ))
        .bind(range.from)
        .bind(range.to)
        .fetch_one(self.pool())
        .await?;
        let bots: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM page_views WHERE device = 'bot' AND day >= $1 AND day <= $2",
        )
        .bind(range.from)
        .bind(range.to)
        .fetch_one(self.pool())
        .await?;
        Ok((views, visitors, bots))
    }

    /// Per day: (day, visitors, page views).
    pub async fn analytics_daily(
        &self,
        range: DayRange,
    ) -> Result<Vec<(i64, i64, i64)>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT day, COUNT(DISTINCT visitor), COUNT(*) FROM page_views WHERE {HUMANS} \
             GROUP BY day ORDER BY day"
        ))
        .bind(range.from)
        .bind(range.to)
        .fetch_all(self.pool())
        .await
    }

    /// Visitors per value of `column` (device, browser, os, region), most first.
    pub async fn analytics_visitors_by(
        &self,
        column: Breakdown,
        range: DayRange,
        limit: i64,
    ) -> Result<Vec<(String, i64)>, sqlx::Error> {
        let column = column.column();
        let sql = format!(
            "SELECT {column}, COUNT(*) FROM \
             (SELECT DISTINCT day, visitor, {column} FROM page_views WHERE {HUMANS} AND {column} IS NOT NULL) v \
             GROUP BY {column} ORDER BY COUNT(*) DESC, {column} LIMIT $3"
        );
        self.ranked(&sql, range, limit).await
    }

    /// Page views per value of `column` (path, referrer host), most first.
    pub async fn analytics_views_by(
        &self,
        column: Breakdown,
        range: DayRange,
        limit: i64,
    ) -> Result<Vec<(String, i64)>, sqlx::Error> {
        let column = column.column();
        let sql = format!(
            "SELECT {column}, COUNT(*) FROM page_views WHERE {HUMANS} AND {column} IS NOT NULL \
             GROUP BY {column} ORDER BY COUNT(*) DESC, {column} LIMIT $3"
        );
        self.ranked(&sql, range, limit).await
    }

    /// Entry (`first`) or exit (`!first`) pages: the first or last page of
    /// each visitor's day, counted.
    pub async fn analytics_entry_exit(
        &self,
        first: bool,
        range: DayRange,
        limit: i64,
    ) -> Result<Vec<(String, i64)>, sqlx::Error> {
        let pick = if first { "MIN" } else { "MAX" };
        let sql = format!(
            "SELECT p.path, COUNT(*) FROM page_views p JOIN \
             (SELECT {pick}(id) AS id FROM page_views WHERE {HUMANS} GROUP BY day, visitor) e ON e.id = p.id \
             GROUP BY p.path ORDER BY COUNT(*) DESC, p.path LIMIT $3"
        );
        self.ranked(&sql, range, limit).await
    }

    /// The most common steps from one page to the next within a visitor's day.
    pub async fn analytics_paths(
        &self,
        range: DayRange,
        limit: i64,
    ) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
        self.ranked(
            "SELECT a.path, b.path, COUNT(*) FROM page_views a JOIN page_views b \
               ON b.day = a.day AND b.visitor = a.visitor AND b.id = \
                 (SELECT MIN(n.id) FROM page_views n WHERE n.day = a.day AND n.visitor = a.visitor AND n.id > a.id) \
             WHERE a.device <> 'bot' AND a.day >= $1 AND a.day <= $2 AND a.path <> b.path \
             GROUP BY a.path, b.path ORDER BY COUNT(*) DESC, a.path LIMIT $3",
            range,
            limit,
        )
        .await
    }

    /// Runs a "top N" query whose `$1`, `$2` are the day range and `$3` the limit.
    async fn ranked<T>(&self, sql: &str, range: DayRange, limit: i64) -> Result<Vec<T>, sqlx::Error>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
    {
        sqlx::query_as(sql)
            .bind(range.from)
            .bind(range.to)
            .bind(limit)
            .fetch_all(self.pool())
            .await
    }
}

/// The columns a summary can be broken down by; never free text.
#[derive(Clone, Copy, Debug)]
pub enum Breakdown {
    Device,
    Browser,
    Os,
    Region,
    Path,
    Referrer,
}

impl Breakdown {
    fn column(self) -> &'static str {
        match self {
            Breakdown::Device => "device",
            Breakdown::Browser => "browser",
            Breakdown::Os => "os",
            Breakdown::Region => "region",
            Breakdown::Path => "path",
            Breakdown::Referrer => "referrer_host",
        }
    }
}
