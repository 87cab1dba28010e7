//! Every case of the interoperability vectors in `../shared/vectors/`, produced by TREK's own
//! libraries. A missing vector file fails the test: skipping a case is not passing it.

use std::path::PathBuf;

use serde_json::Value;

fn vectors(name: &str) -> Value {
    let path = vectors_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read vector file {}: {e}", path.display()));
    serde_json::from_str(&text).expect("vector file is JSON")
}

fn vectors_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("TREK_VECTORS_DIR") {
        return PathBuf::from(dir);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors")
}

fn cases<'a>(doc: &'a Value, key: &str) -> &'a Vec<Value> {
    let list = doc[key].as_array().expect("vector list");
    assert!(!list.is_empty(), "vector list {key} is empty");
    list
}

fn str_of<'a>(case: &'a Value, key: &str) -> &'a str {
    case[key]
        .as_str()
        .unwrap_or_else(|| panic!("case field {key} is a string: {case}"))
}

#[test]
fn every_password_policy_case_decides_as_expected() {
    let doc = vectors("password-policy.json");
    let cases = cases(&doc, "cases");
    for case in cases {
        let password = str_of(case, "password");
        let decision = trek_lib::password::check_policy(password);
        let expected_ok = case["expected_ok"].as_bool().expect("expected_ok");
        assert_eq!(
            decision.is_ok(),
            expected_ok,
            "policy decision for {password:?}"
        );
        let reason = decision.err().map(|e| e.to_string());
        assert_eq!(
            reason.as_deref(),
            case["reason"].as_str(),
            "reason for {password:?}"
        );
    }
    assert_eq!(cases.len(), 97);
}

#[test]
fn every_bcrypt_case_verifies_as_expected() {
    let doc = vectors("bcrypt.json");
    let hasher = trek_lib::password::Hasher::default();
    for case in cases(&doc, "cases") {
        let (password, hash) = (str_of(case, "password"), str_of(case, "hash"));
        let matches = hasher.verify(password, hash).expect("bcrypt hash parses");
        assert_eq!(
            matches,
            case["matches"].as_bool().expect("matches"),
            "{password:?}"
        );
        assert!(
            hasher.needs_rehash(hash),
            "bcrypt hashes are upgraded at next login"
        );
    }
}

#[test]
fn every_sealed_secret_opens_and_every_bad_one_fails() {
    use trek_lib::secrets::{EncryptionKey, SecretBox, SecretKind};
    let doc = vectors("secrets.json");
    let sealer = SecretBox::new(&EncryptionKey::new(str_of(&doc, "encryption_key")));
    for (list, kind) in [
        ("api_keys", SecretKind::ApiKey),
        ("mfa_secrets", SecretKind::Mfa),
    ] {
        for case in cases(&doc, list) {
            let plaintext = str_of(case, "plaintext");
            let opened = sealer
                .open(kind, str_of(case, "stored"))
                .expect("vector opens");
            assert_eq!(opened.as_str(), plaintext);
            if case["roundtrip"].as_bool() == Some(true) {
                let resealed = sealer.seal(kind, plaintext);
                assert_eq!(
                    sealer.open(kind, &resealed).expect("reopens").as_str(),
                    plaintext
                );
            }
        }
    }
    for bad in cases(&doc, "must_fail_to_open") {
        let bad = bad.as_str().expect("string");
        assert!(
            sealer.open(SecretKind::ApiKey, bad).is_err(),
            "{bad} must not open"
        );
        let unprefixed = bad.trim_start_matches("enc:v1:");
        assert!(
            sealer.open(SecretKind::Mfa, unprefixed).is_err(),
            "{bad} must not open as mfa"
        );
    }
    for legacy in cases(&doc, "legacy_plaintext") {
        let legacy = legacy.as_str().expect("string");
        assert_eq!(
            sealer
                .open(SecretKind::ApiKey, legacy)
                .expect("legacy")
                .as_str(),
            legacy
        );
    }
}

#[test]
fn every_jwt_case_verifies_inside_its_validity_and_purpose_tokens_are_refused() {
    use trek_lib::session::{SigningSecret, TokenError, issue, verify};
    let doc = vectors("jwt.json");
    let mut sessions = 0;
    for case in cases(&doc, "cases") {
        let secret = SigningSecret::new(str_of(case, "secret"));
        let token = str_of(case, "token");
        let claims = &case["claims"];
        let (iat, exp) = (
            claims["iat"].as_i64().expect("iat"),
            claims["exp"].as_i64().expect("exp"),
        );
        for now in [iat, (iat + exp) / 2, exp - 1] {
            let verdict = verify(&secret, token, now);
            if claims.get("purpose").is_some() {
                assert_eq!(verdict, Err(TokenError::NotASession), "{token}");
                continue;
            }
            let verified = verdict.expect("session vector verifies");
            assert_eq!(verified.user_id, claims["id"].as_i64().expect("id"));
            assert_eq!(
                verified.password_version,
                claims["pv"].as_i64().unwrap_or(0)
            );
        }
        assert_eq!(verify(&secret, token, exp), Err(TokenError::Expired));
        if let Some(pv) = claims["pv"].as_i64() {
            let id = claims["id"].as_i64().expect("id");
            assert_eq!(
                issue(&secret, id, pv, iat),
                token,
                "trek signs the same bytes"
            );
            sessions += 1;
        }
    }
    assert!(sessions >= 5);
}

#[test]
fn every_totp_case_generates_and_verifies_and_builds_the_reference_url() {
    use trek_lib::totp::{TotpSecret, code_at, otpauth_url, step_of, verify};
    let doc = vectors("totp.json");
    for case in cases(&doc, "cases") {
        let secret = TotpSecret::from_base32(str_of(case, "secret_base32")).expect("base32");
        let time = case["unix_time"].as_u64().expect("unix_time");
        let code = str_of(case, "code");
        assert_eq!(code_at(&secret, time), code);
        assert_eq!(verify(&secret, code, time, None), Some(step_of(time)));
        assert_eq!(
            verify(&secret, code, time, Some(step_of(time))),
            None,
            "replay refused"
        );
        let url = str_of(case, "otpauth_url");
        let label = url
            .split("TREK:")
            .nth(1)
            .and_then(|r| r.split('?').next())
            .expect("label");
        let email = label.replace("%40", "@");
        assert_eq!(otpauth_url(&email, &secret), url);
    }
}
