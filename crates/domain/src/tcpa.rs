//! The TCPA healthcare exemption (47 CFR 64.1200(a)(9)(iv)) lets a provider send
//! automated texts and calls about a patient's care without prior express written
//! consent, on conditions careloop checks before every such text when a clinic switches
//! the preset on: at most one a day and three a week (see [`FrequencyCap`]), concise (one
//! message of at most 160 characters), and naming the clinic with a number to reach it.
//!
//! [`FrequencyCap`]: crate::frequency::FrequencyCap

/// The longest text the exemption allows.
pub const MAX_CHARS: usize = 160;

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TcpaHeld {
    #[error("TCPA healthcare preset: the text has {0} characters, more than 160")]
    TooLong(usize),
    #[error("TCPA healthcare preset: the text does not name the clinic")]
    NoClinicName,
    #[error("TCPA healthcare preset: the text gives no number to reach the clinic")]
    NoContact,
}

/// Whether an automated text meets the exemption's conditions on content.
pub fn check_text(text: &str, clinic_name: &str, clinic_phone: &str) -> Result<(), TcpaHeld> {
    let chars = text.chars().count();
    if chars > MAX_CHARS {
        return Err(TcpaHeld::TooLong(chars));
    }
    if !text
        .to_lowercase()
        .contains(&clinic_name.trim().to_lowercase())
    {
        return Err(TcpaHeld::NoClinicName);
    }
    if !names_number(text, clinic_phone) {
        return Err(TcpaHeld::NoContact);
    }
    Ok(())
}

/// Whether the digits of `text` hold the clinic's number, written with or without its
/// country code and in any grouping.
fn names_number(text: &str, phone: &str) -> bool {
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    let (text, phone) = (digits(text), digits(phone));
    if phone.is_empty() {
        return false;
    }
    // The national number: the last ten digits of a longer international one.
    let national = &phone[phone.len().saturating_sub(10)..];
    text.contains(&phone) || text.contains(national)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLINIC: &str = "Riverside Clinic";
    const PHONE: &str = "+1 617 555 0100";

    #[test]
    fn a_short_text_naming_the_clinic_and_its_number_passes() {
        let text = "Riverside Clinic: your appointment is Tue, Mar 3 at 9:30 AM at 12 Main St. Reply C to confirm, N to cancel. Call 617-555-0100.";
        assert_eq!(check_text(text, CLINIC, PHONE), Ok(()));
        assert_eq!(
            check_text("RIVERSIDE CLINIC: call +16175550100", CLINIC, PHONE),
            Ok(())
        );
    }

    #[test]
    fn each_missing_condition_is_named() {
        let long = format!("{CLINIC}: call {PHONE}. {}", "x".repeat(140));
        assert_eq!(
            check_text(&long, CLINIC, PHONE),
            Err(TcpaHeld::TooLong(long.chars().count()))
        );
        assert_eq!(
            check_text(
                "Your appointment is tomorrow. Call 617 555 0100.",
                CLINIC,
                PHONE
            ),
            Err(TcpaHeld::NoClinicName)
        );
        assert_eq!(
            check_text(
                "Riverside Clinic: your appointment is tomorrow.",
                CLINIC,
                PHONE
            ),
            Err(TcpaHeld::NoContact)
        );
        assert_eq!(
            check_text("Riverside Clinic: call 617 555 0199.", CLINIC, PHONE),
            Err(TcpaHeld::NoContact)
        );
    }

    #[test]
    fn characters_are_counted_not_bytes() {
        let start = format!("{CLINIC} {PHONE} ");
        let text = format!("{start}{}", "é".repeat(160 - start.chars().count()));
        assert_eq!(text.chars().count(), 160);
        assert_eq!(check_text(&text, CLINIC, PHONE), Ok(()));
    }
}
