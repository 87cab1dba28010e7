//! Helpers for the C and Python tests: locating the built libraries, compiling C, and turning
//! the JSON vectors into the line format the C program reads.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

pub(crate) fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `target/<profile>`, where cargo put `libtrek.a` and `libtrek.so` next to this test's
/// `deps/` folder.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .to_path_buf()
}

/// `cargo test` links its tests against the rlib only, so `libtrek.a` and `libtrek.so` are
/// built here, once per test run, with the same cargo and target folder; cargo's own
/// up-to-date check makes it quick when nothing changed.
fn build_libraries() {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let target_dir = profile_dir().parent().expect("target folder").to_path_buf();
        let mut command = Command::new(cargo);
        command.args(["build", "--quiet", "-p", "trek-ffi", "--lib"]);
        if profile_dir().ends_with("release") {
            command.arg("--release");
        }
        let status = command
            .env("CARGO_TARGET_DIR", target_dir)
            .current_dir(crate_dir())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building libtrek failed");
    });
}

pub(crate) fn static_library() -> PathBuf {
    build_libraries();
    let lib = profile_dir().join("libtrek.a");
    assert!(lib.exists(), "{} not built", lib.display());
    lib
}

pub(crate) fn shared_library() -> PathBuf {
    build_libraries();
    let lib = profile_dir().join("libtrek.so");
    assert!(lib.exists(), "{} not built", lib.display());
    lib
}

pub(crate) fn vectors_dir() -> PathBuf {
    std::env::var_os("TREK_VECTORS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate_dir().join("../../shared/vectors"))
}

/// Compiles `source` (relative to this crate) against `include/trek.h` and `libtrek.a`.
pub(crate) fn compile_c(source: &str, name: &str) -> PathBuf {
    let out = profile_dir().join(format!("trek-c-{name}"));
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let status = Command::new(cc)
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-g", "-O1"])
        .arg("-I")
        .arg(crate_dir().join("../include"))
        .arg(crate_dir().join(source))
        .arg(static_library())
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(&out)
        .status()
        .expect("the system C compiler runs (cc)");
    assert!(status.success(), "compiling {source} failed");
    out
}

pub(crate) fn run_with_stdin(command: &mut Command, input: &str) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("program starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().expect("program finishes");
    writer.join().expect("writer").expect("stdin written");
    output
}

pub(crate) fn describe(output: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The run passed and checked at least `min_checks` things ("N passed, 0 failed").
pub(crate) fn assert_summary(output: &Output, min_checks: u32) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", describe(output));
    let summary = stdout
        .lines()
        .rev()
        .find(|l| l.ends_with(" failed"))
        .unwrap_or_default();
    let mut words = summary.split_whitespace();
    let passed: u32 = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
    assert!(summary.ends_with(", 0 failed"), "{}", describe(output));
    assert!(
        passed >= min_checks,
        "only {passed} checks ran\n{}",
        describe(output)
    );
}

fn hex(s: &str) -> String {
    if s.is_empty() {
        return "-".to_owned();
    }
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn load(name: &str) -> Value {
    let path = vectors_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("json")
}

fn list<'a>(doc: &'a Value, key: &str) -> &'a Vec<Value> {
    let items = doc[key].as_array().expect("vector list");
    assert!(!items.is_empty(), "{key} is empty");
    items
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_default()
}

/// Every vector case, one line each, in the format `tests/c/test_trek.c` reads.
pub(crate) fn vector_stream() -> String {
    let mut lines = Vec::new();
    for c in list(&load("password-policy.json"), "cases") {
        let ok = u8::from(c["expected_ok"].as_bool().expect("expected_ok"));
        lines.push(format!(
            "P {} {ok} {}",
            hex(text(c, "password")),
            hex(text(c, "reason"))
        ));
    }
    for c in list(&load("bcrypt.json"), "cases") {
        let matches = u8::from(c["matches"].as_bool().expect("matches"));
        lines.push(format!(
            "B {} {} {matches}",
            hex(text(c, "password")),
            hex(text(c, "hash"))
        ));
    }
    for c in list(&load("jwt.json"), "cases") {
        let claims = &c["claims"];
        let n = |k: &str| claims[k].as_i64().unwrap_or(0);
        let purpose = u8::from(claims.get("purpose").is_some());
        let has_pv = u8::from(claims.get("pv").is_some());
        lines.push(format!(
            "J {} {} {} {} {} {} {purpose} {has_pv}",
            hex(text(c, "secret")),
            hex(text(c, "token")),
            n("id"),
            n("pv"),
            n("iat"),
            n("exp")
        ));
    }
    let secrets = load("secrets.json");
    let key = hex(text(&secrets, "encryption_key"));
    for (name, kind) in [("api_keys", 0), ("mfa_secrets", 1)] {
        for c in list(&secrets, name) {
            lines.push(format!(
                "S {key} {kind} {} {}",
                hex(text(c, "stored")),
                hex(text(c, "plaintext"))
            ));
        }
    }
    for bad in list(&secrets, "must_fail_to_open") {
        lines.push(format!("F {key} {}", hex(bad.as_str().expect("string"))));
    }
    for legacy in list(&secrets, "legacy_plaintext") {
        lines.push(format!("L {key} {}", hex(legacy.as_str().expect("string"))));
    }
    for c in list(&load("totp.json"), "cases") {
        let t = c["unix_time"].as_i64().expect("unix_time");
        lines.push(format!(
            "T {} {t} {}",
            hex(text(c, "secret_base32")),
            hex(text(c, "code"))
        ));
    }
    lines.join("\n") + "\n"
}
