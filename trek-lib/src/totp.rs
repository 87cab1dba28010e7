//! TOTP two-factor codes (RFC 6238: SHA-1, 6 digits, 30-second steps, ±1 step) and backup
//! codes, as TREK's authenticator flow uses them, with replay protection added: verification
//! takes the last step the account accepted and refuses any code at or before it, and returns
//! the step it matched so the caller can persist it (decision 2).
//!
//! ```
//! use trek_lib::totp::{TotpSecret, code_at, verify};
//!
//! let secret = TotpSecret::from_base32("GRNVGHJIFESBOSAT").unwrap();
//! assert_eq!(code_at(&secret, 1_773_367_381), "682610");
//! let step = verify(&secret, "682 610", 1_773_367_381, None).unwrap();
//! assert!(verify(&secret, "682610", 1_773_367_381, Some(step)).is_none()); // replay refused
//! ```

use std::fmt;

use rand::{CryptoRng, RngCore};
use subtle::ConstantTimeEq;
use totp_lite::{Sha1, totp_custom};
use zeroize::Zeroizing;

use crate::password::{HashError, Hasher, Workspace};

/// Seconds per step.
pub const STEP_SECS: u64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;
/// Steps accepted on either side of the current one.
pub const SKEW_STEPS: u64 = 1;
/// Bytes of a generated secret: 160 bits, RFC 4226's recommendation (TREK used 80).
pub const SECRET_BYTES: usize = 20;
/// Backup codes per enrolment.
pub const BACKUP_CODE_COUNT: usize = 10;

const ISSUER: &str = "TREK";
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Why a TOTP secret could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TotpError {
    /// Not RFC 4648 base32, or empty.
    #[error("totp secret is not valid base32")]
    InvalidSecret,
}

/// A TOTP shared secret. Zeroized on drop; Debug leaves it out.
#[derive(Clone)]
pub struct TotpSecret {
    bytes: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Whoever holds the secret can produce every future code.
        f.write_str("TotpSecret(..)")
    }
}

impl TotpSecret {
    /// A fresh 160-bit secret.
    pub fn generate(rng: &mut (impl RngCore + CryptoRng)) -> Self {
        let mut bytes = Zeroizing::new(vec![0u8; SECRET_BYTES]);
        rng.fill_bytes(&mut bytes);
        Self { bytes }
    }

    /// Reads a base32 secret: case-insensitive, spaces and `=` padding ignored.
    ///
    /// # Errors
    ///
    /// [`TotpError::InvalidSecret`] for characters outside the base32 alphabet or no data.
    pub fn from_base32(text: &str) -> Result<Self, TotpError> {
        let mut bytes = Zeroizing::new(Vec::with_capacity(text.len() * 5 / 8));
        let (mut buffer, mut bits) = (0u64, 0u32);
        for c in text.bytes().filter(|c| !matches!(c, b' ' | b'=' | b'-')) {
            let value = BASE32
                .iter()
                .position(|&a| a == c.to_ascii_uppercase())
                .ok_or(TotpError::InvalidSecret)?;
            buffer = (buffer << 5) | value as u64;
            bits += 5;
            if bits >= 8 {
                bits -= 8;
                bytes.push((buffer >> bits) as u8);
                buffer &= (1 << bits) - 1;
            }
        }
        if bytes.is_empty() {
            return Err(TotpError::InvalidSecret);
        }
        Ok(Self { bytes })
    }

    /// The secret as unpadded upper-case base32, as authenticator apps take it.
    pub fn to_base32(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(self.bytes.len() * 8 / 5 + 1));
        let (mut buffer, mut bits) = (0u64, 0u32);
        for &b in self.bytes.iter() {
            buffer = (buffer << 8) | u64::from(b);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                out.push(char::from(BASE32[((buffer >> bits) & 31) as usize]));
            }
            buffer &= (1 << bits) - 1;
        }
        if bits > 0 {
            out.push(char::from(BASE32[((buffer << (5 - bits)) & 31) as usize]));
        }
        out
    }
}

/// The provisioning URI exactly as TREK (otplib's `keyuri`) builds it:
/// `otpauth://totp/TREK:<email>?secret=…&period=30&digits=6&algorithm=SHA1&issuer=TREK`.
pub fn otpauth_url(email: &str, secret: &TotpSecret) -> String {
    format!(
        "otpauth://totp/{ISSUER}:{}?secret={}&period={STEP_SECS}&digits={DIGITS}&algorithm=SHA1&issuer={ISSUER}",
        encode_uri_component(email),
        secret.to_base32().as_str()
    )
}

