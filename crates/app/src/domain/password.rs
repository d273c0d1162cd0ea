use zxcvbn::Score;

/// A password someone chose that is long and hard enough to guess.
pub struct NewPassword(String);

pub const MIN_LEN: usize = 12;
pub const MAX_LEN: usize = 128;

impl NewPassword {
    /// `context` holds the person's own name and email: a password built from
    /// them is easy to guess, so the estimator is told about them.
    pub fn parse(raw: &str, context: &[&str]) -> Result<Self, String> {
        let length = raw.chars().count();
        if length < MIN_LEN {
            return Err(format!("Use at least {MIN_LEN} characters."));
        }
        if length > MAX_LEN {
            return Err(format!("Use at most {MAX_LEN} characters."));
        }
        // The estimator matches whole words, so names and addresses are split.
        let words: Vec<String> = context
            .iter()
            .flat_map(|c| c.split(|ch: char| !ch.is_alphanumeric()))
            .filter(|w| w.chars().count() >= 3)
            .map(str::to_lowercase)
            .collect();
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let estimate = zxcvbn::zxcvbn(raw, &words);
        if estimate.score() < Score::Three {
            let reason = estimate
                .feedback()
                .and_then(|f| f.warning().map(|w| w.to_string()))
                .unwrap_or_else(|| "This password would be easy to guess.".into());
            return Err(format!(
                "{reason} Try a few unrelated words or a passphrase only you would think of."
            ));
        }
        Ok(Self(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::NewPassword;

    #[test]
    fn refuses_short_passwords() {
        assert!(NewPassword::parse("Sh0rt!x", &[]).is_err());
    }

    #[test]
    fn refuses_common_passwords_even_when_long() {
        let err = NewPassword::parse("password1234", &[]).unwrap_err();
        assert!(!err.is_empty());
        assert!(NewPassword::parse("qwertyuiop123", &[]).is_err());
    }

    #[test]
    fn refuses_a_password_made_of_the_persons_own_name() {
        assert!(NewPassword::parse("anaruiz2024", &["Ana Ruiz", "anaruiz@example.com"]).is_err());
    }

    #[test]
    fn accepts_a_long_unusual_passphrase() {
        assert!(NewPassword::parse("lantern-oyster-mosaic-41", &[]).is_ok());
    }

    #[test]
    fn refuses_more_than_128_characters() {
        assert!(NewPassword::parse(&"x7#Qp".repeat(26), &[]).is_err());
    }
}
