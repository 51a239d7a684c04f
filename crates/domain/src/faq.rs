//! The FAQ assistant: answers the questions every clinic hears all day (opening hours,
//! parking, the fax number, getting records) from answers an admin wrote, and nothing
//! else. It answers only when it is sure: exactly one answer's question is found in a
//! short message, the message says nothing clinical, and the patient did not ask for a
//! person. Anything else goes to staff as it would without it.

use serde::{Deserialize, Serialize};

use crate::template::Language;
use crate::words::normalise;

const TITLE_CHARS: usize = 100;
const QUESTION_CHARS: usize = 100;
const MOST_QUESTIONS: usize = 50;
/// An answer fits in two text messages with the words around it.
const ANSWER_CHARS: usize = 240;
/// A message longer than this has more in it than a question the assistant can answer.
const MOST_WORDS: usize = 30;

/// Words that ask for a person: the assistant steps aside at once.
const FOR_A_PERSON: &[&str] = &[
    " agent ",
    " person ",
    " human ",
    " representative ",
    " operator ",
    " someone ",
    " somebody ",
    " real person ",
    " staff ",
    " nurse ",
    " doctor ",
    " agente ",
    " persona ",
    " humano ",
    " representante ",
    " alguien ",
    " enfermera ",
    " enfermero ",
    " doctora ",
    " medico ",
];

/// Words of a clinical question, which the assistant never answers, however well the
/// rest of the message matches: stems found at the start of a word ("swell" finds
/// "swelling"; a trailing space asks for the whole word), in English and Spanish. The
/// list errs towards handing over: a question about parking that mentions a cough goes
/// to a person.
const CLINICAL: &[&str] = &[
    // English
    "pain",
    "hurt",
    "sore",
    "bleed",
    "blood",
    "fever",
    "swell",
    "swollen",
    "rash",
    "vomit",
    "throw up",
    "threw up",
    "throwing up",
    "nause",
    "dizz",
    "faint",
    "pass out",
    "seizure",
    "numb ",
    "numbness",
    "tingl",
    "symptom",
    "medic",
    "meds ",
    "med ",
    "dose",
    "dosage",
    "pill",
    "tablet",
    "prescri",
    "refill",
    "pharmac",
    "side effect",
    "antibiotic",
    "insulin",
    "sugar",
    "pressure",
    "heart",
    "chest",
    "breath",
    "cough",
    "throat",
    "sick",
    "ill ",
    "infect",
    "wound",
    "stitch",
    "incision",
    "surg",
    "injur",
    "burn",
    "itch",
    "diarrh",
    "constipat",
    "urine",
    "urinat",
    "stool",
    "cramp",
    "lump",
    "cancer",
    "tumor",
    "covid",
    "flu ",
    "vaccin",
    "shot ",
    "pregnan",
    "diagnos",
    "result",
    "test",
    "lab ",
    "labs ",
    "scan",
    "x ray",
    "xray",
    "mri ",
    "biopsy",
    "allerg",
    "head ",
    "stomach",
    "belly",
    "vision",
    "tooth",
    "teeth",
    "suicid",
    "kill",
    "die ",
    "dying",
    "emergenc",
    "911 ",
    // Spanish
    "dolor",
    "duele",
    "sangr",
    "fiebre",
    "hinchad",
    "inflamad",
    "mareo",
    "marea",
    "desmay",
    "sintoma",
    "medicament",
    "medicina",
    "dosis",
    "pastilla",
    "receta",
    "farmacia",
    "antibiotico",
    "azucar",
    "presion",
    "corazon",
    "pecho",
    "respir",
    "tos ",
    "garganta",
    "enferm",
    "herida",
    "puntos",
    "cirugia",
    "operacion",
    "quemad",
    "picazon",
    "diarrea",
    "orina",
    "embaraz",
    "resultado",
    "prueba",
    "analisis",
    "vacuna",
    "alergi",
    "cabeza",
    "estomago",
    "barriga",
    "muela",
    "morir",
    "matar",
    "emergencia",
];

/// Clinical stems found anywhere in a word: "headache", "dolordecabeza".
const CLINICAL_ANYWHERE: &[&str] = &["ache", "dolor"];

/// An answer as an admin writes it and the store keeps it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaqDefinition {
    /// What staff call it: "Opening hours".
    pub title: String,
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// Words and phrases that ask it, in any language: "open", "hours", "horario".
    pub questions: Vec<String>,
    /// The answer in English, and in Spanish for patients who prefer it.
    pub answer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_es: Option<String>,
}

