//! One conversation per patient, across every channel: its state, who has it, which
//! department and how urgent, and since when a patient's message waits for a first
//! answer. A pure state machine: given the conversation, what happened and when, the
//! next conversation.

use std::collections::BTreeSet;

use jiff::Timestamp;

use crate::business_hours::{BusinessHours, Priority, ResponseTargets};
use crate::staff::DepartmentKey;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// Staff have something to do.
    Open,
    /// Waiting on the patient.
    Pending,
    /// Out of the queue until a time.
    Snoozed {
        until: Timestamp,
    },
    Resolved,
}

impl State {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Pending => "pending",
            Self::Snoozed { .. } => "snoozed",
            Self::Resolved => "resolved",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conversation {
    pub state: State,
    /// The staff account that has it.
    pub assignee: Option<String>,
    pub department: Option<DepartmentKey>,
    pub priority: Priority,
    pub tags: BTreeSet<String>,
    /// When the oldest patient message no one has answered yet arrived: the start of
    /// the first-response clock.
    pub waiting_since: Option<Timestamp>,
    /// When it last opened from resolved (or was first opened): the start of the
    /// resolution time.
    pub opened_at: Option<Timestamp>,
}

impl Conversation {
    /// A conversation as a patient's first message opens it.
    pub fn new() -> Self {
        Self {
            state: State::Open,
            assignee: None,
            department: None,
            priority: Priority::Normal,
            tags: BTreeSet::new(),
            waiting_since: None,
            opened_at: None,
        }
    }

    /// When its first answer is due, if a patient waits for one.
    pub fn answer_due(
        &self,
        targets: &ResponseTargets,
        hours: &BusinessHours,
    ) -> Option<Timestamp> {
        targets.due(self.priority, self.waiting_since?, hours)
    }

    /// Whether a patient has waited past the target at `now`.
    pub fn is_overdue(
        &self,
        now: Timestamp,
        targets: &ResponseTargets,
        hours: &BusinessHours,
    ) -> bool {
        self.answer_due(targets, hours)
            .is_some_and(|due| due <= now)
    }
}

impl Default for Conversation {
    fn default() -> Self {
        Self::new()
    }
}

/// What happens to a conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A patient wrote, on any channel: the conversation opens again, whatever its
    /// state, and the clock starts unless it runs already.
    PatientWrote,
    /// Staff answered the patient: the clock stops.
    StaffReplied,
    /// Waiting on the patient.
    Pend,
    Snooze {
        until: Timestamp,
    },
    Resolve,
    /// Staff open it again themselves.
    Reopen,
    Assign(Option<String>),
    /// Triage, or a person, puts it in a department at a priority; a higher priority
    /// is never lowered by triage of a later message (see [`Conversation::escalated`]).
    Route {
        department: Option<DepartmentKey>,
        priority: Priority,
    },
    Tag(String),
    Untag(String),
    /// Time passes: a snooze that ran out opens the conversation again.
    Tick,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("a conversation is snoozed until a later time, not {0}")]
    SnoozeInThePast(Timestamp),
    #[error("a {0} conversation cannot be {1}")]
    NotFrom(&'static str, &'static str),
    #[error("a tag is 1 to 40 letters, digits, dashes or spaces")]
    BadTag,
}

/// The conversation after `event` at `now`; a change that makes no sense in its
/// state is refused and changes nothing.
pub fn apply(
    conversation: &Conversation,
    event: &Event,
    now: Timestamp,
) -> Result<Conversation, Refused> {
    let mut next = conversation.clone();
    match event {
        Event::PatientWrote => {
            if next.state == State::Resolved || next.opened_at.is_none() {
                next.opened_at = Some(now);
            }
            next.state = State::Open;
            next.waiting_since = next.waiting_since.or(Some(now));
        }
        Event::StaffReplied => next.waiting_since = None,
        Event::Pend => match next.state {
            State::Open | State::Snoozed { .. } => next.state = State::Pending,
            State::Pending => {}
            State::Resolved => return Err(Refused::NotFrom("resolved", "pending")),
        },
        Event::Snooze { until } => {
            if *until <= now {
                return Err(Refused::SnoozeInThePast(*until));
            }
            if next.state == State::Resolved {
                return Err(Refused::NotFrom("resolved", "snoozed"));
            }
            next.state = State::Snoozed { until: *until };
        }
        Event::Resolve => {
            next.state = State::Resolved;
            next.waiting_since = None;
        }
        Event::Reopen => {
            if next.state == State::Resolved {
                next.opened_at = Some(now);
            }
            next.state = State::Open;
        }
        Event::Assign(who) => next.assignee.clone_from(who),
        Event::Route {
            department,
            priority,
        } => {
            next.department.clone_from(department);
            next.priority = *priority;
        }
        Event::Tag(tag) => {
            next.tags.insert(checked_tag(tag)?);
        }
        Event::Untag(tag) => {
            next.tags.remove(&tag.trim().to_lowercase());
        }
        Event::Tick => {
            if let State::Snoozed { until } = next.state
                && until <= now
            {
                next.state = State::Open;
            }
        }
    }
    Ok(next)
}

