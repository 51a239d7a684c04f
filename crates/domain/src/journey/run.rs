//! Running a journey: given where an enrollment is, what just happened and the time,
//! where it goes next and what it does on the way. Pure: the engine stores the cursor and
//! carries out the actions, in one transaction, so each step happens once.

use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use super::{Action, Awaited, ChannelChoice, Condition, Journey, Purpose, ReplyKind, Wait};
use crate::appointment_events::AppointmentEvent;

/// Where an enrollment is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// The index of the step it is parked at (or past the last when ended).
    pub step: usize,
    /// When it wakes; `None` when it waits for input only (or has ended).
    pub wake: Option<Timestamp>,
    /// What a `wait_for` step waits for.
    pub waiting: Option<Awaited>,
    pub last_reply: Option<ReplyKind>,
    /// Why it ended; `None` while active.
    pub ended: Option<Ending>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// It ran to its end.
    Completed,
    /// One of its `ends_on` events happened.
    Event(AppointmentEvent),
    /// Its steps went round without ever waiting.
    Loop,
}

impl Ending {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Event(event) => event.name(),
            Self::Loop => "loop",
        }
    }
}

impl Cursor {
    /// A cursor before the first step.
    pub fn start() -> Self {
        Self {
            step: 0,
            wake: None,
            waiting: None,
            last_reply: None,
            ended: None,
        }
    }
}

/// What happened to the enrollment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    /// The patient was just enrolled.
    Enrolled,
    /// Its wake time came.
    Timer,
    Reply(ReplyKind),
    /// An event about the appointment. Like any event, `appointment.rescheduled` may end
    /// the journey or be what it waits for; otherwise it moves the waits tied to the
    /// appointment's start.
    Event(AppointmentEvent),
}

/// What the enrollment sees of the world when it moves.
#[derive(Clone, Debug)]
pub struct Situation {
    pub now: Timestamp,
    /// The appointment's start, if it has one.
    pub start: Option<Timestamp>,
    /// The patient's zone, for waits until a time of day.
    pub zone: TimeZone,
    /// Whether the patient has confirmed the appointment.
    pub confirmed: bool,
}

/// An action to carry out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    Send {
        step: String,
        template: String,
        channel: ChannelChoice,
        purpose: Purpose,
    },
    Task {
        step: String,
        title: String,
    },
}

/// Moves `cursor` on `input`, returning the new cursor and the effects, in order.
pub fn advance(
    journey: &Journey,
    cursor: &Cursor,
    input: Input,
    situation: &Situation,
) -> (Cursor, Vec<Effect>) {
    let mut next = cursor.clone();
    let mut effects = Vec::new();
    if next.ended.is_some() {
        return (next, effects);
    }
    match input {
        Input::Enrolled => run(journey, &mut next, 0, situation, &mut effects),
        Input::Timer => {
            if next.wake.is_some_and(|wake| wake <= situation.now) {
                let from = match (
                    &journey.steps.get(next.step).map(|s| &s.action),
                    next.waiting,
                ) {
                    (
                        Some(Action::WaitFor {
                            on_timeout: Some(target),
                            ..
                        }),
                        Some(_),
                    ) => index_of(journey, target).unwrap_or(next.step + 1),
                    _ => next.step + 1,
                };
                run(journey, &mut next, from, situation, &mut effects);
            }
        }
        Input::Reply(kind) => {
            next.last_reply = Some(kind);
            if let Some(Awaited::Reply(awaited)) = next.waiting
                && (awaited == kind || awaited == ReplyKind::Any)
            {
                run(journey, &mut next, cursor.step + 1, situation, &mut effects);
            }
        }
        Input::Event(event) => {
            if journey.ends_on.contains(&event) {
                end(&mut next, Ending::Event(event));
            } else if next.waiting == Some(Awaited::Event(event)) {
                run(journey, &mut next, cursor.step + 1, situation, &mut effects);
            } else if event == AppointmentEvent::Rescheduled {
                // The appointment moved: the waits tied to its start are worked out again.
                reschedule(journey, &mut next, situation, &mut effects);
            }
        }
    }
    (next, effects)
}

