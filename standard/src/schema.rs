//! The standard-data JSON Schemas (data files in `standard/schema/`) and validation against them.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use jsonschema::{Draft, Registry, ValidationError, Validator, error::ValidationErrorKind};
use serde_json::Value;

use crate::CorporateNumber;

/// Where relative `$ref`s between the schema files resolve; nothing is fetched.
const BASE_URI: &str = "https://renkei.example/standard-data/1.1/";

/// The root schema: one document, its blocks `$ref`-ing the files below.
pub const ROOT_SCHEMA: &str = include_str!("../schema/standard-data.schema.json");

/// Every schema file as (file name, JSON text), root first. The block files are the
/// values of the top-level keys (`Basic` → `basic.schema.json`, …).
pub const SCHEMA_FILES: &[(&str, &str)] = &[
    ("standard-data.schema.json", ROOT_SCHEMA),
    (
        "basic.schema.json",
        include_str!("../schema/basic.schema.json"),
    ),
    (
        "application.schema.json",
        include_str!("../schema/application.schema.json"),
    ),
    (
        "finance.schema.json",
        include_str!("../schema/finance.schema.json"),
    ),
    (
        "officer-list.schema.json",
        include_str!("../schema/officer-list.schema.json"),
    ),
    (
        "shareholder-list.schema.json",
        include_str!("../schema/shareholder-list.schema.json"),
    ),
    (
        "office-list.schema.json",
        include_str!("../schema/office-list.schema.json"),
    ),
    (
        "list-of-professions.schema.json",
        include_str!("../schema/list-of-professions.schema.json"),
    ),
    (
        "certificate.schema.json",
        include_str!("../schema/certificate.schema.json"),
    ),
];

/// One reason a document is not valid standard data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// JSON Pointer to the offending value, e.g. `/Basic/Destination/Corporate number`
    /// (empty for the document itself).
    pub pointer: String,
    /// Names the item, then says what is wrong, e.g.
    /// `Basic.Destination.Corporate number (法人番号): "1180301018772" is not a corporate number: check digit mismatch: expected 1, given 2`.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The compiled standard-data schema. Build it once; clones share the compiled
/// validator, so handing a clone to each thread or request is cheap.
#[derive(Clone)]
pub struct StandardSchema {
    inner: Arc<Compiled>,
}

struct Compiled {
    validator: Validator,
    /// Item path with array indexes as `[]` (`Finance[].Content`) → Japanese title.
    titles: HashMap<String, String>,
}

impl fmt::Debug for StandardSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StandardSchema").finish_non_exhaustive()
    }
}

impl Default for StandardSchema {
    fn default() -> Self {
        Self::new()
    }
}

impl StandardSchema {
    /// Compiles the embedded schemas, with format assertion on (`date` is checked
    /// against the calendar, `jp-corporate-number` against the check digit).
    ///
    /// # Panics
    /// Only if the embedded schema files are broken, which the crate's tests rule out.
    pub fn new() -> Self {
        let files: Vec<(&str, Value)> = SCHEMA_FILES
            .iter()
            .map(|(name, text)| {
                let value = serde_json::from_str(text)
                    .unwrap_or_else(|e| panic!("embedded schema {name} is not JSON: {e}"));
                (*name, value)
            })
            .collect();
        let registry = Registry::new()
            .extend(
                files
                    .iter()
                    .skip(1)
                    .map(|(name, value)| (format!("{BASE_URI}{name}"), value)),
            )
            .and_then(|builder| builder.prepare())
            .unwrap_or_else(|e| panic!("embedded schemas do not form a registry: {e}"));
        let validator = jsonschema::options()
            .with_draft(Draft::Draft202012)
            .offline()
            .with_registry(&registry)
            .should_validate_formats(true)
            .with_format("jp-corporate-number", |s: &str| {
                CorporateNumber::parse(s).is_ok()
            })
            .build(&files[0].1)
            .unwrap_or_else(|e| panic!("embedded root schema does not compile: {e}"));
        let titles = collect_titles(&files);
        Self {
            inner: Arc::new(Compiled { validator, titles }),
        }
    }

    /// Checks one document (a JSON object of top-level blocks). Every violation is
    /// reported, ordered by pointer (so the order does not depend on the JSON map
    /// implementation), several at one pointer in the validator's order.
    pub fn validate(&self, doc: &Value) -> Result<(), Vec<Violation>> {
        let mut violations: Vec<Violation> = self
            .inner
            .validator
            .iter_errors(doc)
            .map(|error| self.violation(&error))
            .collect();
        violations.sort_by(|a, b| a.pointer.cmp(&b.pointer));
        if violations.is_empty() {
            Ok(())
        } else {
            Err(violations)
        }
    }

