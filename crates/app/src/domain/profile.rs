use super::text::{clean_text, Lines};

/// A therapist's professional details, each bounded and free of control characters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProfileDetails {
    pub credential: String,
    pub license_number: String,
    pub practice_states: String,
    pub bio: String,
}

const SHORT_MAX: usize = 100;
const BIO_MAX: usize = 2000;

/// Checks one profile field; returns the cleaned value or a message naming the limit.
pub fn clean_field(label: &str, raw: &str, max: usize, multiline: bool) -> Result<String, String> {
    let lines = if multiline {
        Lines::Multi
    } else {
        Lines::Single
    };
    clean_text(raw, max, lines).map_err(|problem| problem.message(label))
}

impl ProfileDetails {
    /// Each error names the field it belongs to, as `(field, message)`.
    pub fn parse(
        credential: &str,
        license_number: &str,
        practice_states: &str,
        bio: &str,
    ) -> Result<Self, (&'static str, String)> {
        Ok(Self {
            credential: clean_field("Credential", credential, SHORT_MAX, false)
                .map_err(|m| ("credential", m))?,
            license_number: clean_field("License number", license_number, SHORT_MAX, false)
                .map_err(|m| ("license_number", m))?,
            practice_states: clean_field(
                "States of practice",
                practice_states,
                SHORT_MAX * 2,
                false,
            )
            .map_err(|m| ("practice_states", m))?,
            bio: clean_field("Bio", bio, BIO_MAX, true).map_err(|m| ("bio", m))?,
        })
    }
}

/// An IANA time zone name such as `America/Chicago`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeZoneName(String);

impl TimeZoneName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = raw.trim();
        let plausible = !value.is_empty()
            && value.len() <= 64
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/_-+".contains(c));
        // Only names the time zone database knows: sessions are scheduled in it.
        if !plausible || value.parse::<chrono_tz::Tz>().is_err() {
            return Err("Choose a time zone such as America/Chicago.".into());
        }
        Ok(Self(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_fields_are_trimmed() {
        let p = ProfileDetails::parse(" LCSW ", "12-345", "IL, WI", "Hello\nthere").unwrap();
        assert_eq!(p.credential, "LCSW");
        assert_eq!(p.bio, "Hello\nthere");
    }

    #[test]
    fn an_overlong_field_is_named_in_the_error() {
        let err = ProfileDetails::parse(&"x".repeat(101), "", "", "").unwrap_err();
        assert_eq!(err.0, "credential");
        let err = ProfileDetails::parse("", "", "", &"x".repeat(2001)).unwrap_err();
        assert_eq!(err.0, "bio");
    }

    #[test]
    fn line_breaks_are_refused_outside_the_bio() {
        assert!(ProfileDetails::parse("", "12\n3", "", "").is_err());
    }
}
