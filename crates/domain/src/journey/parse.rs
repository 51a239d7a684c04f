//! Reading a journey definition from TOML.
//!
//! ```toml
//! name = "appointment-reminders"
//! trigger = "appointment.booked"
//! ends_on = ["appointment.cancelled"]
//!
//! [[steps]]
//! id = "confirmation"
//! send = { template = "booking_confirmation", channel = "preferred" }
//!
//! [[steps]]
//! wait = { until = "start-24h" }
//! ```
//!
//! Each step has one action key: `send`, `wait`, `wait_for`, `branch`, `task` or `end`.

use std::collections::HashSet;

use jiff::SignedDuration;
use jiff::civil::Time;
use toml::{Table, Value};

use super::{
    Action, Awaited, Channel, ChannelChoice, Condition, Journey, Purpose, ReplyKind, Step, Wait,
};
use crate::appointment_events::AppointmentEvent;
use crate::duration;

/// A mistake in a definition, naming where it is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}{}: {message}", step.as_ref().map(|s| format!(", step '{s}'")).unwrap_or_default(), field.as_ref().map(|f| format!(", field '{f}'")).unwrap_or_default())]
pub struct DefinitionError {
    pub file: String,
    pub step: Option<String>,
    pub field: Option<String>,
    pub message: String,
}

const ACTIONS: &[&str] = &["send", "wait", "wait_for", "branch", "task", "end"];

struct Reader<'a> {
    file: &'a str,
    step: Option<String>,
}

impl Reader<'_> {
    fn error(&self, field: &str, message: impl Into<String>) -> DefinitionError {
        DefinitionError {
            file: self.file.to_owned(),
            step: self.step.clone(),
            field: (!field.is_empty()).then(|| field.to_owned()),
            message: message.into(),
        }
    }

    fn string<'t>(
        &self,
        table: &'t Table,
        field: &str,
        path: &str,
    ) -> Result<Option<&'t str>, DefinitionError> {
        match table.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.error(path, "expected a string")),
        }
    }

    fn required<'t>(
        &self,
        table: &'t Table,
        field: &str,
        path: &str,
    ) -> Result<&'t str, DefinitionError> {
        self.string(table, field, path)?
            .ok_or_else(|| self.error(path, "is required"))
    }

    fn only(&self, table: &Table, allowed: &[&str], prefix: &str) -> Result<(), DefinitionError> {
        match table.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(key) => Err(self.error(
                &format!("{prefix}{key}"),
                format!("unknown field; expected one of {}", allowed.join(", ")),
            )),
            None => Ok(()),
        }
    }

    fn event(&self, name: &str, path: &str) -> Result<AppointmentEvent, DefinitionError> {
        AppointmentEvent::parse(name).ok_or_else(|| {
            let known: Vec<&str> = AppointmentEvent::ALL.iter().map(|e| e.name()).collect();
            self.error(
                path,
                format!(
                    "'{name}' is not an event; expected one of {}",
                    known.join(", ")
                ),
            )
        })
    }

    fn duration(&self, text: &str, path: &str) -> Result<SignedDuration, DefinitionError> {
        duration::parse(text).map_err(|e| self.error(path, e.to_string()))
    }
}

/// Reads the definition in `text`; `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Journey, DefinitionError> {
    let mut reader = Reader { file, step: None };
    let root: Table = text.parse().map_err(|e: toml::de::Error| {
        reader.error("", format!("not valid TOML: {}", e.message()))
    })?;
    reader.only(&root, &["name", "trigger", "ends_on", "steps"], "")?;
    let name = reader.required(&root, "name", "name")?.to_owned();
    let trigger = reader.event(reader.required(&root, "trigger", "trigger")?, "trigger")?;
    let ends_on = match root.get("ends_on") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(name) => reader.event(name, "ends_on"),
                _ => Err(reader.error("ends_on", "expected event names")),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(reader.error("ends_on", "expected a list of event names")),
    };
    let Some(Value::Array(raw_steps)) = root.get("steps") else {
        return Err(reader.error("steps", "a journey needs at least one [[steps]]"));
    };
    if raw_steps.is_empty() {
        return Err(reader.error("steps", "a journey needs at least one [[steps]]"));
    }
    let mut steps = Vec::with_capacity(raw_steps.len());
    for (i, raw) in raw_steps.iter().enumerate() {
        reader.step = Some(format!("step-{}", i + 1));
        let Value::Table(table) = raw else {
            return Err(reader.error("", "a step is a table"));
        };
        steps.push(step(&mut reader, table, i)?);
    }
    reader.step = None;
    check_references(&reader, &steps)?;
    Ok(Journey {
        name,
        trigger,
        ends_on,
        steps,
    })
}