    /// Whether the document is valid, without building messages.
    pub fn is_valid(&self, doc: &Value) -> bool {
        self.inner.validator.is_valid(doc)
    }

    fn violation(&self, error: &ValidationError<'_>) -> Violation {
        let pointer = error.instance_path().as_str().to_owned();
        let mut dotted = String::new();
        let mut pattern = String::new();
        for segment in error.instance_path().segments() {
            match segment {
                jsonschema::paths::LocationSegment::Property(name) => {
                    if !dotted.is_empty() {
                        dotted.push('.');
                        pattern.push('.');
                    }
                    dotted.push_str(&name);
                    pattern.push_str(&name);
                }
                jsonschema::paths::LocationSegment::Index(index) => {
                    dotted.push_str(&format!("[{index}]"));
                    pattern.push_str("[]");
                }
            }
        }
        let subject = match (dotted.is_empty(), self.inner.titles.get(&pattern)) {
            (true, _) => "document".to_owned(),
            (false, Some(title)) => format!("{dotted} ({title})"),
            (false, None) => dotted,
        };
        Violation {
            pointer,
            message: format!("{subject}: {}", detail(error)),
        }
    }
}

/// What is wrong, in words a data provider can act on.
fn detail(error: &ValidationError<'_>) -> String {
    let instance = error.instance();
    match error.kind() {
        ValidationErrorKind::Format { format } if format == "jp-corporate-number" => {
            match instance.as_str().map(CorporateNumber::parse) {
                Some(Err(why)) => format!("{instance} is not a corporate number: {why}"),
                _ => error.to_string(),
            }
        }
        ValidationErrorKind::Format { format } if format == "date" => {
            format!("{instance} is not a calendar date (YYYY-MM-DD)")
        }
        // The default message lists every allowed value (47 prefectures).
        ValidationErrorKind::Enum { options } => match options.as_array() {
            Some(values) if values.len() > 8 => {
                format!(
                    "{instance} is not one of the {} allowed values",
                    values.len()
                )
            }
            _ => error.to_string(),
        },
        _ => error.to_string(),
    }
}

