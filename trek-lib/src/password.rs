//! Password policy, Argon2id hashing, and verification of Argon2id and legacy bcrypt hashes.
//!
//! The policy follows TREK's rules and messages in TREK's order, except that it counts Unicode
//! code points rather than UTF-16 units and recognises letters and digits in every script
//! (NIST SP 800-63B; trek's decision 21). On ASCII input it decides exactly as TREK does.
//!
//! ```
//! use trek_lib::password::{check_policy, Hasher};
//!
//! assert!(check_policy("Tr3k!Tr3k").is_ok());
//! let hasher = Hasher::default();
//! let hash = hasher.hash("Tr3k!Tr3k").unwrap();
//! assert!(hasher.verify("Tr3k!Tr3k", &hash).unwrap());
//! assert!(!hasher.needs_rehash(&hash));
//! ```

use argon2::password_hash::rand_core::{CryptoRng, OsRng, RngCore};
use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The shortest password the policy accepts, in Unicode code points.
pub const MIN_LENGTH: usize = 8;

/// Lower-cased passwords TREK refuses as too common.
const BLOCKLIST: [&str; 30] = [
    "password",
    "12345678",
    "123456789",
    "1234567890",
    "password1",
    "qwerty123",
    "iloveyou",
    "admin123",
    "letmein12",
    "welcome1",
    "monkey123",
    "dragon12",
    "master12",
    "qwerty12",
    "abc12345",
    "trustno1",
    "baseball",
    "football",
    "shadow12",
    "michael1",
    "jennifer",
    "superman",
    "abcdefgh",
    "abcd1234",
    "password123",
    "admin1234",
    "changeme",
    "welcome123",
    "passw0rd",
    "p@ssword",
];

/// Why the policy refused a password.
///
/// The Display text is TREK's own message, sent verbatim to clients and pinned by the shared
/// vectors, which is why it is a sentence rather than the crate's usual lowercase phrase.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyViolation {
    /// Fewer than [`MIN_LENGTH`] code points.
    #[error("Password must be at least 8 characters")]
    TooShort {
        /// Code points required.
        minimum: usize,
        /// Code points given.
        actual: usize,
    },
    /// One character repeated throughout.
    #[error("Password is too repetitive")]
    Repetitive,
    /// On TREK's list of common passwords.
    #[error("Password is too common. Please choose a unique password.")]
    Common,
    /// Lacks an upper-case letter, a lower-case letter, a digit or a special character.
    #[error(
        "Password must contain at least one uppercase letter, one lowercase letter, one number, \
         and one special character"
    )]
    MissingCharacterClass,
}

/// Checks a password against the policy, returning the first rule it breaks.
///
/// The decision is trek's (code points, letters of every script). When TREK would refuse the
/// same password too, the violation is the one TREK reports, so a client shows the same text
/// against either server; only where trek alone refuses does it name its own first rule.
///
/// # Errors
///
/// The [`PolicyViolation`] for the first failing rule, in TREK's order: length, repetition,
/// blocklist, character classes.
pub fn check_policy(password: &str) -> Result<(), PolicyViolation> {
    let ours = first_violation(password, Rules::Unicode);
    match ours {
        None => Ok(()),
        Some(v) => Err(first_violation(password, Rules::Reference).unwrap_or(v)),
    }
}

/// How characters are counted and classified.
#[derive(Clone, Copy)]
enum Rules {
    /// trek's decision 21: code points, Unicode letter and digit classes.
    Unicode,
    /// TREK's JavaScript: UTF-16 units, ASCII-only classes.
    Reference,
}

fn first_violation(password: &str, rules: Rules) -> Option<PolicyViolation> {
    let length = match rules {
        Rules::Unicode => password.chars().count(),
        Rules::Reference => password.encode_utf16().count(),
    };
    if length < MIN_LENGTH {
        return Some(PolicyViolation::TooShort {
            minimum: MIN_LENGTH,
            actual: length,
        });
    }
    if is_one_repeated_char(password, rules) {
        return Some(PolicyViolation::Repetitive);
    }
    if BLOCKLIST.contains(&password.to_lowercase().as_str()) {
        return Some(PolicyViolation::Common);
    }
    if !has_every_class(password, rules) {
        return Some(PolicyViolation::MissingCharacterClass);
    }
    None
}