/// JavaScript's `encodeURIComponent`.
fn encode_uri_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The time step containing `unix_time`.
pub fn step_of(unix_time: u64) -> u64 {
    unix_time / STEP_SECS
}

/// The code for the step containing `unix_time`.
pub fn code_at(secret: &TotpSecret, unix_time: u64) -> String {
    totp_custom::<Sha1>(STEP_SECS, DIGITS, &secret.bytes, unix_time)
}

/// Checks `code` (white space ignored) against the steps around `unix_time`, refusing steps at
/// or before `last_step`. Returns the step it matched.
///
/// All candidate steps are compared, in constant time, whatever matches first.
pub fn verify(
    secret: &TotpSecret,
    code: &str,
    unix_time: u64,
    last_step: Option<u64>,
) -> Option<u64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_of(unix_time);
    let mut matched = None;
    for step in now.saturating_sub(SKEW_STEPS)..=now.saturating_add(SKEW_STEPS) {
        let expected = totp_custom::<Sha1>(STEP_SECS, DIGITS, &secret.bytes, step * STEP_SECS);
        let equal: bool = expected.as_bytes().ct_eq(code.as_bytes()).into();
        let fresh = last_step.is_none_or(|last| step > last);
        if equal && fresh && matched.is_none() {
            matched = Some(step);
        }
    }
    matched
}

/// Ten fresh backup codes, `XXXX-XXXX` upper-case hex (32 bits each), no two alike.
pub fn generate_backup_codes(rng: &mut (impl RngCore + CryptoRng)) -> Vec<Zeroizing<String>> {
    let mut codes: Vec<Zeroizing<String>> = Vec::with_capacity(BACKUP_CODE_COUNT);
    while codes.len() < BACKUP_CODE_COUNT {
        let n = rng.next_u32();
        let code = Zeroizing::new(format!("{:04X}-{:04X}", n >> 16, n & 0xFFFF));
        if !codes.iter().any(|c| c.as_str() == code.as_str()) {
            codes.push(code);
        }
    }
    codes
}

/// TREK's normalisation: upper-case, every character outside `A-Z0-9` dropped, so
/// `ab cd-12 34` and `ABCD1234` are the same code.
pub fn normalize_backup_code(code: &str) -> Zeroizing<String> {
    Zeroizing::new(
        code.chars()
            .map(|c| c.to_ascii_uppercase())
            .filter(char::is_ascii_alphanumeric)
            .collect(),
    )
}

/// Hashes a backup code (normalised first) with Argon2id.
///
/// # Errors
///
/// As [`Hasher::hash`].
pub fn hash_backup_code(
    hasher: &Hasher,
    workspace: &mut Workspace,
    code: &str,
) -> Result<String, HashError> {
    hasher.hash_in(
        workspace,
        &normalize_backup_code(code),
        &mut rand::rngs::OsRng,
    )
}

