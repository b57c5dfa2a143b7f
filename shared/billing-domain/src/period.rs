//! Service periods, billing intervals and the period grid of a contract.
//!
//! The grid is what makes month-end anchors safe: the k-th boundary is always
//! computed from the anchor (`origin + k × interval`, day clamped to the
//! month's length), never from the previous boundary, so a contract anchored
//! on the 31st bills on 28/29 February and is back on 31 March.

use chrono::{Datelike, Days, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::DomainError;

/// The stretch of time a line pays for. Both ends are inclusive, as printed on
/// an invoice ("01.01.2026 – 31.01.2026") and as EN 16931 (BG-26) expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "ServicePeriodFields")]
pub struct ServicePeriod {
    /// First day of service.
    pub start: NaiveDate,
    /// Last day of service (inclusive).
    pub end: NaiveDate,
}

/// Unchecked wire form, so that deserializing cannot create a reversed period.
#[derive(Deserialize)]
struct ServicePeriodFields {
    start: NaiveDate,
    end: NaiveDate,
}

impl TryFrom<ServicePeriodFields> for ServicePeriod {
    type Error = DomainError;

    fn try_from(fields: ServicePeriodFields) -> Result<Self, Self::Error> {
        Self::new(fields.start, fields.end)
    }
}

impl ServicePeriod {
    /// A period must not end before it starts.
    pub fn new(start: NaiveDate, end: NaiveDate) -> Result<Self, DomainError> {
        if end < start {
            return Err(DomainError::invalid(
                "period.end",
                format!("end {end} is before start {start}"),
            ));
        }
        Ok(Self { start, end })
    }

    /// Number of calendar days covered, counting both ends.
    pub fn days(&self) -> i64 {
        (self.end - self.start).num_days() + 1
    }

    /// Whether a day is served by this period (both ends inclusive), e.g. to
    /// find the period a cancellation notice falls into.
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.start <= date && date <= self.end
    }
}

/// The calendar unit an interval counts in; months and years follow the
/// calendar (and the anchor day), days and weeks are fixed lengths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntervalUnit {
    /// Every N days.
    Day,
    /// Every N weeks (7 × N days).
    Week,
    /// Every N calendar months, anchored on a day of the month.
    Month,
    /// Every N calendar years (12 × N months).
    Year,
}

/// How often an item is billed: `count` × `unit`, e.g. 3 months (quarterly).
///
/// Each item of a contract has its own interval, so a monthly licence and a
/// yearly support fee can ride on the same contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "BillingIntervalFields")]
pub struct BillingInterval {
    /// How many units make one period (at least 1).
    pub count: u32,
    /// The unit counted.
    pub unit: IntervalUnit,
}

/// Unchecked wire form, so that deserializing cannot create a zero interval.
#[derive(Deserialize)]
struct BillingIntervalFields {
    count: u32,
    unit: IntervalUnit,
}

impl TryFrom<BillingIntervalFields> for BillingInterval {
    type Error = DomainError;

    fn try_from(fields: BillingIntervalFields) -> Result<Self, Self::Error> {
        Self::every(fields.count, fields.unit)
    }
}

impl BillingInterval {
    /// Upper bound on `count`; keeps every date computation far inside
    /// chrono's range and rejects typos such as 1000 years.
    pub const MAX_COUNT: u32 = 999;

    /// Any interval of 1 to [`Self::MAX_COUNT`] units; a zero interval would
    /// bill the same day forever.
    pub fn every(count: u32, unit: IntervalUnit) -> Result<Self, DomainError> {
        if count == 0 || count > Self::MAX_COUNT {
            return Err(DomainError::invalid(
                "interval.count",
                format!("must be between 1 and {}, got {count}", Self::MAX_COUNT),
            ));
        }
        Ok(Self { count, unit })
    }

    /// Billed every calendar month.
    pub const fn monthly() -> Self {
        Self {
            count: 1,
            unit: IntervalUnit::Month,
        }
    }

    /// Billed every three calendar months.
    pub const fn quarterly() -> Self {
        Self {
            count: 3,
            unit: IntervalUnit::Month,
        }
    }

    /// Billed every six calendar months.
    pub const fn half_yearly() -> Self {
        Self {
            count: 6,
            unit: IntervalUnit::Month,
        }
    }

    /// Billed once a calendar year.
    pub const fn yearly() -> Self {
        Self {
            count: 1,
            unit: IntervalUnit::Year,
        }
    }

