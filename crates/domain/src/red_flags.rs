//! The built-in red flags: words in a patient's message, in English or Spanish, that
//! may mean an emergency, so that it is marked urgent and answered at once with the
//! emergency number. It errs on the side of urgency: a nurse reading a calm message
//! marked urgent costs minutes; an urgent one left in the general queue may cost more.
//!
//! Text is compared without case, accents or punctuation, as words: "SANGRANDO!!" is
//! "sangrando", and "bleeding" is not found in "bleedingheart.org".

/// What a red flag says may be happening.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RedFlag {
    Bleeding,
    ChestPain,
    Breathing,
    Stroke,
    Allergy,
    FeverAfterSurgery,
    SelfHarm,
}

impl RedFlag {
    pub const ALL: [Self; 7] = [
        Self::Bleeding,
        Self::ChestPain,
        Self::Breathing,
        Self::Stroke,
        Self::Allergy,
        Self::FeverAfterSurgery,
        Self::SelfHarm,
    ];

    /// Its name, as triage rules and the inbox show it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Bleeding => "bleeding that does not stop",
            Self::ChestPain => "chest pain",
            Self::Breathing => "trouble breathing",
            Self::Stroke => "signs of a stroke",
            Self::Allergy => "severe allergic reaction",
            Self::FeverAfterSurgery => "fever after surgery",
            Self::SelfHarm => "thoughts of self-harm",
        }
    }

    /// Each way of saying it: every group must have one of its phrases in the text.
    fn signs(self) -> &'static [&'static [&'static [&'static str]]] {
        match self {
            Self::Bleeding => &[
                &[
                    &[
                        "bleeding",
                        "bleed",
                        "blood",
                        "sangrando",
                        "sangrado",
                        "sangre",
                        "sangra",
                    ],
                    &[
                        "still",
                        "wont stop",
                        "won t stop",
                        "will not stop",
                        "not stopping",
                        "doesnt stop",
                        "doesn t stop",
                        "a lot",
                        "heavy",
                        "heavily",
                        "soaking",
                        "soaked",
                        "keeps",
                        "sigue",
                        "mucho",
                        "mucha",
                        "no para",
                        "no se detiene",
                        "no deja de",
                    ],
                ],
                &[&["hemorrhage", "hemorrhaging", "hemorragia"]],
            ],
            Self::ChestPain => &[&[&[
                "chest pain",
                "pain in my chest",
                "chest hurts",
                "chest is tight",
                "chest tightness",
                "pressure in my chest",
                "dolor de pecho",
                "dolor en el pecho",
                "me duele el pecho",
                "presion en el pecho",
            ]]],
            Self::Breathing => &[&[&[
                "cant breathe",
                "can t breathe",
                "cannot breathe",
                "trouble breathing",
                "hard to breathe",
                "difficulty breathing",
                "short of breath",
                "shortness of breath",
                "struggling to breathe",
                "no puedo respirar",
                "me cuesta respirar",
                "dificultad para respirar",
                "me falta el aire",
                "falta de aire",
            ]]],
            Self::Stroke => &[&[&[
                "face drooping",
                "face is drooping",
                "drooping face",
                "slurred speech",
                "slurring",
                "cant move my arm",
                "can t move my arm",
                "numb on one side",
                "one side of my body",
                "stroke",
                "cara caida",
                "habla arrastrada",
                "no puedo mover el brazo",
                "derrame",
                "ictus",
            ]]],
            Self::Allergy => &[
                &[&[
                    "anaphylaxis",
                    "anaphylactic",
                    "throat is swelling",
                    "throat swelling",
                    "throat closing",
                    "tongue swelling",
                    "lips swelling",
                    "epipen",
                    "anafilaxia",
                    "se me cierra la garganta",
                    "garganta hinchada",
                    "lengua hinchada",
                ]],
                &[
                    &[
                        "allergic", "allergy", "hives", "alergia", "alergica", "alergico",
                    ],
                    &[
                        "swelling",
                        "swollen",
                        "breathe",
                        "breathing",
                        "hinchazon",
                        "respirar",
                    ],
                ],
            ],
            Self::FeverAfterSurgery => &[&[
                &[
                    "fever",
                    "temperature",
                    "chills",
                    "fiebre",
                    "temperatura",
                    "escalofrios",
                ],
                &[
                    "surgery",
                    "operation",
                    "procedure",
                    "incision",
                    "stitches",
                    "cirugia",
                    "operacion",
                    "operaron",
                    "herida",
                    "puntos",
                ],
            ]],
            Self::SelfHarm => &[&[&[
                "kill myself",
                "killing myself",
                "end my life",
                "want to die",
                "wanna die",
                "suicide",
                "suicidal",
                "hurt myself",
                "harm myself",
                "no reason to live",
                "quiero morir",
                "me quiero morir",
                "matarme",
                "suicidarme",
                "suicidio",
                "hacerme dano",
                "quitarme la vida",
            ]]],
        }
    }
}

