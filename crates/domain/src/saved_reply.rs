//! Saved replies: answers staff use often ("Parking is free in the garage on Elm
//! Street"), with variables filled in for the patient at hand. A reply is inserted into
//! the answer box, never sent as it is: the person reads it first.

/// The variables a saved reply may use, each written `{name}`.
pub const VARIABLES: [&str; 5] = [
    "first_name",
    "next_appointment",
    "clinic_hours",
    "clinic_name",
    "clinic_phone",
];
/// The longest saved reply.
pub const MAX_CHARS: usize = 2000;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SavedReplyError {
    #[error("a saved reply's title is 1 to 80 characters")]
    BadTitle,
    #[error("a saved reply is 1 to 2000 characters")]
    BadBody,
    #[error(
        "{{{0}}} is not a variable; use {{first_name}}, {{next_appointment}}, {{clinic_hours}}, {{clinic_name}} or {{clinic_phone}}"
    )]
    UnknownVariable(String),
    #[error("a {{ is not closed by }}")]
    Unclosed,
}

/// What the variables say for one patient.
pub struct Vars<'a> {
    pub first_name: Option<&'a str>,
    /// The next appointment's time, as the patient reads it.
    pub next_appointment: Option<&'a str>,
    pub clinic_hours: &'a str,
    pub clinic_name: &'a str,
    pub clinic_phone: &'a str,
}

/// Checks a saved reply as an admin writes it.
pub fn check(title: &str, body: &str) -> Result<(), SavedReplyError> {
    if !(1..=80).contains(&title.trim().chars().count()) {
        return Err(SavedReplyError::BadTitle);
    }
    if !(1..=MAX_CHARS).contains(&body.trim().chars().count()) {
        return Err(SavedReplyError::BadBody);
    }
    parts(body).map(|_| ())
}

enum Part<'a> {
    Text(&'a str),
    Variable(&'a str),
}

fn parts(body: &str) -> Result<Vec<Part<'_>>, SavedReplyError> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(open) = rest.find('{') {
        out.push(Part::Text(&rest[..open]));
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or(SavedReplyError::Unclosed)?;
        let name = after[..close].trim();
        if !VARIABLES.contains(&name) {
            return Err(SavedReplyError::UnknownVariable(name.to_owned()));
        }
        out.push(Part::Variable(name));
        rest = &after[close + 1..];
    }
    out.push(Part::Text(rest));
    Ok(out)
}

/// The reply for one patient. A variable with nothing to say (no first name on record,
/// no appointment booked) is left in brackets, for the person to see and edit.
pub fn fill(body: &str, vars: &Vars<'_>) -> String {
    let Ok(parts) = parts(body) else {
        return body.to_owned();
    };
    let mut out = String::with_capacity(body.len());
    for part in parts {
        match part {
            Part::Text(text) => out.push_str(text),
            Part::Variable(name) => {
                let value = match name {
                    "first_name" => vars.first_name,
                    "next_appointment" => vars.next_appointment,
                    "clinic_hours" => Some(vars.clinic_hours),
                    "clinic_name" => Some(vars.clinic_name),
                    _ => Some(vars.clinic_phone),
                };
                match value {
                    Some(value) => out.push_str(value),
                    None => {
                        out.push('[');
                        out.push_str(name);
                        out.push(']');
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars<'static> {
        Vars {
            first_name: Some("Ana"),
            next_appointment: None,
            clinic_hours: "Monday to Friday 08:00-17:00",
            clinic_name: "Riverside Clinic",
            clinic_phone: "+1 555 0100",
        }
    }

    #[test]
    fn variables_are_filled_and_a_missing_one_is_left_to_see() {
        let body = "Hi {first_name}, we are open {clinic_hours}. Your visit: {next_appointment}.";
        assert_eq!(check("Hours", body), Ok(()));
        assert_eq!(
            fill(body, &vars()),
            "Hi Ana, we are open Monday to Friday 08:00-17:00. Your visit: [next_appointment]."
        );
        assert_eq!(fill("Call { clinic_phone }", &vars()), "Call +1 555 0100");
    }

    #[test]
    fn a_reply_with_an_unknown_variable_or_no_words_is_refused() {
        assert_eq!(
            check("x", "Hi {name}"),
            Err(SavedReplyError::UnknownVariable("name".into()))
        );
        assert_eq!(check("x", "Hi {first_name"), Err(SavedReplyError::Unclosed));
        assert_eq!(check("", "Hi"), Err(SavedReplyError::BadTitle));
        assert_eq!(check("x", "  "), Err(SavedReplyError::BadBody));
    }
}
