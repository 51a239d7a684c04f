//! The inbox's figures: how soon patients had a first answer and how long their
//! conversations took to resolve, by department and priority, and how many are open and
//! overdue now. Each time is measured when its clock stops and kept on the event that
//! stopped it, so every node reads the same figures from the database.

use std::collections::BTreeMap;

use careloop_domain::business_hours::Priority;
use careloop_domain::conversation::Conversation;
use careloop_domain::staff::DepartmentKey;
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::{Engine, EngineError};

/// The most events of each kind one reading of the figures looks at.
const MOST_EVENTS: i64 = 50_000;

/// Adds to an event's detail the time from `since` to `now` under `key`, with the
/// conversation's department and priority, and whether the first answer met its target.
pub(crate) fn measured(
    detail: &mut Value,
    key: &str,
    conversation: &Conversation,
    since: Timestamp,
    now: Timestamp,
) {
    let seconds = now.duration_since(since).as_secs().max(0);
    detail[key] = Value::from(seconds);
    detail["department"] = conversation
        .department
        .as_ref()
        .map_or(Value::Null, |d| Value::from(d.as_str()));
    detail["priority"] = Value::from(conversation.priority.name());
}

/// One department's (or the general queue's) times at one priority.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timing {
    pub department: Option<String>,
    pub priority: Priority,
    pub count: usize,
    pub median: SignedDuration,
    pub p90: SignedDuration,
}

/// What is open now in one department at one priority.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backlog {
    pub department: Option<String>,
    pub priority: Priority,
    pub open: i64,
    pub overdue: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Figures {
    pub since: Timestamp,
    pub first_response: Vec<Timing>,
    pub resolution: Vec<Timing>,
    pub backlog: Vec<Backlog>,
}

impl Figures {
    /// No figures at all: what a reader shows when they could not be read.
    pub fn none() -> Self {
        Self {
            since: Timestamp::UNIX_EPOCH,
            first_response: Vec::new(),
            resolution: Vec::new(),
            backlog: Vec::new(),
        }
    }
}

impl Engine {
    /// The figures of the last `days` days, and the backlog now.
    pub async fn figures(&self, days: i64) -> Result<Figures, EngineError> {
        let now = self.store.now();
        let since = now
            .checked_sub(SignedDuration::from_hours(24 * days.clamp(1, 366)))
            .unwrap_or(now);
        let replies = self
            .store
            .event_details_since(&self.org, "reply", since, MOST_EVENTS)
            .await?;
        let states = self
            .store
            .event_details_since(&self.org, "state", since, MOST_EVENTS)
            .await?;
        let backlog = self
            .store
            .open_conversation_counts(&self.org)
            .await?
            .into_iter()
            .filter_map(|row| {
                Some(Backlog {
                    department: row.department,
                    priority: Priority::from_rank(row.priority)?,
                    open: row.open,
                    overdue: row.overdue,
                })
            })
            .collect();
        Ok(Figures {
            since,
            first_response: timings(&replies, "first_response_s"),
            resolution: timings(&states, "resolution_s"),
            backlog,
        })
    }
}

/// The times under `key` in these details, by department and priority.
fn timings(details: &[String], key: &str) -> Vec<Timing> {
    let mut groups: BTreeMap<(Option<String>, i64), Vec<i64>> = BTreeMap::new();
    for detail in details {
        let Ok(detail) = serde_json::from_str::<Value>(detail) else {
            continue;
        };
        let (Some(seconds), Some(priority)) = (
            detail[key].as_i64(),
            detail["priority"].as_str().and_then(Priority::parse),
        ) else {
            continue;
        };
        let department = detail["department"]
            .as_str()
            .and_then(|d| DepartmentKey::parse(d).ok())
            .map(|d| d.as_str().to_owned());
        groups
            .entry((department, priority.rank()))
            .or_default()
            .push(seconds);
    }
    groups
        .into_iter()
        .filter_map(|((department, rank), mut seconds)| {
            seconds.sort_unstable();
            Some(Timing {
                department,
                priority: Priority::from_rank(rank)?,
                count: seconds.len(),
                median: SignedDuration::from_secs(quantile(&seconds, 50)),
                p90: SignedDuration::from_secs(quantile(&seconds, 90)),
            })
        })
        .collect()
}

/// The nearest-rank `percent` quantile of sorted values.
fn quantile(sorted: &[i64], percent: usize) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (sorted.len() * percent).div_ceil(100).max(1);
    sorted[rank.min(sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_group_by_department_and_priority_with_nearest_rank_quantiles() {
        let details: Vec<String> = [
            r#"{"first_response_s": 60, "department": "nursing", "priority": "urgent"}"#,
            r#"{"first_response_s": 600, "department": "nursing", "priority": "urgent"}"#,
            r#"{"first_response_s": 120, "department": "nursing", "priority": "urgent"}"#,
            r#"{"first_response_s": 3600, "department": null, "priority": "normal"}"#,
            r#"{"message": "m1", "channel": "sms"}"#,
            "not json",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let found = timings(&details, "first_response_s");
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].department, None);
        assert_eq!(found[0].priority, Priority::Normal);
        assert_eq!(found[0].median, SignedDuration::from_hours(1));
        let nursing = &found[1];
        assert_eq!(nursing.department.as_deref(), Some("nursing"));
        assert_eq!(nursing.count, 3);
        assert_eq!(nursing.median, SignedDuration::from_secs(120));
        assert_eq!(nursing.p90, SignedDuration::from_secs(600));
    }

    #[test]
    fn quantiles_of_few_values() {
        assert_eq!(quantile(&[], 50), 0);
        assert_eq!(quantile(&[5], 90), 5);
        assert_eq!(quantile(&[1, 2, 3, 4], 50), 2);
        assert_eq!(quantile(&[1, 2, 3, 4], 90), 4);
    }
}