fn step(reader: &mut Reader<'_>, table: &Table, index: usize) -> Result<Step, DefinitionError> {
    let id = match reader.string(table, "id", "id")? {
        Some(id) => {
            if id.is_empty()
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(reader.error("id", "an id is letters, digits, '-' and '_'"));
            }
            id.to_owned()
        }
        None => format!("step-{}", index + 1),
    };
    reader.step = Some(id.clone());
    let mut allowed = vec!["id"];
    allowed.extend_from_slice(ACTIONS);
    reader.only(table, &allowed, "")?;
    let actions: Vec<&str> = ACTIONS
        .iter()
        .copied()
        .filter(|a| table.contains_key(*a))
        .collect();
    let [kind] = actions.as_slice() else {
        return Err(reader.error(
            "",
            format!("a step has exactly one of {}", ACTIONS.join(", ")),
        ));
    };
    let value = &table[*kind];
    let action = match (*kind, value) {
        ("end", Value::Boolean(true)) => Action::End,
        ("end", _) => return Err(reader.error("end", "write end = true")),
        (kind, Value::Table(fields)) => match kind {
            "send" => send(reader, fields)?,
            "wait" => wait(reader, fields)?,
            "wait_for" => wait_for(reader, fields)?,
            "branch" => branch(reader, fields)?,
            _ => task(reader, fields)?,
        },
        (kind, _) => return Err(reader.error(kind, "expected a table, as { ... }")),
    };
    Ok(Step { id, action })
}

fn send(reader: &Reader<'_>, fields: &Table) -> Result<Action, DefinitionError> {
    reader.only(fields, &["template", "channel", "purpose"], "send.")?;
    let template = reader
        .required(fields, "template", "send.template")?
        .to_owned();
    let channel = match fields.get("channel") {
        None => ChannelChoice::Preferred,
        Some(Value::String(s)) if s == "preferred" => ChannelChoice::Preferred,
        Some(Value::String(s)) => ChannelChoice::InOrder(vec![channel(reader, s)?]),
        Some(Value::Array(items)) if !items.is_empty() => ChannelChoice::InOrder(
            items
                .iter()
                .map(|item| match item {
                    Value::String(s) => channel(reader, s),
                    _ => Err(reader.error("send.channel", "expected channel names")),
                })
                .collect::<Result<_, _>>()?,
        ),
        Some(_) => {
            return Err(reader.error(
                "send.channel",
                "expected \"preferred\", a channel, or a list of channels to try in order",
            ));
        }
    };
    let purpose = match reader.string(fields, "purpose", "send.purpose")? {
        None => Purpose::Transactional,
        Some(code) => Purpose::parse(code).ok_or_else(|| {
            reader.error(
                "send.purpose",
                format!("'{code}' is not transactional or marketing"),
            )
        })?,
    };
    Ok(Action::Send {
        template,
        channel,
        purpose,
    })
}

fn channel(reader: &Reader<'_>, name: &str) -> Result<Channel, DefinitionError> {
    match name {
        "sms" => Ok(Channel::Sms),
        "email" => Ok(Channel::Email),
        other => Err(reader.error(
            "send.channel",
            format!("'{other}' is not a channel; expected sms or email"),
        )),
    }
}

fn wait(reader: &Reader<'_>, fields: &Table) -> Result<Action, DefinitionError> {
    reader.only(fields, &["for", "until", "at"], "wait.")?;
    let given: Vec<&String> = fields.keys().collect();
    if given.len() != 1 {
        return Err(reader.error("wait", "give one of for, until or at"));
    }
    let wait = if let Some(text) = reader.string(fields, "for", "wait.for")? {
        let d = reader.duration(text, "wait.for")?;
        Wait::For(d)
    } else if let Some(text) = reader.string(fields, "until", "wait.until")? {
        Wait::FromStart(from_start(reader, text)?)
    } else {
        let text = reader.required(fields, "at", "wait.at")?;
        Wait::LocalTime(time_of_day(text).ok_or_else(|| {
            reader.error(
                "wait.at",
                format!("'{text}' is not a time of day such as 18:00"),
            )
        })?)
    };
    Ok(Action::Wait(wait))
}

/// `start-24h`, `start+1h`, `start`.
fn from_start(reader: &Reader<'_>, text: &str) -> Result<SignedDuration, DefinitionError> {
    let invalid = || {
        reader.error(
            "wait.until",
            format!("'{text}' is not an offset from the start such as start-24h or start+1h"),
        )
    };
    let rest = text.trim().strip_prefix("start").ok_or_else(invalid)?;
    if rest.is_empty() {
        return Ok(SignedDuration::ZERO);
    }
    let (sign, amount) = match (rest.strip_prefix('-'), rest.strip_prefix('+')) {
        (Some(amount), _) => (-1, amount),
        (_, Some(amount)) => (1, amount),
        _ => return Err(invalid()),
    };
    let d = duration::parse(amount).map_err(|_| invalid())?;
    Ok(if sign < 0 { -d } else { d })
}

