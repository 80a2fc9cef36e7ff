//! AES "safe mode": AES-256-CBC, IV = key[..16], PKCS#7 padding to 32-byte blocks, over
//! `random(16) || len(4, big-endian) || msg || appid`, base64 encoded.
//!
//! Two Rust traps (see wechat-protocol.md §2.4): the 43-character EncodingAESKey has junk in its
//! last character's low bits, so it needs a base64 decoder that allows trailing bits; and the
//! `cbc` crate's PKCS#7 works on 16-byte blocks, so we pad and unpad ourselves.

use aes::Aes256;
use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::{DecodePaddingMode, general_purpose};
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use rand::RngCore;

/// WeChat pads to multiples of 32 bytes (the key length), not AES's 16.
const BLOCK: usize = 32;

/// Lenient decoder for the EncodingAESKey only.
const KEY_ENGINE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a message could not be decrypted (or a key not used).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("EncodingAESKey must be 43 base64 characters decoding to 32 bytes")]
    InvalidKey,
    #[error("Encrypt is not valid base64")]
    Base64,
    #[error("ciphertext length is not a positive multiple of the AES block")]
    BlockLength,
    #[error("invalid padding")]
    Padding,
    #[error("message length field is out of bounds")]
    Length,
    #[error("message is not UTF-8")]
    Utf8,
    #[error("message is for another AppID")]
    AppIdMismatch,
}

/// Encrypts and decrypts callback messages for one AppID.
#[derive(Clone)]
pub struct MsgCrypt {
    key: [u8; 32],
    appid: String,
}

impl std::fmt::Debug for MsgCrypt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MsgCrypt")
            .field("appid", &self.appid)
            .field("key", &"<redacted>")
            .finish()
    }
}

type Encryptor = cbc::Encryptor<Aes256>;
type Decryptor = cbc::Decryptor<Aes256>;

impl MsgCrypt {
    /// Builds from the 43-character EncodingAESKey of the WeChat console.
    pub fn new(encoding_aes_key: &str, appid: &str) -> Result<Self, CryptoError> {
        if encoding_aes_key.len() != 43 {
            return Err(CryptoError::InvalidKey);
        }
        let bytes = KEY_ENGINE
            .decode(format!("{encoding_aes_key}="))
            .map_err(|_| CryptoError::InvalidKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::InvalidKey)?;
        Ok(MsgCrypt {
            key,
            appid: appid.to_owned(),
        })
    }

    pub fn appid(&self) -> &str {
        &self.appid
    }

    fn iv(&self) -> &[u8] {
        &self.key[..16]
    }

    /// Encrypts with 16 fresh random bytes.
    pub fn encrypt(&self, msg: &str) -> String {
        let mut random = [0u8; 16];
        rand::rng().fill_bytes(&mut random);
        self.encrypt_with_random(msg, &random)
    }

    /// Encrypts with the given random prefix (for known-answer tests).
    pub fn encrypt_with_random(&self, msg: &str, random: &[u8; 16]) -> String {
        let msg = msg.as_bytes();
        let mut plain = Vec::with_capacity(16 + 4 + msg.len() + self.appid.len() + BLOCK);
        plain.extend_from_slice(random);
        // Messages are far below 4 GiB (callbacks are limited to 64 KiB).
        plain.extend_from_slice(&(msg.len() as u32).to_be_bytes());
        plain.extend_from_slice(msg);
        plain.extend_from_slice(self.appid.as_bytes());
        let pad = BLOCK - plain.len() % BLOCK;
        plain.extend(std::iter::repeat_n(pad as u8, pad));
        let len = plain.len();
        let cipher = Encryptor::new_from_slices(&self.key, self.iv())
            .expect("key is 32 bytes and IV 16 bytes by construction");
        let out = cipher
            .encrypt_padded_mut::<NoPadding>(&mut plain, len)
            .expect("plaintext is padded to a multiple of 32 bytes");
        STANDARD.encode(out)
    }