/// After a move, the enrollment goes back to the first wait tied to the appointment's
/// start that is still ahead, so the reminders about the new time go out; when none is
/// ahead, it stays where it is, its wait worked out again.
fn reschedule(
    journey: &Journey,
    cursor: &mut Cursor,
    situation: &Situation,
    effects: &mut Vec<Effect>,
) {
    let ahead = journey.steps.iter().position(|step| match step.action {
        Action::Wait(Wait::FromStart(offset)) => situation
            .start
            .and_then(|start| start.checked_add(offset).ok())
            .is_some_and(|at| at > situation.now),
        _ => false,
    });
    match ahead {
        Some(index) => run(journey, cursor, index, situation, effects),
        None => {
            if let Some(Action::Wait(Wait::FromStart(_))) =
                journey.steps.get(cursor.step).map(|s| &s.action)
            {
                run(journey, cursor, cursor.step, situation, effects);
            }
        }
    }
}

fn end(cursor: &mut Cursor, ending: Ending) {
    cursor.wake = None;
    cursor.waiting = None;
    cursor.ended = Some(ending);
}

fn index_of(journey: &Journey, id: &str) -> Option<usize> {
    journey.steps.iter().position(|s| s.id == id)
}

/// The index of the first wait (of any kind) after `index`, or the end.
fn next_wait(journey: &Journey, index: usize) -> usize {
    journey
        .steps
        .iter()
        .enumerate()
        .skip(index + 1)
        .find(|(_, s)| matches!(s.action, Action::Wait(_) | Action::WaitFor { .. }))
        .map_or(journey.steps.len(), |(i, _)| i)
}

/// Runs steps from `index` until one waits or the journey ends.
fn run(
    journey: &Journey,
    cursor: &mut Cursor,
    mut index: usize,
    situation: &Situation,
    effects: &mut Vec<Effect>,
) {
    cursor.waiting = None;
    cursor.wake = None;
    // Branches may jump back; a journey that goes round without waiting would never
    // stop, so it is ended instead.
    let mut budget = journey.steps.len() * 4 + 4;
    loop {
        if budget == 0 {
            end(cursor, Ending::Loop);
            return;
        }
        budget -= 1;
        let Some(step) = journey.steps.get(index) else {
            cursor.step = index;
            end(cursor, Ending::Completed);
            return;
        };
        cursor.step = index;
        match &step.action {
            Action::Send {
                template,
                channel,
                purpose,
            } => {
                effects.push(Effect::Send {
                    step: step.id.clone(),
                    template: template.clone(),
                    channel: channel.clone(),
                    purpose: *purpose,
                });
                index += 1;
            }
            Action::Task { title } => {
                effects.push(Effect::Task {
                    step: step.id.clone(),
                    title: title.clone(),
                });
                index += 1;
            }
            Action::Wait(wait) => match wake_time(*wait, situation) {
                Some(at) if at > situation.now => {
                    cursor.wake = Some(at);
                    return;
                }
                // A moment before the appointment that has passed already: what it
                // led to is skipped, not done late.
                _ => index = next_wait(journey, index),
            },
            Action::WaitFor {
                awaited, timeout, ..
            } => {
                cursor.waiting = Some(*awaited);
                cursor.wake = Some(situation.now.checked_add(*timeout).unwrap_or(situation.now));
                return;
            }
            Action::Branch {
                condition,
                then,
                otherwise,
            } => {
                let holds = match condition {
                    Condition::Confirmed => situation.confirmed,
                    Condition::LastReply(kind) => match (cursor.last_reply, kind) {
                        (Some(_), ReplyKind::Any) => true,
                        (Some(last), kind) => last == *kind,
                        (None, _) => false,
                    },
                };
                let target = if holds {
                    Some(then)
                } else {
                    otherwise.as_ref()
                };
                index = target
                    .and_then(|id| index_of(journey, id))
                    .unwrap_or(index + 1);
            }
            Action::End => {
                end(cursor, Ending::Completed);
                return;
            }
        }
    }
}

