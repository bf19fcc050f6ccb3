//! Value types parsed at the edge: once one exists it is valid.

use std::fmt;

use crate::error::FieldError;

/// An email address: trimmed, lower-cased, at most 254 characters, one `@`, a plausible domain.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Parses an address for the field named `field`.
    pub fn parse(field: &str, text: &str) -> Result<Self, FieldError> {
        let bad = |why: &str| FieldError::new(field, "invalid_email", format!("not a valid email address: {why}"));
        let text = text.trim().to_lowercase();
        if text.is_empty() || text.len() > 254 {
            return Err(bad("it must be 1 to 254 characters"));
        }
        let Some((local, domain)) = text.split_once('@') else {
            return Err(bad("it has no `@`"));
        };
        if local.is_empty() || local.len() > 64 || domain.contains('@') {
            return Err(bad(
                "the part before `@` is empty, too long, or there is more than one `@`",
            ));
        }
        let local_ok = local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b))
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..");
        if !local_ok {
            return Err(bad("the part before `@` has characters that are not allowed"));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !domain_ok {
            return Err(bad("the domain is not a valid host name"));
        }
        Ok(Self(text))
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmailAddress({})", self.0)
    }
}

/// A password that meets the policy: 12 to 128 characters, at least three of lower case, upper case, digits and
/// other characters, and not one of the most common passwords. Its `Debug` never shows it.
#[derive(Clone)]
pub struct Password(String);

const COMMON: &[&str] = &[
    "password1234",
    "password123!",
    "qwertyuiop12",
    "123456789012",
    "administrator",
    "letmein12345",
    "welcome12345",
    "Password1234",
    "Password123!",
    "Qwerty123456",
];

impl Password {
    /// Parses a new password for the field named `field`.
    pub fn parse(field: &str, text: &str) -> Result<Self, FieldError> {
        let weak = |why: &str| FieldError::new(field, "weak_password", format!("the password is too weak: {why}"));
        let chars = text.chars().count();
        if chars < 12 {
            return Err(weak("it must have at least 12 characters"));
        }
        if chars > 128 {
            return Err(FieldError::new(
                field,
                "too_long",
                "the password must have at most 128 characters",
            ));
        }
        let classes = [
            text.chars().any(|c| c.is_lowercase()),
            text.chars().any(|c| c.is_uppercase()),
            text.chars().any(|c| c.is_ascii_digit()),
            text.chars().any(|c| !c.is_alphanumeric()),
        ];
        if classes.iter().filter(|c| **c).count() < 3 {
            return Err(weak("use at least three of: lower case, upper case, digits, symbols"));
        }
        if COMMON.iter().any(|c| c.eq_ignore_ascii_case(text)) {
            return Err(weak("it is one of the most common passwords"));
        }
        Ok(Self(text.to_owned()))
    }

    /// The password text, for hashing only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(..)")
    }
}

/// A display name: trimmed, 1 to `max` characters, no control characters.
pub fn name(field: &str, text: &str, max: usize) -> Result<String, FieldError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(FieldError::new(field, "required", "must not be empty"));
    }
    if text.chars().count() > max {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("must have at most {max} characters"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "invalid_characters",
            "must not contain control characters",
        ));
    }
    Ok(text.to_owned())
}

/// An optional new display name (a patch field): `None` stays `None`.
pub fn optional_name(field: &str, text: Option<String>, max: usize) -> Result<Option<String>, crate::CoreError> {
    text.map(|t| name(field, &t, max))
        .transpose()
        .map_err(|e| crate::CoreError::Validation(vec![e]))
}

/// Joins a field check and a use-case result, reporting every field error of both.
pub fn both<A, B>(a: Result<A, FieldError>, b: Result<B, crate::CoreError>) -> Result<(A, B), crate::CoreError> {
    use crate::CoreError;
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (Err(e), Ok(_)) => Err(CoreError::Validation(vec![e])),
        (Err(e), Err(CoreError::Validation(mut v))) => {
            v.insert(0, e);
            Err(CoreError::Validation(v))
        }
        (_, Err(e)) => Err(e),
    }
}

/// Collects field errors from several checks and fails with all of them at once.
#[derive(Default)]
pub struct Checks(Vec<FieldError>);

impl Checks {
    /// A new, empty set of checks.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the value of a passing check, records the error of a failing one.
    pub fn check<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    /// Records an error.
    pub fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }

    /// `Ok` when every check passed.
    pub fn finish(self) -> Result<(), crate::CoreError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(crate::CoreError::Validation(self.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("Alice@Example.COM", "alice@example.com")]
    #[case("  bob.smith+tag@mail.example.org ", "bob.smith+tag@mail.example.org")]
    fn valid_emails_are_normalised(#[case] input: &str, #[case] want: &str) {
        assert_eq!(EmailAddress::parse("email", input).unwrap().as_str(), want);
    }

    #[rstest]
    #[case("")]
    #[case("no-at-sign")]
    #[case("a@b")]
    #[case("a@@b.com")]
    #[case(".a@b.com")]
    #[case("a..b@c.com")]
    #[case("a@-b.com")]
    #[case("a b@c.com")]
    #[case("a@b_c.com")]
    fn invalid_emails_are_refused(#[case] input: &str) {
        let e = EmailAddress::parse("email", input).unwrap_err();
        assert_eq!(e.code, "invalid_email");
    }

    #[rstest]
    #[case("short1A!")]
    #[case("alllowercaseletters")]
    #[case("Password1234")]
    fn weak_passwords_are_refused(#[case] input: &str) {
        assert_eq!(Password::parse("password", input).unwrap_err().code, "weak_password");
    }

    #[test]
    fn a_strong_password_is_accepted_and_never_printed() {
        let p = Password::parse("password", "Correct-Horse-9").unwrap();
        assert_eq!(format!("{p:?}"), "Password(..)");
    }
}
