//! SMS length as carriers count it. A body in the GSM 03.38 alphabet travels 7 bits a
//! character (160 in one segment, 153 a segment once split, the rest being the
//! concatenation header); any other character turns the whole body into UCS-2 (70 in one
//! segment, 67 once split). Characters of the GSM extension table (`€`, `[`, `{`, ...)
//! take two septets, and a split never cuts one, nor a UTF-16 surrogate pair.

/// The GSM 03.38 basic character set.
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// The GSM 03.38 extension table: each is sent as an escape and the character.
const GSM_EXTENSION: &str = "\u{c}^{}\\[~]|€";

const GSM_SINGLE: usize = 160;
const GSM_PART: usize = 153;
const UCS2_SINGLE: usize = 70;
const UCS2_PART: usize = 67;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Gsm7,
    Ucs2,
}

/// How a body travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segments {
    pub encoding: Encoding,
    /// How many messages the carrier bills.
    pub count: usize,
    /// Septets (GSM-7) or UTF-16 code units (UCS-2).
    pub units: usize,
}

/// The septets of each ASCII character in GSM-7 (0: not in the alphabet), from the two
/// tables: most bodies are ASCII, and each of their characters is then one look-up.
const ASCII_WIDTHS: [u8; 128] = {
    let mut widths = [0; 128];
    // A byte below 0x80 in UTF-8 is always a character of its own.
    let (basic, extension) = (GSM_BASIC.as_bytes(), GSM_EXTENSION.as_bytes());
    let mut i = 0;
    while i < basic.len() {
        if basic[i] < 0x80 {
            widths[basic[i] as usize] = 1;
        }
        i += 1;
    }
    let mut i = 0;
    while i < extension.len() {
        if extension[i] < 0x80 {
            widths[extension[i] as usize] = 2;
        }
        i += 1;
    }
    widths
};

fn gsm_width(c: char) -> Option<usize> {
    let width = match u8::try_from(c) {
        Ok(byte) if byte.is_ascii() => usize::from(ASCII_WIDTHS[usize::from(byte)]),
        _ if GSM_BASIC.contains(c) => 1,
        _ if GSM_EXTENSION.contains(c) => 2,
        _ => 0,
    };
    (width > 0).then_some(width)
}

/// Counts the segments of `body`.
pub fn segments(body: &str) -> Segments {
    let gsm: Option<usize> = body.chars().map(gsm_width).sum();
    let (encoding, units, single, part) = match gsm {
        Some(units) => (Encoding::Gsm7, units, GSM_SINGLE, GSM_PART),
        None => (
            Encoding::Ucs2,
            body.encode_utf16().count(),
            UCS2_SINGLE,
            UCS2_PART,
        ),
    };
    let width = |c: char| match encoding {
        Encoding::Gsm7 => gsm_width(c).unwrap_or(1),
        Encoding::Ucs2 => c.len_utf16(),
    };
    // An empty body is still one message; a short one too.
    let count = if units <= single {
        1
    } else {
        // Pack whole characters into parts of at most `part` units.
        let mut count = 1;
        let mut filled = 0;
        for c in body.chars() {
            let width = width(c);
            if filled + width > part {
                count += 1;
                filled = 0;
            }
            filled += width;
        }
        count
    };
    Segments {
        encoding,
        count,
        units,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_text_is_gsm() {
        let s = segments(
            "Reminder: Lakeside Clinic, Tue 10 Mar 09:00. Reply C to confirm, N to cancel.",
        );
        assert_eq!(s.encoding, Encoding::Gsm7);
        assert_eq!(s.count, 1);
        assert_eq!(segments(&"a".repeat(160)).count, 1);
        assert_eq!(segments(&"a".repeat(161)).count, 2);
        assert_eq!(segments(&"a".repeat(306)).count, 2);
        assert_eq!(segments(&"a".repeat(307)).count, 3);
    }

    #[test]
    fn the_ascii_table_agrees_with_the_alphabet() {
        for byte in 0u8..128 {
            let c = char::from(byte);
            let listed = if GSM_BASIC.contains(c) {
                Some(1)
            } else if GSM_EXTENSION.contains(c) {
                Some(2)
            } else {
                None
            };
            assert_eq!(gsm_width(c), listed, "{byte:#x}");
        }
        assert_eq!(gsm_width('['), Some(2));
        assert_eq!(gsm_width('`'), None);
        assert_eq!(gsm_width('é'), Some(1));
        assert_eq!(gsm_width('€'), Some(2));
    }

    #[test]
    fn extension_characters_take_two_septets_and_are_not_split() {
        assert_eq!(segments("€").units, 2);
        assert_eq!(segments(&"€".repeat(80)).count, 1);
        assert_eq!(segments(&"€".repeat(81)).count, 2);
        // 152 septets then a two-septet character: it moves whole to the next part.
        let body = format!("{}€{}", "a".repeat(152), "a".repeat(10));
        assert_eq!(segments(&body).count, 2);
        let body = format!("{}€{}", "a".repeat(152), "a".repeat(152));
        assert_eq!(segments(&body).count, 3);
    }

    #[test]
    fn one_character_outside_gsm_makes_it_ucs2() {
        let s = segments("Recordatorio: cita el martes a las 9:00 ¿Confirma? Responda SÍ");
        assert_eq!(s.encoding, Encoding::Ucs2);
        assert_eq!(segments(&"á".repeat(70)).count, 1);
        assert_eq!(segments(&"á".repeat(71)).count, 2);
        assert_eq!(segments("😀").units, 2);
        // 66 units then a surrogate pair: the pair is not cut.
        let body = format!("{}😀{}", "á".repeat(66), "á".repeat(5));
        assert_eq!(segments(&body).count, 2);
    }

    #[test]
    fn spanish_with_only_gsm_accents_stays_gsm() {
        // ñ, é, ü, ¿, ¡ are in the basic set; á, í, ó, ú are not.
        assert_eq!(segments("¿Mañana? ¡Sí! — no").encoding, Encoding::Ucs2);
        assert_eq!(segments("¿Mañana? ¡Bien! Adiós").encoding, Encoding::Ucs2);
        assert_eq!(segments("¿Mañana? ¡Bien! Güey é").encoding, Encoding::Gsm7);
    }

    proptest! {
        #[test]
        fn gsm_counts_follow_the_formula(n in 0usize..1000) {
            let s = segments(&"x".repeat(n));
            let expected = if n <= 160 { 1 } else { n.div_ceil(153) };
            prop_assert_eq!(s.count, expected);
            prop_assert_eq!(s.encoding, Encoding::Gsm7);
        }

        #[test]
        fn ucs2_counts_follow_the_formula(n in 0usize..500) {
            let s = segments(&format!("{}ж", "x".repeat(n)));
            let units = n + 1;
            let expected = if units <= 70 { 1 } else { units.div_ceil(67) };
            prop_assert_eq!(s.count, expected);
        }

        #[test]
        fn never_fewer_segments_for_a_longer_body(body in ".{0,300}", extra in ".{1,20}") {
            let longer = format!("{body}{extra}");
            prop_assert!(segments(&longer).count >= segments(&body).count || segments(&longer).encoding != segments(&body).encoding);
        }
    }
}
