//! `Debug` for values that hold protected health information prints a placeholder, so a
//! stray `{:?}` in a log line or an error never leaks a phone number or a name.

use std::fmt;

/// Writes the redaction marker for a type whose content is PHI.
pub fn redacted(f: &mut fmt::Formatter<'_>, type_name: &str) -> fmt::Result {
    write!(f, "{type_name}(<redacted>)")
}