    /// The common name of the interval, if it has one, for invoice wording.
    pub fn name(&self) -> Option<&'static str> {
        match (self.unit, self.count) {
            (IntervalUnit::Month, 1) => Some("monthly"),
            (IntervalUnit::Month, 3) => Some("quarterly"),
            (IntervalUnit::Month, 6) => Some("half_yearly"),
            (IntervalUnit::Month, 12) | (IntervalUnit::Year, 1) => Some("yearly"),
            (IntervalUnit::Week, 1) => Some("weekly"),
            (IntervalUnit::Day, 1) => Some("daily"),
            _ => None,
        }
    }

    /// Months per period for calendar intervals; `None` for day-based ones.
    fn months(&self) -> Option<i64> {
        match self.unit {
            IntervalUnit::Month => Some(i64::from(self.count)),
            IntervalUnit::Year => Some(12 * i64::from(self.count)),
            IntervalUnit::Day | IntervalUnit::Week => None,
        }
    }

    /// Days per period for fixed-length intervals; `None` for calendar ones.
    fn days(&self) -> Option<i64> {
        match self.unit {
            IntervalUnit::Day => Some(i64::from(self.count)),
            IntervalUnit::Week => Some(7 * i64::from(self.count)),
            IntervalUnit::Month | IntervalUnit::Year => None,
        }
    }
}

/// The day of the month on which calendar periods begin (1–31).
///
/// Days 29–31 are month-end safe: in shorter months the period begins on the
/// month's last day, and the next long month is back on the anchor day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct AnchorDay(u8);

impl AnchorDay {
    /// Only days that exist in some month are anchors.
    pub fn new(day: u8) -> Result<Self, DomainError> {
        if !(1..=31).contains(&day) {
            return Err(DomainError::invalid(
                "anchor_day",
                format!("must be between 1 and 31, got {day}"),
            ));
        }
        Ok(Self(day))
    }

    /// The configured day of the month (1–31).
    pub fn day(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for AnchorDay {
    type Error = DomainError;

    fn try_from(day: u8) -> Result<Self, Self::Error> {
        Self::new(day)
    }
}

impl From<AnchorDay> for u8 {
    fn from(anchor: AnchorDay) -> Self {
        anchor.0
    }
}

/// The month (1–12) calendar-aligned periods are counted from: 1 aligns
/// quarterly items to calendar quarters and yearly items to calendar years;
/// 4 gives a fiscal year starting in April.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct AnchorMonth(u8);

impl AnchorMonth {
    /// Only months of the year are anchors.
    pub fn new(month: u8) -> Result<Self, DomainError> {
        if !(1..=12).contains(&month) {
            return Err(DomainError::invalid(
                "anchor_month",
                format!("must be between 1 and 12, got {month}"),
            ));
        }
        Ok(Self(month))
    }

    /// January: calendar quarters, half-years and years.
    pub const fn calendar() -> Self {
        Self(1)
    }

    /// The configured month (1–12).
    pub fn month(self) -> u8 {
        self.0
    }

    /// The month counted from 0, for month arithmetic.
    fn month0(self) -> i64 {
        i64::from(self.0) - 1
    }
}

impl TryFrom<u8> for AnchorMonth {
    type Error = DomainError;

    fn try_from(month: u8) -> Result<Self, Self::Error> {
        Self::new(month)
    }
}

impl From<AnchorMonth> for u8 {
    fn from(anchor: AnchorMonth) -> Self {
        anchor.0
    }
}

/// The fixed sequence of period boundaries of one subscription item.
///
/// Boundary 0 is the first period start on or after the item's start date;
/// boundary k is computed directly from boundary 0, so boundaries never drift.
/// A start date before boundary 0 (when an anchor day is set) gives a partial
/// first period, measured against the full grid period it falls into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PeriodGrid {
    /// Boundary 0: the first full period starts here.
    pub origin: NaiveDate,
    /// The period length.
    pub interval: BillingInterval,
    /// Day of month calendar boundaries fall on (clamped to the month's end).
    pub anchor_day: u8,
}

impl PeriodGrid {
    /// The grid of an item starting on `start`.
    ///
    /// Without an anchor, periods start on the start date's day of the month
    /// (a start on 31 January anchors on the 31st). With an anchor, calendar
    /// periods start on that day and the first boundary is the next such day
    /// on or after `start`. Day and week intervals ignore the anchor: they
    /// have fixed lengths counted from `start`.
    pub fn new(
        start: NaiveDate,
        interval: BillingInterval,
        anchor: Option<AnchorDay>,
    ) -> Result<Self, DomainError> {
        Self::aligned(start, interval, anchor, None)
    }