/// TREK's `^(.)\1+$`: JavaScript's `.` does not match line terminators, so a run of newlines is
/// not "repetitive" there, and we keep that. Under the reference rules `.` is one UTF-16 unit,
/// so a repeated astral character (two units that differ) is not repetitive either.
fn is_one_repeated_char(password: &str, rules: Rules) -> bool {
    let mut chars = password.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    if matches!(rules, Rules::Reference) && first.len_utf16() > 1 {
        return false;
    }
    let line_terminator = matches!(first, '\n' | '\r' | '\u{2028}' | '\u{2029}');
    !line_terminator && chars.clone().next().is_some() && chars.all(|c| c == first)
}

fn has_every_class(password: &str, rules: Rules) -> bool {
    let (mut upper, mut lower, mut digit, mut special) = (false, false, false, false);
    for c in password.chars() {
        let (u, l, d, a) = match rules {
            Rules::Unicode => (
                c.is_uppercase(),
                c.is_lowercase(),
                c.is_numeric(),
                c.is_alphanumeric(),
            ),
            Rules::Reference => (
                c.is_ascii_uppercase(),
                c.is_ascii_lowercase(),
                c.is_ascii_digit(),
                c.is_ascii_alphanumeric(),
            ),
        };
        upper |= u;
        lower |= l;
        digit |= d;
        special |= !a;
    }
    upper && lower && digit && special
}

/// A failure to hash or to read a stored hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HashError {
    /// The stored value is neither an Argon2 PHC string nor a bcrypt hash.
    #[error("stored password hash is not a recognised argon2 or bcrypt hash")]
    UnrecognisedHash,
    /// The stored value looks like a known format but does not parse.
    #[error("stored password hash is malformed")]
    MalformedHash,
    /// The Argon2 parameters are outside what the algorithm allows.
    #[error("invalid argon2 parameters: {0}")]
    InvalidParams(String),
    /// Hashing itself failed.
    #[error("password hashing failed")]
    HashingFailed,
}

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
}

impl HashParams {
    /// The least memory allowed, in KiB (OWASP's Argon2id baseline).
    pub const MIN_MEMORY_KIB: u32 = 19_456;
    /// The fewest passes allowed.
    pub const MIN_ITERATIONS: u32 = 2;
    /// The least parallelism allowed.
    pub const MIN_PARALLELISM: u32 = 1;
    /// The baseline itself: m=19456 KiB, t=2, p=1.
    pub const DEFAULT: Self = Self {
        memory_kib: Self::MIN_MEMORY_KIB,
        iterations: Self::MIN_ITERATIONS,
        parallelism: Self::MIN_PARALLELISM,
    };

    /// Parameters of at least the baseline cost.
    ///
    /// # Errors
    ///
    /// [`HashError::InvalidParams`] when any value is below its `MIN_*` constant or above what
    /// Argon2 accepts.
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<Self, HashError> {
        if memory_kib < Self::MIN_MEMORY_KIB
            || iterations < Self::MIN_ITERATIONS
            || parallelism < Self::MIN_PARALLELISM
        {
            return Err(HashError::InvalidParams(format!(
                "m={memory_kib} t={iterations} p={parallelism} is below the minimum m={} t={} p={}",
                Self::MIN_MEMORY_KIB,
                Self::MIN_ITERATIONS,
                Self::MIN_PARALLELISM
            )));
        }
        Params::new(memory_kib, iterations, parallelism, None)
            .map_err(|e| HashError::InvalidParams(e.to_string()))?;
        Ok(Self {
            memory_kib,
            iterations,
            parallelism,
        })
    }

    /// Memory cost in KiB.
    pub fn memory_kib(&self) -> u32 {
        self.memory_kib
    }

    /// Number of passes.
    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// Degree of parallelism.
    pub fn parallelism(&self) -> u32 {
        self.parallelism
    }
}

