//! Message templates: for each message a journey sends, the text in each language, for
//! SMS and for email. Placeholders are `{name}`; what they may hold is fixed, so no
//! clinical detail can slip into a text: a time, a place, a clinic and its phone.
//!
//! ```toml
//! [reminder_24h_ask.en]
//! sms = "{clinic}: reminder of your appointment {when}. Reply C to confirm, N to cancel, R to reschedule."
//! email_subject = "Reminder: your appointment {when}"
//! email_text = "..."
//! ```

pub mod when;

use std::collections::HashMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use toml::{Table, Value};

use crate::sms;
pub use when::Language;

/// The most segments an SMS may take: one message longer than this costs the clinic
/// and splits on some phones.
pub const MAX_SMS_SEGMENTS: usize = 2;

/// What a template may say.
pub const PLACEHOLDERS: &[&str] = &["clinic", "clinic_phone", "when", "place", "first_name"];

/// The facts a message is made of.
#[derive(Clone)]
pub struct Facts {
    pub clinic: String,
    pub clinic_phone: String,
    pub start: Timestamp,
    pub zone: TimeZone,
    /// Where: a location's name, never a department that reveals a condition.
    pub place: String,
    pub first_name: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Texts {
    pub sms: String,
    pub email_subject: String,
    pub email_text: String,
}

impl Texts {
    /// Refuses a text message (of the template `name`) longer than
    /// [`MAX_SMS_SEGMENTS`]; emails have no such limit.
    pub fn fit_sms(&self, name: &str) -> Result<(), TemplateError> {
        let segments = sms::segments(&self.sms).count;
        if segments > MAX_SMS_SEGMENTS {
            return Err(TemplateError::TooLong {
                name: name.to_owned(),
                segments,
            });
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Default)]
pub struct Templates {
    by_name: HashMap<String, HashMap<Language, Texts>>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("{file}: {message}")]
    Load { file: String, message: String },
    #[error("no template named '{0}'")]
    Unknown(String),
    #[error(
        "the text message of '{name}' takes {segments} segments; at most {MAX_SMS_SEGMENTS} are sent"
    )]
    TooLong { name: String, segments: usize },
}

impl Templates {
    /// Reads templates from TOML; `file` names the file in errors.
    pub fn parse(file: &str, text: &str) -> Result<Self, TemplateError> {
        let error = |message: String| TemplateError::Load {
            file: file.to_owned(),
            message,
        };
        let root: Table = text
            .parse()
            .map_err(|e: toml::de::Error| error(format!("not valid TOML: {}", e.message())))?;
        let mut by_name = HashMap::new();
        for (name, languages) in &root {
            let Value::Table(languages) = languages else {
                return Err(error(format!("'{name}' must be a table of languages")));
            };
            let mut texts = HashMap::new();
            for (code, fields) in languages {
                let language = match code.as_str() {
                    "en" => Language::English,
                    "es" => Language::Spanish,
                    other => {
                        return Err(error(format!(
                            "{name}.{other}: the languages are en and es"
                        )));
                    }
                };
                let field = |key: &str| -> Result<String, TemplateError> {
                    let value = fields
                        .get(key)
                        .and_then(Value::as_str)
                        .ok_or_else(|| error(format!("{name}.{code}.{key} is required")))?;
                    check_placeholders(value).map_err(|p| {
                        error(format!(
                            "{name}.{code}.{key}: unknown placeholder {{{p}}}; use {}",
                            PLACEHOLDERS.join(", ")
                        ))
                    })?;
                    Ok(value.to_owned())
                };
                texts.insert(
                    language,
                    Texts {
                        sms: field("sms")?,
                        email_subject: field("email_subject")?,
                        email_text: field("email_text")?,
                    },
                );
            }
            if !texts.contains_key(&Language::English) {
                return Err(error(format!(
                    "{name} needs an en version, the fallback for every language"
                )));
            }
            by_name.insert(name.clone(), texts);
        }
        Ok(Self { by_name })
    }

    /// The texts of `name` in `language` (else English), filled in.
    pub fn render(
        &self,
        name: &str,
        language: Language,
        facts: &Facts,
    ) -> Result<Texts, TemplateError> {
        let versions = self
            .by_name
            .get(name)
            .ok_or_else(|| TemplateError::Unknown(name.to_owned()))?;
        let (language, texts) = match versions.get(&language) {
            Some(texts) => (language, texts),
            None => (
                Language::English,
                versions
                    .get(&Language::English)
                    .ok_or_else(|| TemplateError::Unknown(name.to_owned()))?,
            ),
        };
        let when = when::format(facts.start, &facts.zone, language);
        let fill = |text: &str| fill(text, facts, &when);
        Ok(Texts {
            sms: fill(&texts.sms),
            email_subject: fill(&texts.email_subject),
            email_text: fill(&texts.email_text),
        })
    }

