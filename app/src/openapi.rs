//! Reads an OpenAPI 3 document into the operation list the API detail page shows.

use serde_json::{Map, Value};

/// HTTP methods an OpenAPI path item may hold, in the order the page lists them.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];
/// `$ref` chains longer than this are treated as broken (guards against cycles).
const MAX_REF_DEPTH: usize = 8;

/// The parts of an OpenAPI document a reader needs to call the API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiDocument {
    /// The `openapi` field, e.g. `3.0.3`.
    pub openapi: String,
    pub title: String,
    pub version: String,
    pub operations: Vec<Operation>,
}

/// One method on one path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation {
    /// Upper case, e.g. `GET`.
    pub method: String,
    pub path: String,
    pub summary: String,
    pub description: String,
    pub parameters: Vec<Parameter>,
    pub responses: Vec<ResponseDoc>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parameter {
    pub name: String,
    /// `path`, `query`, `header` or `cookie`.
    pub location: String,
    pub required: bool,
    /// The schema in a few words, e.g. `string (pattern ^[0-9]{13}$)`.
    pub schema: String,
    pub description: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseDoc {
    /// `200`, `404`, `default`, …
    pub status: String,
    pub description: String,
    pub content_types: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OpenApiError {
    #[error("OpenAPI 文書が JSON として読めません / the OpenAPI document is not valid JSON: {0}")]
    Json(String),
    #[error(
        "OpenAPI 文書に `paths` オブジェクトがありません / the OpenAPI document has no `paths` object"
    )]
    NoPaths,
    #[error("`paths.{0}` はオブジェクトではありません / `paths.{0}` is not an object")]
    PathNotObject(String),
}

/// Parses `json` and lists its operations by path, then by method.
pub fn parse(json: &str) -> Result<ApiDocument, OpenApiError> {
    let doc: Value = serde_json::from_str(json).map_err(|e| OpenApiError::Json(e.to_string()))?;
    let paths = doc
        .get("paths")
        .and_then(Value::as_object)
        .ok_or(OpenApiError::NoPaths)?;

    let mut operations = Vec::new();
    for (path, item) in paths {
        let item = resolve(&doc, item);
        let item = item
            .as_object()
            .ok_or_else(|| OpenApiError::PathNotObject(path.clone()))?;
        let shared_params = item.get("parameters");
        for method in METHODS {
            let Some(op) = item.get(method).map(|op| resolve(&doc, op)) else {
                continue;
            };
            operations.push(Operation {
                method: method.to_ascii_uppercase(),
                path: path.clone(),
                summary: text(op, "summary"),
                description: text(op, "description"),
                parameters: parameters(&doc, shared_params, op.get("parameters")),
                responses: responses(&doc, op.get("responses")),
            });
        }
    }

    let info = doc.get("info");
    Ok(ApiDocument {
        openapi: text(&doc, "openapi"),
        title: info.map(|i| text(i, "title")).unwrap_or_default(),
        version: info.map(|i| text(i, "version")).unwrap_or_default(),
        operations,
    })
}

/// Operation-level parameters override path-level ones with the same name and location.
fn parameters(doc: &Value, shared: Option<&Value>, own: Option<&Value>) -> Vec<Parameter> {
    let mut out: Vec<Parameter> = Vec::new();
    for list in [shared, own].into_iter().flatten() {
        for raw in list.as_array().into_iter().flatten() {
            let p = resolve(doc, raw);
            let param = Parameter {
                name: text(p, "name"),
                location: text(p, "in"),
                required: p.get("required").and_then(Value::as_bool).unwrap_or(false),
                schema: p
                    .get("schema")
                    .map(|s| schema_summary(doc, s))
                    .unwrap_or_default(),
                description: text(p, "description"),
            };
            out.retain(|q| !(q.name == param.name && q.location == param.location));
            out.push(param);
        }
    }
    out
}

