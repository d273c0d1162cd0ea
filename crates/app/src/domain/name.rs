use std::fmt;

/// A person's name as shown on pages: 1 to 200 characters, no control characters.
#[derive(Clone, PartialEq, Eq)]
pub struct DisplayName(String);

const MAX_LEN: usize = 200;

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = raw.trim();
        if value.is_empty() {
            return Err("Please enter a name.".into());
        }
        if value.chars().count() > MAX_LEN {
            return Err(format!("A name can have at most {MAX_LEN} characters."));
        }
        if value.chars().any(char::is_control) {
            return Err("A name cannot contain line breaks or control characters.".into());
        }
        Ok(Self(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DisplayName {
    // Names are personal data and stay out of debug output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DisplayName(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::DisplayName;

    #[test]
    fn trims_surrounding_space() {
        assert_eq!(
            DisplayName::parse("  Dr. Ana Ruiz ").unwrap().as_str(),
            "Dr. Ana Ruiz"
        );
    }

    #[test]
    fn accepts_200_characters_and_refuses_201() {
        assert!(DisplayName::parse(&"é".repeat(200)).is_ok());
        assert!(DisplayName::parse(&"é".repeat(201)).is_err());
    }

    #[test]
    fn refuses_empty_and_control_characters() {
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse("Ana\nRuiz").is_err());
        assert!(DisplayName::parse("Ana\u{0}").is_err());
    }
}