fn time_of_day(text: &str) -> Option<Time> {
    let (h, m) = text.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    Time::new(h.parse().ok()?, m.parse().ok()?, 0, 0).ok()
}

fn reply_kind(reader: &Reader<'_>, text: &str, path: &str) -> Result<ReplyKind, DefinitionError> {
    ReplyKind::parse(text).ok_or_else(|| {
        reader.error(
            path,
            format!("'{text}' is not a reply; expected confirm, decline, reschedule or any"),
        )
    })
}

fn wait_for(reader: &Reader<'_>, fields: &Table) -> Result<Action, DefinitionError> {
    reader.only(
        fields,
        &["reply", "event", "timeout", "on_timeout"],
        "wait_for.",
    )?;
    let awaited = match (
        reader.string(fields, "reply", "wait_for.reply")?,
        reader.string(fields, "event", "wait_for.event")?,
    ) {
        (Some(reply), None) => Awaited::Reply(reply_kind(reader, reply, "wait_for.reply")?),
        (None, Some(event)) => Awaited::Event(reader.event(event, "wait_for.event")?),
        _ => return Err(reader.error("wait_for", "give one of reply or event")),
    };
    let timeout = reader.duration(
        reader.required(fields, "timeout", "wait_for.timeout")?,
        "wait_for.timeout",
    )?;
    Ok(Action::WaitFor {
        awaited,
        timeout,
        on_timeout: reader
            .string(fields, "on_timeout", "wait_for.on_timeout")?
            .map(str::to_owned),
    })
}

fn branch(reader: &Reader<'_>, fields: &Table) -> Result<Action, DefinitionError> {
    reader.only(fields, &["if", "then", "else"], "branch.")?;
    let text = reader.required(fields, "if", "branch.if")?;
    let condition = match text.split_once(' ') {
        None if text == "confirmed" => Condition::Confirmed,
        Some(("last_reply", kind)) => {
            Condition::LastReply(reply_kind(reader, kind.trim(), "branch.if")?)
        }
        _ => {
            return Err(reader.error(
                "branch.if",
                format!("'{text}' is not a condition; expected confirmed or last_reply KIND"),
            ));
        }
    };
    Ok(Action::Branch {
        condition,
        then: reader.required(fields, "then", "branch.then")?.to_owned(),
        otherwise: reader
            .string(fields, "else", "branch.else")?
            .map(str::to_owned),
    })
}

fn task(reader: &Reader<'_>, fields: &Table) -> Result<Action, DefinitionError> {
    reader.only(fields, &["title"], "task.")?;
    Ok(Action::Task {
        title: reader.required(fields, "title", "task.title")?.to_owned(),
    })
}

