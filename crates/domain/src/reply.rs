//! What a patient's answer means. Keywords are matched whole, ignoring case, spaces,
//! accents and trailing punctuation, in English and Spanish. Free-text opt-outs ("stop
//! texting me") count as opt-outs too: since the FCC's 2024 rule, consent may be withdrawn
//! "by any reasonable means".

/// The meaning of a reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Intent {
    /// Confirm the appointment the reply is about.
    Confirm,
    /// Cancel it.
    Decline,
    /// Ask staff to move it.
    Reschedule,
    /// Withdraw consent to texts. `trigger` is the words that said so, for the record.
    OptOut {
        trigger: String,
        /// Said in the patient's own words rather than a carrier keyword.
        free_text: bool,
    },
    /// Give consent again (`START`).
    OptIn,
    Help,
    /// Anything else: a message for staff.
    Other,
}

/// Carrier opt-out keywords. `CANCEL` is one of them: it stops texts, it does not cancel
/// an appointment.
const OPT_OUT: &[&str] = &[
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "REVOKE",
    "OPTOUT",
    "OPT OUT",
];
const OPT_IN: &[&str] = &["START", "UNSTOP"];
const HELP: &[&str] = &["HELP", "INFO", "AYUDA"];
const CONFIRM: &[&str] = &[
    "C",
    "Y",
    "YES",
    "1",
    "SI",
    "CONFIRM",
    "CONFIRMAR",
    "CONFIRMO",
];
const DECLINE: &[&str] = &["N", "NO", "2"];
const RESCHEDULE: &[&str] = &["R"];

/// Phrases that withdraw consent in free text, matched on word boundaries after
/// normalizing (lower case, no accents, single spaces).
const OPT_OUT_PHRASES: &[&str] = &[
    "stop texting",
    "stop messaging",
    "stop sending",
    "stop contacting",
    "no more messages",
    "no more texts",
    "no more text messages",
    "dont text me",
    "do not text me",
    "dont message me",
    "do not message me",
    "dont contact me",
    "do not contact me",
    "unsubscribe me",
    "remove me from this list",
    "remove me from your list",
    "take me off this list",
    "take me off your list",
    "no me envien mas",
    "no me manden mas",
    "no me escriban mas",
    "no mas mensajes",
    "dejen de enviarme",
    "dejen de mandarme",
    "dejen de escribirme",
    "ya no quiero recibir mensajes",
    "ya no quiero mensajes",
];

/// Folds case and the accents of the Latin letters Spanish and English texts use.
fn fold(c: char) -> char {
    match c {
        'á' | 'à' | 'ä' | 'â' | 'Á' | 'À' | 'Ä' | 'Â' => 'a',
        'é' | 'è' | 'ë' | 'ê' | 'É' | 'È' | 'Ë' | 'Ê' => 'e',
        'í' | 'ì' | 'ï' | 'î' | 'Í' | 'Ì' | 'Ï' | 'Î' => 'i',
        'ó' | 'ò' | 'ö' | 'ô' | 'Ó' | 'Ò' | 'Ö' | 'Ô' => 'o',
        'ú' | 'ù' | 'ü' | 'û' | 'Ú' | 'Ù' | 'Ü' | 'Û' => 'u',
        'ñ' | 'Ñ' => 'n',
        other => other.to_ascii_lowercase(),
    }
}

