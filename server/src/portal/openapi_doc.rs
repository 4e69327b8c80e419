//! Checks a provider's OpenAPI 3 document on save: JSON or YAML, structurally an OpenAPI 3.0 document
//! (the `openapiv3` model) or 3.1 document (the `oas3` model; renkei's own generated documents are
//! 3.1), with at least one path. Errors name the place that is wrong.

use serde_json::Value;

/// A document that passed: stored as JSON text; `version` is its `info.version`.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedDocument {
    pub json: String,
    pub version: String,
    pub title: String,
}

/// Why a document was refused: `at` is the JSON path of the problem (`$` for the whole document).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {problem}")]
pub struct DocumentError {
    pub at: String,
    pub problem: String,
}

fn refuse(at: impl Into<String>, problem: impl Into<String>) -> DocumentError {
    DocumentError {
        at: at.into(),
        problem: problem.into(),
    }
}

/// Largest document accepted (the JSON body limit is 1 MiB; the document is one field of it).
pub const MAX_DOCUMENT_BYTES: usize = 900 * 1024;

/// Parses `text` (JSON when it starts with `{`, else YAML) and checks it.
pub fn check_text(text: &str) -> Result<CheckedDocument, DocumentError> {
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err(refuse(
            "$",
            format!("larger than {MAX_DOCUMENT_BYTES} bytes"),
        ));
    }
    let trimmed = text.trim_start();
    let value: Value = if trimmed.starts_with('{') {
        serde_json::from_str(trimmed).map_err(|e| {
            refuse(
                "$",
                format!(
                    "not valid JSON (line {}, column {}): {e}",
                    e.line(),
                    e.column()
                ),
            )
        })?
    } else {
        serde_yaml_ng::from_str(trimmed).map_err(|e| {
            let at = e
                .location()
                .map(|l| format!(" (line {}, column {})", l.line(), l.column()))
                .unwrap_or_default();
            refuse("$", format!("not valid JSON or YAML{at}: {e}"))
        })?
    };
    check_value(value)
}

/// Checks an already parsed document (a JSON object given inline).
pub fn check_value(value: Value) -> Result<CheckedDocument, DocumentError> {
    let Some(object) = value.as_object() else {
        return Err(refuse("$", "the document must be an object"));
    };
    let dialect = match object.get("openapi") {
        Some(Value::String(v)) if v.starts_with("3.0.") => Dialect::V30,
        Some(Value::String(v)) if v.starts_with("3.1.") => Dialect::V31,
        Some(Value::String(v)) => {
            return Err(refuse(
                "$.openapi",
                format!("version {v:?} is not supported: use OpenAPI 3.0.x or 3.1.x"),
            ));
        }
        Some(_) => return Err(refuse("$.openapi", "must be a string such as \"3.0.3\"")),
        None => {
            return Err(refuse(
                "$.openapi",
                "missing: an OpenAPI 3 document starts with openapi: 3.0.x or 3.1.x",
            ));
        }
    };
    // Each version through a model of its own: 3.0 (`openapiv3`) and 3.1 (`oas3`, JSON Schema 2020-12
    // schemas: `type` lists, `const`, `$defs`, webhooks…).
    let (title, version, paths): (String, String, Vec<String>) = match dialect {
        Dialect::V30 => {
            let d: openapiv3::OpenAPI = typed(
                &value,
                narrower::<openapiv3::PathItem, openapiv3::Parameter, openapiv3::Schema>,
            )?;
            let paths = d.paths.paths.keys().cloned().collect();
            (d.info.title, d.info.version, paths)
        }
        Dialect::V31 => {
            let d: oas3::Spec = typed(
                &value,
                narrower::<oas3::spec::PathItem, oas3::spec::Parameter, oas3::spec::ObjectSchema>,
            )?;
            let paths = d.paths.iter().flat_map(|p| p.keys().cloned()).collect();
            (d.info.title, d.info.version, paths)
        }
    };
    if title.trim().is_empty() {
        return Err(refuse("$.info.title", "must not be empty"));
    }
    if version.trim().is_empty() {
        return Err(refuse("$.info.version", "must not be empty"));
    }
    if paths.is_empty() {
        return Err(refuse("$.paths", "the document describes no operation"));
    }
    for path in &paths {
        if !path.starts_with('/') {
            return Err(refuse(
                format!("$.paths.{path}"),
                "a path must start with /",
            ));
        }
    }
    Ok(CheckedDocument {
        json: serde_json::to_string(&value).map_err(|e| refuse("$", e.to_string()))?,
        version: version.trim().to_owned(),
        title,
    })
}

