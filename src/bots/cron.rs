//! Five-field cron schedules (minute hour day-of-month month day-of-week, UTC): numbers, `*`,
//! ranges, lists and steps. As in classic cron, when both day fields are restricted a day matches
//! if either does.

use chrono::{Datelike, Timelike};

#[derive(Debug)]
pub struct Schedule {
    fields: [Vec<bool>; 5],
    any_day_of_month: bool,
    any_day_of_week: bool,
}

const FIELDS: [(&str, u32, u32); 5] =
    [("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7)];

pub fn parse(cron: &str) -> Result<Schedule, String> {
    let parts: Vec<&str> = cron.split_whitespace().collect();
    if parts.len() != 5 {
        return Err(format!("`{cron}` has {} fields; a schedule has 5: minute hour day month weekday", parts.len()));
    }
    let mut fields: [Vec<bool>; 5] = Default::default();
    for (i, (field, (what, lo, hi))) in parts.iter().zip(FIELDS).enumerate() {
        let mut allowed = vec![false; hi as usize + 1];
        for part in field.split(',') {
            let (range, step) = part.split_once('/').unwrap_or((part, "1"));
            let step = match step.parse::<u32>() {
                Ok(s) if s > 0 => s,
                _ => return Err(format!("`{part}` in the {what} field has a bad step")),
            };
            let (a, b) = match range {
                "*" => (lo, hi),
                r => {
                    let (a, b) = r.split_once('-').unwrap_or((r, r));
                    let num = |n: &str| match n.parse::<u32>() {
                        Ok(n) if (lo..=hi).contains(&n) => Ok(n),
                        _ => Err(format!("`{n}` in the {what} field is not a number from {lo} to {hi}")),
                    };
                    let (a, b) = (num(a)?, num(b)?);
                    // `5/15` means from 5 to the end, every 15.
                    (a, if part.contains('/') && !r.contains('-') { hi } else { b })
                }
            };
            for v in (a..=b).step_by(step as usize) {
                allowed[v as usize] = true;
            }
        }
        fields[i] = allowed;
    }
    // Sunday is 0 or 7.
    if fields[4][7] {
        fields[4][0] = true;
    }
    Ok(Schedule { any_day_of_month: parts[2] == "*", any_day_of_week: parts[4] == "*", fields })
}

impl Schedule {
    pub fn matches(&self, t: chrono::DateTime<chrono::Utc>) -> bool {
        let f = &self.fields;
        let dom = f[2][t.day() as usize];
        let dow = f[4][t.weekday().num_days_from_sunday() as usize];
        let day = match (self.any_day_of_month, self.any_day_of_week) {
            (false, false) => dom || dow,
            _ => dom && dow,
        };
        f[0][t.minute() as usize] && f[1][t.hour() as usize] && f[3][t.month() as usize] && day
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn schedules_match_their_minutes() {
        let at = |d, h, m| chrono::Utc.with_ymd_and_hms(2026, 11, d, h, m, 0).unwrap(); // 2026-11-23 is a Monday
        assert!(parse("0 2 * * *").unwrap().matches(at(23, 2, 0)));
        assert!(!parse("0 2 * * *").unwrap().matches(at(23, 2, 1)));
        assert!(parse("*/15 * * * 1-5").unwrap().matches(at(23, 9, 45)));
        assert!(!parse("*/15 * * * 1-5").unwrap().matches(at(22, 9, 45)));
        assert!(parse("0 0 1 * 1").unwrap().matches(at(23, 0, 0)), "either day field matches");
        assert!(parse("* * * * 7").unwrap().matches(at(22, 0, 0)), "7 is Sunday");
        assert!(parse("61 * * * *").unwrap_err().contains("minute"));
    }
}
