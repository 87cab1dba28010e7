//! Opening sealed secrets from arbitrary stored values: never panics, and never "opens" a
//! value that was not sealed under this key (except legacy plaintext, returned unchanged).
#![no_main]

use libfuzzer_sys::fuzz_target;
use trek_lib::secrets::{EncryptionKey, SecretBox, SecretKind};

fuzz_target!(|data: &[u8]| {
    let sealer = SecretBox::new(&EncryptionKey::new("fuzz-key"));
    let stored = String::from_utf8_lossy(data);
    assert!(
        sealer.open(SecretKind::Mfa, &stored).is_err(),
        "forged mfa value opened"
    );
    match sealer.open(SecretKind::ApiKey, &stored) {
        Ok(plain) => assert!(!stored.starts_with("enc:v1:") && plain.as_str() == stored),
        Err(_) => assert!(stored.starts_with("enc:v1:")),
    }
    let sealed = sealer.seal(SecretKind::ApiKey, &stored);
    assert_eq!(
        sealer
            .open(SecretKind::ApiKey, &sealed)
            .expect("round trip")
            .as_str(),
        stored
    );
});