    /// Decrypts the base64 `Encrypt` value and checks the AppID trailer.
    pub fn decrypt(&self, encrypt_b64: &str) -> Result<String, CryptoError> {
        let (msg, appid) = self.decrypt_parts(encrypt_b64)?;
        if appid != self.appid.as_bytes() {
            return Err(CryptoError::AppIdMismatch);
        }
        String::from_utf8(msg).map_err(|_| CryptoError::Utf8)
    }

    fn decrypt_parts(&self, encrypt_b64: &str) -> Result<(Vec<u8>, Vec<u8>), CryptoError> {
        let mut data = general_purpose::STANDARD
            .decode(encrypt_b64.trim())
            .map_err(|_| CryptoError::Base64)?;
        if data.is_empty() || data.len() % 16 != 0 {
            return Err(CryptoError::BlockLength);
        }
        let cipher = Decryptor::new_from_slices(&self.key, self.iv())
            .expect("key is 32 bytes and IV 16 bytes by construction");
        let plain = cipher
            .decrypt_padded_mut::<NoPadding>(&mut data)
            .map_err(|_| CryptoError::BlockLength)?;
        let plain = unpad(plain)?;
        if plain.len() < 20 {
            return Err(CryptoError::Length);
        }
        let len_bytes: [u8; 4] = plain[16..20].try_into().map_err(|_| CryptoError::Length)?;
        let len = u32::from_be_bytes(len_bytes) as usize;
        let end = 20usize.checked_add(len).ok_or(CryptoError::Length)?;
        if end > plain.len() {
            return Err(CryptoError::Length);
        }
        Ok((plain[20..end].to_vec(), plain[end..].to_vec()))
    }
}

