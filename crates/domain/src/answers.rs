//! What careloop answers when a patient texts: the confirmations of a keyword, the HELP
//! text, the question "which appointment?" when a phone is shared. Short, in the patient's
//! language, with the clinic's name and number and nothing clinical. Spanish is written
//! without accents so that every answer stays in the GSM alphabet.

use crate::reply::Intent;
use crate::template::Language;

/// The clinic as an answer names it.
#[derive(Clone, Copy, Debug)]
pub struct Sender<'a> {
    pub clinic: &'a str,
    pub phone: &'a str,
}

/// One appointment offered in "which appointment?": the patient's first name and the
/// time as they read it.
#[derive(Clone)]
pub struct Choice {
    pub first_name: String,
    pub when: String,
}

/// A name: never printed.
impl std::fmt::Debug for Choice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Choice(<redacted>)")
    }
}

pub fn confirmed(language: Language, from: Sender<'_>, when: &str) -> String {
    match language {
        Language::English => format!(
            "{}: thank you, your appointment {when} is confirmed.",
            from.clinic
        ),
        Language::Spanish => format!(
            "{}: gracias, su cita del {when} esta confirmada.",
            from.clinic
        ),
    }
}

pub fn reschedule_asked(language: Language, from: Sender<'_>, when: &str) -> String {
    match language {
        Language::English => format!(
            "{}: we will contact you to move your appointment {when}. Or call {}.",
            from.clinic, from.phone
        ),
        Language::Spanish => format!(
            "{}: le contactaremos para cambiar su cita del {when}. O llame al {}.",
            from.clinic, from.phone
        ),
    }
}

/// When the reply cannot be tied to an appointment at all.
pub fn no_appointment(language: Language, from: Sender<'_>) -> String {
    match language {
        Language::English => format!(
            "{}: we found no upcoming appointment to answer for this number. Please call {}.",
            from.clinic, from.phone
        ),
        Language::Spanish => format!(
            "{}: no encontramos una cita proxima para este numero. Llame al {}.",
            from.clinic, from.phone
        ),
    }
}

/// Asks which of several appointments a reply is about: "C1", "C2", ...
pub fn which(language: Language, from: Sender<'_>, intent: &Intent, choices: &[Choice]) -> String {
    let letter = match intent {
        Intent::Decline => "N",
        Intent::Reschedule => "R",
        _ => "C",
    };
    let list: Vec<String> = choices
        .iter()
        .enumerate()
        .map(|(n, c)| format!("{letter}{} {} {}", n + 1, c.first_name, c.when))
        .collect();
    let list = list.join("; ");
    match (language, intent) {
        (Language::English, Intent::Decline) => {
            format!(
                "{}: which appointment should we cancel? Reply {list}",
                from.clinic
            )
        }
        (Language::English, Intent::Reschedule) => {
            format!(
                "{}: which appointment should we move? Reply {list}",
                from.clinic
            )
        }
        (Language::English, _) => {
            format!(
                "{}: which appointment do you confirm? Reply {list}",
                from.clinic
            )
        }
        (Language::Spanish, Intent::Decline) => {
            format!("{}: que cita cancelamos? Responda {list}", from.clinic)
        }
        (Language::Spanish, Intent::Reschedule) => {
            format!("{}: que cita cambiamos? Responda {list}", from.clinic)
        }
        (Language::Spanish, _) => format!("{}: que cita confirma? Responda {list}", from.clinic),
    }
}

/// The one confirmation of an opt-out written in the patient's own words.
pub fn opted_out(language: Language, from: Sender<'_>) -> String {
    match language {
        Language::English => format!(
            "{}: you will get no more texts from us. Reply START to get them again.",
            from.clinic
        ),
        Language::Spanish => format!(
            "{}: no recibira mas mensajes de texto. Responda START para volver a recibirlos.",
            from.clinic
        ),
    }
}

