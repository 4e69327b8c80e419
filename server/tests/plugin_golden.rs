//! Golden tests of the shipped converters, run as `renkei plugin test` runs them, and the failures it reports.
//!
//! The guests must be built first: `scripts/build-plugins.sh`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Where `scripts/build-plugins.sh` puts the guests (honouring `CARGO_TARGET_DIR` like cargo does).
fn guest_path(file: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"));
    let path = target.join("wasm32-wasip2/release").join(file);
    assert!(
        path.exists(),
        "{} is missing: run scripts/build-plugins.sh first",
        path.display()
    );
    path
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn plugin_test(plugin: &Path, manifest: &Path, extra: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_renkei"))
        .args(["plugin", "test", "--plugin"])
        .arg(plugin)
        .arg(manifest)
        .args(extra)
        .output()
        .expect("renkei runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[test]
fn the_nta_converter_passes_its_golden_suite_on_the_real_file_heads() {
    let run = plugin_test(
        &guest_path("nta_corporate_number.wasm"),
        &repo_root().join("plugins/nta-corporate-number/golden/plugin-tests.toml"),
        &["--json"],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let outcomes: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let summary: Vec<(u64, u64)> = outcomes
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            assert_eq!(o["failures"], serde_json::json!([]), "{o}");
            (
                o["records"].as_u64().unwrap(),
                o["rejects"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(summary, vec![(3, 0), (3, 0), (0, 3)]);
}

#[test]
fn the_template_converter_passes_its_golden_suite() {
    let run = plugin_test(
        &guest_path("converter_template.wasm"),
        &repo_root().join("plugins/converter-template/golden/plugin-tests.toml"),
        &[],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("ok   sample rows, three broken (3 records, 3 rejected rows)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("golden: 2 cases passed, 0 failed"),
        "{}",
        run.stdout
    );
}

/// Copies the template's suite into a temporary directory, lets `edit` spoil it, and runs it.
fn spoiled_template_suite(edit: impl FnOnce(&Path)) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let golden = repo_root().join("plugins/converter-template/golden");
    for entry in std::fs::read_dir(&golden).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    edit(dir.path());
    plugin_test(
        &guest_path("converter_template.wasm"),
        &dir.path().join("plugin-tests.toml"),
        &[],
    )
}

#[test]
fn a_changed_expected_value_fails_naming_the_record_line_and_field() {
    let run = spoiled_template_suite(|dir| {
        let path = dir.join("sample.expected.jsonl");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(
            &path,
            text.replacen("芝１丁目５番１２号", "芝１丁目５番１３号", 1),
        )
        .unwrap();
    });
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("FAIL sample rows, three broken"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "record 1 (input line 2): /Basic/Destination/Head office address3: expected \"芝１丁目５番１３号\", got \"芝１丁目５番１２号\""
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("golden: 1 cases passed, 1 failed"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("error: 1 of 2 golden cases failed"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_missing_expected_reject_and_an_unexpected_one_both_fail() {
    let run = spoiled_template_suite(|dir| {
        let path = dir.join("plugin-tests.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text
            .replace(
                "    { line = 5, reason_contains = \"name: required, but empty\" },\n",
                "",
            )
            .replace("line = 7,", "line = 6,");
        std::fs::write(&path, text).unwrap();
    });
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("line 6: expected a reject containing \"the row has 7 fields, the header 6\", but the line was not rejected"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("line 5: rejected unexpectedly: name: required, but empty"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("line 7: rejected unexpectedly: the row has 7 fields, the header 6"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_record_too_many_or_too_few_is_counted() {
    let run = spoiled_template_suite(|dir| {
        let path = dir.join("sample.expected.jsonl");
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        lines.pop();
        std::fs::write(&path, lines.join("\n")).unwrap();
    });
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .contains("expected 2 records, got 3; the first unexpected one is from input line 6"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_bad_manifest_is_a_clear_error_naming_the_file() {
    let run = spoiled_template_suite(|dir| {
        let path = dir.join("plugin-tests.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(
            &path,
            text.replace("expected = \"sample", "expectd = \"sample"),
        )
        .unwrap();
    });
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("plugin-tests.toml: "), "{}", run.stderr);
    assert!(
        run.stderr.contains("unknown field `expectd`"),
        "{}",
        run.stderr
    );

    let run = spoiled_template_suite(|dir| {
        std::fs::remove_file(dir.join("extra-column.csv")).unwrap();
    });
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("error: reading ") && run.stderr.contains("extra-column.csv"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "", "nothing runs when the suite cannot be read");
}
