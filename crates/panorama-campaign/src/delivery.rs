//! Handing queued channel messages (SMS, e-mail, app push) to a gateway:
//! never in the quiet hours, a batch at a time, each batch named so the
//! gateway's receipts can be traced back.

use chrono::{DateTime, TimeZone};
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

/// One batch handed to a gateway.
#[derive(Debug, Clone)]
pub struct Drained {
    /// The batch's name: channel and time.
    pub batch: String,
    /// The messages, marked sent in the store.
    pub rows: Vec<OutboxRow>,
}

/// Takes up to `limit` queued messages of `channel` at `hour` (0–23, local),
/// unless that hour is quiet (then nothing is taken and the error says why).
/// The batch is named after the channel and `now`, so each drain is its own.
pub async fn drain<Tz: TimeZone>(
    store: &Store,
    channel: &str,
    limit: i64,
    quiet: QuietHours,
    hour: u32,
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
    let batch = format!("{channel}-{}", now.format("%Y%m%dT%H%M%S%.6f"));
    let rows = q::drain(store, channel, limit.max(1), &batch, by).await?;
    Ok(Drained { batch, rows })
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
    fn equal_bounds_mean_never_quiet() {
        let none = QuietHours { start: 9, end: 9 };
        assert!((0..24).all(|h| !none.contains(h)));
    }
}