impl Conversation {
    /// The priority after triage of a new message decided `decided`: the more urgent
    /// of the two, so a calm follow-up never buries an urgent message unanswered.
    pub fn escalated(&self, decided: Priority) -> Priority {
        if self.waiting_since.is_some() {
            self.priority.min(decided)
        } else {
            decided
        }
    }
}

fn checked_tag(tag: &str) -> Result<String, Refused> {
    let tag = tag.trim();
    let fine = (1..=40).contains(&tag.chars().count())
        && tag
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == ' ');
    if fine {
        Ok(tag.to_lowercase())
    } else {
        Err(Refused::BadTag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;
    use jiff::tz::TimeZone;
    use proptest::prelude::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn run(events: &[(Event, &str)]) -> Conversation {
        events.iter().fold(Conversation::new(), |c, (event, when)| {
            apply(&c, event, at(when)).unwrap()
        })
    }

    #[test]
    fn a_patient_message_opens_a_resolved_conversation_and_starts_the_clock() {
        let resolved = run(&[
            (Event::PatientWrote, "2026-03-02T15:00:00Z"),
            (Event::StaffReplied, "2026-03-02T15:05:00Z"),
            (Event::Resolve, "2026-03-02T15:06:00Z"),
        ]);
        assert_eq!(resolved.state, State::Resolved);
        assert_eq!(resolved.waiting_since, None);
        let again = apply(&resolved, &Event::PatientWrote, at("2026-03-03T09:00:00Z")).unwrap();
        assert_eq!(again.state, State::Open);
        assert_eq!(again.waiting_since, Some(at("2026-03-03T09:00:00Z")));
        // A second message does not restart the clock: the first still waits.
        let twice = apply(&again, &Event::PatientWrote, at("2026-03-03T09:30:00Z")).unwrap();
        assert_eq!(twice.waiting_since, Some(at("2026-03-03T09:00:00Z")));
    }

    #[test]
    fn a_snooze_ends_at_its_time_or_when_the_patient_writes() {
        let snoozed = run(&[
            (Event::PatientWrote, "2026-03-02T15:00:00Z"),
            (
                Event::Snooze {
                    until: at("2026-03-02T18:00:00Z"),
                },
                "2026-03-02T15:01:00Z",
            ),
        ]);
        assert_eq!(snoozed.state.name(), "snoozed");
        let early = apply(&snoozed, &Event::Tick, at("2026-03-02T17:59:00Z")).unwrap();
        assert_eq!(early.state.name(), "snoozed");
        let woken = apply(&snoozed, &Event::Tick, at("2026-03-02T18:00:00Z")).unwrap();
        assert_eq!(woken.state, State::Open);
        let wrote = apply(&snoozed, &Event::PatientWrote, at("2026-03-02T16:00:00Z")).unwrap();
        assert_eq!(wrote.state, State::Open);
        assert_eq!(
            apply(
                &snoozed,
                &Event::Snooze {
                    until: at("2026-03-02T15:00:00Z")
                },
                at("2026-03-02T16:00:00Z")
            ),
            Err(Refused::SnoozeInThePast(at("2026-03-02T15:00:00Z")))
        );
    }

    #[test]
    fn a_resolved_conversation_is_neither_pended_nor_snoozed() {
        let resolved = run(&[(Event::Resolve, "2026-03-02T15:00:00Z")]);
        let later = at("2026-03-02T16:00:00Z");
        assert!(apply(&resolved, &Event::Pend, later).is_err());
        assert!(
            apply(
                &resolved,
                &Event::Snooze {
                    until: at("2026-03-03T00:00:00Z")
                },
                later
            )
            .is_err()
        );
        assert_eq!(
            apply(&resolved, &Event::Reopen, later).unwrap().state,
            State::Open
        );
    }

    #[test]
    fn an_urgent_message_is_overdue_after_fifteen_minutes_unanswered() {
        let hours = BusinessHours::weekdays(TimeZone::get("America/New_York").unwrap());
        let targets = ResponseTargets::default();
        let nursing = DepartmentKey::parse("nursing").unwrap();
        let urgent = run(&[
            (Event::PatientWrote, "2026-03-07T23:00:00Z"),
            (
                Event::Route {
                    department: Some(nursing.clone()),
                    priority: Priority::Urgent,
                },
                "2026-03-07T23:00:00Z",
            ),
        ]);
        assert_eq!(urgent.department, Some(nursing));
        assert_eq!(
            urgent.answer_due(&targets, &hours),
            Some(at("2026-03-07T23:15:00Z"))
        );
        assert!(!urgent.is_overdue(at("2026-03-07T23:14:59Z"), &targets, &hours));
        assert!(urgent.is_overdue(at("2026-03-07T23:15:00Z"), &targets, &hours));
        let answered = apply(&urgent, &Event::StaffReplied, at("2026-03-07T23:10:00Z")).unwrap();
        assert!(!answered.is_overdue(at("2026-03-08T23:00:00Z"), &targets, &hours));
        // A calm follow-up while the urgent one waits keeps it urgent.
        assert_eq!(urgent.escalated(Priority::Normal), Priority::Urgent);
        assert_eq!(answered.escalated(Priority::Normal), Priority::Normal);
    }

    #[test]
    fn tags_are_plain_words_kept_once() {
        let tagged = run(&[
            (Event::Tag("Billing".into()), "2026-03-02T15:00:00Z"),
            (Event::Tag(" billing ".into()), "2026-03-02T15:00:00Z"),
            (Event::Tag("follow-up".into()), "2026-03-02T15:00:00Z"),
        ]);
        assert_eq!(
            tagged.tags.iter().collect::<Vec<_>>(),
            ["billing", "follow-up"]
        );
        assert_eq!(
            apply(
                &tagged,
                &Event::Tag("<b>".into()),
                at("2026-03-02T15:00:00Z")
            ),
            Err(Refused::BadTag)
        );
        let untagged = apply(
            &tagged,
            &Event::Untag("billing".into()),
            at("2026-03-02T15:00:00Z"),
        )
        .unwrap();
        assert_eq!(untagged.tags.len(), 1);
    }

    fn event() -> impl Strategy<Value = Event> {
        prop_oneof![
            Just(Event::PatientWrote),
            Just(Event::StaffReplied),
            Just(Event::Pend),
            (1i64..600).prop_map(|m| Event::Snooze {
                until: Timestamp::from_second(1_772_463_600 + m * 60).unwrap()
            }),
            Just(Event::Resolve),
            Just(Event::Reopen),
            Just(Event::Tick),
        ]
    }

    proptest! {
        #[test]
        fn after_a_patient_writes_it_is_open_and_waiting(events in prop::collection::vec(event(), 0..30)) {
            let now = Timestamp::from_second(1_772_463_600).unwrap();
            let mut conversation = Conversation::new();
            for (n, event) in events.iter().enumerate() {
                let when = now + SignedDuration::from_mins(i64::try_from(n).unwrap());
                if let Ok(next) = apply(&conversation, event, when) {
                    conversation = next;
                }
            }
            let wrote = apply(&conversation, &Event::PatientWrote, now + SignedDuration::from_hours(1)).unwrap();
            prop_assert_eq!(&wrote.state, &State::Open);
            prop_assert!(wrote.waiting_since.is_some());
            // A resolved conversation never waits on anyone.
            let resolved = apply(&wrote, &Event::Resolve, now + SignedDuration::from_hours(2)).unwrap();
            prop_assert_eq!(resolved.waiting_since, None);
        }
    }
}