fn responses(doc: &Value, raw: Option<&Value>) -> Vec<ResponseDoc> {
    let Some(map) = raw.and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut out: Vec<ResponseDoc> = map
        .iter()
        .map(|(status, r)| {
            let r = resolve(doc, r);
            ResponseDoc {
                status: status.clone(),
                description: text(r, "description"),
                content_types: r
                    .get("content")
                    .and_then(Value::as_object)
                    .map(|c| c.keys().cloned().collect())
                    .unwrap_or_default(),
            }
        })
        .collect();
    // Numeric codes in order, then `default` and patterns such as `4XX`.
    out.sort_by_key(|r| {
        (
            r.status.parse::<u16>().unwrap_or(u16::MAX),
            r.status.clone(),
        )
    });
    out
}

fn schema_summary(doc: &Value, schema: &Value) -> String {
    summary_at(doc, schema, 0)
}

/// A schema in a few words. OpenAPI 3.1 (JSON Schema 2020-12) writes a nullable type as a `type` list
/// (`["string", "null"]`) or as `oneOf` / `anyOf` alternatives; both read as `string | null`.
fn summary_at(doc: &Value, schema: &Value, depth: usize) -> String {
    if depth > MAX_REF_DEPTH {
        return String::new();
    }
    let named = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.rsplit('/').next())
        .map(str::to_string);
    let schema = resolve(doc, schema);
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let mut out = if let Some(name) = named {
        name
    } else if !types.is_empty() {
        types
            .iter()
            .map(|ty| match (*ty, schema.get("items")) {
                ("array", Some(items)) => {
                    format!("array of {}", summary_at(doc, items, depth + 1))
                }
                (ty, _) => ty.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" | ")
    } else {
        ["oneOf", "anyOf"]
            .iter()
            .filter_map(|key| schema.get(*key).and_then(Value::as_array))
            .flatten()
            .map(|alternative| summary_at(doc, alternative, depth + 1))
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" | ")
    };
    if let Some(format) = schema.get("format").and_then(Value::as_str) {
        out = format!("{out} ({format})");
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        out = format!("{out} (pattern {pattern})");
    }
    out.trim().to_string()
}

/// Follows local `$ref`s (`#/components/...`); anything else is returned as it is.
fn resolve<'a>(doc: &'a Value, mut value: &'a Value) -> &'a Value {
    for _ in 0..MAX_REF_DEPTH {
        let Some(target) = value
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
            .and_then(|pointer| doc.pointer(pointer))
        else {
            return value;
        };
        value = target;
    }
    value
}