/// When a wait that starts now ends. A wait until a moment relative to the appointment
/// has none when the appointment has no start.
fn wake_time(wait: Wait, situation: &Situation) -> Option<Timestamp> {
    match wait {
        Wait::For(duration) => situation.now.checked_add(duration).ok(),
        Wait::FromStart(offset) => situation.start?.checked_add(offset).ok(),
        Wait::LocalTime(time) => {
            let local = situation.now.to_zoned(situation.zone.clone());
            let today = local
                .date()
                .to_datetime(time)
                .to_zoned(situation.zone.clone())
                .ok()?;
            if today.timestamp() > situation.now {
                Some(today.timestamp())
            } else {
                let tomorrow = local.date().checked_add(1.day()).ok()?;
                Some(
                    tomorrow
                        .to_datetime(time)
                        .to_zoned(situation.zone.clone())
                        .ok()?
                        .timestamp(),
                )
            }
        }
    }
}

/// `reply:confirm`, `event:appointment.confirmed`: how a cursor's wait is stored.
pub fn awaited_name(awaited: Awaited) -> String {
    match awaited {
        Awaited::Reply(kind) => format!("reply:{}", kind.name()),
        Awaited::Event(event) => format!("event:{}", event.name()),
    }
}

pub fn parse_awaited(name: &str) -> Option<Awaited> {
    match name.split_once(':')? {
        ("reply", kind) => ReplyKind::parse(kind).map(Awaited::Reply),
        ("event", event) => AppointmentEvent::parse(event).map(Awaited::Event),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;
    use crate::journey::{builtin::BUILTIN, parse};

    fn reminders() -> Journey {
        parse(BUILTIN[0].0, BUILTIN[0].1).unwrap()
    }

    fn at(day: i8, hour: i8) -> Timestamp {
        date(2026, 3, day)
            .at(hour, 0, 0, 0)
            .to_zoned(TimeZone::UTC)
            .unwrap()
            .timestamp()
    }

    fn situation(now: Timestamp, start: Timestamp) -> Situation {
        Situation {
            now,
            start: Some(start),
            zone: TimeZone::UTC,
            confirmed: false,
        }
    }

    fn templates(effects: &[Effect]) -> Vec<&str> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Send { template, .. } => Some(template.as_str()),
                Effect::Task { .. } => None,
            })
            .collect()
    }

    /// Runs timers until the journey ends, returning every template sent, with when.
    fn play(
        journey: &Journey,
        booked: Timestamp,
        start: Timestamp,
        confirmed: bool,
    ) -> Vec<(String, Timestamp)> {
        let mut sent = Vec::new();
        let mut s = situation(booked, start);
        s.confirmed = confirmed;
        let (mut cursor, effects) = advance(journey, &Cursor::start(), Input::Enrolled, &s);
        sent.extend(
            templates(&effects)
                .into_iter()
                .map(|t| (t.to_owned(), booked)),
        );
        while let Some(wake) = cursor.wake {
            s.now = wake;
            let (next, effects) = advance(journey, &cursor, Input::Timer, &s);
            sent.extend(
                templates(&effects)
                    .into_iter()
                    .map(|t| (t.to_owned(), wake)),
            );
            cursor = next;
        }
        assert_eq!(cursor.ended, Some(Ending::Completed));
        sent
    }

    #[test]
    fn booked_a_week_ahead_gets_every_reminder_at_its_time() {
        let start = at(20, 15);
        let sent = play(&reminders(), at(10, 9), start, false);
        let expected = [
            ("booking_confirmation", at(10, 9)),
            ("reminder_72h", at(17, 15)),
            ("reminder_24h_ask", at(19, 15)),
            ("reminder_2h", at(20, 13)),
        ];
        let expected: Vec<(String, Timestamp)> = expected
            .iter()
            .map(|(t, w)| ((*t).to_owned(), *w))
            .collect();
        assert_eq!(sent, expected);
    }

    #[test]
    fn a_confirmed_patient_gets_no_last_text() {
        let sent = play(&reminders(), at(10, 9), at(20, 15), true);
        assert!(!sent.iter().any(|(t, _)| t == "reminder_2h"));
        assert_eq!(sent.len(), 3);
    }

    #[test]
    fn reminders_whose_time_passed_at_booking_are_skipped_not_sent_late() {
        // Booked 30 hours ahead: no 72 h email.
        let sent = play(&reminders(), at(19, 9), at(20, 15), false);
        let names: Vec<&str> = sent.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(
            names,
            ["booking_confirmation", "reminder_24h_ask", "reminder_2h"]
        );
        // Booked an hour ahead: only the confirmation.
        let sent = play(&reminders(), at(20, 14), at(20, 15), false);
        let names: Vec<&str> = sent.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(names, ["booking_confirmation"]);
    }

    #[test]
    fn an_ending_event_ends_it_and_other_events_do_nothing() {
        let journey = reminders();
        let s = situation(at(10, 9), at(20, 15));
        let (cursor, _) = advance(&journey, &Cursor::start(), Input::Enrolled, &s);
        let (same, effects) = advance(
            &journey,
            &cursor,
            Input::Event(AppointmentEvent::Confirmed),
            &s,
        );
        assert_eq!(same, cursor);
        assert!(effects.is_empty());
        let (ended, effects) = advance(
            &journey,
            &cursor,
            Input::Event(AppointmentEvent::Cancelled),
            &s,
        );
        assert_eq!(
            ended.ended,
            Some(Ending::Event(AppointmentEvent::Cancelled))
        );
        assert_eq!(ended.wake, None);
        assert!(effects.is_empty());
        // An ended enrollment stays ended.
        let (still, effects) = advance(&journey, &ended, Input::Timer, &s);
        assert_eq!(still, ended);
        assert!(effects.is_empty());
    }

    #[test]
    fn a_timer_before_its_time_does_nothing() {
        let journey = reminders();
        let s = situation(at(10, 9), at(20, 15));
        let (cursor, _) = advance(&journey, &Cursor::start(), Input::Enrolled, &s);
        let (same, effects) = advance(&journey, &cursor, Input::Timer, &s);
        assert_eq!(same, cursor);
        assert!(effects.is_empty());
    }

    #[test]
    fn a_reschedule_replans_the_reminders_for_the_new_time() {
        let journey = reminders();
        // Booked for the 20th; on the 19th at 16:00 the 24 h ask has gone out.
        let mut s = situation(at(10, 9), at(20, 15));
        let (mut cursor, _) = advance(&journey, &Cursor::start(), Input::Enrolled, &s);
        for now in [at(17, 15), at(19, 15)] {
            s.now = now;
            cursor = advance(&journey, &cursor, Input::Timer, &s).0;
        }
        assert_eq!(cursor.wake, Some(at(20, 13)));
        // Moved to the 27th: back to the 72 h wait, for the new time.
        s.now = at(19, 16);
        s.start = Some(at(27, 15));
        let (moved, effects) = advance(
            &journey,
            &cursor,
            Input::Event(AppointmentEvent::Rescheduled),
            &s,
        );
        assert!(effects.is_empty());
        assert_eq!(moved.wake, Some(at(24, 15)));
        // Moved to tomorrow morning instead: the 24 h wait has passed, so the next one.
        s.start = Some(at(20, 10));
        let (moved, _) = advance(
            &journey,
            &cursor,
            Input::Event(AppointmentEvent::Rescheduled),
            &s,
        );
        assert_eq!(moved.wake, Some(at(20, 8)));
    }

    #[test]
    fn wait_for_a_reply_goes_on_when_it_comes_and_on_timeout_otherwise() {
        let text = r#"
name = "ask"
trigger = "appointment.booked"
[[steps]]
send = { template = "reminder_24h_ask", channel = "sms" }
[[steps]]
wait_for = { reply = "confirm", timeout = "4h", on_timeout = "nudge" }
[[steps]]
id = "thanks"
send = { template = "thanks", channel = "sms" }
[[steps]]
end = true
[[steps]]
id = "nudge"
task = { title = "call the patient" }
"#;
        let journey = parse("ask.toml", text).unwrap();
        let s = situation(at(10, 9), at(20, 15));
        let (cursor, _) = advance(&journey, &Cursor::start(), Input::Enrolled, &s);
        assert_eq!(cursor.waiting, Some(Awaited::Reply(ReplyKind::Confirm)));
        assert_eq!(cursor.wake, Some(at(10, 13)));
        // A different reply is remembered but does not move it.
        let (same, effects) = advance(&journey, &cursor, Input::Reply(ReplyKind::Decline), &s);
        assert_eq!(same.step, cursor.step);
        assert_eq!(same.last_reply, Some(ReplyKind::Decline));
        assert!(effects.is_empty());
        let (done, effects) = advance(&journey, &cursor, Input::Reply(ReplyKind::Confirm), &s);
        assert_eq!(templates(&effects), ["thanks"]);
        assert_eq!(done.ended, Some(Ending::Completed));
        let mut later = s.clone();
        later.now = at(10, 13);
        let (timed_out, effects) = advance(&journey, &cursor, Input::Timer, &later);
        assert_eq!(
            effects,
            [Effect::Task {
                step: "nudge".into(),
                title: "call the patient".into()
            }]
        );
        assert_eq!(timed_out.ended, Some(Ending::Completed));
    }

    #[test]
    fn a_reschedule_is_an_event_like_the_others() {
        let moved = Input::Event(AppointmentEvent::Rescheduled);
        let s = situation(at(10, 9), at(20, 15));
        // Listed in ends_on: it ends the journey.
        let ending = parse(
            "e.toml",
            "name = \"e\"\ntrigger = \"appointment.booked\"\nends_on = [\"appointment.rescheduled\"]\n[[steps]]\nwait = { until = \"start-24h\" }\n[[steps]]\nsend = { template = \"x\", channel = \"sms\" }\n",
        )
        .unwrap();
        let (cursor, _) = advance(&ending, &Cursor::start(), Input::Enrolled, &s);
        let (ended, effects) = advance(&ending, &cursor, moved, &s);
        assert_eq!(
            ended.ended,
            Some(Ending::Event(AppointmentEvent::Rescheduled))
        );
        assert!(effects.is_empty());
        // Awaited by a wait_for: the journey goes on.
        let waiting = parse(
            "w.toml",
            "name = \"w\"\ntrigger = \"appointment.booked\"\n[[steps]]\nwait_for = { event = \"appointment.rescheduled\", timeout = \"3d\" }\n[[steps]]\nsend = { template = \"x\", channel = \"sms\" }\n",
        )
        .unwrap();
        let (cursor, _) = advance(&waiting, &Cursor::start(), Input::Enrolled, &s);
        let (done, effects) = advance(&waiting, &cursor, moved, &s);
        assert_eq!(templates(&effects), ["x"]);
        assert_eq!(done.ended, Some(Ending::Completed));
    }

    #[test]
    fn a_journey_that_loops_without_waiting_is_ended() {
        let text = r#"
name = "loop"
trigger = "appointment.booked"
[[steps]]
id = "a"
branch = { if = "confirmed", then = "a", else = "a" }
"#;
        let journey = parse("loop.toml", text).unwrap();
        let s = situation(at(10, 9), at(20, 15));
        let (cursor, _) = advance(&journey, &Cursor::start(), Input::Enrolled, &s);
        assert_eq!(cursor.ended, Some(Ending::Loop));
    }

    #[test]
    fn a_wait_until_a_time_of_day_is_in_the_patients_zone() {
        let text = r#"
name = "evening"
trigger = "appointment.booked"
[[steps]]
wait = { at = "18:00" }
[[steps]]
send = { template = "x", channel = "sms" }
"#;
        let journey = parse("evening.toml", text).unwrap();
        let zone = TimeZone::get("America/New_York").unwrap();
        let mut s = situation(at(10, 9), at(20, 15));
        s.zone = zone.clone();
        let (cursor, _) = advance(&journey, &Cursor::start(), Input::Enrolled, &s);
        let expected = date(2026, 3, 10)
            .at(18, 0, 0, 0)
            .to_zoned(zone)
            .unwrap()
            .timestamp();
        assert_eq!(cursor.wake, Some(expected));
    }

    #[test]
    fn awaited_names_round_trip() {
        for awaited in [
            Awaited::Reply(ReplyKind::Confirm),
            Awaited::Reply(ReplyKind::Any),
            Awaited::Event(AppointmentEvent::Confirmed),
        ] {
            assert_eq!(parse_awaited(&awaited_name(awaited)), Some(awaited));
        }
        assert_eq!(parse_awaited("nonsense"), None);
    }
}