    /// Whether `name` has a version in `language` (not just the English fallback).
    pub fn has(&self, name: &str, language: Language) -> bool {
        self.by_name
            .get(name)
            .is_some_and(|versions| versions.contains_key(&language))
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }
}

/// Walks `text`, handing each piece of literal text and each `{placeholder}` name to
/// `visit`, in order; fails with what follows an unclosed `{`.
fn scan<'t>(
    text: &'t str,
    mut visit: impl FnMut(Piece<'t>) -> Result<(), String>,
) -> Result<(), String> {
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        visit(Piece::Literal(&rest[..open]))?;
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or_else(|| after.to_owned())?;
        visit(Piece::Placeholder(&after[..close]))?;
        rest = &after[close + 1..];
    }
    visit(Piece::Literal(rest))
}

enum Piece<'t> {
    Literal(&'t str),
    Placeholder(&'t str),
}

/// The first placeholder that is not one of [`PLACEHOLDERS`].
fn check_placeholders(text: &str) -> Result<(), String> {
    scan(text, |piece| match piece {
        Piece::Placeholder(name) if !PLACEHOLDERS.contains(&name) => Err(name.to_owned()),
        _ => Ok(()),
    })
}

/// Fills placeholders in one pass, so a value that looks like a placeholder (a place
/// named "{first_name}") is written as it is, not filled in again.
fn fill(text: &str, facts: &Facts, when: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    // Templates were checked at load, so every placeholder is known and closed.
    let _ = scan(text, |piece| {
        out.push_str(match piece {
            Piece::Literal(literal) => literal,
            Piece::Placeholder("clinic") => &facts.clinic,
            Piece::Placeholder("clinic_phone") => &facts.clinic_phone,
            Piece::Placeholder("when") => when,
            Piece::Placeholder("place") => &facts.place,
            Piece::Placeholder("first_name") => &facts.first_name,
            Piece::Placeholder(_) => "",
        });
        Ok(())
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            clinic: "Lakeside Family Clinic".into(),
            clinic_phone: "+1 312 555 0100".into(),
            start: "2026-03-10T14:00:00Z".parse().unwrap(),
            zone: TimeZone::get("America/Chicago").unwrap(),
            place: "Lakeside, 2nd floor".into(),
            first_name: "Ana".into(),
        }
    }

    const FILE: &str = r#"
[reminder.en]
sms = "{clinic}: hi {first_name}, see you {when} at {place}."
email_subject = "Reminder"
email_text = "See you {when}."
[reminder.es]
sms = "{clinic}: hola {first_name}, le esperamos el {when} en {place}."
email_subject = "Recordatorio"
email_text = "Le esperamos el {when}."
"#;

    #[test]
    fn renders_in_the_patients_language_and_zone() {
        let templates = Templates::parse("t.toml", FILE).unwrap();
        let en = templates
            .render("reminder", Language::English, &facts())
            .unwrap();
        assert_eq!(
            en.sms,
            "Lakeside Family Clinic: hi Ana, see you Tue, Mar 10 at 9:00 AM at Lakeside, 2nd floor."
        );
        let es = templates
            .render("reminder", Language::Spanish, &facts())
            .unwrap();
        assert_eq!(
            es.sms,
            "Lakeside Family Clinic: hola Ana, le esperamos el martes 10 de marzo a las 9:00 en Lakeside, 2nd floor."
        );
    }

    #[test]
    fn a_missing_language_falls_back_to_english() {
        let text = FILE.split("[reminder.es]").next().unwrap();
        let templates = Templates::parse("t.toml", text).unwrap();
        let es = templates
            .render("reminder", Language::Spanish, &facts())
            .unwrap();
        assert!(es.sms.contains("see you Tue, Mar 10"));
    }

    #[test]
    fn load_errors_name_the_file_and_template() {
        let unknown = FILE.replace("{place}.\"", "{diagnosis}.\"");
        let error = Templates::parse("t.toml", &unknown)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("t.toml: reminder.en.sms: unknown placeholder {diagnosis}"),
            "{error}"
        );
        let no_english = "[x.es]\nsms = \"a\"\nemail_subject = \"b\"\nemail_text = \"c\"";
        assert!(
            Templates::parse("t.toml", no_english)
                .unwrap_err()
                .to_string()
                .contains("x needs an en version")
        );
        let missing = "[x.en]\nsms = \"a\"";
        assert!(
            Templates::parse("t.toml", missing)
                .unwrap_err()
                .to_string()
                .contains("x.en.email_subject is required")
        );
    }

    #[test]
    fn texts_longer_than_two_segments_are_refused() {
        let long = format!(
            "[x.en]\nsms = \"{}\"\nemail_subject = \"s\"\nemail_text = \"t\"",
            "word ".repeat(70)
        );
        let templates = Templates::parse("t.toml", &long).unwrap();
        assert_eq!(
            templates
                .render("x", Language::English, &facts())
                .and_then(|texts| texts.fit_sms("x")),
            Err(TemplateError::TooLong {
                name: "x".into(),
                segments: 3
            })
        );
    }

    #[test]
    fn a_value_that_looks_like_a_placeholder_is_not_filled_in_again() {
        let templates = Templates::parse(
            "t.toml",
            "[x.en]\nsms = \"At {place}, {first_name}\"\nemail_subject = \"s\"\nemail_text = \"t\"",
        )
        .unwrap();
        let mut odd = facts();
        odd.place = "{first_name} Hall".into();
        let texts = templates.render("x", Language::English, &odd).unwrap();
        assert_eq!(texts.sms, "At {first_name} Hall, Ana");
    }
}