pub fn opted_in(language: Language, from: Sender<'_>) -> String {
    match language {
        Language::English => format!(
            "{}: you will get appointment texts again. Msg & data rates may apply. Reply HELP for help, STOP to stop.",
            from.clinic
        ),
        Language::Spanish => format!(
            "{}: volvera a recibir mensajes de sus citas. Pueden aplicar tarifas. Responda AYUDA o STOP para parar.",
            from.clinic
        ),
    }
}

/// HELP: who is writing, how to reach them, how often, what it costs, how to stop.
pub fn help(language: Language, from: Sender<'_>) -> String {
    match language {
        Language::English => format!(
            "{}: appointment messages, up to 4 per appointment. Call {} for help. Msg & data rates may apply. Reply STOP to stop.",
            from.clinic, from.phone
        ),
        Language::Spanish => format!(
            "{}: mensajes de citas, hasta 4 por cita. Ayuda: {}. Pueden aplicar tarifas de mensajes y datos. Responda STOP para parar.",
            from.clinic, from.phone
        ),
    }
}

/// The answer to a message that may tell of an emergency (see [`crate::red_flags`]),
/// sent at once and every time, whatever the hour.
pub fn urgent(language: Language, from: Sender<'_>) -> String {
    match language {
        Language::English => format!(
            "{}: if this is an emergency, call your local emergency number now. Your message is marked urgent and a nurse is being alerted.",
            from.clinic
        ),
        Language::Spanish => format!(
            "{}: si es una emergencia, llame ahora al numero de emergencias. Su mensaje quedo marcado como urgente y estamos avisando a una enfermera.",
            from.clinic
        ),
    }
}

/// The acknowledgement of a message for staff.
pub fn received(language: Language, from: Sender<'_>) -> String {
    match language {
        Language::English => format!(
            "{}: we got your message and will answer soon. If this is an emergency, call your local emergency number.",
            from.clinic
        ),
        Language::Spanish => format!(
            "{}: recibimos su mensaje y le responderemos pronto. Si es una emergencia, llame al numero de emergencias.",
            from.clinic
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sms::{Encoding, segments};

    const LONG: Sender<'static> = Sender {
        clinic: "Northside Family Medicine Clinic",
        phone: "+1 (617) 555-0100",
    };

    #[test]
    fn every_answer_fits_two_gsm_segments() {
        let when = "miercoles 30 de septiembre a las 12:45";
        let choices = vec![
            Choice {
                first_name: "Maximiliano".into(),
                when: when.into(),
            },
            Choice {
                first_name: "Guadalupe".into(),
                when: when.into(),
            },
        ];
        for language in [Language::English, Language::Spanish] {
            for text in [
                confirmed(language, LONG, when),
                reschedule_asked(language, LONG, when),
                no_appointment(language, LONG),
                which(language, LONG, &Intent::Decline, &choices),
                opted_out(language, LONG),
                opted_in(language, LONG),
                help(language, LONG),
                received(language, LONG),
                urgent(language, LONG),
            ] {
                let counted = segments(&text);
                assert_eq!(counted.encoding, Encoding::Gsm7, "{text}");
                assert!(counted.count <= 2, "{text}");
            }
        }
    }

    #[test]
    fn which_lists_numbered_choices_with_the_intents_letter() {
        let choices = vec![
            Choice {
                first_name: "Ana".into(),
                when: "Tue, Mar 10 at 9:00 AM".into(),
            },
            Choice {
                first_name: "Leo".into(),
                when: "Tue, Mar 10 at 9:30 AM".into(),
            },
        ];
        let text = which(Language::English, LONG, &Intent::Decline, &choices);
        assert!(
            text.contains("N1 Ana Tue, Mar 10 at 9:00 AM; N2 Leo"),
            "{text}"
        );
    }

    #[test]
    fn help_says_what_carriers_require() {
        let text = help(Language::English, LONG);
        for part in [
            "Northside",
            "+1 (617) 555-0100",
            "Msg & data rates may apply",
            "STOP",
        ] {
            assert!(text.contains(part), "{part}");
        }
    }
}
