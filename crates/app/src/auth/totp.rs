use anyhow::Context;
use qrcode::render::svg;
use qrcode::QrCode;
use totp_rs::{Algorithm, Secret, TOTP};

const STEP: u64 = 30;

/// A TOTP generator in the form every authenticator app accepts:
/// SHA-1, 6 digits, 30-second steps.
fn totp(secret_base32: &str, account_label: &str) -> anyhow::Result<TOTP> {
    let bytes = Secret::Encoded(secret_base32.to_string())
        .to_bytes()
        .map_err(|e| anyhow::anyhow!("while decoding a TOTP secret: {e:?}"))?;
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        STEP,
        bytes,
        Some("Regroup".to_string()),
        account_label.to_string(),
    )
    .context("while building a TOTP generator")
}

/// A new random 160-bit secret, base32-encoded.
pub fn new_secret() -> String {
    Secret::generate_secret().to_encoded().to_string()
}

/// The `otpauth://` URI an authenticator app imports.
pub fn provisioning_uri(secret_base32: &str, account_label: &str) -> anyhow::Result<String> {
    Ok(totp(secret_base32, account_label)?.get_url())
}

/// The provisioning URI as an SVG QR code, to embed in a page.
pub fn qr_svg(uri: &str) -> anyhow::Result<String> {
    let code = QrCode::new(uri.as_bytes()).context("while drawing the QR code")?;
    Ok(code
        .render::<svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

/// Returns the time step the code belongs to (now, or one step either side
/// for clock drift), or `None` when it matches none.
pub fn matching_step(secret_base32: &str, code: &str, unix_now: i64) -> Option<i64> {
    let code = code.trim().replace(' ', "");
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let totp = totp(secret_base32, "check").ok()?;
    let now = u64::try_from(unix_now).ok()?;
    let current = now / STEP;
    [current.saturating_sub(1), current, current + 1]
        .into_iter()
        .find(|step| {
            let expected = totp.generate(step * STEP);
            super::tokens::constant_time_eq(expected.as_bytes(), code.as_bytes())
        })
        .and_then(|step| i64::try_from(step).ok())
}

/// The code an authenticator shows at `unix_time`; tests and `regroup admin` use it.
pub fn code_at(secret_base32: &str, unix_time: i64) -> anyhow::Result<String> {
    Ok(totp(secret_base32, "check")?.generate(u64::try_from(unix_time)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_current_code_matches_its_step() {
        let secret = new_secret();
        let now = 1_800_000_000;
        let code = code_at(&secret, now).unwrap();
        assert_eq!(matching_step(&secret, &code, now), Some(now / 30));
    }

    #[test]
    fn a_code_from_one_step_ago_is_accepted_but_not_from_three() {
        let secret = new_secret();
        let now = 1_800_000_000;
        assert!(matching_step(&secret, &code_at(&secret, now - 30).unwrap(), now).is_some());
        assert!(matching_step(&secret, &code_at(&secret, now - 90).unwrap(), now).is_none());
    }

    #[test]
    fn malformed_codes_never_match() {
        let secret = new_secret();
        for bad in ["", "12345", "1234567", "abcdef"] {
            assert_eq!(matching_step(&secret, bad, 1_800_000_000), None);
        }
    }

    #[test]
    fn the_uri_names_the_issuer_and_the_qr_is_svg() {
        let uri = provisioning_uri(&new_secret(), "ana@example.com").unwrap();
        assert!(uri.starts_with("otpauth://totp/Regroup:"));
        assert!(qr_svg(&uri).unwrap().contains("<svg"));
    }
}
