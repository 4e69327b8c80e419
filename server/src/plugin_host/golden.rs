//! Golden tests for converter plugins: sample inputs with the records, rejects and as-of date they must give.
//!
//! A suite is a TOML manifest (`plugin-tests.toml`) listing cases; paths are relative to the manifest. The
//! expected records are JSON lines in the form `renkei plugin run` prints, so a provider makes a golden file
//! by running the plugin once, reading the output, and committing it. `renkei plugin test` runs a suite; the
//! portal runs the same code before it activates an uploaded plugin version.

use super::{ConversionSink, Converted, Plugin, Rejected, SinkError};
use serde::Deserialize;
use serde_json::Value;
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

/// A golden-test suite as written in its manifest.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoldenSuite {
    #[serde(rename = "case")]
    pub cases: Vec<GoldenCase>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoldenCase {
    pub name: String,
    /// The sample input file.
    pub input: PathBuf,
    /// Converter options, e.g. `{ encoding = "cp932" }`.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// JSON lines: the documents the conversion must produce, in order.
    pub expected: PathBuf,
    /// Every row the conversion must reject; any other reject fails the case.
    #[serde(default)]
    pub rejects: Vec<ExpectedReject>,
    /// The as-of date the conversion must report, when the case states one.
    #[serde(default)]
    pub as_of: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExpectedReject {
    pub line: u64,
    /// A part of the reason the plugin must give (reasons may carry details that change).
    pub reason_contains: String,
}

/// Why a suite could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum GoldenError {
    #[error("reading {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Manifest { path: PathBuf, message: String },
    #[error("{path}, line {line}: not a JSON object: {message}")]
    Expected {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

/// A suite with its files read, ready to run.
#[derive(Debug, Clone)]
pub struct LoadedCase {
    pub case: GoldenCase,
    pub input: Vec<u8>,
    pub expected: Vec<Value>,
}

/// The result of one case: it passed when `failures` is empty.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CaseOutcome {
    pub name: String,
    pub records: u64,
    pub rejects: u64,
    pub failures: Vec<String>,
}

impl CaseOutcome {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Reads a manifest and every file it names.
pub fn load_suite(manifest: &Path) -> Result<Vec<LoadedCase>, GoldenError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| GoldenError::Read {
            path: path.to_owned(),
            source,
        })
    };
    let text = String::from_utf8(read(manifest)?).map_err(|_| GoldenError::Manifest {
        path: manifest.to_owned(),
        message: "not UTF-8".to_owned(),
    })?;
    let suite: GoldenSuite = toml::from_str(&text).map_err(|e| GoldenError::Manifest {
        path: manifest.to_owned(),
        message: e.to_string(),
    })?;
    if suite.cases.is_empty() {
        return Err(GoldenError::Manifest {
            path: manifest.to_owned(),
            message: "no [[case]]: a suite needs at least one case".to_owned(),
        });
    }
    let base = manifest.parent().unwrap_or(Path::new("."));
    suite
        .cases
        .into_iter()
        .map(|case| {
            let input = read(&base.join(&case.input))?;
            let expected_path = base.join(&case.expected);
            let expected = parse_expected(&expected_path, &read(&expected_path)?)?;
            Ok(LoadedCase {
                case,
                input,
                expected,
            })
        })
        .collect()
}

fn parse_expected(path: &Path, bytes: &[u8]) -> Result<Vec<Value>, GoldenError> {
    let text = std::str::from_utf8(bytes).map_err(|_| GoldenError::Manifest {
        path: path.to_owned(),
        message: "not UTF-8".to_owned(),
    })?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            let error = |message: String| GoldenError::Expected {
                path: path.to_owned(),
                line: index + 1,
                message,
            };
            match serde_json::from_str::<Value>(line) {
                Ok(value @ Value::Object(_)) => Ok(value),
                Ok(_) => Err(error("a record must be an object".to_owned())),
                Err(e) => Err(error(e.to_string())),
            }
        })
        .collect()
}

/// Runs one case in the sandbox and compares what came out with what was expected.
pub fn run_case(plugin: &Plugin, loaded: &LoadedCase) -> CaseOutcome {
    let options: Vec<(String, String)> = loaded
        .case
        .options
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut sink = Collect::default();
    let mut input = loaded.input.as_slice();
    let mut outcome = CaseOutcome {
        name: loaded.case.name.clone(),
        records: 0,
        rejects: 0,
        failures: Vec::new(),
    };
    let report = match plugin.convert(&mut input, &options, &mut sink) {
        Ok(report) => report,
        Err(e) => {
            outcome.failures.push(format!("the conversion failed: {e}"));
            return outcome;
        }
    };
    outcome.records = report.records;
    outcome.rejects = report.rejects;
    compare_records(&loaded.expected, &sink.records, &mut outcome.failures);
    compare_rejects(&loaded.case.rejects, &sink.rejects, &mut outcome.failures);
    if let Some(expected) = &loaded.case.as_of
        && report.as_of.as_ref() != Some(expected)
    {
        outcome.failures.push(format!(
            "as-of date: expected {expected}, got {}",
            report.as_of.as_deref().unwrap_or("none")
        ));
    }
    outcome
}

