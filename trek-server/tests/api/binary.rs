//! The real binary, driven by the README's curl walk-through (`tests/readme_flow.sh`).

#[test]
fn the_readme_walk_through_passes_against_the_binary() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/readme_flow.sh");
    let output = std::process::Command::new("bash")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_trek-server"))
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("readme_flow: ok"), "{stdout}");
}