    /// The grid of an item starting on `start`, with its calendar periods
    /// aligned to `anchor_month`: every boundary falls in a month that is a
    /// whole number of intervals away from it, so a quarterly item anchored
    /// in January starts periods on 1 January, April, July and October, and
    /// a yearly one aligned to January runs per calendar year. A start in
    /// the middle of such a period gives a partial first period (prorated
    /// per the contract). Aligned grids start on day 1 unless the contract
    /// names an anchor day. Day and week intervals ignore both anchors.
    pub fn aligned(
        start: NaiveDate,
        interval: BillingInterval,
        anchor: Option<AnchorDay>,
        anchor_month: Option<AnchorMonth>,
    ) -> Result<Self, DomainError> {
        let anchor_month = anchor_month.filter(|_| interval.months().is_some());
        let anchor_day = match (interval.unit, anchor, anchor_month) {
            (IntervalUnit::Month | IntervalUnit::Year, Some(anchor), _) => anchor.day(),
            (IntervalUnit::Month | IntervalUnit::Year, None, Some(_)) => 1,
            _ => day_of_month(start),
        };
        let start_month = month_index(start);
        let mut month = start_month;
        if let (Some(anchor_month), Some(months)) = (anchor_month, interval.months()) {
            // The first aligned month on or after the start's month.
            let offset = (anchor_month.month0() - start_month).rem_euclid(months);
            month += offset;
        }
        let mut origin = date_in_month(month, anchor_day)?;
        if origin < start {
            let step = anchor_month.and(interval.months()).unwrap_or(1);
            month += step;
            origin = date_in_month(month, anchor_day)?;
        }
        Ok(Self {
            origin,
            interval,
            anchor_day,
        })
    }

    /// The k-th boundary (k may be negative): the start of the k-th period.
    pub fn boundary(&self, k: i64) -> Result<NaiveDate, DomainError> {
        if let Some(months) = self.interval.months() {
            let month = k
                .checked_mul(months)
                .and_then(|offset| offset.checked_add(month_index(self.origin)))
                .ok_or_else(out_of_range)?;
            date_in_month(month, self.anchor_day)
        } else {
            let step = self.interval.days().unwrap_or(1);
            let offset = k.checked_mul(step).ok_or_else(out_of_range)?;
            add_days(self.origin, offset)
        }
    }