#[derive(Default)]
struct Collect {
    records: Vec<Converted>,
    rejects: Vec<Rejected>,
}

impl ConversionSink for Collect {
    fn accept(&mut self, records: Vec<Converted>, rejects: Vec<Rejected>) -> Result<(), SinkError> {
        self.records.extend(records);
        self.rejects.extend(rejects);
        Ok(())
    }
}

fn compare_records(expected: &[Value], actual: &[Converted], failures: &mut Vec<String>) {
    for (index, (want, got)) in expected.iter().zip(actual).enumerate() {
        if let Some(difference) = first_difference(want, &got.document, String::new()) {
            failures.push(format!(
                "record {} (input line {}): {difference}",
                index + 1,
                got.line
            ));
        }
    }
    if expected.len() != actual.len() {
        let extra = actual
            .get(expected.len())
            .map(|r| format!("; the first unexpected one is from input line {}", r.line))
            .unwrap_or_default();
        failures.push(format!(
            "expected {} records, got {}{extra}",
            expected.len(),
            actual.len()
        ));
    }
}

/// The JSON pointer of the first place where two documents differ, with both values.
fn first_difference(want: &Value, got: &Value, at: String) -> Option<String> {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (key, wv) in w {
                let path = format!("{at}/{}", escape_pointer(key));
                match g.get(key) {
                    None => return Some(format!("{path}: missing, expected {wv}")),
                    Some(gv) => {
                        if let Some(d) = first_difference(wv, gv, path) {
                            return Some(d);
                        }
                    }
                }
            }
            g.iter()
                .find(|(key, _)| !w.contains_key(*key))
                .map(|(key, gv)| format!("{at}/{}: not expected, got {gv}", escape_pointer(key)))
        }
        (Value::Array(w), Value::Array(g)) => {
            for (i, (wv, gv)) in w.iter().zip(g).enumerate() {
                if let Some(d) = first_difference(wv, gv, format!("{at}/{i}")) {
                    return Some(d);
                }
            }
            (w.len() != g.len()).then(|| {
                format!(
                    "{}: expected {} items, got {}",
                    if at.is_empty() { "/" } else { &at },
                    w.len(),
                    g.len()
                )
            })
        }
        _ if want == got => None,
        _ => Some(format!(
            "{}: expected {want}, got {got}",
            if at.is_empty() { "/" } else { &at }
        )),
    }
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn compare_rejects(expected: &[ExpectedReject], actual: &[Rejected], failures: &mut Vec<String>) {
    for want in expected {
        match actual.iter().find(|r| r.line == want.line) {
            None => failures.push(format!(
                "line {}: expected a reject containing {:?}, but the line was not rejected",
                want.line, want.reason_contains
            )),
            Some(got) if !got.reason.contains(&want.reason_contains) => failures.push(format!(
                "line {}: expected a reject containing {:?}, got {:?}",
                want.line, want.reason_contains, got.reason
            )),
            Some(_) => {}
        }
    }
    for got in actual {
        if !expected.iter().any(|w| w.line == got.line) {
            failures.push(format!(
                "line {}: rejected unexpectedly: {}",
                got.line, got.reason
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_first_difference_is_named_by_its_json_pointer() {
        let want = json!({"Basic": {"Destination": {"Corporate name": "甲株式会社", "a/b": 1}}});
        let got = json!({"Basic": {"Destination": {"Corporate name": "乙株式会社", "a/b": 1}}});
        assert_eq!(
            first_difference(&want, &got, String::new()).as_deref(),
            Some("/Basic/Destination/Corporate name: expected \"甲株式会社\", got \"乙株式会社\"")
        );
        let got =
            json!({"Basic": {"Destination": {"Corporate name": "甲株式会社", "a/b": 1, "x": 2}}});
        assert_eq!(
            first_difference(&want, &got, String::new()).as_deref(),
            Some("/Basic/Destination/x: not expected, got 2")
        );
        let got = json!({"Basic": {"Destination": {"Corporate name": "甲株式会社"}}});
        assert_eq!(
            first_difference(&want, &got, String::new()).as_deref(),
            Some("/Basic/Destination/a~1b: missing, expected 1")
        );
        assert_eq!(
            first_difference(&json!([1, 2]), &json!([1]), String::new()).as_deref(),
            Some("/: expected 2 items, got 1")
        );
        assert_eq!(first_difference(&want, &want, String::new()), None);
    }

    #[test]
    fn rejects_must_match_by_line_and_reason() {
        let expected = vec![ExpectedReject {
            line: 3,
            reason_contains: "check digit".into(),
        }];
        let mut failures = Vec::new();
        compare_rejects(
            &expected,
            &[
                Rejected {
                    line: 3,
                    reason: "corporate_number: bad check digit".into(),
                },
                Rejected {
                    line: 9,
                    reason: "name: required".into(),
                },
            ],
            &mut failures,
        );
        assert_eq!(
            failures,
            vec!["line 9: rejected unexpectedly: name: required"]
        );
    }

    #[test]
    fn an_expected_file_that_is_not_json_lines_names_the_line() {
        let error = parse_expected(Path::new("e.jsonl"), b"{\"a\":1}\n\n[1]\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "e.jsonl, line 3: not a JSON object: a record must be an object"
        );
    }
}