fn enabled() -> bool {
    true
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FaqError {
    #[error("a title is 1 to {TITLE_CHARS} characters")]
    BadTitle,
    #[error(
        "an answer needs 1 to {MOST_QUESTIONS} questions, each 1 to {QUESTION_CHARS} characters with a letter or digit"
    )]
    BadQuestion,
    #[error("a question may not ask something clinical: '{0}'")]
    ClinicalQuestion(String),
    #[error("an answer is 1 to {ANSWER_CHARS} characters")]
    BadAnswer,
}

/// An answer, checked and ready to use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Faq {
    pub title: String,
    questions: Vec<String>,
    answer: String,
    answer_es: Option<String>,
}

/// What the assistant makes of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict<'a> {
    /// It is sure: this answer.
    Answer(&'a Faq),
    /// The patient asked for a person.
    Person,
    /// Not a question it may answer, or not sure which: staff will.
    Unsure,
}

impl FaqDefinition {
    pub fn check(&self) -> Result<Faq, FaqError> {
        let title = self.title.trim();
        if title.is_empty() || title.chars().count() > TITLE_CHARS {
            return Err(FaqError::BadTitle);
        }
        if self.questions.is_empty() || self.questions.len() > MOST_QUESTIONS {
            return Err(FaqError::BadQuestion);
        }
        let mut questions = Vec::new();
        for question in &self.questions {
            let normal = normalise(question);
            if normal.trim().is_empty() || question.chars().count() > QUESTION_CHARS {
                return Err(FaqError::BadQuestion);
            }
            if is_clinical(&normal) {
                return Err(FaqError::ClinicalQuestion(question.trim().to_owned()));
            }
            questions.push(normal);
        }
        let answer = checked_answer(&self.answer)?;
        let answer_es = self
            .answer_es
            .as_deref()
            .filter(|a| !a.trim().is_empty())
            .map(checked_answer)
            .transpose()?;
        Ok(Faq {
            title: title.to_owned(),
            questions,
            answer,
            answer_es,
        })
    }
}

fn checked_answer(answer: &str) -> Result<String, FaqError> {
    let answer = answer.trim();
    if answer.is_empty() || answer.chars().count() > ANSWER_CHARS {
        return Err(FaqError::BadAnswer);
    }
    Ok(answer.to_owned())
}

fn is_clinical(normal: &str) -> bool {
    CLINICAL_ANYWHERE.iter().any(|stem| normal.contains(stem))
        || CLINICAL
            .iter()
            .any(|stem| normal.contains(&format!(" {stem}")))
}

impl Faq {
    /// The answer in the patient's language, where the clinic wrote one.
    pub fn answer(&self, language: Language) -> &str {
        match (language, &self.answer_es) {
            (Language::Spanish, Some(spanish)) => spanish,
            _ => &self.answer,
        }
    }

    fn asked_in(&self, normal: &str) -> bool {
        self.questions.iter().any(|q| normal.contains(q.as_str()))
    }
}

/// What the assistant makes of `text`, given the clinic's answers.
pub fn consider<'a>(faqs: &'a [Faq], text: &str) -> Verdict<'a> {
    let normal = normalise(text);
    if FOR_A_PERSON.iter().any(|word| normal.contains(word)) {
        return Verdict::Person;
    }
    if is_clinical(&normal) || normal.split_whitespace().count() > MOST_WORDS {
        return Verdict::Unsure;
    }
    let mut asked = faqs.iter().filter(|faq| faq.asked_in(&normal));
    match (asked.next(), asked.next()) {
        (Some(faq), None) => Verdict::Answer(faq),
        _ => Verdict::Unsure,
    }
}

