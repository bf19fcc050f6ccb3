//! E.164 phone numbers: `+`, a country code, at most 15 digits in all.

use std::fmt;

use crate::error::FieldError;

/// A phone number in E.164 form, e.g. `+14155550123`. Built only by [`E164::parse`].
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct E164(String);

impl E164 {
    /// Parses a number for the field named `field`. Spaces, dashes, dots and parentheses are removed; the
    /// result must be `+` then 8 to 15 digits, not starting with 0.
    pub fn parse(field: &str, text: &str) -> Result<Self, FieldError> {
        let cleaned: String = text
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
            .collect();
        let bad = || {
            FieldError::new(
                field,
                "invalid_phone_number",
                format!("`{text}` is not an E.164 phone number (like +14155550123)"),
            )
        };
        let digits = cleaned.strip_prefix('+').ok_or_else(bad)?;
        let ok =
            (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0');
        if ok { Ok(Self(cleaned)) } else { Err(bad()) }
    }

    /// The number as text, with its `+`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digits without the `+` (some providers want them so).
    pub fn digits(&self) -> &str {
        &self.0[1..]
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "E164({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("+14155550123", "+14155550123")]
    #[case(" +44 20 7946-0958 ", "+442079460958")]
    #[case("+49 (30) 123456", "+4930123456")]
    fn valid_numbers_are_normalised(#[case] input: &str, #[case] want: &str) {
        assert_eq!(E164::parse("to", input).unwrap().as_str(), want);
    }

    #[rstest]
    #[case("14155550123")]
    #[case("+0123456789")]
    #[case("+1415555012345678")]
    #[case("+1234567")]
    #[case("+1415ABC0123")]
    #[case("")]
    fn invalid_numbers_are_refused(#[case] input: &str) {
        assert_eq!(E164::parse("to", input).unwrap_err().code, "invalid_phone_number");
    }
}