/// Lower case, no accents, apostrophes dropped, anything else that is not a letter or a
/// digit a space, and single spaces.
fn normalize(text: &str) -> String {
    let folded: String = text
        .chars()
        .filter(|c| !matches!(c, '\'' | '’'))
        .map(fold)
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Reads a reply.
pub fn classify(text: &str) -> Intent {
    let normal = normalize(text);
    let keyword = normal.to_ascii_uppercase();
    let is = |list: &[&str]| list.contains(&keyword.as_str());
    if is(OPT_OUT) {
        return Intent::OptOut {
            trigger: keyword.clone(),
            free_text: false,
        };
    }
    if is(OPT_IN) {
        return Intent::OptIn;
    }
    if is(HELP) {
        return Intent::Help;
    }
    if is(CONFIRM) {
        return Intent::Confirm;
    }
    if is(DECLINE) {
        return Intent::Decline;
    }
    if is(RESCHEDULE) {
        return Intent::Reschedule;
    }
    let padded = format!(" {normal} ");
    if let Some(phrase) = OPT_OUT_PHRASES
        .iter()
        .find(|phrase| padded.contains(&format!(" {phrase} ")))
    {
        return Intent::OptOut {
            trigger: (*phrase).to_owned(),
            free_text: true,
        };
    }
    Intent::Other
}

/// A keyword with the number of a listed choice (`C2`, `n 1`), the answer to "which
/// appointment?": the intent (confirm, decline, reschedule) and the choice, from 1.
pub fn numbered(text: &str) -> Option<(Intent, usize)> {
    let normal = normalize(text).to_ascii_uppercase().replace(' ', "");
    let (letter, digits) = normal.split_at_checked(1)?;
    let intent = match letter {
        "C" => Intent::Confirm,
        "N" => Intent::Decline,
        "R" => Intent::Reschedule,
        _ => return None,
    };
    let choice: usize = digits.parse().ok().filter(|n| (1..=9).contains(n))?;
    (digits.len() == 1).then_some((intent, choice))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn numbered_choices() {
        assert_eq!(numbered("C2"), Some((Intent::Confirm, 2)));
        assert_eq!(numbered(" n 1 "), Some((Intent::Decline, 1)));
        assert_eq!(numbered("r3."), Some((Intent::Reschedule, 3)));
        for text in ["C", "C0", "C10", "X1", "1", "CC1", "", "c 1 2"] {
            assert_eq!(numbered(text), None, "{text}");
        }
    }

    fn opt_out(text: &str) -> bool {
        matches!(classify(text), Intent::OptOut { .. })
    }

    #[test]
    fn keywords_in_any_case_spacing_and_accent() {
        for text in [
            "C",
            "c",
            " c ",
            "Yes",
            "YES!",
            "1",
            "si",
            "Sí",
            "SÍ.",
            "confirm",
            "Confirmar",
        ] {
            assert_eq!(classify(text), Intent::Confirm, "{text}");
        }
        for text in ["N", "no", "No.", "2"] {
            assert_eq!(classify(text), Intent::Decline, "{text}");
        }
        assert_eq!(classify("r"), Intent::Reschedule);
        assert_eq!(classify("help"), Intent::Help);
        assert_eq!(classify("Ayuda"), Intent::Help);
        assert_eq!(classify("START"), Intent::OptIn);
        assert_eq!(classify("unstop"), Intent::OptIn);
    }

    #[test]
    fn cancel_is_an_opt_out_not_a_cancellation() {
        assert_eq!(
            classify("CANCEL"),
            Intent::OptOut {
                trigger: "CANCEL".into(),
                free_text: false,
            }
        );
        for text in [
            "STOP",
            "stop",
            "StopAll",
            "unsubscribe",
            "end",
            "quit",
            "revoke",
            "optout",
            "opt-out",
        ] {
            assert!(opt_out(text), "{text}");
        }
    }

    #[test]
    fn free_text_opt_outs_in_english_and_spanish() {
        for text in [
            "Please stop texting me",
            "no more messages!!",
            "Don't text me again",
            "take me off your list please",
            "No me envíen más mensajes",
            "por favor dejen de escribirme",
            "Ya no quiero recibir mensajes",
        ] {
            assert!(opt_out(text), "{text}");
        }
        assert_eq!(
            classify("No me envíen más mensajes"),
            Intent::OptOut {
                trigger: "no me envien mas".into(),
                free_text: true,
            }
        );
    }

    #[test]
    fn questions_that_mention_stopping_are_for_staff() {
        for text in [
            "Can I stop taking my pills before the visit?",
            "I'm still bleeding, should I be worried?",
            "Yes but I will be 10 minutes late",
            "no, I meant Thursday",
            "Is parking free?",
            "",
        ] {
            assert_eq!(classify(text), Intent::Other, "{text}");
        }
    }

    proptest! {
        #[test]
        fn any_text_is_classified_without_panicking(text in "\\PC{0,200}") {
            let _ = classify(&text);
        }

        #[test]
        fn padding_and_case_do_not_change_a_keyword(pad in "[ .!]{0,3}", upper in any::<bool>()) {
            let word = if upper { "STOP" } else { "stop" };
            let text = format!("{pad}{word}{pad}");
            prop_assert!(opt_out(&text));
        }
    }
}
