//! The clinic's own triage rules: what a patient's message says (words and phrases in
//! any language, or a regular expression), the channel it came on and who the patient is
//! decide its department, priority and tags. Rules are tried in the clinic's order and
//! the first that matches decides; the built-in red flags ([`crate::red_flags`]) come
//! before them all and cannot be turned off.
//!
//! A rule is kept as [`RuleDefinition`] (what an admin wrote, as JSON) and used as
//! [`Rule`] (checked, its expression compiled), so a rule that does not check is never
//! stored and one that is stored always runs.

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

use crate::business_hours::Priority;
use crate::journey::Channel;
use crate::staff::DepartmentKey;
use crate::words::normalise;

/// The longest name, phrase or expression a rule has.
const NAME_CHARS: usize = 100;
const PHRASE_CHARS: usize = 100;
const PATTERN_CHARS: usize = 500;
const MOST_PHRASES: usize = 100;
const MOST_TAGS: usize = 10;
const TAG_CHARS: usize = 40;
/// The memory a compiled expression may take: enough for any sensible rule, too little
/// for one that would slow every inbound message.
const PATTERN_BYTES: usize = 256 * 1024;

/// A rule as an admin writes it and the store keeps it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDefinition {
    pub name: String,
    #[serde(default = "enabled")]
    pub enabled: bool,
    #[serde(default)]
    pub when: When,
    #[serde(default)]
    pub then: Then,
}

fn enabled() -> bool {
    true
}

/// What a message must be for the rule to match: every condition given holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct When {
    /// Any one of these words or phrases, found as whole words without case or accents.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phrases: Vec<String>,
    /// A regular expression, without case, on the text as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// The channels it came on (`sms`, `email`, ...); any when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<String>,
    /// The patient's preferred languages (`en`, `es`); any when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<String>,
    /// The patient's age in whole years, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_age: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u16>,
}

/// What a matching rule decides.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Then {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RuleError {
    #[error("a rule's name is 1 to {NAME_CHARS} characters")]
    BadName,
    #[error("a rule needs a condition: phrases, a pattern, channels, languages or an age")]
    NoCondition,
    #[error("a rule needs something to decide: a department, a priority or tags")]
    NoOutcome,
    #[error(
        "a phrase is 1 to {PHRASE_CHARS} characters with a letter or digit, at most {MOST_PHRASES} of them"
    )]
    BadPhrase,
    #[error("the pattern is not a regular expression careloop can run: {0}")]
    BadPattern(String),
    #[error("'{0}' is not a channel: sms or email")]
    BadChannel(String),
    #[error("'{0}' is not a language code such as en or es")]
    BadLanguage(String),
    #[error("the lowest age is above the highest")]
    BadAges,
    #[error("'{0}' is not a department key")]
    BadDepartment(String),
    #[error("'{0}' is not a priority: urgent, high, normal or low")]
    BadPriority(String),
    #[error(
        "a tag is 1 to {TAG_CHARS} lower-case letters, digits or dashes, at most {MOST_TAGS} of them"
    )]
    BadTag,
}

/// A rule, checked and ready to run.
#[derive(Clone, Debug)]
pub struct Rule {
    pub name: String,
    phrases: Vec<String>,
    pattern: Option<Regex>,
    channels: Vec<Channel>,
    languages: Vec<String>,
    min_age: Option<u16>,
    max_age: Option<u16>,
    pub outcome: Outcome,
}

/// What a rule decides, checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub department: Option<DepartmentKey>,
    pub priority: Option<Priority>,
    pub tags: Vec<String>,
}

/// What is known of a message when it is triaged.
#[derive(Clone, Copy, Debug)]
pub struct Facts<'a> {
    pub text: &'a str,
    pub channel: Channel,
    /// The patient's preferred language's code, if on record.
    pub language: Option<&'a str>,
    pub age: Option<u16>,
}