/// Titles of every item reachable from the root through `properties`, `items` and
/// `$ref`s to other files.
fn collect_titles(files: &[(&str, Value)]) -> HashMap<String, String> {
    fn walk<'a>(
        node: &'a Value,
        path: String,
        files: &'a [(&str, Value)],
        out: &mut HashMap<String, String>,
    ) {
        let Some(object) = node.as_object() else {
            return;
        };
        if let Some(target) = object.get("$ref").and_then(Value::as_str)
            && !target.starts_with('#')
            && let Some((_, file)) = files.iter().find(|(name, _)| *name == target)
        {
            walk(file, path.clone(), files, out);
        }
        if let Some(title) = object.get("title").and_then(Value::as_str)
            && !path.is_empty()
        {
            // The property's own title wins over the title of the file it refers to.
            out.insert(path.clone(), title.to_owned());
        }
        if let Some(properties) = object.get("properties").and_then(Value::as_object) {
            for (key, child) in properties {
                let child_path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                walk(child, child_path, files, out);
            }
        }
        if let Some(items) = object.get("items") {
            walk(items, format!("{path}[]"), files, out);
        }
    }
    let mut out = HashMap::new();
    if let Some((_, root)) = files.first() {
        walk(root, String::new(), files, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PREFECTURES, SCOPES};
    use serde_json::json;
    use std::sync::LazyLock;

    static SCHEMA: LazyLock<StandardSchema> = LazyLock::new(StandardSchema::new);

    fn messages(doc: Value) -> Vec<String> {
        match SCHEMA.validate(&doc) {
            Ok(()) => Vec::new(),
            Err(violations) => violations.into_iter().map(|v| v.message).collect(),
        }
    }

    /// The §10 example of the reference (トヨタ自動車, current variant).
    fn toyota() -> Value {
        json!({
          "Basic": {
            "Destination": {
              "Corporate number": "1180301018771",
              "Corporate name": "トヨタ自動車株式会社",
              "Corporate name Kana": "トヨタジドウシャカブシキガイシャ",
              "Head office address1": "愛知県",
              "Head office address2": "豊田市トヨタ町",
              "Head office address3": "1",
              "Branch office name": "トヨタ自動車株式会社 本社",
              "Branch office address1": "愛知県",
              "Branch office address2": "豊田市トヨタ町",
              "Branch office address3": "1",
              "Branch office postal code": "4710826"
            },
            "Application date": { "Application date": "2024-03-01" },
            "Content": {
              "Establishment date": "1937-08-28",
              "Capital": "635401000000",
              "Employee number": "70000",
              "Regular employee number": "66000"
            },
            "Contact information": {
              "Department": "総務部",
              "Position": "主任",
              "Last name": "山田",
              "First name": "花子",
              "Last name Kana": "ヤマダ",
              "First name Kana": "ハナコ",
              "Phone number": "(0565)-28-2121",
              "Email address": "hanako.yamada@example.co.jp",
              "Address1": "愛知県",
              "Address2": "豊田市トヨタ町",
              "Address3": "1",
              "postal code": "4710826"
            },
            "Applicant": {
              "Corporate number": "1180301018771",
              "Corporate name": "トヨタ自動車株式会社",
              "Corporate name Kana": "トヨタジドウシャカブシキガイシャ",
              "Industry code": "31",
              "Head office address1": "愛知県",
              "Head office address2": "豊田市トヨタ町",
              "Head office address3": "1",
              "Representative role": "代表取締役社長",
              "Last name of representative": "山田",
              "First name of representative": "一郎"
            }
          }
        })
    }

    #[test]
    fn accepts_the_reference_example_and_the_smallest_document() {
        assert_eq!(messages(toyota()), Vec::<String>::new());
        assert_eq!(
            messages(json!({"Basic": {"Destination": {"Corporate number": "1180301018771"}}})),
            Vec::<String>::new()
        );
    }

    #[test]
    fn names_the_field_and_the_check_digit() {
        let mut doc = toyota();
        doc["Basic"]["Destination"]["Corporate number"] = json!("1180301018772");
        let violations = SCHEMA.validate(&doc).unwrap_err();
        assert_eq!(
            violations,
            vec![Violation {
                pointer: "/Basic/Destination/Corporate number".into(),
                message: "Basic.Destination.Corporate number (法人番号): \"1180301018772\" is not a corporate number: check digit mismatch: expected 9, given 1".into(),
            }]
        );
    }

    #[test]
    fn rejects_a_leading_zero_by_pattern() {
        assert_eq!(
            messages(json!({"Basic": {"Destination": {"Corporate number": "0123456789123"}}})),
            vec![
                "Basic.Destination.Corporate number (法人番号): \"0123456789123\" does not match \"^[1-9][0-9]{12}$\"",
                "Basic.Destination.Corporate number (法人番号): \"0123456789123\" is not a corporate number: check digit mismatch: expected 3, given 0",
            ]
        );
    }

    #[test]
    fn requires_the_destination_number() {
        assert_eq!(
            messages(json!({"Basic": {"Destination": {"Corporate name": "株式会社"}}})),
            vec!["Basic.Destination (宛先): \"Corporate number\" is a required property"]
        );
        assert_eq!(
            messages(json!({"Basic": {}})),
            vec!["Basic (法人申請基本情報（A票）): \"Destination\" is a required property"]
        );
    }

    #[test]
    fn checks_dates_against_the_calendar() {
        let mut doc = toyota();
        doc["Basic"]["Application date"]["Application date"] = json!("2021-02-30");
        assert_eq!(
            messages(doc),
            vec![
                "Basic.Application date.Application date (申請日): \"2021-02-30\" is not a calendar date (YYYY-MM-DD)"
            ]
        );
        let mut doc = toyota();
        doc["Basic"]["Content"]["Establishment date"] = json!("1937/08/28");
        assert_eq!(messages(doc).len(), 2, "pattern and format both fail");
    }

    #[test]
    fn checks_digits_zip_prefecture_and_industry_code() {
        let mut doc = toyota();
        doc["Basic"]["Content"]["Capital"] = json!("10,000,000");
        doc["Basic"]["Destination"]["Branch office postal code"] = json!("471-0826");
        doc["Basic"]["Destination"]["Head office address1"] = json!("愛知県豊田市");
        doc["Basic"]["Applicant"]["Industry code"] = json!("E");
        assert_eq!(
            messages(doc),
            vec![
                "Basic.Applicant.Industry code (業種コード): \"E\" does not match \"^[0-9]{2}$\"",
                "Basic.Content.Capital (資本金): \"10,000,000\" does not match \"^[0-9]+$\"",
                "Basic.Destination.Branch office postal code (事業所郵便番号): \"471-0826\" does not match \"^[0-9]{7}$\"",
                "Basic.Destination.Head office address1 (本社住所都道府県): \"愛知県豊田市\" is not one of the 47 allowed values",
            ]
        );
    }

    #[test]
    fn rejects_unknown_keys_empty_strings_and_non_strings() {
        assert_eq!(
            messages(json!({"Basic": {"Destination": {
                "Corporate number": "1180301018771",
                "Corporate name": "",
                "Postal code": "4710826",
                "Head office address1": 13
            }}})),
            vec![
                "Basic.Destination (宛先): Additional properties are not allowed ('Postal code' was unexpected)",
                "Basic.Destination.Corporate name (商号又は名称): \"\" is shorter than 1 character",
                "Basic.Destination.Head office address1 (本社住所都道府県): 13 is not of type \"string\"",
                "Basic.Destination.Head office address1 (本社住所都道府県): 13 is not one of the 47 allowed values",
            ]
        );
    }

    #[test]
    fn an_address_part_needs_the_part_before_it() {
        assert_eq!(
            messages(json!({"Basic": {"Destination": {
                "Corporate number": "1180301018771",
                "Head office address3": "1"
            }}})),
            vec!["Basic.Destination (宛先): \"Head office address2\" is a required property"]
        );
    }

    #[test]
    fn legacy_publisher_is_rejected() {
        let mut doc = toyota();
        doc["Basic"]["Publisher"] = doc["Basic"]["Applicant"].clone();
        assert_eq!(
            messages(doc),
            vec![
                "Basic (法人申請基本情報（A票）): Additional properties are not allowed ('Publisher' was unexpected)"
            ]
        );
    }

    #[test]
    fn root_knows_the_eight_blocks_and_extension_blocks() {
        let doc = json!({
            "Basic": {"Destination": {"Corporate number": "1180301018771"}},
            "Application": {"Contents": {"Title": "補助金申請"}},
            "Finance": [{"Other": {"Corporate number": "1180301018771"}}],
            "Officer list": [],
            "Shareholder list": [],
            "Office list": [],
            "List of professions": [],
            "Certificate": {},
            "x-nta": {"process": {"code": "01", "label": "新規"}}
        });
        assert_eq!(messages(doc), Vec::<String>::new());
        assert_eq!(
            messages(
                json!({"Basic": {"Destination": {"Corporate number": "1180301018771"}}, "Extra": {}, "x-nta": "text"})
            ),
            vec![
                "document: Additional properties are not allowed ('Extra' was unexpected)",
                "x-nta: \"text\" is not of type \"object\"",
            ]
        );
        assert_eq!(
            messages(json!({"Finance": {"Content": {}}})),
            vec!["Finance (財務情報（C票）): {\"Content\":{}} is not of type \"array\""]
        );
        assert_eq!(
            messages(json!({})),
            vec!["document: {} has less than 1 property"]
        );
    }

    #[test]
    fn every_scope_block_is_in_the_root_schema() {
        let root: Value = serde_json::from_str(ROOT_SCHEMA).unwrap();
        let properties = root["properties"].as_object().unwrap();
        let mut names: Vec<&str> = properties.keys().map(String::as_str).collect();
        let mut blocks: Vec<&str> = SCOPES.iter().map(|(_, block)| *block).collect();
        names.sort_unstable();
        blocks.sort_unstable();
        assert_eq!(names, blocks);
    }

    #[test]
    fn the_prefecture_enum_is_the_47_names() {
        let basic: Value = serde_json::from_str(SCHEMA_FILES[1].1).unwrap();
        let names: Vec<&str> = basic["$defs"]["pref"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(names, PREFECTURES);
    }

    #[test]
    fn clones_share_one_compiled_validator_across_threads() {
        let schema = SCHEMA.clone();
        let handle = std::thread::spawn(move || {
            schema
                .is_valid(&json!({"Basic": {"Destination": {"Corporate number": "7123456789012"}}}))
        });
        assert!(handle.join().unwrap());
        assert!(Arc::ptr_eq(&SCHEMA.inner, &SCHEMA.clone().inner));
    }
}
