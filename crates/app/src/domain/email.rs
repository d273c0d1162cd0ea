use std::fmt;

/// An email address in the form we store and compare it: trimmed, lowercased.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

const MAX_LEN: usize = 254;
const MAX_LOCAL_LEN: usize = 64;

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let value = raw.trim().to_lowercase();
        if value.is_empty() {
            return Err("Please enter an email address.".into());
        }
        if value.chars().count() > MAX_LEN {
            return Err(format!(
                "An email address can have at most {MAX_LEN} characters."
            ));
        }
        let Some((local, domain)) = value.rsplit_once('@') else {
            return Err("An email address needs an @, like name@example.com.".into());
        };
        let valid_local = !local.is_empty()
            && local.len() <= MAX_LOCAL_LEN
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        let valid_domain = domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if !valid_local || !valid_domain {
            return Err("This does not look like an email address (name@example.com).".into());
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Email {
    // Addresses stay out of debug output; they may end up in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Email(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::Email;

    #[test]
    fn accepts_a_plain_address_and_lowercases_it() {
        assert_eq!(
            Email::parse(" Ana@Example.COM ").unwrap().as_str(),
            "ana@example.com"
        );
    }

    #[test]
    fn accepts_plus_addressing_and_subdomains() {
        assert!(Email::parse("ana+therapy@mail.example.co.uk").is_ok());
    }

    #[test]
    fn rejects_empty_missing_at_and_missing_domain_dot() {
        for bad in [
            "",
            "   ",
            "ana",
            "ana@",
            "@example.com",
            "ana@example",
            "ana@@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn rejects_spaces_and_angle_brackets() {
        for bad in ["a na@example.com", "<ana@example.com>", "ana@exa mple.com"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn rejects_addresses_longer_than_254_characters() {
        let long = format!("{}@{}.com", "a".repeat(60), "b".repeat(200));
        assert!(Email::parse(&long).is_err());
    }

    #[test]
    fn debug_output_does_not_show_the_address() {
        let email = Email::parse("ana@example.com").unwrap();
        assert!(!format!("{email:?}").contains("ana"));
    }
}