impl RuleDefinition {
    /// The rule, checked; an admin sees the error as it is.
    pub fn check(&self) -> Result<Rule, RuleError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > NAME_CHARS {
            return Err(RuleError::BadName);
        }
        let when = &self.when;
        if when.phrases.len() > MOST_PHRASES {
            return Err(RuleError::BadPhrase);
        }
        let phrases = when
            .phrases
            .iter()
            .map(|p| {
                let normal = normalise(p);
                if normal.trim().is_empty() || p.chars().count() > PHRASE_CHARS {
                    Err(RuleError::BadPhrase)
                } else {
                    Ok(normal)
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let pattern = when
            .pattern
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(compile)
            .transpose()?;
        let channels = when
            .channels
            .iter()
            .map(|c| Channel::parse(c.trim()).ok_or_else(|| RuleError::BadChannel(c.clone())))
            .collect::<Result<Vec<_>, _>>()?;
        let languages = when
            .languages
            .iter()
            .map(|l| {
                let code = l.trim().to_ascii_lowercase();
                let well_formed =
                    (2..=3).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_lowercase());
                if well_formed {
                    Ok(code)
                } else {
                    Err(RuleError::BadLanguage(l.clone()))
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        if let (Some(min), Some(max)) = (when.min_age, when.max_age)
            && min > max
        {
            return Err(RuleError::BadAges);
        }
        let has_condition = !phrases.is_empty()
            || pattern.is_some()
            || !channels.is_empty()
            || !languages.is_empty()
            || when.min_age.is_some()
            || when.max_age.is_some();
        if !has_condition {
            return Err(RuleError::NoCondition);
        }
        let outcome = self.then.check()?;
        if outcome == Outcome::default() {
            return Err(RuleError::NoOutcome);
        }
        Ok(Rule {
            name: name.to_owned(),
            phrases,
            pattern,
            channels,
            languages,
            min_age: when.min_age,
            max_age: when.max_age,
            outcome,
        })
    }
}

impl Then {
    fn check(&self) -> Result<Outcome, RuleError> {
        let department = self
            .department
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(|d| DepartmentKey::parse(d).map_err(|_| RuleError::BadDepartment(d.to_owned())))
            .transpose()?;
        let priority = self
            .priority
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                Priority::parse(&p.to_ascii_lowercase())
                    .ok_or_else(|| RuleError::BadPriority(p.to_owned()))
            })
            .transpose()?;
        if self.tags.len() > MOST_TAGS {
            return Err(RuleError::BadTag);
        }
        let mut tags = Vec::new();
        for tag in &self.tags {
            let tag = tag.trim().to_lowercase();
            let well_formed = !tag.is_empty()
                && tag.chars().count() <= TAG_CHARS
                && tag
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !well_formed {
                return Err(RuleError::BadTag);
            }
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        Ok(Outcome {
            department,
            priority,
            tags,
        })
    }
}

fn compile(pattern: &str) -> Result<Regex, RuleError> {
    if pattern.chars().count() > PATTERN_CHARS {
        return Err(RuleError::BadPattern(format!(
            "longer than {PATTERN_CHARS} characters"
        )));
    }
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(PATTERN_BYTES)
        .dfa_size_limit(PATTERN_BYTES)
        .build()
        .map_err(|error| match error {
            regex::Error::CompiledTooBig(_) => {
                RuleError::BadPattern("it would take too much memory".to_owned())
            }
            // The syntax error's text points at the pattern, which is the clinic's own.
            other => RuleError::BadPattern(
                other
                    .to_string()
                    .lines()
                    .last()
                    .unwrap_or("")
                    .trim()
                    .to_owned(),
            ),
        })
}

impl Rule {
    /// Whether the message is one this rule is for.
    pub fn matches(&self, facts: &Facts<'_>) -> bool {
        if !self.channels.is_empty() && !self.channels.contains(&facts.channel) {
            return false;
        }
        if !self.languages.is_empty()
            && !facts.language.is_some_and(|l| {
                self.languages
                    .iter()
                    .any(|code| l.eq_ignore_ascii_case(code))
            })
        {
            return false;
        }
        if self.min_age.is_some() || self.max_age.is_some() {
            let Some(age) = facts.age else {
                return false;
            };
            if self.min_age.is_some_and(|min| age < min)
                || self.max_age.is_some_and(|max| age > max)
            {
                return false;
            }
        }
        if !self.phrases.is_empty() {
            let text = normalise(facts.text);
            if !self.phrases.iter().any(|p| text.contains(p.as_str())) {
                return false;
            }
        }
        self.pattern
            .as_ref()
            .is_none_or(|pattern| pattern.is_match(facts.text))
    }
}

/// The first rule of the clinic's order that matches the message.
pub fn first_match<'r>(rules: &'r [Rule], facts: &Facts<'_>) -> Option<&'r Rule> {
    rules.iter().find(|rule| rule.matches(facts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rule(json: &str) -> Rule {
        let definition: RuleDefinition = serde_json::from_str(json).unwrap();
        definition.check().unwrap()
    }

    fn sms(text: &str) -> Facts<'_> {
        Facts {
            text,
            channel: Channel::Sms,
            language: None,
            age: None,
        }
    }

    #[test]
    fn phrases_match_whole_words_in_either_language() {
        let billing = rule(
            r#"{"name": "Billing", "when": {"phrases": ["bill", "factura", "insurance card"]},
                "then": {"department": "billing", "tags": ["Billing"]}}"#,
        );
        assert!(billing.matches(&sms("Question about my BILL please")));
        assert!(billing.matches(&sms("¿Dónde está mi FACTURA?")));
        assert!(billing.matches(&sms("new insurance  card!")));
        assert!(!billing.matches(&sms("billing address changed")));
        assert!(!billing.matches(&sms("insurance")));
        assert_eq!(billing.outcome.tags, ["billing"]);
        assert_eq!(billing.outcome.department.unwrap().as_str(), "billing");
    }

    #[test]
    fn every_condition_given_must_hold() {
        let kids = rule(
            r#"{"name": "Children by email", "when": {"pattern": "\\bfever\\b", "channels": ["email"],
                "languages": ["es"], "max_age": 17}, "then": {"department": "pediatrics", "priority": "high"}}"#,
        );
        let facts = Facts {
            text: "Tiene FEVER desde ayer",
            channel: Channel::Email,
            language: Some("es"),
            age: Some(6),
        };
        assert!(kids.matches(&facts));
        assert!(!kids.matches(&Facts {
            channel: Channel::Sms,
            ..facts
        }));
        assert!(!kids.matches(&Facts {
            language: Some("en"),
            ..facts
        }));
        assert!(!kids.matches(&Facts {
            language: None,
            ..facts
        }));
        assert!(!kids.matches(&Facts {
            age: Some(18),
            ..facts
        }));
        assert!(!kids.matches(&Facts { age: None, ..facts }));
        assert!(!kids.matches(&Facts {
            text: "feverish",
            ..facts
        }));
        assert_eq!(kids.outcome.priority, Some(Priority::High));
    }

    #[test]
    fn the_first_matching_rule_decides() {
        // Rules turned off are left out by the engine as it loads them (a test of
        // `/api/v1/triage-rules/test` shows it), so `first_match` sees only these.
        let enabled = [
            rule(
                r#"{"name": "Refills", "when": {"phrases": ["refill"]}, "then": {"department": "pharmacy"}}"#,
            ),
            rule(
                r#"{"name": "Every text", "when": {"channels": ["sms"]}, "then": {"department": "front-desk"}}"#,
            ),
        ];
        assert_eq!(
            first_match(&enabled, &sms("need a refill")).unwrap().name,
            "Refills"
        );
        assert_eq!(
            first_match(&enabled, &sms("hello")).unwrap().name,
            "Every text"
        );
        let email = Facts {
            channel: Channel::Email,
            ..sms("hello")
        };
        assert!(first_match(&enabled, &email).is_none());
    }

    #[test]
    fn a_rule_that_does_not_check_says_why() {
        let check = |json: &str| {
            serde_json::from_str::<RuleDefinition>(json)
                .unwrap()
                .check()
                .unwrap_err()
        };
        assert_eq!(
            check(r#"{"name": " ", "when": {"phrases": ["a"]}, "then": {"tags": ["a"]}}"#),
            RuleError::BadName
        );
        assert_eq!(
            check(r#"{"name": "n", "then": {"tags": ["a"]}}"#),
            RuleError::NoCondition
        );
        assert_eq!(
            check(r#"{"name": "n", "when": {"phrases": ["a"]}}"#),
            RuleError::NoOutcome
        );
        assert_eq!(
            check(r#"{"name": "n", "when": {"phrases": ["?!"]}, "then": {"tags": ["a"]}}"#),
            RuleError::BadPhrase
        );
        assert!(matches!(
            check(r#"{"name": "n", "when": {"pattern": "(unclosed"}, "then": {"tags": ["a"]}}"#),
            RuleError::BadPattern(_)
        ));
        assert!(matches!(
            check(
                r#"{"name": "n", "when": {"pattern": "\\w{1000}{1000}"}, "then": {"tags": ["a"]}}"#
            ),
            RuleError::BadPattern(_)
        ));
        assert_eq!(
            check(r#"{"name": "n", "when": {"channels": ["fax"]}, "then": {"tags": ["a"]}}"#),
            RuleError::BadChannel("fax".into())
        );
        assert_eq!(
            check(r#"{"name": "n", "when": {"languages": ["english"]}, "then": {"tags": ["a"]}}"#),
            RuleError::BadLanguage("english".into())
        );
        assert_eq!(
            check(
                r#"{"name": "n", "when": {"min_age": 18, "max_age": 5}, "then": {"tags": ["a"]}}"#
            ),
            RuleError::BadAges
        );
        assert_eq!(
            check(r#"{"name": "n", "when": {"min_age": 1}, "then": {"department": "No Such!"}}"#),
            RuleError::BadDepartment("No Such!".into())
        );
        assert_eq!(
            check(r#"{"name": "n", "when": {"min_age": 1}, "then": {"priority": "asap"}}"#),
            RuleError::BadPriority("asap".into())
        );
        assert_eq!(
            check(r#"{"name": "n", "when": {"min_age": 1}, "then": {"tags": ["two words"]}}"#),
            RuleError::BadTag
        );
        assert!(serde_json::from_str::<RuleDefinition>(r#"{"name": "n", "colour": 1}"#).is_err());
    }

    proptest! {
        /// Whatever a patient writes, a rule answers without panicking, and a phrase
        /// rule matches a text that holds its phrase as words.
        #[test]
        fn any_text_is_read(text in "\\PC{0,200}", word in "[a-z]{1,12}") {
            let rule = RuleDefinition {
                name: "w".into(),
                enabled: true,
                when: When { phrases: vec![word.clone()], pattern: Some("a+b".into()), ..When::default() },
                then: Then { tags: vec!["t".into()], ..Then::default() },
            }
            .check()
            .unwrap();
            let _ = rule.matches(&sms(&text));
            let holds = format!("{text} {word} ab");
            prop_assert!(rule.matches(&sms(&holds)));
        }
    }
}