/// The templates the built-in journeys use.
pub const BUILTIN: (&str, &str) = (
    "appointments.toml",
    include_str!("../../templates/appointments.toml"),
);

#[cfg(test)]
mod builtin_tests {
    use super::*;
    use crate::journey::{self, Action};

    /// Long but plausible values, to check the two-segment limit with room to spare.
    fn long_facts() -> Facts {
        Facts {
            clinic: "Riverside Community Health Center".into(),
            clinic_phone: "+1 (312) 555-0100".into(),
            start: "2026-09-30T16:45:00Z".parse().unwrap(),
            zone: TimeZone::get("America/Chicago").unwrap(),
            place: "North Building, 3rd floor".into(),
            first_name: "Maximiliano".into(),
        }
    }

    #[test]
    fn every_builtin_template_fits_two_segments_in_gsm() {
        let templates = Templates::parse(BUILTIN.0, BUILTIN.1).unwrap();
        for name in templates.names() {
            for language in [Language::English, Language::Spanish] {
                let texts = templates.render(name, language, &long_facts()).unwrap();
                texts.fit_sms(name).unwrap();
                let segments = sms::segments(&texts.sms);
                assert!(
                    segments.count <= MAX_SMS_SEGMENTS,
                    "{name} {language:?}: {segments:?}"
                );
                assert_eq!(
                    segments.encoding,
                    sms::Encoding::Gsm7,
                    "{name} {language:?}: {}",
                    texts.sms
                );
            }
        }
    }

    /// Typical values: a clinic name, a place and a time of usual length.
    fn typical_facts() -> Facts {
        Facts {
            clinic: "Riverside Clinic".into(),
            clinic_phone: "617-555-0100".into(),
            start: "2026-09-30T16:45:00Z".parse().unwrap(),
            zone: TimeZone::get("America/New_York").unwrap(),
            place: "12 Main St".into(),
            first_name: "Ana".into(),
        }
    }

    #[test]
    fn every_builtin_text_meets_the_tcpa_preset_with_typical_values() {
        let templates = Templates::parse(BUILTIN.0, BUILTIN.1).unwrap();
        let facts = typical_facts();
        for name in templates.names() {
            for language in [Language::English, Language::Spanish] {
                let texts = templates.render(name, language, &facts).unwrap();
                assert_eq!(
                    crate::tcpa::check_text(&texts.sms, &facts.clinic, &facts.clinic_phone),
                    Ok(()),
                    "{name} {language:?}: {}",
                    texts.sms
                );
            }
        }
    }

    #[test]
    fn every_template_a_builtin_journey_sends_exists_in_both_languages() {
        let templates = Templates::parse(BUILTIN.0, BUILTIN.1).unwrap();
        for (file, text) in journey::builtin::BUILTIN {
            for step in journey::parse(file, text).unwrap().steps {
                if let Action::Send { template, .. } = step.action {
                    for language in [Language::English, Language::Spanish] {
                        assert!(
                            templates.has(&template, language),
                            "{template} {language:?}"
                        );
                        let texts = templates
                            .render(&template, language, &long_facts())
                            .unwrap();
                        assert!(!texts.sms.contains('{'), "{template}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_day_before_reminder_says_how_to_answer() {
        let templates = Templates::parse(BUILTIN.0, BUILTIN.1).unwrap();
        let en = templates
            .render("reminder_24h_ask", Language::English, &long_facts())
            .unwrap();
        assert!(
            en.sms
                .contains("Reply C to confirm, N to cancel, R to reschedule")
        );
        let es = templates
            .render("reminder_24h_ask", Language::Spanish, &long_facts())
            .unwrap();
        assert!(es.sms.contains("Responda: C confirma, N cancela, R cambia"));
    }
}
