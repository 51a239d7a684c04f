//! An appointment's time as the patient reads it: in their own zone, in their language.

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// The languages careloop writes in. Anything else falls back to English.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Language {
    English,
    Spanish,
}

impl Language {
    pub fn from_code(code: &str) -> Self {
        match code {
            "es" => Self::Spanish,
            _ => Self::English,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::English => "en",
            Self::Spanish => "es",
        }
    }
}

const EN_DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const EN_MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const ES_DAYS: [&str; 7] = [
    "lunes",
    "martes",
    "miercoles",
    "jueves",
    "viernes",
    "sabado",
    "domingo",
];
const ES_MONTHS: [&str; 12] = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
];

/// `Tue, Mar 10 at 9:00 AM` / `martes 10 de marzo a las 9:00`.
///
/// The Spanish day names are written without accents (`miercoles`, `sabado`): the accented
/// letters are outside the GSM alphabet and would halve what an SMS can carry.
pub fn format(at: Timestamp, zone: &TimeZone, language: Language) -> String {
    let local = at.to_zoned(zone.clone());
    let weekday = usize::try_from(local.weekday().to_monday_zero_offset()).unwrap_or(0);
    let month = usize::try_from(local.month() - 1).unwrap_or(0);
    let (day, hour, minute) = (local.day(), local.hour(), local.minute());
    match language {
        Language::English => {
            let (h12, half) = match hour {
                0 => (12, "AM"),
                1..=11 => (hour, "AM"),
                12 => (12, "PM"),
                _ => (hour - 12, "PM"),
            };
            format!(
                "{}, {} {day} at {h12}:{minute:02} {half}",
                EN_DAYS[weekday], EN_MONTHS[month]
            )
        }
        Language::Spanish => {
            let article = if hour == 1 { "a la" } else { "a las" };
            format!(
                "{} {day} de {} {article} {hour}:{minute:02}",
                ES_DAYS[weekday], ES_MONTHS[month]
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_the_patients_zone_and_language() {
        let at: Timestamp = "2026-03-10T14:05:00Z".parse().unwrap();
        let chicago = TimeZone::get("America/Chicago").unwrap();
        assert_eq!(
            format(at, &chicago, Language::English),
            "Tue, Mar 10 at 9:05 AM"
        );
        let madrid = TimeZone::get("Europe/Madrid").unwrap();
        assert_eq!(
            format(at, &madrid, Language::Spanish),
            "martes 10 de marzo a las 15:05"
        );
        let noon: Timestamp = "2026-07-01T12:00:00Z".parse().unwrap();
        assert_eq!(
            format(noon, &TimeZone::UTC, Language::English),
            "Wed, Jul 1 at 12:00 PM"
        );
        let one: Timestamp = "2026-07-05T01:30:00Z".parse().unwrap();
        assert_eq!(
            format(one, &TimeZone::UTC, Language::Spanish),
            "domingo 5 de julio a la 1:30"
        );
        let midnight: Timestamp = "2026-07-05T00:15:00Z".parse().unwrap();
        assert_eq!(
            format(midnight, &TimeZone::UTC, Language::English),
            "Sun, Jul 5 at 12:15 AM"
        );
    }

    #[test]
    fn spanish_dates_stay_in_the_gsm_alphabet() {
        let zone = TimeZone::UTC;
        for day in 0..7 {
            let at = Timestamp::from_second(1_773_000_000 + day * 86_400).unwrap();
            let text = format(at, &zone, Language::Spanish);
            assert_eq!(
                crate::sms::segments(&text).encoding,
                crate::sms::Encoding::Gsm7,
                "{text}"
            );
        }
    }
}
