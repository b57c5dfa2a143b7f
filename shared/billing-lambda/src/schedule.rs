//! The input of a function the scheduler starts once a day: the schedule's
//! time (`{"scheduled_time": "<aws.scheduler.scheduled-time>"}`), or a day
//! asked for on demand (`{"date": "YYYY-MM-DD"}`: tests, the demo, an
//! operator catching up). One reading for every scheduled function, so a
//! late retry still works on the day it was meant for.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::Deserialize;

/// Which day a scheduled invocation is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestedDay {
    /// This calendar day of the seller.
    Date(NaiveDate),
    /// The schedule's time, turned into the seller's day by [`Self::date_in`].
    ScheduledAt(DateTime<Utc>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    #[serde(default)]
    scheduled_time: Option<String>,
    #[serde(default)]
    date: Option<String>,
}

impl RequestedDay {
    /// Reads an invocation's payload; the error names what is wrong.
    pub fn from_payload(payload: serde_json::Value) -> Result<Self, String> {
        let request: Request = serde_json::from_value(payload).map_err(|e| {
            format!(
                "expected {{\"scheduled_time\": \"<RFC 3339>\"}} or {{\"date\": \"YYYY-MM-DD\"}}: {e}"
            )
        })?;
        match (request.scheduled_time, request.date) {
            (Some(time), None) => DateTime::parse_from_rfc3339(&time)
                .map(|t| Self::ScheduledAt(t.to_utc()))
                .map_err(|e| format!("scheduled_time {time:?}: {e}")),
            (None, Some(date)) => date
                .parse::<NaiveDate>()
                .map(Self::Date)
                .map_err(|e| format!("date {date:?}: {e}")),
            _ => Err("give exactly one of scheduled_time and date".to_owned()),
        }
    }

    /// The seller's calendar day in `zone`.
    pub fn date_in<Tz: TimeZone>(self, zone: &Tz) -> NaiveDate {
        match self {
            Self::Date(date) => date,
            Self::ScheduledAt(at) => at.with_timezone(zone).date_naive(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_time_is_the_sellers_day_in_its_zone() {
        let late = RequestedDay::from_payload(
            serde_json::json!({"scheduled_time": "2026-12-10T23:30:00Z"}),
        )
        .unwrap();
        let berlin = chrono::FixedOffset::east_opt(3600).unwrap();
        assert_eq!(
            late.date_in(&berlin),
            NaiveDate::from_ymd_opt(2026, 12, 11).unwrap()
        );
        assert_eq!(
            late.date_in(&Utc),
            NaiveDate::from_ymd_opt(2026, 12, 10).unwrap()
        );
    }
}
