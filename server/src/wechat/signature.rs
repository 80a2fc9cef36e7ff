//! Callback signatures: `signature` = sha1(sort(token, timestamp, nonce)) and
//! `msg_signature` = sha1(sort(token, timestamp, nonce, Encrypt)), sorted byte-wise,
//! lowercase hex, compared in constant time.

use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

/// Why a signature was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// A required query parameter is absent or empty; nothing is hashed in that case.
    #[error("missing parameter {0}")]
    Missing(&'static str),
    #[error("signature mismatch")]
    Mismatch,
}

/// sha1 over the parts sorted as byte strings and concatenated, as lowercase hex.
pub fn sign(parts: &[&str]) -> String {
    let mut sorted: Vec<&[u8]> = parts.iter().map(|p| p.as_bytes()).collect();
    sorted.sort_unstable();
    let mut hasher = Sha1::new();
    for part in sorted {
        hasher.update(part);
    }
    hex::encode(hasher.finalize())
}

fn required<'a>(value: Option<&'a str>, name: &'static str) -> Result<&'a str, SignatureError> {
    value
        .filter(|v| !v.is_empty())
        .ok_or(SignatureError::Missing(name))
}

fn compare(expected: &str, given: &str) -> Result<(), SignatureError> {
    let given = given.to_ascii_lowercase();
    if expected.len() == given.len() && bool::from(expected.as_bytes().ct_eq(given.as_bytes())) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Checks the 3-part `signature` of every callback (and of the URL check).
pub fn verify_signature(
    token: &str,
    timestamp: Option<&str>,
    nonce: Option<&str>,
    signature: Option<&str>,
) -> Result<(), SignatureError> {
    let signature = required(signature, "signature")?;
    let timestamp = required(timestamp, "timestamp")?;
    let nonce = required(nonce, "nonce")?;
    compare(&sign(&[token, timestamp, nonce]), signature)
}

/// Checks the 4-part `msg_signature` of an encrypted callback.
pub fn verify_msg_signature(
    token: &str,
    timestamp: Option<&str>,
    nonce: Option<&str>,
    encrypt: &str,
    msg_signature: Option<&str>,
) -> Result<(), SignatureError> {
    let msg_signature = required(msg_signature, "msg_signature")?;
    let timestamp = required(timestamp, "timestamp")?;
    let nonce = required(nonce, "nonce")?;
    let encrypt = required(Some(encrypt), "Encrypt")?;
    compare(&sign(&[token, timestamp, nonce, encrypt]), msg_signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_url_check_example_verifies() {
        assert_eq!(
            sign(&["AAAAA", "1714036504", "1514711492"]),
            "f464b24fc39322e44b38aa78f5edd27bd1441696"
        );
        assert_eq!(
            verify_signature(
                "AAAAA",
                Some("1714036504"),
                Some("1514711492"),
                Some("f464b24fc39322e44b38aa78f5edd27bd1441696")
            ),
            Ok(())
        );
    }

    #[test]
    fn official_plaintext_post_example_verifies() {
        assert_eq!(
            sign(&["AAAAA", "1714037059", "486452656"]),
            "899cf89e464efb63f54ddac96b0a0a235f53aa78"
        );
    }

    #[test]
    fn wechatpy_vector_verifies_and_a_changed_digit_fails() {
        let ok = "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff";
        assert_eq!(
            verify_signature("test", Some("1410685589"), Some("test"), Some(ok)),
            Ok(())
        );
        assert_eq!(
            verify_signature(
                "test",
                Some("1410685589"),
                Some("test"),
                Some("f21891de399b4e33a1a93c9a7b8a8fffb5a443fe")
            ),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn sort_is_bytewise_not_numeric() {
        // "9" > "10" byte-wise; a numeric sort would give a different digest.
        assert_eq!(sign(&["9", "10", "a"]), sign(&["10", "9", "a"]));
        assert_eq!(sign(&["9", "10", "a"]), hex::encode(Sha1::digest(b"109a")));
    }

    #[test]
    fn four_part_vectors_verify() {
        assert_eq!(
            sign(&[
                "123456",
                "1411443780",
                "437374425",
                "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q=="
            ]),
            "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96"
        );
        assert_eq!(
            sign(&["test", "123456", "test", "rust"]),
            "d6056f2bb3ad3e30f4afa5ef90cc9ddcdc7b7b27"
        );
    }

    #[test]
    fn missing_parameters_are_rejected_before_hashing() {
        let cases = [
            (None, Some("1"), Some("s"), "timestamp"),
            (Some("1"), None, Some("s"), "nonce"),
            (Some("1"), Some("1"), None, "signature"),
            (Some(""), Some("1"), Some("s"), "timestamp"),
            (Some("1"), Some("1"), Some(""), "signature"),
        ];
        for (ts, nonce, sig, name) in cases {
            assert_eq!(
                verify_signature("t", ts, nonce, sig),
                Err(SignatureError::Missing(name))
            );
        }
        assert_eq!(
            verify_msg_signature("t", Some("1"), Some("2"), "", Some("x")),
            Err(SignatureError::Missing("Encrypt"))
        );
    }

    #[test]
    fn wrong_length_signatures_fail() {
        assert_eq!(
            verify_signature(
                "AAAAA",
                Some("1714036504"),
                Some("1514711492"),
                Some("f464")
            ),
            Err(SignatureError::Mismatch)
        );
    }
}
