//! Host-side checks on every record a guest returns: JSON object, standard-data schema, key consistency.

use renkei_standard::StandardSchema;
use serde_json::Value;

use super::{Converted, Rejected};

/// How many schema violations one reject reason lists before summarising the rest.
const VIOLATIONS_LISTED: usize = 3;

/// Accepts a guest record or turns it into a reject whose reason names the offending field.
pub(super) fn check_record(
    schema: &StandardSchema,
    key: &str,
    line: u64,
    document: &str,
) -> Result<Converted, Rejected> {
    let reject = |reason: String| Rejected { line, reason };
    let document: Value = serde_json::from_str(document)
        .map_err(|e| reject(format!("`document` is not valid JSON: {e}")))?;
    if !document.is_object() {
        return Err(reject(format!(
            "`document` must be a JSON object, found {}",
            json_kind(&document)
        )));
    }
    if !schema.is_valid(&document) {
        let violations = schema.validate(&document).err().unwrap_or_default();
        return Err(reject(format!(
            "`document` is not valid standard data: {}",
            list_violations(&violations)
        )));
    }
    if key.is_empty() {
        return Err(reject("`key` is empty".to_string()));
    }
    let destination_number = document
        .pointer("/Basic/Destination/Corporate number")
        .and_then(Value::as_str);
    if let Some(number) = destination_number
        && number != key
    {
        return Err(reject(format!(
            "`key` {key:?} differs from `Basic.Destination.Corporate number` {number:?}"
        )));
    }
    Ok(Converted {
        key: key.to_string(),
        line,
        document,
    })
}

fn list_violations(violations: &[renkei_standard::Violation]) -> String {
    if violations.is_empty() {
        // `is_valid` and `validate` disagree only if the schema crate is broken; still say something useful.
        return "the schema rejected it".to_string();
    }
    let mut listed: Vec<String> = violations
        .iter()
        .take(VIOLATIONS_LISTED)
        .map(|v| {
            if v.pointer.is_empty() {
                v.message.clone()
            } else {
                format!("at {}: {}", v.pointer, v.message)
            }
        })
        .collect();
    if violations.len() > VIOLATIONS_LISTED {
        listed.push(format!("and {} more", violations.len() - VIOLATIONS_LISTED));
    }
    listed.join("; ")
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use std::sync::LazyLock;

    use super::*;

    static SCHEMA: LazyLock<StandardSchema> = LazyLock::new(StandardSchema::new);
    const TOYOTA: &str = r#"{"Basic":{"Destination":{"Corporate number":"1180301018771","Corporate name":"トヨタ自動車株式会社"}}}"#;

    fn reason(key: &str, document: &str) -> String {
        match check_record(&SCHEMA, key, 7, document) {
            Ok(c) => panic!("expected a reject, got {c:?}"),
            Err(r) => {
                assert_eq!(r.line, 7);
                r.reason
            }
        }
    }

    #[test]
    fn a_valid_record_is_accepted_as_parsed_json() {
        let converted = check_record(&SCHEMA, "1180301018771", 3, TOYOTA).expect("valid");
        assert_eq!(converted.key, "1180301018771");
        assert_eq!(converted.line, 3);
        assert_eq!(
            converted.document,
            serde_json::json!({"Basic": {"Destination": {
                "Corporate number": "1180301018771",
                "Corporate name": "トヨタ自動車株式会社"
            }}})
        );
    }

    #[test]
    fn rejects_name_the_field() {
        assert_eq!(
            reason("1180301018771", r#"{"Basic":"#),
            "`document` is not valid JSON: EOF while parsing a value at line 1 column 9"
        );
        assert_eq!(
            reason("1180301018771", "[1]"),
            "`document` must be a JSON object, found an array"
        );
        assert_eq!(
            reason("1010001072706", TOYOTA),
            r#"`key` "1010001072706" differs from `Basic.Destination.Corporate number` "1180301018771""#
        );
        assert_eq!(reason("", TOYOTA), "`key` is empty");
        let unknown = reason(
            "1180301018771",
            r#"{"Basic":{"Destination":{"Corporate number":"1180301018771"},"Favourite colour":"red"}}"#,
        );
        assert!(
            unknown.starts_with("`document` is not valid standard data: at /Basic: ")
                && unknown.contains("Favourite colour"),
            "{unknown}"
        );
    }
}