    /// The full grid period that serves `date`: the basis for proration and
    /// for "cancel at period end".
    pub fn period_containing(&self, date: NaiveDate) -> Result<ServicePeriod, DomainError> {
        let k = if let Some(months) = self.interval.months() {
            let k = (month_index(date) - month_index(self.origin)).div_euclid(months);
            // Boundary k lies in the month of `date` or earlier; only its
            // clamped day can still be after `date`.
            if self.boundary(k)? > date { k - 1 } else { k }
        } else {
            let step = self.interval.days().unwrap_or(1);
            (date - self.origin).num_days().div_euclid(step)
        };
        let start = self.boundary(k)?;
        let end = add_days(self.boundary(k + 1)?, -1)?;
        ServicePeriod::new(start, end)
    }
}

/// Months since year 0, so month arithmetic is plain integer arithmetic.
fn month_index(date: NaiveDate) -> i64 {
    i64::from(date.year()) * 12 + i64::from(date.month0())
}

/// The day of `date` as an anchor day (always 1–31).
fn day_of_month(date: NaiveDate) -> u8 {
    u8::try_from(date.day()).unwrap_or(31)
}

/// Day `day` of the month with index `month`, clamped to the month's last day.
fn date_in_month(month: i64, day: u8) -> Result<NaiveDate, DomainError> {
    let year = i32::try_from(month.div_euclid(12)).map_err(|_| out_of_range())?;
    let month = u32::try_from(month.rem_euclid(12) + 1).map_err(|_| out_of_range())?;
    let day = u32::from(day).min(days_in_month(year, month));
    NaiveDate::from_ymd_opt(year, month, day).ok_or_else(out_of_range)
}

/// Length of a calendar month, honouring the Gregorian leap-year rule.
pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

/// `date` shifted by a signed number of days, refusing to leave chrono's range.
pub(crate) fn add_days(date: NaiveDate, days: i64) -> Result<NaiveDate, DomainError> {
    let shifted = if days >= 0 {
        date.checked_add_days(Days::new(days.unsigned_abs()))
    } else {
        date.checked_sub_days(Days::new(days.unsigned_abs()))
    };
    shifted.ok_or_else(out_of_range)
}

/// The error for dates beyond what the calendar can represent.
fn out_of_range() -> DomainError {
    DomainError::invalid("period", "date is outside the supported calendar range")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn monthly_anchor_31_returns_to_31() {
        let grid = PeriodGrid::new(d(2024, 1, 31), BillingInterval::monthly(), None).unwrap();
        let boundaries: Vec<_> = (0..4).map(|k| grid.boundary(k).unwrap()).collect();
        assert_eq!(
            boundaries,
            [
                d(2024, 1, 31),
                d(2024, 2, 29),
                d(2024, 3, 31),
                d(2024, 4, 30)
            ]
        );
        assert_eq!(grid.boundary(-1).unwrap(), d(2023, 12, 31));
    }

    #[test]
    fn anchor_gives_partial_first_period() {
        let anchor = AnchorDay::new(1).ok();
        let grid = PeriodGrid::new(d(2026, 2, 15), BillingInterval::monthly(), anchor).unwrap();
        assert_eq!(grid.origin, d(2026, 3, 1));
        let first = grid.period_containing(d(2026, 2, 15)).unwrap();
        assert_eq!(
            first,
            ServicePeriod::new(d(2026, 2, 1), d(2026, 2, 28)).unwrap()
        );
    }

    #[test]
    fn weekly_grid_counts_days() {
        let grid = PeriodGrid::new(
            d(2026, 1, 5),
            BillingInterval::every(2, IntervalUnit::Week).unwrap(),
            None,
        )
        .unwrap();
        let period = grid.period_containing(d(2026, 1, 20)).unwrap();
        assert_eq!(
            period,
            ServicePeriod::new(d(2026, 1, 19), d(2026, 2, 1)).unwrap()
        );
        let before = grid.period_containing(d(2026, 1, 4)).unwrap();
        assert_eq!(
            before,
            ServicePeriod::new(d(2025, 12, 22), d(2026, 1, 4)).unwrap()
        );
    }

    #[test]
    fn zero_interval_and_bad_anchor_are_refused() {
        assert!(BillingInterval::every(0, IntervalUnit::Month).is_err());
        assert!(AnchorDay::new(32).is_err());
        assert!(serde_json::from_str::<AnchorDay>("0").is_err());
        assert!(serde_json::from_str::<BillingInterval>(r#"{"count":0,"unit":"day"}"#).is_err());
        assert!(
            serde_json::from_str::<ServicePeriod>(r#"{"start":"2026-02-01","end":"2026-01-31"}"#)
                .is_err()
        );
    }

    #[test]
    fn json_round_trip_with_snake_case() {
        let grid = PeriodGrid::new(
            d(2026, 1, 15),
            BillingInterval::half_yearly(),
            AnchorDay::new(31).ok(),
        )
        .unwrap();
        let json = serde_json::to_string(&grid).unwrap();
        assert_eq!(
            json,
            r#"{"origin":"2026-01-31","interval":{"count":6,"unit":"month"},"anchor_day":31}"#
        );
        assert_eq!(serde_json::from_str::<PeriodGrid>(&json).unwrap(), grid);
        let period = ServicePeriod::new(d(2026, 1, 1), d(2026, 1, 31)).unwrap();
        let json = serde_json::to_string(&period).unwrap();
        assert_eq!(json, r#"{"start":"2026-01-01","end":"2026-01-31"}"#);
        assert_eq!(
            serde_json::from_str::<ServicePeriod>(&json).unwrap(),
            period
        );
        for unit in [
            IntervalUnit::Day,
            IntervalUnit::Week,
            IntervalUnit::Month,
            IntervalUnit::Year,
        ] {
            let interval = BillingInterval::every(2, unit).unwrap();
            let json = serde_json::to_string(&interval).unwrap();
            assert_eq!(
                serde_json::from_str::<BillingInterval>(&json).unwrap(),
                interval
            );
        }
        assert_eq!(
            serde_json::to_string(&IntervalUnit::Week).unwrap(),
            r#""week""#
        );
        assert_eq!(serde_json::from_str::<AnchorDay>("29").unwrap().day(), 29);
    }

    #[test]
    fn far_dates_are_errors_not_panics() {
        let grid = PeriodGrid::new(d(2026, 1, 1), BillingInterval::yearly(), None).unwrap();
        assert!(grid.boundary(i64::MAX / 2).is_err());
        assert!(grid.boundary(1_000_000).is_err());
    }
}