fn text(value: &Value, key: &str) -> String {
    value
        .as_object()
        .and_then(|o: &Map<String, Value>| o.get(key))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r##"{
      "openapi": "3.0.3",
      "info": {"title": "法人基本情報 API", "version": "1.0.0"},
      "paths": {
        "/v1/corporations/{number}": {
          "parameters": [{"$ref": "#/components/parameters/Number"}],
          "get": {
            "summary": "法人の基本情報を取得 / Get a corporation",
            "parameters": [
              {"name": "fields", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}}
            ],
            "responses": {
              "404": {"$ref": "#/components/responses/NotFound"},
              "200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Hojin"}}}},
              "default": {"description": "Error"}
            }
          },
          "patch": {"summary": "Update", "responses": {"200": {"description": "Updated"}}}
        }
      },
      "components": {
        "parameters": {
          "Number": {"name": "number", "in": "path", "required": true, "description": "法人番号 / corporate number",
                     "schema": {"type": "string", "pattern": "^[0-9]{13}$"}}
        },
        "responses": {"NotFound": {"description": "Not found", "content": {"application/json": {}}}},
        "schemas": {"Hojin": {"type": "object"}}
      }
    }"##;

    #[test]
    fn lists_operations_with_resolved_parameters_and_sorted_responses() {
        let doc = parse(DOC).expect("valid document");
        assert_eq!(doc.openapi, "3.0.3");
        assert_eq!(doc.title, "法人基本情報 API");
        assert_eq!(doc.version, "1.0.0");
        let methods: Vec<_> = doc.operations.iter().map(|o| o.method.as_str()).collect();
        assert_eq!(methods, ["GET", "PATCH"]);

        let get = &doc.operations[0];
        assert_eq!(get.path, "/v1/corporations/{number}");
        assert_eq!(get.summary, "法人の基本情報を取得 / Get a corporation");
        assert_eq!(
            get.parameters,
            vec![
                Parameter {
                    name: "number".into(),
                    location: "path".into(),
                    required: true,
                    schema: "string (pattern ^[0-9]{13}$)".into(),
                    description: "法人番号 / corporate number".into(),
                },
                Parameter {
                    name: "fields".into(),
                    location: "query".into(),
                    required: false,
                    schema: "array of string".into(),
                    description: String::new(),
                },
            ]
        );
        let statuses: Vec<_> = get.responses.iter().map(|r| r.status.as_str()).collect();
        assert_eq!(statuses, ["200", "404", "default"]);
        assert_eq!(get.responses[0].content_types, ["application/json"]);
        assert_eq!(get.responses[1].description, "Not found");
    }

    #[test]
    fn operation_parameter_overrides_path_parameter_of_same_name() {
        let json = r#"{"paths": {"/x/{id}": {
            "parameters": [{"name": "id", "in": "path", "description": "shared"}],
            "get": {"parameters": [{"name": "id", "in": "path", "description": "own"}]}
        }}}"#;
        let doc = parse(json).expect("valid document");
        let params = &doc.operations[0].parameters;
        assert_eq!(params.len(), 1);
        assert_eq!(params[0].description, "own");
    }

    #[test]
    fn rejects_documents_without_paths_or_with_bad_json() {
        assert_eq!(parse(r#"{"openapi": "3.0.3"}"#), Err(OpenApiError::NoPaths));
        assert_eq!(
            parse(r#"{"paths": {"/a": 3}}"#),
            Err(OpenApiError::PathNotObject("/a".into()))
        );
        assert!(matches!(parse("{"), Err(OpenApiError::Json(_))));
    }

    #[test]
    fn self_referencing_ref_does_not_loop() {
        let json = r##"{"paths": {"/a": {"get": {"parameters": [{"$ref": "#/paths/~1a/get/parameters/0"}]}}}}"##;
        let doc = parse(json).expect("valid document");
        assert_eq!(doc.operations[0].parameters[0].name, "");
    }

    /// OpenAPI 3.1 as renkei's own documents are generated (utoipa): `type` lists, `oneOf` with
    /// `null`, schemas under `components` referenced from request bodies.
    #[test]
    fn reads_openapi_3_1_type_lists_and_alternatives() {
        let json = r##"{
          "openapi": "3.1.0",
          "info": {"title": "renkei node API", "version": "0.1.0"},
          "paths": {"/v1/corporations": {"get": {
            "parameters": [
              {"name": "page", "in": "query", "required": false,
               "schema": {"type": ["integer", "null"], "format": "int64", "minimum": 0}},
              {"name": "tags", "in": "query", "schema": {"type": ["array", "null"], "items": {"type": "string"}}},
              {"name": "body", "in": "query", "schema": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Decision"}]}},
              {"name": "loop", "in": "query", "schema": {"$ref": "#/components/schemas/Loop"}}
            ],
            "responses": {"200": {"description": "A page"}}
          }}},
          "components": {"schemas": {
            "Decision": {"type": "object"},
            "Loop": {"type": "array", "items": {"$ref": "#/components/schemas/Loop"}}
          }}
        }"##;
        let doc = parse(json).expect("valid 3.1 document");
        assert_eq!(doc.openapi, "3.1.0");
        let schemas: Vec<_> = doc.operations[0]
            .parameters
            .iter()
            .map(|p| p.schema.as_str())
            .collect();
        assert_eq!(
            schemas,
            [
                "integer | null (int64)",
                "array of string | null",
                "null | Decision",
                "Loop"
            ]
        );
    }
}