impl Default for HashParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Hashes new passwords with Argon2id and verifies Argon2id and bcrypt hashes.
#[derive(Debug, Clone, Default)]
pub struct Hasher {
    params: HashParams,
}

impl Hasher {
    /// A hasher for the given parameters.
    pub fn new(params: HashParams) -> Self {
        Self { params }
    }

    /// The parameters new hashes are made with.
    pub fn params(&self) -> HashParams {
        self.params
    }

    fn argon2(&self) -> Result<Argon2<'static>, HashError> {
        let p = self.params;
        let params = Params::new(p.memory_kib, p.iterations, p.parallelism, None)
            .map_err(|e| HashError::InvalidParams(e.to_string()))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// Hashes `password` into an Argon2id PHC string with a fresh random salt.
    ///
    /// # Errors
    ///
    /// [`HashError::HashingFailed`] if Argon2 refuses the input (it does not for any password
    /// under 4 GiB).
    pub fn hash(&self, password: &str) -> Result<String, HashError> {
        self.hash_in(&mut Workspace::new(), password, &mut OsRng)
    }

    /// [`Hasher::hash`] with the salt drawn from `rng`.
    ///
    /// # Errors
    ///
    /// As [`Hasher::hash`].
    pub fn hash_with_rng(
        &self,
        password: &str,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<String, HashError> {
        self.hash_in(&mut Workspace::new(), password, rng)
    }

    /// [`Hasher::hash_with_rng`] in `workspace`'s memory, which a long-lived hashing thread
    /// keeps instead of allocating (and the allocator hoarding) 19 MiB per hash.
    ///
    /// # Errors
    ///
    /// As [`Hasher::hash`].
    pub fn hash_in(
        &self,
        workspace: &mut Workspace,
        password: &str,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<String, HashError> {
        let salt = SaltString::generate(rng);
        let mut salt_buf = [0u8; 64];
        let salt_bytes = salt
            .decode_b64(&mut salt_buf)
            .map_err(|_| HashError::HashingFailed)?;
        let argon2 = self.argon2()?;
        let mut out = Zeroizing::new([0u8; 32]);
        workspace.run(&argon2, password.as_bytes(), salt_bytes, out.as_mut())?;
        let p = self.params;
        Ok(format!(
            "$argon2id$v=19$m={},t={},p={}${}${}",
            p.memory_kib,
            p.iterations,
            p.parallelism,
            salt.as_str(),
            B64_NO_PAD.encode(out.as_ref())
        ))
    }

    /// Whether `password` matches `stored`, an Argon2 PHC string or a bcrypt `$2a$`/`$2b$`/`$2y$`
    /// hash. The comparison is constant-time in both cases.
    ///
    /// # Errors
    ///
    /// [`HashError::UnrecognisedHash`] or [`HashError::MalformedHash`] when `stored` cannot be
    /// read; a wrong password is `Ok(false)`, never an error.
    pub fn verify(&self, password: &str, stored: &str) -> Result<bool, HashError> {
        self.verify_in(&mut Workspace::new(), password, stored)
    }

    /// [`Hasher::verify`] in `workspace`'s memory.
    ///
    /// A stored Argon2 hash asking for more than [`MAX_VERIFY_MEMORY_KIB`] is refused as
    /// malformed: the hash column is data, and data must not be able to make the server
    /// allocate gigabytes.
    ///
    /// # Errors
    ///
    /// As [`Hasher::verify`].
    pub fn verify_in(
        &self,
        workspace: &mut Workspace,
        password: &str,
        stored: &str,
    ) -> Result<bool, HashError> {
        if is_bcrypt(stored) {
            if bcrypt_cost(stored).is_none_or(|cost| cost > MAX_VERIFY_BCRYPT_COST) {
                return Err(HashError::MalformedHash);
            }
            // bcrypt, like bcryptjs, reads only the first 72 bytes of the password.
            return bcrypt::verify(password, stored).map_err(|_| HashError::MalformedHash);
        }
        if !stored.starts_with("$argon2") {
            return Err(HashError::UnrecognisedHash);
        }
        let parsed = PasswordHash::new(stored).map_err(|_| HashError::MalformedHash)?;
        let algorithm =
            Algorithm::try_from(parsed.algorithm).map_err(|_| HashError::MalformedHash)?;
        let version = parsed
            .version
            .map_or(Ok(Version::V0x13), Version::try_from)
            .map_err(|_| HashError::MalformedHash)?;
        let params = Params::try_from(&parsed).map_err(|_| HashError::MalformedHash)?;
        if params.m_cost() > MAX_VERIFY_MEMORY_KIB
            || params.t_cost() > MAX_VERIFY_ITERATIONS
            || params.p_cost() > MAX_VERIFY_PARALLELISM
        {
            return Err(HashError::MalformedHash);
        }
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return Err(HashError::MalformedHash);
        };
        let mut salt_buf = [0u8; 64];
        let salt_bytes = salt
            .decode_b64(&mut salt_buf)
            .map_err(|_| HashError::MalformedHash)?;
        let mut out = Zeroizing::new(vec![0u8; expected.len()]);
        let argon2 = Argon2::new(algorithm, version, params);
        workspace.run(&argon2, password.as_bytes(), salt_bytes, &mut out)?;
        Ok(bool::from(out.as_slice().ct_eq(expected.as_bytes())))
    }

    /// Whether `stored` should be replaced by a fresh hash after a successful login: it is
    /// bcrypt, another Argon2 variant, or Argon2id with parameters other than ours.
    pub fn needs_rehash(&self, stored: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(stored) else {
            return true;
        };
        if parsed.algorithm.as_str() != "argon2id" {
            return true;
        }
        let Ok(params) = Params::try_from(&parsed) else {
            return true;
        };
        let ours = self.params;
        params.m_cost() != ours.memory_kib
            || params.t_cost() != ours.iterations
            || params.p_cost() != ours.parallelism
    }

    /// A hash of a random password, for spending the same work on unknown accounts as on known
    /// ones (decision 5): verifying against it costs exactly what a real verification costs.
    ///
    /// # Errors
    ///
    /// As [`Hasher::hash`].
    pub fn decoy_hash(&self) -> Result<String, HashError> {
        let mut bytes = Zeroizing::new([0u8; 24]);
        OsRng.fill_bytes(bytes.as_mut());
        self.hash(&hex::encode(bytes.as_ref()))
    }

    /// A bcrypt hash (cost 12, TREK's) of a random password. While an install still holds
    /// TREK's bcrypt hashes, verifying against this alongside the Argon2id decoy lets every
    /// login path do the same work whatever kind of hash the account has.
    ///
    /// # Errors
    ///
    /// [`HashError::HashingFailed`] if bcrypt fails (it does not for this input).
    pub fn legacy_decoy_hash(&self) -> Result<String, HashError> {
        let mut bytes = Zeroizing::new([0u8; 24]);
        OsRng.fill_bytes(bytes.as_mut());
        bcrypt::hash(hex::encode(bytes.as_ref()), 12).map_err(|_| HashError::HashingFailed)
    }

    /// Whether `stored` is a bcrypt hash (`$2a$`, `$2b$` or `$2y$`).
    pub fn is_legacy(stored: &str) -> bool {
        is_bcrypt(stored)
    }
}

/// The most memory a stored Argon2 hash may ask for when it is verified, in KiB (256 MiB).
pub const MAX_VERIFY_MEMORY_KIB: u32 = 256 * 1024;

/// The most passes a stored Argon2 hash may ask for when it is verified.
pub const MAX_VERIFY_ITERATIONS: u32 = 64;

/// The most lanes a stored Argon2 hash may ask for when it is verified.
pub const MAX_VERIFY_PARALLELISM: u32 = 64;

/// The highest bcrypt cost verified (TREK writes 10 and 12; 31 would run for days).
pub const MAX_VERIFY_BCRYPT_COST: u32 = 16;

/// The cost field of a `$2x$NN$...` hash.
fn bcrypt_cost(stored: &str) -> Option<u32> {
    stored
        .get(4..6)
        .filter(|_| stored.as_bytes().get(6) == Some(&b'$'))?
        .parse()
        .ok()
}

const B64_NO_PAD: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD_NO_PAD;

/// Argon2's working memory, kept between hashes.
///
/// Argon2id at 19 MiB allocates that much per hash; with a fresh allocation each time, the
/// system allocator keeps the freed blocks per thread and a busy server's memory climbs to
/// hundreds of megabytes. A hashing thread that owns one `Workspace` uses the same memory
/// every time. It is wiped after each use, since it holds values derived from the password.
#[derive(Default)]
pub struct Workspace {
    blocks: Vec<argon2::Block>,
}

impl std::fmt::Debug for Workspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Workspace({} blocks)", self.blocks.len())
    }
}