/// A red flag found, with the phrases that raised it (to show staff why).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub flag: RedFlag,
    pub because: Vec<&'static str>,
}

/// Every red flag in `text`, in the order of [`RedFlag::ALL`].
pub fn find(text: &str) -> Vec<Found> {
    let words = crate::words::normalise(text);
    RedFlag::ALL
        .into_iter()
        .filter_map(|flag| {
            flag.signs().iter().find_map(|groups| {
                let because: Option<Vec<&'static str>> = groups
                    .iter()
                    .map(|phrases| phrases.iter().copied().find(|p| has_phrase(&words, p)))
                    .collect();
                because.map(|because| Found { flag, because })
            })
        })
        .collect()
}

fn has_phrase(words: &str, phrase: &str) -> bool {
    words.contains(&format!(" {phrase} "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(text: &str) -> Vec<RedFlag> {
        find(text).into_iter().map(|f| f.flag).collect()
    }

    #[test]
    fn each_red_flag_in_english_and_spanish() {
        let cases = [
            (
                "I'm still bleeding a lot after my surgery",
                RedFlag::Bleeding,
            ),
            ("sigo sangrando mucho", RedFlag::Bleeding),
            ("I have chest pain", RedFlag::ChestPain),
            ("Me duele el pecho", RedFlag::ChestPain),
            ("I can't breathe well", RedFlag::Breathing),
            ("no puedo respirar", RedFlag::Breathing),
            (
                "my dad's face is drooping and he has slurred speech",
                RedFlag::Stroke,
            ),
            ("creo que es un derrame", RedFlag::Stroke),
            (
                "my throat is swelling after the new pills",
                RedFlag::Allergy,
            ),
            ("tengo alergia y la cara con hinchazón", RedFlag::Allergy),
            (
                "fever of 39 since the operation",
                RedFlag::FeverAfterSurgery,
            ),
            (
                "tengo fiebre después de la cirugía",
                RedFlag::FeverAfterSurgery,
            ),
            ("I want to die", RedFlag::SelfHarm),
            ("ya no quiero vivir, quiero morir", RedFlag::SelfHarm),
        ];
        for (text, flag) in cases {
            assert!(flags(text).contains(&flag), "{text}: {:?}", flags(text));
        }
    }

    #[test]
    fn the_words_that_raised_it_are_kept() {
        let found = find("Still BLEEDING!! after my surgery");
        assert_eq!(found[0].flag, RedFlag::Bleeding);
        assert_eq!(found[0].because, ["bleeding", "still"]);
        assert_eq!(found[0].flag.name(), "bleeding that does not stop");
    }

    #[test]
    fn everyday_messages_raise_nothing() {
        for text in [
            "C",
            "Can I move my appointment to Friday?",
            "What time do you open tomorrow?",
            "The bleeding stopped, thanks",
            "¿Dónde está la clínica?",
            "I read bleedingheart.org",
            "",
        ] {
            assert!(flags(text).is_empty(), "{text}: {:?}", flags(text));
        }
    }
}
