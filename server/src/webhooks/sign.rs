//! Signing a delivery: HMAC-SHA256 over `"<timestamp>.<body>"` with the endpoint's secret,
//! sent as `X-Tuijian-Signature: t=<unix seconds>,v1=<hex>` (one `v1` per valid secret: two
//! while a rotation's previous secret still signs). Receivers recompute it with their secret,
//! compare in constant time and refuse timestamps older than a few minutes (replays).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// The header with the timestamp and signatures.
pub const SIGNATURE_HEADER: &str = "x-tuijian-signature";
/// Prefix of endpoint secrets (easy to recognise for secret scanners).
pub const SECRET_PREFIX: &str = "whsec_";

/// A new random secret: `whsec_` and 32 random bytes, base64url.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The hex HMAC-SHA256 of `"<timestamp>.<body>"` keyed by the secret's UTF-8 bytes (the
/// whole string, prefix included).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The signature header's value for these secrets (current first).
pub fn header(timestamp: i64, body: &[u8], secrets: &[&str]) -> String {
    let mut value = format!("t={timestamp}");
    for secret in secrets {
        value.push_str(",v1=");
        value.push_str(&sign(secret, timestamp, body));
    }
    value
}

/// What a receiver does: true when the header carries a `v1` signature of `body` made with
/// `secret` and its timestamp is within `tolerance_secs` of `now`.
pub fn verify(header: &str, body: &[u8], secret: &str, now: i64, tolerance_secs: i64) -> bool {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", s)) => signatures.push(s),
            _ => {}
        }
    }
    let Some(t) = timestamp else { return false };
    if (now - t).abs() > tolerance_secs {
        return false;
    }
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    let expected = mac.finalize().into_bytes();
    signatures.iter().any(|s| {
        hex::decode(s).is_ok_and(|given| {
            use subtle::ConstantTimeEq;
            given.len() == expected.len() && bool::from(given.ct_eq(&expected))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the README (its Python and Node.js snippets print the same).
    #[test]
    fn the_readme_example_signs_as_documented() {
        let body = br#"{"id":"evt_1","type":"webhook.test"}"#;
        assert_eq!(
            sign("whsec_example", 1764800000, body),
            "b366a69feb783275538be8ffaf3fa68fa75759ae3632391cd23dc04510068ddf"
        );
    }

    #[test]
    fn a_signature_verifies_with_either_secret_during_a_rotation() {
        let body = b"{\"id\":\"evt_2\"}";
        let value = header(1000, body, &["whsec_new", "whsec_old"]);
        assert!(value.starts_with("t=1000,v1="));
        assert_eq!(value.matches("v1=").count(), 2);
        assert!(verify(&value, body, "whsec_new", 1000, 300));
        assert!(verify(&value, body, "whsec_old", 1100, 300));
        assert!(!verify(&value, body, "whsec_other", 1000, 300));
        // A replay later than the tolerance, a changed body, a moved timestamp: refused.
        assert!(!verify(&value, body, "whsec_new", 1301, 300));
        assert!(!verify(
            &value,
            b"{\"id\":\"evt_3\"}",
            "whsec_new",
            1000,
            300
        ));
        let moved = value.replacen("t=1000", "t=1001", 1);
        assert!(!verify(&moved, body, "whsec_new", 1001, 300));
    }

    #[test]
    fn secrets_are_random_and_recognisable() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert!(a.starts_with(SECRET_PREFIX) && a.len() == SECRET_PREFIX.len() + 43);
    }
}
