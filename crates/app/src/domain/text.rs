//! Free text people type: one check for every field, so a NUL, a stray line
//! break or an escape sequence never reaches a title, a subject or a mail
//! header. Single-line text refuses every control character; multi-line
//! text allows line breaks and tabs and nothing else.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lines {
    Single,
    Multi,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextProblem {
    TooLong { max: usize },
    ControlCharacter,
}

impl TextProblem {
    /// A message for a field whose `label` starts the sentence.
    pub fn message(self, label: &str) -> String {
        match self {
            TextProblem::TooLong { max } => format!("{label} can have at most {max} characters."),
            TextProblem::ControlCharacter if label.is_empty() => {
                "This contains characters that cannot be shown (such as line breaks or NUL).".into()
            }
            TextProblem::ControlCharacter => format!(
                "{label} contains characters that cannot be shown (such as line breaks or NUL)."
            ),
        }
    }
}

/// Trims `raw`, then checks its length in characters and its characters.
pub fn clean_text(raw: &str, max: usize, lines: Lines) -> Result<String, TextProblem> {
    let value = raw.trim();
    if value.chars().count() > max {
        return Err(TextProblem::TooLong { max });
    }
    let allowed = |c: char| lines == Lines::Multi && matches!(c, '\n' | '\r' | '\t');
    if value.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(TextProblem::ControlCharacter);
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_line_text_refuses_nul_line_breaks_and_escapes() {
        for bad in [
            "a\0b",
            "a\nb",
            "a\rb",
            "a\tb",
            "a\u{1b}[31mb",
            "a\u{7f}b",
            "a\u{85}b",
        ] {
            assert_eq!(
                clean_text(bad, 100, Lines::Single),
                Err(TextProblem::ControlCharacter),
                "{bad:?}"
            );
        }
        assert_eq!(
            clean_text("  Group session ", 100, Lines::Single).unwrap(),
            "Group session"
        );
        assert_eq!(
            clean_text("Café – ünïcode ✓", 100, Lines::Single).unwrap(),
            "Café – ünïcode ✓"
        );
    }

    #[test]
    fn multi_line_text_allows_line_breaks_and_tabs_only() {
        assert_eq!(
            clean_text("a\r\n\tb", 100, Lines::Multi).unwrap(),
            "a\r\n\tb"
        );
        assert_eq!(
            clean_text("a\0b", 100, Lines::Multi),
            Err(TextProblem::ControlCharacter)
        );
    }

    #[test]
    fn length_counts_characters_after_trimming() {
        assert!(clean_text(&"é".repeat(10), 10, Lines::Single).is_ok());
        assert_eq!(
            clean_text(&"é".repeat(11), 10, Lines::Single),
            Err(TextProblem::TooLong { max: 10 })
        );
        assert!(clean_text(&format!("  {}  ", "a".repeat(10)), 10, Lines::Single).is_ok());
    }
}