/// Ids are unique, and every step a `then`, `else` or `on_timeout` names exists.
fn check_references(reader: &Reader<'_>, steps: &[Step]) -> Result<(), DefinitionError> {
    let mut ids = HashSet::new();
    for step in steps {
        if !ids.insert(step.id.as_str()) {
            return Err(DefinitionError {
                step: Some(step.id.clone()),
                ..reader.error("id", "another step has this id")
            });
        }
    }
    for step in steps {
        let targets: Vec<(&str, &String)> = match &step.action {
            Action::Branch {
                then, otherwise, ..
            } => {
                let mut t = vec![("branch.then", then)];
                t.extend(otherwise.iter().map(|o| ("branch.else", o)));
                t
            }
            Action::WaitFor {
                on_timeout: Some(target),
                ..
            } => vec![("wait_for.on_timeout", target)],
            _ => Vec::new(),
        };
        for (field, target) in targets {
            if !ids.contains(target.as_str()) {
                return Err(DefinitionError {
                    step: Some(step.id.clone()),
                    ..reader.error(field, format!("no step has the id '{target}'"))
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const REMINDERS: &str = r#"
name = "appointment-reminders"
trigger = "appointment.booked"
ends_on = ["appointment.cancelled"]

[[steps]]
id = "confirmation"
send = { template = "booking_confirmation", channel = "preferred" }

[[steps]]
wait = { until = "start-72h" }

[[steps]]
send = { template = "reminder_72h", channel = "email" }

[[steps]]
wait = { until = "start-24h" }

[[steps]]
id = "ask"
send = { template = "reminder_24h", channel = ["sms", "email"] }

[[steps]]
wait_for = { reply = "confirm", timeout = "22h", on_timeout = "last-call" }

[[steps]]
branch = { if = "confirmed", then = "done", else = "last-call" }

[[steps]]
id = "last-call"
send = { template = "reminder_2h", channel = "sms" }

[[steps]]
id = "done"
end = true
"#;

    #[test]
    fn reads_a_whole_journey() {
        let journey = parse("reminders.toml", REMINDERS).unwrap();
        assert_eq!(journey.trigger, AppointmentEvent::Booked);
        assert_eq!(journey.ends_on, [AppointmentEvent::Cancelled]);
        assert_eq!(journey.steps.len(), 9);
        assert_eq!(journey.steps[1].id, "step-2");
        assert_eq!(
            journey.steps[1].action,
            Action::Wait(Wait::FromStart(SignedDuration::from_hours(-72)))
        );
        assert_eq!(
            journey.steps[4].action,
            Action::Send {
                template: "reminder_24h".into(),
                channel: ChannelChoice::InOrder(vec![Channel::Sms, Channel::Email]),
                purpose: Purpose::Transactional
            }
        );
        assert_eq!(
            journey.steps[5].action,
            Action::WaitFor {
                awaited: Awaited::Reply(ReplyKind::Confirm),
                timeout: SignedDuration::from_hours(22),
                on_timeout: Some("last-call".into())
            }
        );
        assert_eq!(journey.steps[8].action, Action::End);
    }

    fn error(text: &str) -> String {
        parse("j.toml", text).unwrap_err().to_string()
    }

    const HEAD: &str = "name = \"j\"\ntrigger = \"appointment.booked\"\n";

    #[test]
    fn mistakes_name_the_file_step_and_field() {
        let cases = [
            (
                "name = \"j\"\ntrigger = \"appointment.moved\"\n[[steps]]\nend = true",
                "j.toml, field 'trigger': 'appointment.moved' is not an event",
            ),
            (
                HEAD,
                "j.toml, field 'steps': a journey needs at least one [[steps]]",
            ),
            (
                &format!("{HEAD}[[steps]]\nid = \"hello\"\nsend = {{ channel = \"sms\" }}"),
                "j.toml, step 'hello', field 'send.template': is required",
            ),
            (
                &format!("{HEAD}[[steps]]\nsend = {{ template = \"t\", channel = \"fax\" }}"),
                "j.toml, step 'step-1', field 'send.channel': 'fax' is not a channel",
            ),
            (
                &format!("{HEAD}[[steps]]\nwait = {{ until = \"tomorrow\" }}"),
                "step 'step-1', field 'wait.until': 'tomorrow' is not an offset",
            ),
            (
                &format!("{HEAD}[[steps]]\nwait = {{ for = \"2 hours\" }}"),
                "field 'wait.for': '2 hours' is not a duration",
            ),
            (
                &format!("{HEAD}[[steps]]\nwait = {{ at = \"6pm\" }}"),
                "field 'wait.at': '6pm' is not a time of day",
            ),
            (
                &format!("{HEAD}[[steps]]\nwait_for = {{ reply = \"maybe\", timeout = \"1h\" }}"),
                "field 'wait_for.reply': 'maybe' is not a reply",
            ),
            (
                &format!("{HEAD}[[steps]]\nbranch = {{ if = \"confirmed\", then = \"nowhere\" }}"),
                "step 'step-1', field 'branch.then': no step has the id 'nowhere'",
            ),
            (
                &format!("{HEAD}[[steps]]\nend = true\nsend = {{ template = \"t\" }}"),
                "a step has exactly one of send, wait",
            ),
            (
                &format!("{HEAD}[[steps]]\nsend = {{ template = \"t\", colour = \"red\" }}"),
                "field 'send.colour': unknown field",
            ),
            (
                &format!(
                    "{HEAD}[[steps]]\nid = \"a\"\nend = true\n[[steps]]\nid = \"a\"\nend = true"
                ),
                "step 'a', field 'id': another step has this id",
            ),
            (
                &format!("{HEAD}[[steps]]\ntask = {{ }}"),
                "field 'task.title': is required",
            ),
            ("name = ", "j.toml: not valid TOML"),
        ];
        for (text, expected) in cases {
            let message = error(text);
            assert!(
                message.contains(expected),
                "{message}\n  should contain: {expected}"
            );
        }
    }

    #[test]
    fn waits_of_every_form() {
        let text = format!(
            "{HEAD}[[steps]]\nwait = {{ for = \"1h30m\" }}\n[[steps]]\nwait = {{ until = \"start+2h\" }}\n[[steps]]\nwait = {{ at = \"18:00\" }}"
        );
        let journey = parse("j.toml", &text).unwrap();
        let waits: Vec<&Action> = journey.steps.iter().map(|s| &s.action).collect();
        assert_eq!(
            waits[0],
            &Action::Wait(Wait::For(SignedDuration::from_mins(90)))
        );
        assert_eq!(
            waits[1],
            &Action::Wait(Wait::FromStart(SignedDuration::from_hours(2)))
        );
        assert_eq!(
            waits[2],
            &Action::Wait(Wait::LocalTime(Time::constant(18, 0, 0, 0)))
        );
    }
}