/// Whether `code` matches a stored backup-code hash: Argon2id (trek), bcrypt (TREK), or the
/// legacy 64-character SHA-256 hex of the normalised code (compared in constant time).
/// Unreadable hashes never match.
pub fn backup_code_matches(
    hasher: &Hasher,
    workspace: &mut Workspace,
    code: &str,
    stored: &str,
) -> bool {
    let normalized = normalize_backup_code(code);
    if normalized.is_empty() {
        return false;
    }
    if stored.len() == 64 && stored.bytes().all(|b| b.is_ascii_hexdigit()) {
        let digest = crate::secrets::token_digest(&normalized);
        return digest
            .as_bytes()
            .ct_eq(stored.to_ascii_lowercase().as_bytes())
            .into();
    }
    hasher
        .verify_in(workspace, &normalized, stored)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::rngs::OsRng;

    fn secret() -> TotpSecret {
        TotpSecret::from_base32("GRNVGHJIFESBOSAT").expect("base32")
    }

    #[test]
    fn rfc_6238_sha1_vectors_generate() {
        let secret = TotpSecret {
            bytes: Zeroizing::new(b"12345678901234567890".to_vec()),
        };
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(code_at(&secret, time), code);
        }
    }

    #[test]
    fn neighbouring_steps_are_accepted_and_farther_ones_are_not() {
        let s = secret();
        let t = 1_700_000_015;
        for delta in [-30i64, 0, 30] {
            let code = code_at(&s, (t as i64 + delta) as u64);
            assert!(verify(&s, &code, t, None).is_some(), "skew {delta}");
        }
        for delta in [-90i64, -60, 60, 90] {
            let code = code_at(&s, (t as i64 + delta) as u64);
            assert!(verify(&s, &code, t, None).is_none(), "skew {delta}");
        }
    }

    #[test]
    fn a_code_at_or_before_the_last_step_is_refused() {
        let s = secret();
        let t = 1_700_000_015;
        let step = verify(&s, &code_at(&s, t), t, None).expect("fresh");
        assert_eq!(step, step_of(t));
        assert_eq!(verify(&s, &code_at(&s, t), t, Some(step)), None);
        assert_eq!(verify(&s, &code_at(&s, t - 30), t, Some(step)), None);
        assert_eq!(
            verify(&s, &code_at(&s, t + 30), t, Some(step)),
            Some(step + 1)
        );
    }

    #[test]
    fn malformed_codes_never_match() {
        let s = secret();
        for bad in ["", "12345", "1234567", "abcdef", "12 34 5", "１２３４５６"] {
            assert_eq!(verify(&s, bad, 1_700_000_000, None), None, "{bad}");
        }
    }

    #[test]
    fn generated_secrets_have_160_bits_and_round_trip_through_base32() {
        let s = TotpSecret::generate(&mut OsRng);
        let text = s.to_base32();
        assert_eq!(text.len(), 32);
        let back = TotpSecret::from_base32(&text.to_lowercase()).expect("decodes");
        assert_eq!(code_at(&back, 1_700_000_000), code_at(&s, 1_700_000_000));
        assert!(TotpSecret::from_base32("not base32!").is_err());
        assert!(TotpSecret::from_base32("").is_err());
    }

    #[test]
    fn backup_codes_have_trek_s_shape_and_normalise() {
        let codes = generate_backup_codes(&mut OsRng);
        assert_eq!(codes.len(), 10);
        for code in &codes {
            let b = code.as_bytes();
            assert!(b.len() == 9 && b[4] == b'-', "{}", code.as_str());
            assert!(
                b.iter()
                    .enumerate()
                    .all(|(i, c)| i == 4 || matches!(c, b'0'..=b'9' | b'A'..=b'F'))
            );
        }
        assert_eq!(normalize_backup_code("ab cd-12 34").as_str(), "ABCD1234");
    }

    #[test]
    fn backup_codes_match_argon2_bcrypt_and_sha256_hashes() {
        let hasher = Hasher::default();
        let ws = &mut Workspace::new();
        let argon = hash_backup_code(&hasher, ws, "abcd-1234").expect("hash");
        assert!(backup_code_matches(&hasher, ws, "ABCD1234", &argon));
        assert!(!backup_code_matches(&hasher, ws, "ABCD1235", &argon));
        let bcrypt = "$2a$10$T5RiG44Nq.FOgPj3Pol2A.Kxfe3sC0hA.SM1MbpHyH9Ag1vZa649."; // A1B2C3D4
        assert!(backup_code_matches(&hasher, ws, "a1b2-c3d4", bcrypt));
        let sha = "e4b8b2a3f8e8f6e2a0b6d4b2d1a0c9e8f7d6c5b4a3928170f6e5d4c3b2a19080";
        assert!(!backup_code_matches(&hasher, ws, "A1B2C3D4", sha));
        use sha2::{Digest, Sha256};
        let real = hex::encode(Sha256::digest(b"A1B2C3D4"));
        assert!(backup_code_matches(&hasher, ws, "a1b2 c3d4", &real));
        assert!(!backup_code_matches(&hasher, ws, "---", &real));
    }

    proptest! {
        #[test]
        fn base32_round_trips_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 1..64)) {
            let s = TotpSecret { bytes: Zeroizing::new(bytes.clone()) };
            let back = TotpSecret::from_base32(&s.to_base32()).expect("decodes");
            prop_assert_eq!(back.bytes.as_slice(), bytes.as_slice());
        }

        #[test]
        fn verify_never_panics(code in "\\PC{0,12}", t in any::<u64>(), last in proptest::option::of(any::<u64>())) {
            let _ = verify(&secret(), &code, t, last);
        }
    }
}