/// The message the patient gets: the answer, said to be automated, and how to reach a
/// person.
pub fn reply(faq: &Faq, language: Language, clinic: &str, phone: &str) -> String {
    let answer = faq.answer(language);
    match language {
        Language::Spanish => format!(
            "{clinic} (respuesta automática): {answer} Para hablar con una persona, responda AGENTE o llame al {phone}."
        ),
        Language::English => format!(
            "{clinic} (automated answer): {answer} To reach a person, reply AGENT or call {phone}."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn faq(title: &str, questions: &[&str], answer: &str) -> Faq {
        FaqDefinition {
            title: title.into(),
            enabled: true,
            questions: questions.iter().map(|q| (*q).to_owned()).collect(),
            answer: answer.into(),
            answer_es: Some(format!("ES {answer}")),
        }
        .check()
        .unwrap()
    }

    fn book() -> Vec<Faq> {
        vec![
            faq(
                "Opening hours",
                &[
                    "opening hours",
                    "what time do you open",
                    "are you open",
                    "horario",
                ],
                "We are open Mon-Fri 8-5.",
            ),
            faq(
                "Parking",
                &["parking", "park", "estacionamiento"],
                "Park in lot B, free for patients.",
            ),
            faq("Fax", &["fax"], "Our fax is 617-555-0199."),
        ]
    }

    #[test]
    fn a_question_it_knows_is_answered_and_said_to_be_automated() {
        let book = book();
        let Verdict::Answer(found) = consider(&book, "Hi, what time do you OPEN on Friday?") else {
            panic!("no answer");
        };
        assert_eq!(found.title, "Opening hours");
        let reply = reply(found, Language::English, "Harbor Clinic", "617-555-0100");
        assert!(reply.contains("automated"), "{reply}");
        assert!(reply.contains("We are open Mon-Fri 8-5."));
        assert!(reply.contains("AGENT or call 617-555-0100"));
        let Verdict::Answer(found) = consider(&book, "¿Cuál es su horario?") else {
            panic!("no answer");
        };
        assert!(super::reply(found, Language::Spanish, "C", "1").contains("ES We are open"));
    }

    #[test]
    fn it_steps_aside_when_unsure_asked_for_a_person_or_asked_something_clinical() {
        let book = book();
        assert_eq!(consider(&book, "can I talk to a person"), Verdict::Person);
        assert_eq!(consider(&book, "AGENTE"), Verdict::Person);
        for unsure in [
            "is there parking and what is your fax",
            "my knee is sore, are you open today",
            "can I take my medication before parking",
            "where are my test results",
            "me duele, ¿horario?",
            "bad headache, are you open",
            "threw up all night, what time do you open",
            "is there parking, I have a cough",
            "need a refill, what is your fax",
            "¿horario? tengo tos",
        ] {
            assert_eq!(consider(&book, unsure), Verdict::Unsure, "{unsure}");
        }
        // Words that only hold a stem are not clinical.
        assert!(matches!(
            consider(&book, "what is your fax number"),
            Verdict::Answer(_)
        ));
        assert!(matches!(
            consider(&book, "fax during lunch?"),
            Verdict::Answer(_)
        ));
        assert_eq!(consider(&book, "hello"), Verdict::Unsure);
        let long = format!("{} parking", "word ".repeat(40));
        assert_eq!(consider(&book, &long), Verdict::Unsure);
    }

    #[test]
    fn a_definition_that_does_not_check_says_why() {
        let check = |title: &str, questions: &[&str], answer: &str| {
            FaqDefinition {
                title: title.into(),
                enabled: true,
                questions: questions.iter().map(|q| (*q).to_owned()).collect(),
                answer: answer.into(),
                answer_es: None,
            }
            .check()
            .unwrap_err()
        };
        assert_eq!(check(" ", &["a"], "b"), FaqError::BadTitle);
        assert_eq!(check("t", &[], "b"), FaqError::BadQuestion);
        assert_eq!(check("t", &["!!"], "b"), FaqError::BadQuestion);
        assert_eq!(
            check("t", &["what dose"], "b"),
            FaqError::ClinicalQuestion("what dose".into())
        );
        assert_eq!(check("t", &["a"], " "), FaqError::BadAnswer);
        assert_eq!(check("t", &["a"], &"x".repeat(241)), FaqError::BadAnswer);
    }

    #[test]
    fn the_clinical_words_read_as_normalised_text() {
        // Each is lower-case ASCII, as `normalise` leaves a message.
        for word in CLINICAL.iter().chain(CLINICAL_ANYWHERE) {
            assert_eq!(*word, word.to_ascii_lowercase(), "{word}");
            assert!(word.is_ascii() && !word.starts_with(' '), "{word}");
        }
    }

    proptest! {
        /// No message that speaks of pain or medicine is answered, whatever else it asks.
        #[test]
        fn nothing_clinical_is_answered(
            before in "[a-z ]{0,40}",
            clinical in prop::sample::select(vec!["pain", "medication", "bleeding", "dolor", "fiebre", "results"]),
            after in "[a-z ]{0,40}",
        ) {
            let book = book();
            let text = format!("{before} {clinical} parking {after}");
            prop_assert!(!matches!(consider(&book, &text), Verdict::Answer(_)));
        }
    }
}
