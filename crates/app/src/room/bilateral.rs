//! Bilateral stimulation (EMDR): a dot that moves left and right across one
//! client's stage, with optional alternating tones. The therapist's page sends
//! the settings; the client's page animates from its own clock, so network
//! delay never makes the motion jump. This module holds what a setting may be;
//! the room actor (`actor/bilateral.rs`) holds who sees it.

use super::protocol::{Refusal, ServerMsg};

/// Passes across the stage per second: slower is hard to follow, faster is
/// more than EMDR practice uses.
pub const SPEED: (f64, f64) = (0.5, 2.0);
/// The dot's diameter in CSS pixels: visible on a phone, not a wall.
pub const SIZE: (u32, u32) = (16, 96);
/// Named colours the therapist's page offers; any `#rrggbb` works too.
pub const PALETTE: &[(&str, &str)] = &[
    ("blue", "#5aa9e6"),
    ("green", "#6fd3b8"),
    ("yellow", "#ffd45c"),
    ("white", "#f3f6f7"),
    ("orange", "#f4a261"),
];

/// Checked settings; the colour is always `#rrggbb` in lower case.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub running: bool,
    pub speed: f64,
    pub color: String,
    pub size: u32,
    pub tones: bool,
}

impl Settings {
    /// Every field in range, or a `bad_message` naming the field (never
    /// echoing the value: it is whatever the sender put there).
    pub fn parse(
        running: bool,
        speed: f64,
        color: &str,
        size: u32,
        tones: bool,
    ) -> Result<Self, Refusal> {
        if !(speed.is_finite() && (SPEED.0..=SPEED.1).contains(&speed)) {
            return Err(bad(format!(
                "The speed is {} to {} passes per second.",
                SPEED.0, SPEED.1
            )));
        }
        if !(SIZE.0..=SIZE.1).contains(&size) {
            return Err(bad(format!("The size is {} to {} pixels.", SIZE.0, SIZE.1)));
        }
        let color = parse_color(color).ok_or_else(|| {
            bad("The colour is one of blue, green, yellow, white, orange, or #rrggbb.".into())
        })?;
        Ok(Self {
            running,
            speed,
            color,
            size,
            tones,
        })
    }

    pub fn message(&self, target: &str) -> ServerMsg {
        ServerMsg::Bilateral {
            target: target.to_owned(),
            running: self.running,
            speed: self.speed,
            color: self.color.clone(),
            size: self.size,
            tones: self.tones,
        }
    }
}

fn parse_color(given: &str) -> Option<String> {
    if let Some((_, hex)) = PALETTE.iter().find(|(name, _)| *name == given) {
        return Some((*hex).to_owned());
    }
    let digits = given.strip_prefix('#')?;
    (digits.len() == 6 && digits.chars().all(|c| c.is_ascii_hexdigit()))
        .then(|| format!("#{}", digits.to_ascii_lowercase()))
}

pub fn bad(message: String) -> Refusal {
    Refusal::new("bad_message", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_in_range_pass_and_colours_come_out_as_hex() {
        let s = Settings::parse(true, 1.25, "green", 32, true).unwrap();
        assert_eq!(s.color, "#6fd3b8");
        assert_eq!(
            Settings::parse(false, 0.5, "#A0b1C2", 16, false)
                .unwrap()
                .color,
            "#a0b1c2"
        );
        assert!(Settings::parse(true, 2.0, "white", 96, false).is_ok());
    }

    #[test]
    fn settings_out_of_range_are_bad_messages() {
        for (speed, color, size) in [
            (0.49, "blue", 32),
            (2.01, "blue", 32),
            (f64::NAN, "blue", 32),
            (1.0, "blue", 15),
            (1.0, "blue", 97),
            (1.0, "purple", 32),
            (1.0, "#12345", 32),
            (1.0, "#12345g", 32),
            (1.0, "url(x)", 32),
            (1.0, "", 32),
        ] {
            let refused = Settings::parse(true, speed, color, size, false).unwrap_err();
            assert_eq!(refused.code, "bad_message", "{speed} {color} {size}");
            assert!(!refused.message.contains(color) || color.is_empty());
        }
    }
}