/// Strips PKCS#7 padding of a 32-byte block: the last byte n (1..=32), n bytes all equal n.
fn unpad(data: &[u8]) -> Result<&[u8], CryptoError> {
    let &n = data.last().ok_or(CryptoError::Padding)?;
    let n = usize::from(n);
    if n == 0 || n > BLOCK || n > data.len() {
        return Err(CryptoError::Padding);
    }
    let (body, pad) = data.split_at(data.len() - n);
    if pad.iter().any(|&b| usize::from(b) != n) {
        return Err(CryptoError::Padding);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const KEY_A: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
    const KEY_C: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR";
    const ENCRYPT_A: &str = "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=";

    #[test]
    fn non_canonical_keys_decode_to_the_published_aes_key() {
        let c = MsgCrypt::new(KEY_A, "x").expect("lenient key");
        assert_eq!(
            hex::encode(c.key),
            "69b71d79f8218a39259a7a29aabb2dbafc31cb3d35db7e39ebbf3d0010831051"
        );
        assert!(MsgCrypt::new(KEY_C, "x").is_ok());
        assert_eq!(
            MsgCrypt::new("short", "x").unwrap_err(),
            CryptoError::InvalidKey
        );
        assert_eq!(
            MsgCrypt::new(&"!".repeat(43), "x").unwrap_err(),
            CryptoError::InvalidKey
        );
    }

    #[test]
    fn vector_a_official_sample_decrypts() {
        let c = MsgCrypt::new(KEY_A, "wx2c2769f8efd9abc2").expect("key");
        let msg = c.decrypt(ENCRYPT_A).expect("decrypts");
        assert_eq!(msg.len(), 280);
        assert!(msg.starts_with("<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n"));
        assert!(msg.contains("<Content><![CDATA[abcdteT]]></Content>"));
        assert!(msg.ends_with("<MsgId>6054768590064713728</MsgId>\n</xml>"));
    }

    #[test]
    fn vector_b_encrypts_byte_for_byte() {
        let c = MsgCrypt::new(KEY_A, "wxb11529c136998cb6").expect("key");
        assert_eq!(
            c.encrypt_with_random("我是中文abcd123", b"aaaabbbbccccdddd"),
            "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
        );
    }

    #[test]
    fn vectors_c1_and_c2_decrypt() {
        let c = MsgCrypt::new(KEY_C, "wx49f0ab532d5d035a").expect("key");
        assert_eq!(
            c.decrypt("4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q==")
                .expect("C1"),
            "5927782489442352469"
        );
        let c2 = c
            .decrypt("RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0=")
            .expect("C2");
        assert_eq!(c2.len(), 281);
        assert!(c2.contains("<FromUserName><![CDATA[messense]]></FromUserName>"));
        assert!(c2.contains("<MsgId>4363689963896700987</MsgId>"));
    }

    #[test]
    fn vector_c3_encrypts_byte_for_byte() {
        let c = MsgCrypt::new(KEY_C, "wx49f0ab532d5d035a").expect("key");
        let xml = "<xml>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[test]]></Content>\n<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>\n<ToUserName><![CDATA[messense]]></ToUserName>\n<AgentID>1</AgentID>\n<CreateTime>1411525903</CreateTime>\n</xml>";
        assert_eq!(
            c.encrypt_with_random(xml, b"1234567890123456"),
            "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3"
        );
    }

    #[test]
    fn messense_small_vector_encrypts() {
        let c = MsgCrypt::new(KEY_C, "rust").expect("key");
        assert_eq!(
            c.encrypt_with_random("test", b"1234567890123456"),
            "9s4gMv99m88kKTh/H8IdkNiFGeG9pd7vNWl50fGRWXY="
        );
    }

    #[test]
    fn every_pad_length_round_trips() {
        let c = MsgCrypt::new(KEY_A, "wx1234567890abcdef").expect("key");
        // 16 + 4 + 18 (appid) = 38 bytes of overhead; vary the message to hit pads 1..=32.
        let mut seen = std::collections::BTreeSet::new();
        for extra in 0..64 {
            let msg = format!("中文😀]]>{}", "x".repeat(extra));
            let total = 16 + 4 + msg.len() + 18;
            seen.insert(BLOCK - total % BLOCK);
            let enc = c.encrypt(&msg);
            assert_eq!(c.decrypt(&enc).expect("round trip"), msg);
        }
        assert_eq!(seen, (1..=32).collect());
    }

    #[test]
    fn another_appid_is_refused() {
        let a = MsgCrypt::new(KEY_A, "wx_a").expect("key");
        let b = MsgCrypt::new(KEY_A, "wx_b").expect("key");
        assert_eq!(b.decrypt(&a.encrypt("hi")), Err(CryptoError::AppIdMismatch));
    }

    #[test]
    fn bad_padding_bytes_are_refused() {
        assert_eq!(unpad(&[1, 2, 0]), Err(CryptoError::Padding));
        assert_eq!(unpad(&[33; 40]), Err(CryptoError::Padding));
        assert_eq!(unpad(&[1, 3, 2, 3]), Err(CryptoError::Padding));
        assert_eq!(unpad(&[9, 2, 2]), Ok(&[9][..]));
        assert_eq!(unpad(&[32; 32]), Ok(&[][..]));
    }

    #[test]
    fn garbage_is_refused_with_an_error() {
        let c = MsgCrypt::new(KEY_A, "wx").expect("key");
        assert_eq!(c.decrypt("not base64!"), Err(CryptoError::Base64));
        assert_eq!(c.decrypt(""), Err(CryptoError::BlockLength));
        assert_eq!(c.decrypt("AAAA"), Err(CryptoError::BlockLength));
        assert!(c.decrypt(&STANDARD.encode([0u8; 32])).is_err());
    }

    proptest! {
        #[test]
        fn decrypt_never_panics(input in ".{0,200}") {
            let c = MsgCrypt::new(KEY_A, "wx").expect("key");
            let _ = c.decrypt(&input);
        }

        #[test]
        fn decrypt_of_arbitrary_ciphertext_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let c = MsgCrypt::new(KEY_A, "wx").expect("key");
            let _ = c.decrypt(&STANDARD.encode(&bytes));
        }

        #[test]
        fn round_trip_any_text(msg in "\\PC{0,300}") {
            let c = MsgCrypt::new(KEY_C, "wx49f0ab532d5d035a").expect("key");
            prop_assert_eq!(c.decrypt(&c.encrypt(&msg)).expect("round trip"), msg);
        }
    }
}
