//! At-rest secret encryption in TREK's two stored formats, and `ENCRYPTION_KEY` resolution.
//!
//! Both formats are AES-256-GCM with a fresh random 96-bit nonce per value and no associated
//! data. The 32-byte key for each kind is SHA-256 of the UTF-8 text `ENCRYPTION_KEY + suffix`,
//! the key text used verbatim (hex is not decoded):
//!
//! | kind | suffix | stored as |
//! |---|---|---|
//! | [`SecretKind::ApiKey`] | `:api_keys:v1` | `enc:v1:` + base64(nonce 12 ‖ tag 16 ‖ ciphertext) |
//! | [`SecretKind::Mfa`] | `:mfa:v1` | base64(nonce 12 ‖ tag 16 ‖ ciphertext), no prefix |
//!
//! Random nonces are safe here because each key seals few values (one per user column); the
//! birthday bound of 2^32 messages per key is far away. An API-key value without the prefix is
//! legacy plaintext and opens as itself; an MFA value has no such path.
//!
//! ```
//! use trek_lib::secrets::{EncryptionKey, SecretBox, SecretKind};
//!
//! let sealer = SecretBox::new(&EncryptionKey::new("correct horse battery staple"));
//! let stored = sealer.seal(SecretKind::ApiKey, "sk-live-123");
//! assert!(stored.starts_with("enc:v1:"));
//! assert_eq!(sealer.open(SecretKind::ApiKey, &stored).unwrap().as_str(), "sk-live-123");
//! ```

use std::fmt;
use std::io;
use std::path::Path;

use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aead::rand_core::{CryptoRng, OsRng, RngCore};
use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::keyfile;

/// The prefix of API-key style stored values.
pub const API_KEY_PREFIX: &str = "enc:v1:";

/// The longest stored value [`SecretBox::open`] reads, in bytes. Real values are under a
/// kilobyte; the cap keeps a hostile row from costing more than a bounded decode.
pub const MAX_STORED_LEN: usize = 64 * 1024;

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// TREK writes standard base64 with padding; reading accepts missing padding too, since the
/// value is authenticated anyway and nothing is gained by refusing it.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Which stored format, and so which derived key, a value uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretKind {
    /// Provider keys, SMTP passwords, webhook URLs, invite tokens: `enc:v1:` values.
    ApiKey,
    /// TOTP secrets: unprefixed values under their own key.
    Mfa,
}

impl SecretKind {
    fn suffix(self) -> &'static str {
        match self {
            Self::ApiKey => ":api_keys:v1",
            Self::Mfa => ":mfa:v1",
        }
    }
}

/// Why a stored value could not be opened. Deliberately coarse: telling an attacker which
/// check failed helps them, and the caller can do nothing different either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// Not valid base64, too short to hold a nonce and tag, or longer than [`MAX_STORED_LEN`].
    #[error("stored secret is malformed")]
    Malformed,
    /// The tag did not verify: wrong `ENCRYPTION_KEY`, or the value was altered.
    #[error("stored secret does not decrypt with this ENCRYPTION_KEY (wrong key or altered value)")]
    DecryptionFailed,
    /// Decrypted bytes are not UTF-8 text.
    #[error("decrypted secret is not UTF-8 text")]
    NotText,
}

/// The resolved `ENCRYPTION_KEY` text. Zeroized on drop; its Debug output leaves it out.
#[derive(Clone)]
pub struct EncryptionKey(Zeroizing<String>);

impl EncryptionKey {
    /// Wraps key text exactly as given (TREK does not trim the environment variable).
    pub fn new(text: impl Into<String>) -> Self {
        Self(Zeroizing::new(text.into()))
    }

    /// The key text, for writing it to its key file.
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn derive(&self, kind: SecretKind) -> Zeroizing<[u8; 32]> {
        let mut hasher = Sha256::new();
        hasher.update(self.0.as_bytes());
        hasher.update(kind.suffix().as_bytes());
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(&hasher.finalize());
        out
    }
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key itself is never printed, not even in part.
        f.write_str("EncryptionKey(..)")
    }
}

/// Seals and opens secrets under one `ENCRYPTION_KEY`. Holds both derived ciphers, whose key
/// schedules are zeroized on drop.
#[derive(Clone)]
pub struct SecretBox {
    api_key: Aes256Gcm,
    mfa: Aes256Gcm,
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    /// Derives both keys from `key`.
    pub fn new(key: &EncryptionKey) -> Self {
        let cipher = |kind| Aes256Gcm::new(GenericArray::from_slice(key.derive(kind).as_ref()));
        Self {
            api_key: cipher(SecretKind::ApiKey),
            mfa: cipher(SecretKind::Mfa),
        }
    }

