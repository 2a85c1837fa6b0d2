//! Handing queued channel messages (SMS, e-mail, app push) to a gateway:
//! never in the quiet hours, on a rest day never to a customer who asked not
//! to be disturbed on rest days (免打扰), a batch at a time, each batch named
//! so the gateway's receipts can be traced back.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Weekday};
use panorama_analytics::{AnalyticsError, Result};
use panorama_store::Store;
use panorama_store::campaigns::{self as q, OutboxRow};

/// The channels with an outbox.
pub const CHANNELS: &[&str] = &["sms", "email", "app"];

/// Hours in which no message goes out: from `start`:00 to `end`:00, across
/// midnight when `start` > `end` (21 → 8 is the night).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    /// First quiet hour (0–23).
    pub start: u32,
    /// First hour messages may go out again (0–23).
    pub end: u32,
}

impl QuietHours {
    /// Whether `hour` (0–23) is quiet.
    pub fn contains(&self, hour: u32) -> bool {
        if self.start > self.end {
            hour >= self.start || hour < self.end
        } else {
            hour >= self.start && hour < self.end
        }
    }
}

/// Which days are rest days: Saturdays and Sundays, except the make-up
/// working days the State Council moves onto a weekend (调休上班), plus the
/// public holidays (法定节假日) the bank lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestDays {
    /// Days listed as `rest` or `work`, overriding the weekend rule.
    pub listed: BTreeMap<NaiveDate, bool>,
}

impl RestDays {
    /// Reads a calendar of `YYYY-MM-DD,rest` / `YYYY-MM-DD,work` lines
    /// (blank lines and `#` comments skipped); each bad line is named.
    pub fn parse(text: &str) -> std::result::Result<RestDays, String> {
        let mut listed = BTreeMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (day, kind) = line
                .split_once(',')
                .ok_or_else(|| format!("line {}: 'YYYY-MM-DD,rest' or 'YYYY-MM-DD,work'", n + 1))?;
            let day = NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d")
                .map_err(|_| format!("line {}: '{}' is not a date", n + 1, day.trim()))?;
            let rest = match kind.trim() {
                "rest" => true,
                "work" => false,
                other => {
                    return Err(format!(
                        "line {}: '{other}' is neither rest nor work",
                        n + 1
                    ));
                }
            };
            listed.insert(day, rest);
        }
        Ok(RestDays { listed })
    }

    /// Whether `day` is a rest day.
    pub fn is_rest(&self, day: NaiveDate) -> bool {
        self.listed
            .get(&day)
            .copied()
            .unwrap_or(matches!(day.weekday(), Weekday::Sat | Weekday::Sun))
    }
}

/// The name of a batch of `channel` taken at `now`, after `prefix`.
pub fn batch_name<Tz: TimeZone>(prefix: &str, channel: &str, now: &DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    format!("{prefix}{channel}-{}", now.format("%Y%m%dT%H%M%S%.6f"))
}

/// One batch handed to a gateway.
#[derive(Debug, Clone)]
pub struct Drained {
    /// The batch's name: channel and time.
    pub batch: String,
    /// The messages, marked sent in the store.
    pub rows: Vec<OutboxRow>,
    /// Messages left queued because today is a rest day and their
    /// customers asked not to be disturbed on rest days.
    pub held: i64,
    /// Queued messages not sent: their customers opted out of the channel
    /// since (marked failed).
    pub opted_out: u64,
}

/// Takes up to `limit` queued messages of `channel` at `hour` (0–23, local),
/// unless that hour is quiet (then nothing is taken and the error says why);
/// on a rest day the messages of customers who asked not to be disturbed on
/// rest days stay queued. The batch is named `prefix`, the channel and
/// `now`, so each drain is its own.
#[allow(clippy::too_many_arguments)] // the drain's whole policy, spelt out
pub async fn drain<Tz: TimeZone>(
    store: &Store,
    prefix: &str,
    channel: &str,
    limit: i64,
    quiet: QuietHours,
    hour: u32,
    rest_day: bool,
    now: DateTime<Tz>,
    by: &str,
) -> Result<Drained>
where
    Tz::Offset: std::fmt::Display,
{
    if !CHANNELS.contains(&channel) {
        return Err(AnalyticsError::Invalid(format!(
            "channel: sms, email or app, not {channel}"
        )));
    }
    if quiet.contains(hour) {
        return Err(AnalyticsError::Invalid(format!(
            "quiet hours ({}:00–{}:00): no messages go out at {hour}:xx; nothing was sent",
            quiet.start, quiet.end
        )));
    }
    let batch = batch_name(prefix, channel, &now);
    let (rows, opted_out) = q::drain(store, channel, limit.max(1), &batch, by, rest_day).await?;
    let held = if rest_day {
        q::held_for_rest_days(store, channel).await?
    } else {
        0
    };
    Ok(Drained {
        batch,
        rows,
        held,
        opted_out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_night_is_quiet_across_midnight() {
        let night = QuietHours { start: 21, end: 8 };
        assert!(night.contains(21) && night.contains(23) && night.contains(0));
        assert!(night.contains(7));
        assert!(!night.contains(8) && !night.contains(12) && !night.contains(20));
    }

    #[test]
    fn a_daytime_window_is_quiet_inside_only() {
        let lunch = QuietHours { start: 12, end: 14 };
        assert!(lunch.contains(12) && lunch.contains(13));
        assert!(!lunch.contains(11) && !lunch.contains(14) && !lunch.contains(0));
    }

    #[test]
    fn weekends_rest_unless_moved_and_holidays_rest() {
        let cal = RestDays::parse("# 2026\n2026-10-01,rest\n2026-10-10,work\n").unwrap();
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert!(cal.is_rest(d("2026-10-01")), "National Day, a Thursday");
        assert!(!cal.is_rest(d("2026-10-10")), "a Saturday moved to work");
        assert!(cal.is_rest(d("2026-10-11")), "a Sunday");
        assert!(!cal.is_rest(d("2026-10-12")), "a Monday");
        assert!(
            RestDays::parse("2026-10-01,holiday")
                .unwrap_err()
                .contains("line 1")
        );
        assert!(
            RestDays::parse("2026-13-01,rest")
                .unwrap_err()
                .contains("not a date")
        );
    }

    #[test]
    fn equal_bounds_mean_never_quiet() {
        let none = QuietHours { start: 9, end: 9 };
        assert!((0..24).all(|h| !none.contains(h)));
    }
}