/// The OpenAPI versions accepted.
#[derive(Clone, Copy)]
enum Dialect {
    V30,
    V31,
}

/// Deserialises the whole document as `T`; on failure the error names the deepest place found.
fn typed<T: serde::de::DeserializeOwned>(
    value: &Value,
    narrower: fn(&Value, &str) -> Option<DocumentError>,
) -> Result<T, DocumentError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let at = if path == "." {
            "$".to_owned()
        } else {
            format!("$.{path}")
        };
        narrower(value, &path).unwrap_or_else(|| refuse(at, e.inner().to_string()))
    })
}

/// The error at `place` (`at` and what), as `$.a.b` with the inner path after it.
fn typed_error<T: serde::de::DeserializeOwned>(
    value: &Value,
    place: &str,
) -> Option<(String, String)> {
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(_) => None,
        Err(e) => {
            let inner = e.path().to_string();
            let at = if inner == "." {
                place.to_owned()
            } else {
                format!("{place}.{inner}")
            };
            Some((at, e.inner().to_string()))
        }
    }
}

/// `$ref`-or-object places (`ReferenceOr`, untagged) hide where inside them deserialisation failed;
/// this retries the paths, their parameters and the component schemas one by one, as the concrete
/// type of the document's version (path item, parameter, schema), to name the exact place.
fn narrower<PathItem, Parameter, Schema>(value: &Value, path: &str) -> Option<DocumentError>
where
    PathItem: serde::de::DeserializeOwned,
    Parameter: serde::de::DeserializeOwned,
    Schema: serde::de::DeserializeOwned,
{
    let not_ref = |v: &Value| v.get("$ref").is_none();
    if path == "paths" || path.starts_with("paths.") {
        for (name, item) in value.get("paths")?.as_object()? {
            let place = format!("$.paths.{name}");
            let Some((at, problem)) = typed_error::<PathItem>(item, &place) else {
                continue;
            };
            // Parameters are refs-or-objects too.
            for (method, op) in item.as_object()? {
                let list = if method == "parameters" {
                    Some(op)
                } else {
                    op.get("parameters")
                };
                for (i, p) in list
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    let base = if method == "parameters" {
                        format!("{place}.parameters[{i}]")
                    } else {
                        format!("{place}.{method}.parameters[{i}]")
                    };
                    if not_ref(p)
                        && let Some((at, problem)) = typed_error::<Parameter>(p, &base)
                    {
                        return Some(refuse(at, problem));
                    }
                }
            }
            return Some(refuse(at, problem));
        }
    }
    if path.starts_with("components") {
        let schemas = value.get("components")?.get("schemas")?.as_object()?;
        for (name, schema) in schemas {
            if not_ref(schema)
                && let Some((at, problem)) =
                    typed_error::<Schema>(schema, &format!("$.components.schemas.{name}"))
            {
                return Some(refuse(at, problem));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD_YAML: &str = "openapi: 3.0.3\ninfo:\n  title: Test\n  version: 2.1.0\npaths:\n  /v1/things/{id}:\n    get:\n      parameters:\n        - name: id\n          in: path\n          required: true\n          schema: { type: string }\n      responses:\n        '200': { description: ok }\n";

    #[test]
    fn yaml_and_json_documents_pass() {
        let doc = check_text(GOOD_YAML).unwrap();
        assert_eq!(doc.version, "2.1.0");
        let again = check_text(&doc.json).unwrap();
        assert_eq!(again, doc);
        let demo = check_text(include_str!("../demo/nta-corporations.openapi.json")).unwrap();
        assert_eq!(demo.version, "1.0.0");
    }

    #[test]
    fn errors_name_the_place() {
        let at = |text: &str| check_text(text).unwrap_err().at;
        assert_eq!(at("{\"info\": {}}"), "$.openapi");
        assert_eq!(
            at("openapi: 2.0.0\ninfo: {title: a, version: '1'}\npaths: {}"),
            "$.openapi"
        );
        assert_eq!(
            at("openapi: 3.2.0\ninfo: {title: a, version: '1'}\npaths: {}"),
            "$.openapi"
        );
        assert_eq!(at("openapi: 3.0.3\npaths: {}"), "$");
        assert_eq!(at("openapi: 3.0.3\ninfo: {title: a}\npaths: {}"), "$.info");
        assert_eq!(
            at("openapi: 3.0.3\ninfo: {title: a, version: '1'}\npaths: {}"),
            "$.paths"
        );
        let wrong_param = GOOD_YAML.replace("in: path", "in: nowhere");
        assert!(
            at(&wrong_param).starts_with("$.paths./v1/things/{id}.get.parameters"),
            "{}",
            at(&wrong_param)
        );
        assert_eq!(at("{ not json"), "$");
        assert_eq!(at("- a\n- b"), "$");
    }

    /// OpenAPI 3.1: JSON Schema 2020-12 schemas pass, and errors still name the place.
    #[test]
    fn openapi_3_1_documents_are_checked_too() {
        let good = "openapi: 3.1.0\ninfo:\n  title: T31\n  version: 0.3.0\n  license: {name: Apache-2.0, identifier: Apache-2.0}\npaths:\n  /v1/things/{id}:\n    get:\n      parameters:\n        - name: id\n          in: path\n          required: true\n          schema: { type: [string, 'null'], const: x }\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: { $ref: '#/components/schemas/Thing' }\ncomponents:\n  schemas:\n    Thing:\n      type: object\n      properties:\n        tags: { type: array, items: { type: string }, examples: [[a]] }\n";
        let doc = check_text(good).unwrap();
        assert_eq!((doc.title.as_str(), doc.version.as_str()), ("T31", "0.3.0"));
        assert_eq!(check_text(&doc.json).unwrap(), doc);
        let at = |text: &str| check_text(text).unwrap_err().at;
        assert_eq!(
            at("openapi: 3.1.0\ninfo: {title: a, version: '1'}\npaths: {}"),
            "$.paths"
        );
        assert_eq!(
            at("openapi: 3.1.0\ninfo: {title: '', version: '1'}\npaths: {/a: {}}"),
            "$.info.title"
        );
        assert_eq!(
            at("openapi: 3.1.0\ninfo: {title: a, version: '1'}\npaths: {a: {}}"),
            "$.paths.a"
        );
        let wrong_param = good.replace("in: path", "in: nowhere");
        assert!(
            at(&wrong_param).starts_with("$.paths./v1/things/{id}.get.parameters"),
            "{}",
            at(&wrong_param)
        );
    }

    /// renkei's own generated documents (utoipa, 3.1) pass the check a provider's upload gets.
    #[test]
    fn the_generated_documents_pass() {
        for (json, title) in [
            (crate::openapi::portal_json(), "renkei portal API"),
            (crate::openapi::node_json(), "renkei node API"),
        ] {
            let doc = check_text(json).unwrap_or_else(|e| panic!("{title}: {e}"));
            assert_eq!(doc.title, title);
            assert_eq!(doc.version, env!("CARGO_PKG_VERSION"));
        }
    }
}