    fn cipher(&self, kind: SecretKind) -> &Aes256Gcm {
        match kind {
            SecretKind::ApiKey => &self.api_key,
            SecretKind::Mfa => &self.mfa,
        }
    }

    /// Seals `plaintext` with a nonce from the operating system's generator.
    pub fn seal(&self, kind: SecretKind, plaintext: &str) -> String {
        self.seal_with_rng(kind, plaintext, &mut OsRng)
    }

    /// Seals `plaintext` with a nonce drawn from `rng`.
    pub fn seal_with_rng(
        &self,
        kind: SecretKind,
        plaintext: &str,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        self.seal_with_nonce(kind, plaintext, nonce)
    }

    /// Seals `plaintext` with a caller-chosen nonce. Reusing a nonce under one key breaks
    /// AES-GCM completely; this exists for reproducing published test vectors.
    pub fn seal_with_nonce(&self, kind: SecretKind, plaintext: &str, nonce: [u8; 12]) -> String {
        let mut body = Zeroizing::new(plaintext.as_bytes().to_vec());
        let tag = self
            .cipher(kind)
            .encrypt_in_place_detached(Nonce::from_slice(&nonce), b"", &mut body)
            // Only inputs beyond 64 GiB make AES-GCM refuse; a &str that large cannot exist here.
            .unwrap_or_default();
        let mut raw = Vec::with_capacity(NONCE_LEN + TAG_LEN + body.len());
        raw.extend_from_slice(&nonce);
        raw.extend_from_slice(&tag);
        raw.extend_from_slice(&body);
        let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
        match kind {
            SecretKind::ApiKey => format!("{API_KEY_PREFIX}{encoded}"),
            SecretKind::Mfa => encoded,
        }
    }

    /// Opens a stored value.
    ///
    /// For [`SecretKind::ApiKey`], a value without the `enc:v1:` prefix is legacy plaintext
    /// and is returned unchanged.
    ///
    /// # Errors
    ///
    /// [`SecretError::Malformed`] for values that are not base64 of at least a nonce and a tag,
    /// [`SecretError::DecryptionFailed`] when the tag does not verify, [`SecretError::NotText`]
    /// when the plaintext is not UTF-8.
    pub fn open(&self, kind: SecretKind, stored: &str) -> Result<Zeroizing<String>, SecretError> {
        let encoded = match kind {
            SecretKind::ApiKey => match stored.strip_prefix(API_KEY_PREFIX) {
                Some(rest) => rest,
                None => return Ok(Zeroizing::new(stored.to_owned())),
            },
            SecretKind::Mfa => stored,
        };
        if encoded.len() > MAX_STORED_LEN {
            return Err(SecretError::Malformed);
        }
        let raw = BASE64
            .decode(encoded.trim())
            .map_err(|_| SecretError::Malformed)?;
        let mut raw = Zeroizing::new(raw);
        if raw.len() < NONCE_LEN + TAG_LEN {
            return Err(SecretError::Malformed);
        }
        // Nonce and tag are only alleged until the tag verifies below.
        let (head, body) = raw.split_at_mut(NONCE_LEN + TAG_LEN);
        let (nonce, tag) = head.split_at(NONCE_LEN);
        self.cipher(kind)
            .decrypt_in_place_detached(Nonce::from_slice(nonce), b"", body, Tag::from_slice(tag))
            .map_err(|_| SecretError::DecryptionFailed)?;
        let text = std::str::from_utf8(body).map_err(|_| SecretError::NotText)?;
        Ok(Zeroizing::new(text.to_owned()))
    }

    /// Seals unless the value is already sealed: TREK's "maybe encrypt", which keeps stored
    /// values from being wrapped twice.
    pub fn seal_if_plain(&self, kind: SecretKind, value: &str) -> String {
        if kind == SecretKind::ApiKey && value.starts_with(API_KEY_PREFIX) {
            return value.to_owned();
        }
        self.seal(kind, value)
    }
}

/// SHA-256 hex of a token: how TREK stores MCP and reset tokens, and how trek stores invite
/// lookups and revoked sessions. Tokens are long random values, so an unsalted fast digest is
/// enough: it only has to keep the raw token out of the database.
pub fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Where the encryption key came from, in resolution order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// The `ENCRYPTION_KEY` environment variable.
    Environment,
    /// `data/.encryption_key`.
    KeyFile,
    /// `data/.jwt_secret`: TREK's one-time upgrade path for installs that predate the key file.
    JwtSecretFile,
    /// Freshly generated: 32 random bytes as 64 hex characters.
    Generated,
}

