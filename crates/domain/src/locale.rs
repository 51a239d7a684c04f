//! A patient's preferred language as a BCP 47 tag (`es`, `en-US`), normalized so that
//! templates can be chosen by comparing the primary language.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Locale {
    language: String,
    region: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a BCP 47 language tag")]
pub struct BadLocale;

impl Locale {
    pub fn parse(tag: &str) -> Result<Self, BadLocale> {
        let mut parts = tag.split(['-', '_']);
        let language = parts.next().unwrap_or_default();
        if !(2..=3).contains(&language.len()) || !language.bytes().all(|b| b.is_ascii_alphabetic())
        {
            return Err(BadLocale);
        }
        // Script and variant subtags are allowed but not kept; the region is.
        let mut region = None;
        for part in parts {
            if part.is_empty() || part.len() > 8 || !part.bytes().all(|b| b.is_ascii_alphanumeric())
            {
                return Err(BadLocale);
            }
            let is_region = (part.len() == 2 && part.bytes().all(|b| b.is_ascii_alphabetic()))
                || (part.len() == 3 && part.bytes().all(|b| b.is_ascii_digit()));
            if is_region && region.is_none() {
                region = Some(part.to_ascii_uppercase());
            }
        }
        Ok(Self {
            language: language.to_ascii_lowercase(),
            region,
        })
    }

    /// The primary language subtag, lower case (`es`).
    pub fn language(&self) -> &str {
        &self.language
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.region {
            Some(region) => write!(f, "{}-{region}", self.language),
            None => f.write_str(&self.language),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_tags() {
        assert_eq!(Locale::parse("en-us").unwrap().to_string(), "en-US");
        assert_eq!(Locale::parse("ES").unwrap().to_string(), "es");
        assert_eq!(Locale::parse("zh-Hant-TW").unwrap().to_string(), "zh-TW");
        assert_eq!(Locale::parse("nl").unwrap().language(), "nl");
        assert_eq!(Locale::parse("english"), Err(BadLocale));
        assert_eq!(Locale::parse(""), Err(BadLocale));
    }
}