impl Workspace {
    /// An empty workspace; it grows to the size the first hash needs.
    pub fn new() -> Self {
        Self::default()
    }

    fn run(
        &mut self,
        argon2: &Argon2<'_>,
        password: &[u8],
        salt: &[u8],
        out: &mut [u8],
    ) -> Result<(), HashError> {
        let count = argon2.params().block_count();
        if self.blocks.len() < count {
            self.blocks.resize(count, argon2::Block::default());
        }
        let blocks = &mut self.blocks[..count];
        let result = argon2.hash_password_into_with_memory(password, salt, out, &mut *blocks);
        blocks.iter_mut().for_each(zeroize::Zeroize::zeroize);
        result.map_err(|_| HashError::HashingFailed)
    }
}

fn is_bcrypt(stored: &str) -> bool {
    ["$2a$", "$2b$", "$2y$"]
        .iter()
        .any(|p| stored.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn policy_messages_are_trek_strings() {
        assert_eq!(
            check_policy("Ab1!").unwrap_err().to_string(),
            "Password must be at least 8 characters"
        );
        assert_eq!(
            check_policy("aaaaaaaa").unwrap_err(),
            PolicyViolation::Repetitive
        );
        assert_eq!(
            check_policy("PassWordX").unwrap_err(),
            PolicyViolation::MissingCharacterClass
        );
        assert_eq!(
            check_policy("password").unwrap_err(),
            PolicyViolation::Common
        );
        assert!(check_policy("P@ssw0rd").is_ok());
    }

    #[test]
    fn length_counts_code_points_not_utf16_units() {
        assert!(check_policy("ÄÖÜäöü1!").is_ok());
        assert!(matches!(
            check_policy("😀😀😀😀Ab1"),
            Err(PolicyViolation::TooShort { actual: 7, .. })
        ));
    }

    #[test]
    fn trek_s_message_wins_when_both_refuse() {
        // Seven code points but eight UTF-16 units: trek refuses on length, TREK on classes.
        assert_eq!(
            check_policy("!_@cZ😀-"),
            Err(PolicyViolation::MissingCharacterClass)
        );
    }

    #[test]
    fn a_run_of_newlines_is_not_called_repetitive() {
        assert_eq!(
            check_policy("\n\n\n\n\n\n\n\n"),
            Err(PolicyViolation::MissingCharacterClass)
        );
    }

    #[test]
    fn argon2_hash_verifies_and_rejects_wrong_password() {
        let hasher = Hasher::default();
        let hash = hasher.hash("Tr3k!Tr3k").expect("hash");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(hasher.verify("Tr3k!Tr3k", &hash).expect("verify"));
        assert!(!hasher.verify("Tr3k!Tr3K", &hash).expect("verify"));
    }

    #[test]
    fn workspace_hashes_are_standard_phc_strings_that_other_verifiers_accept() {
        use argon2::password_hash::PasswordVerifier as _;
        let hasher = Hasher::default();
        let mut ws = Workspace::new();
        let first = hasher
            .hash_in(&mut ws, "Tr3k!Tr3k", &mut OsRng)
            .expect("hash");
        let second = hasher.hash_in(&mut ws, "other", &mut OsRng).expect("hash");
        let parsed = PasswordHash::new(&first).expect("phc");
        assert!(
            Argon2::default()
                .verify_password(b"Tr3k!Tr3k", &parsed)
                .is_ok()
        );
        assert!(
            hasher
                .verify_in(&mut ws, "Tr3k!Tr3k", &first)
                .expect("verify")
        );
        assert!(hasher.verify_in(&mut ws, "other", &second).expect("verify"));
        assert!(!hasher.verify_in(&mut ws, "other", &first).expect("verify"));
    }

    #[test]
    fn stored_hashes_asking_for_days_of_work_are_malformed_not_obeyed() {
        let hasher = Hasher::default();
        let slow_bcrypt = "$2b$31$xcRu8/ezRq/9vZ.wpxRc0erXNyzGnbQ7t6uFf7y.exlUyGOYfT1Va";
        assert_eq!(
            hasher.verify("x", slow_bcrypt),
            Err(HashError::MalformedHash)
        );
        let many_passes = "$argon2id$v=19$m=8,t=4294967295,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
        assert_eq!(
            hasher.verify("x", many_passes),
            Err(HashError::MalformedHash)
        );
        assert!(
            hasher
                .verify(
                    "Adm1n!Secret#42",
                    "$2a$12$xcRu8/ezRq/9vZ.wpxRc0erXNyzGnbQ7t6uFf7y.exlUyGOYfT1Va"
                )
                .expect("cost 12")
        );
    }

    #[test]
    fn a_stored_hash_asking_for_gigabytes_is_malformed_not_obeyed() {
        let hostile = "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
        assert_eq!(
            Hasher::default().verify("x", hostile),
            Err(HashError::MalformedHash)
        );
    }

    #[test]
    fn bcrypt_and_weaker_argon2_need_rehash() {
        let hasher = Hasher::default();
        assert!(
            hasher.needs_rehash("$2a$12$xcRu8/ezRq/9vZ.wpxRc0erXNyzGnbQ7t6uFf7y.exlUyGOYfT1Va")
        );
        let stronger = Hasher::new(HashParams::new(19_456, 3, 1).expect("params"));
        let hash = stronger.hash("x").expect("hash");
        assert!(hasher.needs_rehash(&hash));
        assert!(!stronger.needs_rehash(&hash));
    }

    #[test]
    fn params_below_the_baseline_are_refused() {
        assert!(matches!(
            HashParams::new(4096, 2, 1),
            Err(HashError::InvalidParams(_))
        ));
        assert!(matches!(
            HashParams::new(19_456, 1, 1),
            Err(HashError::InvalidParams(_))
        ));
    }

    #[test]
    fn garbage_hashes_are_errors_not_matches() {
        let hasher = Hasher::default();
        assert_eq!(
            hasher.verify("x", "plain"),
            Err(HashError::UnrecognisedHash)
        );
        for garbage in ["$argon2id$nope", "$argon2id$v=19$m=1$", "$2a$12$short"] {
            assert!(
                !matches!(hasher.verify("x", garbage), Ok(true)),
                "{garbage}"
            );
        }
    }

    proptest! {
        #[test]
        fn passwords_under_eight_code_points_are_always_refused(p in "\\PC{0,7}") {
            prop_assert!(check_policy(&p).is_err());
            if p.encode_utf16().count() < MIN_LENGTH {
                let too_short = matches!(check_policy(&p), Err(PolicyViolation::TooShort { .. }));
                prop_assert!(too_short);
            }
        }

        #[test]
        fn ascii_decisions_match_trek_rules(p in "[ -~]{8,20}") {
            let trek_ok = p.bytes().any(|b| b.is_ascii_uppercase())
                && p.bytes().any(|b| b.is_ascii_lowercase())
                && p.bytes().any(|b| b.is_ascii_digit())
                && p.bytes().any(|b| !b.is_ascii_alphanumeric())
                && !p.bytes().all(|b| b == p.as_bytes()[0]);
            prop_assert_eq!(check_policy(&p).is_ok(), trek_ok);
        }
    }
}