/// The outcome of [`resolve_encryption_key`].
#[derive(Debug)]
pub struct ResolvedKey {
    /// The key to use.
    pub key: EncryptionKey,
    /// Where it came from.
    pub source: KeySource,
    /// Set when the key could not be written to `data/.encryption_key`. The key still works for
    /// this run, but a later start without the environment variable would not find it.
    pub persist_error: Option<io::Error>,
}

/// The name of the encryption key file inside the data directory.
pub const KEY_FILE: &str = ".encryption_key";

/// Resolves `ENCRYPTION_KEY` as TREK does: the environment value (untrimmed; empty counts as
/// unset), else `data/.encryption_key`, else `data/.jwt_secret`, else a new random key. The
/// result is written to `data/.encryption_key` (atomically, mode 0600) unless the file already
/// holds it, so removing the variable later keeps the same key.
///
/// # Errors
///
/// Reading an existing key file failed (permissions, not UTF-8), or an existing key file is
/// empty: guessing a new key there would make every sealed secret unreadable, so the operator
/// has to decide.
pub fn resolve_encryption_key(
    env_value: Option<&str>,
    data_dir: &Path,
    rng: &mut (impl RngCore + CryptoRng),
) -> io::Result<ResolvedKey> {
    let key_path = data_dir.join(KEY_FILE);
    let on_disk = keyfile::read_trimmed(&key_path)?;
    if on_disk.as_ref().is_some_and(|k| k.is_empty()) && env_value.is_none_or(str::is_empty) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{} is empty: restore the key or set ENCRYPTION_KEY",
                key_path.display()
            ),
        ));
    }

    let (key, source) = if let Some(env) = env_value.filter(|v| !v.is_empty()) {
        (EncryptionKey::new(env), KeySource::Environment)
    } else if let Some(file) = on_disk.as_ref() {
        (EncryptionKey::new(file.as_str()), KeySource::KeyFile)
    } else if let Some(jwt) = keyfile::read_trimmed(&data_dir.join(crate::session::SECRET_FILE))?
        .filter(|s| !s.is_empty())
    {
        (EncryptionKey::new(jwt.as_str()), KeySource::JwtSecretFile)
    } else {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(bytes.as_mut());
        (
            EncryptionKey::new(hex::encode(bytes.as_ref())),
            KeySource::Generated,
        )
    };

    let unchanged = on_disk.as_ref().is_some_and(|k| k.as_str() == key.expose());
    let persist_error = if unchanged {
        None
    } else {
        keyfile::write_private(&key_path, key.expose()).err()
    };
    Ok(ResolvedKey {
        key,
        source,
        persist_error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SUITE_KEY: &str = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6a7b8c9d0e1f2a3b4c5d6a7b8c9d0e1f2";
    const IV: [u8; 12] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];

    fn sealer() -> SecretBox {
        SecretBox::new(&EncryptionKey::new(SUITE_KEY))
    }

    #[test]
    fn derived_keys_match_the_reference_material() {
        let key = EncryptionKey::new(SUITE_KEY);
        assert_eq!(
            hex::encode(key.derive(SecretKind::ApiKey).as_ref()),
            "a867514859bbb66917c258a37037d7045435667719bc2fb497a80ad11c7fcd95"
        );
        assert_eq!(
            hex::encode(key.derive(SecretKind::Mfa).as_ref()),
            "1ac4b9f22d28c8a826f1c202d3a5d412452d5b21fb716cce3217bd67ab5c80c1"
        );
    }

    #[test]
    fn fixed_nonce_sealing_reproduces_the_reference_bytes() {
        let s = sealer();
        assert_eq!(
            s.seal_with_nonce(SecretKind::ApiKey, "my-secret-api-key-12345", IV),
            "enc:v1:AAECAwQFBgcICQoLg3Wucv6zUe6iPigTovJtEJapo8Ob5NV+QT2bMufQtRw2/eoPQ0vy"
        );
        assert_eq!(
            s.seal_with_nonce(SecretKind::ApiKey, "", IV),
            "enc:v1:AAECAwQFBgcICQoLLHoSjKIfffrK+Ji5Vssa1A=="
        );
        assert_eq!(
            s.seal_with_nonce(SecretKind::Mfa, "JBSWY3DPEHPK3PXP", IV),
            "AAECAwQFBgcICQoLSwaw+IxJg+ZyLcPzokLbQvkHrQEslV2A8YkVqB2m0PU="
        );
    }

    #[test]
    fn mfa_values_have_no_plaintext_path() {
        assert_eq!(
            sealer().open(SecretKind::Mfa, "JBSWY3DPEHPK3PXP"),
            Err(SecretError::Malformed)
        );
    }

    #[test]
    fn a_value_sealed_for_one_kind_does_not_open_as_the_other() {
        let s = sealer();
        let mfa = s.seal(SecretKind::Mfa, "JBSWY3DPEHPK3PXP");
        let as_api = format!("{API_KEY_PREFIX}{mfa}");
        assert_eq!(
            s.open(SecretKind::ApiKey, &as_api),
            Err(SecretError::DecryptionFailed)
        );
    }

    #[test]
    fn seal_if_plain_does_not_wrap_twice() {
        let s = sealer();
        let once = s.seal(SecretKind::ApiKey, "k");
        assert_eq!(s.seal_if_plain(SecretKind::ApiKey, &once), once);
    }

    #[test]
    fn debug_output_hides_the_key() {
        let (key, sealer) = (EncryptionKey::new(SUITE_KEY), sealer());
        let shown = format!("{key:?} {sealer:?}");
        assert!(!shown.contains("a1b2"), "{shown}");
    }

    #[test]
    fn resolution_prefers_env_then_file_then_jwt_secret_then_generates() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(KEY_FILE);

        let generated = resolve_encryption_key(None, dir.path(), &mut OsRng).expect("resolve");
        assert_eq!(generated.source, KeySource::Generated);
        assert_eq!(generated.key.expose().len(), 64);
        let from_file = resolve_encryption_key(Some(""), dir.path(), &mut OsRng).expect("resolve");
        assert_eq!(from_file.source, KeySource::KeyFile);
        assert_eq!(from_file.key.expose(), generated.key.expose());

        let env = resolve_encryption_key(Some(" spaced "), dir.path(), &mut OsRng).expect("env");
        assert_eq!(
            (env.source, env.key.expose()),
            (KeySource::Environment, " spaced ")
        );
        assert_eq!(std::fs::read_to_string(&path).expect("file"), " spaced ");

        std::fs::remove_file(&path).expect("rm");
        keyfile::write_private(&dir.path().join(".jwt_secret"), "jwtjwt\n").expect("jwt");
        let upgraded = resolve_encryption_key(None, dir.path(), &mut OsRng).expect("resolve");
        assert_eq!(
            (upgraded.source, upgraded.key.expose()),
            (KeySource::JwtSecretFile, "jwtjwt")
        );
        assert_eq!(std::fs::read_to_string(&path).expect("file"), "jwtjwt");
    }

    #[cfg(unix)]
    #[test]
    fn the_key_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        resolve_encryption_key(None, dir.path(), &mut OsRng).expect("resolve");
        let mode = std::fs::metadata(dir.path().join(KEY_FILE))
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn an_empty_key_file_is_an_error_not_a_new_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(KEY_FILE), "\n").expect("seed");
        assert!(resolve_encryption_key(None, dir.path(), &mut OsRng).is_err());
    }

    proptest! {
        #[test]
        fn sealing_then_opening_is_the_identity(text in "\\PC{0,300}", mfa in any::<bool>()) {
            let kind = if mfa { SecretKind::Mfa } else { SecretKind::ApiKey };
            let s = sealer();
            let stored = s.seal(kind, &text);
            let opened = s.open(kind, &stored).expect("opens");
            prop_assert_eq!(opened.as_str(), text.as_str());
        }

        #[test]
        fn opening_arbitrary_input_never_panics(stored in "\\PC{0,200}") {
            let s = sealer();
            let _ = s.open(SecretKind::Mfa, &stored);
            let _ = s.open(SecretKind::ApiKey, &format!("{API_KEY_PREFIX}{stored}"));
        }

        #[test]
        fn flipping_any_bit_breaks_the_seal(text in "[a-z]{1,40}", bit in 0usize..512) {
            let s = sealer();
            let stored = s.seal(SecretKind::Mfa, &text);
            let mut raw = BASE64.decode(&stored).expect("b64");
            let bit = bit % (raw.len() * 8);
            raw[bit / 8] ^= 1 << (bit % 8);
            let tampered = base64::engine::general_purpose::STANDARD.encode(raw);
            prop_assert!(s.open(SecretKind::Mfa, &tampered).is_err());
        }
    }
}
