//! Builds the C test program (`tests/c/test_trek.c`) with the system compiler against the
//! static `libtrek.a`, feeds it every case of `../shared/vectors/`, and runs it natively and
//! under valgrind (zero leaks, zero invalid accesses). Also builds and runs the examples in
//! `examples/c/` and `examples/python/`.

mod support;

use support::*;

#[test]
fn the_c_test_program_passes_every_function_and_vector_case() {
    let program = compile_c("tests/c/test_trek.c", "test_trek");
    let output = run_with_stdin(&mut std::process::Command::new(&program), &vector_stream());
    assert_summary(&output, 150);
}

#[test]
fn the_c_test_program_is_clean_under_valgrind() {
    if std::env::var_os("TREK_SKIP_VALGRIND").is_some() {
        eprintln!("TREK_SKIP_VALGRIND is set: not running valgrind");
        return;
    }
    let program = compile_c("tests/c/test_trek.c", "test_trek_valgrind");
    let mut command = std::process::Command::new("valgrind");
    command.args([
        "--quiet",
        "--error-exitcode=99",
        "--leak-check=full",
        "--errors-for-leak-kinds=definite,indirect",
        "--show-leak-kinds=definite,indirect",
    ]);
    command.arg(&program);
    let output = run_with_stdin(&mut command, &vector_stream());
    assert_summary(&output, 150);
}

#[test]
fn the_c_example_runs() {
    let program = compile_c("../examples/c/example.c", "example_c");
    let output = run_with_stdin(&mut std::process::Command::new(&program), "");
    assert!(output.status.success(), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("example: ok"),
        "{}",
        describe(&output)
    );
}

#[test]
fn the_python_example_runs_every_vector_through_ctypes() {
    let script = crate_dir().join("../examples/python/trek_ctypes.py");
    let mut command = std::process::Command::new("python3");
    command
        .arg(&script)
        .arg(shared_library())
        .arg(vectors_dir());
    let output = run_with_stdin(&mut command, "");
    assert_summary(&output, 150);
}
