//! Reads an OpenAPI 3 document into the operation list the API detail page shows.

use serde_json::{Map, Value};

/// HTTP methods an OpenAPI path item may hold, in the order the page lists them.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];
/// `$ref` chains longer than this are treated as broken (guards against cycles).
const MAX_REF_DEPTH: usize = 8;
/// Body schemas are shown this many levels deep; deeper parts are summarised by their type.
const MAX_SCHEMA_DEPTH: usize = 8;
/// At most this many properties are shown per body (a huge document cannot flood the page).
const MAX_SCHEMA_NODES: usize = 300;

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
    pub request_body: Option<BodyDoc>,
    pub responses: Vec<ResponseDoc>,
}

/// A request or response body: its media type and the schema, expanded into properties.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BodyDoc {
    /// e.g. `application/json`.
    pub content_type: String,
    pub required: bool,
    pub description: String,
    pub schema: SchemaNode,
}

/// One level of a schema: the root, a property, or the items of an array.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SchemaNode {
    /// The property name (empty for the root and for array items).
    pub name: String,
    /// The type in a few words, e.g. `object`, `string (date)`, `array of Officer`; a named
    /// component is shown by its name.
    pub ty: String,
    pub required: bool,
    pub description: String,
    /// Properties (for an array: the properties of its items).
    pub children: Vec<SchemaNode>,
    /// Refers to a component already being expanded above it (shown by name, not again).
    pub recursive: bool,
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
    /// The schema of the first content type that has one (JSON preferred).
    pub schema: Option<SchemaNode>,
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
                request_body: op
                    .get("requestBody")
                    .and_then(|b| body(&doc, resolve(&doc, b))),
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
                schema: body(doc, r).map(|b| b.schema),
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

/// The body of a request body or response object: the JSON media type if there is one, else the
/// first with a schema.
fn body(doc: &Value, holder: &Value) -> Option<BodyDoc> {
    let content = holder.get("content").and_then(Value::as_object)?;
    let (content_type, media) = content
        .iter()
        .filter(|(_, m)| m.get("schema").is_some())
        .min_by_key(|(ct, _)| !ct.contains("json"))?;
    let mut budget = MAX_SCHEMA_NODES;
    let mut seen = Vec::new();
    let schema = expand(
        doc,
        media.get("schema")?,
        String::new(),
        false,
        &mut seen,
        0,
        &mut budget,
    );
    Some(BodyDoc {
        content_type: content_type.clone(),
        required: holder
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        description: text(holder, "description"),
        schema,
    })
}

/// One schema as a tree of properties. `seen` holds the components being expanded above this
/// one: meeting one again marks the node `recursive` instead of looping.
fn expand(
    doc: &Value,
    raw: &Value,
    name: String,
    required: bool,
    seen: &mut Vec<String>,
    depth: usize,
    budget: &mut usize,
) -> SchemaNode {
    let ref_name = raw
        .get("$ref")
        .and_then(Value::as_str)
        .map(|r| r.rsplit('/').next().unwrap_or(r).to_string());
    let mut node = SchemaNode {
        name,
        ty: schema_summary(doc, raw),
        required,
        description: text(raw, "description"),
        ..Default::default()
    };
    if let Some(r) = &ref_name
        && seen.contains(r)
    {
        node.recursive = true;
        return node;
    }
    let schema = resolve(doc, raw);
    if node.description.is_empty() {
        node.description = text(schema, "description");
    }
    if depth >= MAX_SCHEMA_DEPTH || *budget == 0 {
        return node;
    }
    // An array of a component being expanded above: recursive as well.
    let items_ref = schema
        .get("items")
        .and_then(|i| i.get("$ref"))
        .and_then(Value::as_str)
        .map(|r| r.rsplit('/').next().unwrap_or(r));
    if items_ref.is_some_and(|r| seen.iter().any(|s| s == r)) {
        node.recursive = true;
        return node;
    }
    if let Some(r) = &ref_name {
        seen.push(r.clone());
    }
    node.children = properties(doc, schema, seen, depth, budget);
    if ref_name.is_some() {
        seen.pop();
    }
    node
}

/// The properties of an object schema (also through `allOf` and the `items` of an array).
fn properties(
    doc: &Value,
    schema: &Value,
    seen: &mut Vec<String>,
    depth: usize,
    budget: &mut usize,
) -> Vec<SchemaNode> {
    if let Some(items) = schema.get("items") {
        let item = expand(doc, items, String::new(), false, seen, depth + 1, budget);
        return item.children;
    }
    let mut out = Vec::new();
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        for part in parts {
            let part = expand(doc, part, String::new(), false, seen, depth, budget);
            out.extend(part.children);
        }
    }
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (name, prop) in props {
            if *budget == 0 {
                break;
            }
            *budget -= 1;
            let is_required = required.contains(&name.as_str());
            out.push(expand(
                doc,
                prop,
                name.clone(),
                is_required,
                seen,
                depth + 1,
                budget,
            ));
        }
    }
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
        let alternatives = ["oneOf", "anyOf"]
            .iter()
            .filter_map(|key| schema.get(*key).and_then(Value::as_array))
            .flatten()
            .map(|alternative| summary_at(doc, alternative, depth + 1))
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" | ");
        let object = schema.get("properties").is_some() || schema.get("allOf").is_some();
        if alternatives.is_empty() && object {
            "object".to_string()
        } else {
            alternatives
        }
    };
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let values: Vec<String> = values
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string())
            })
            .collect();
        out = format!("{out} ({})", values.join(" | "));
    }
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
    fn bodies_expand_refs_into_properties_with_required_marks_and_stop_at_cycles() {
        let json = r##"{
          "paths": {"/people": {"post": {
            "requestBody": {"required": true, "content": {
              "text/plain": {"schema": {"type": "string"}},
              "application/json": {"schema": {"$ref": "#/components/schemas/Person"}}}},
            "responses": {"201": {"description": "Created", "content": {"application/json":
              {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Person"}}}}}}
          }}},
          "components": {"schemas": {
            "Person": {"type": "object", "required": ["name"], "description": "A person",
              "properties": {
                "name": {"type": "string", "description": "Full name"},
                "born": {"type": "string", "format": "date"},
                "kind": {"type": "string", "enum": ["a", "b"]},
                "parent": {"$ref": "#/components/schemas/Person"},
                "address": {"allOf": [{"$ref": "#/components/schemas/Address"}]}
              }},
            "Address": {"type": "object", "required": ["city"], "properties": {"city": {"type": "string"}}}
          }}
        }"##;
        let doc = parse(json).expect("valid document");
        let op = &doc.operations[0];
        let body = op.request_body.as_ref().expect("request body");
        assert_eq!(body.content_type, "application/json");
        assert!(body.required);
        assert_eq!(body.schema.ty, "Person");
        assert_eq!(body.schema.description, "A person");
        let props: Vec<(&str, &str, bool)> = body
            .schema
            .children
            .iter()
            .map(|p| (p.name.as_str(), p.ty.as_str(), p.required))
            .collect();
        assert_eq!(
            props,
            [
                ("name", "string", true),
                ("born", "string (date)", false),
                ("kind", "string (a | b)", false),
                ("parent", "Person", false),
                ("address", "object", false),
            ]
        );
        assert_eq!(body.schema.children[0].description, "Full name");
        let parent = &body.schema.children[3];
        assert!(parent.recursive && parent.children.is_empty());
        assert_eq!(body.schema.children[4].children[0].name, "city");
        assert!(body.schema.children[4].children[0].required);

        let response = op.responses[0].schema.as_ref().expect("response schema");
        assert_eq!(response.ty, "array of Person");
        assert_eq!(response.children[0].name, "name");
        // Person's parent is a Person again: shown by name, not expanded.
        assert!(response.children[3].recursive);
    }

    #[test]
    fn mutually_recursive_components_terminate() {
        let json = r##"{"paths": {"/a": {"get": {"responses": {"200": {"description": "x",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/A"}}}}}}}},
          "components": {"schemas": {
            "A": {"type": "object", "properties": {"b": {"$ref": "#/components/schemas/B"}}},
            "B": {"type": "object", "properties": {"a": {"$ref": "#/components/schemas/A"}}}}}}"##;
        let doc = parse(json).expect("valid document");
        let schema = doc.operations[0].responses[0].schema.as_ref().unwrap();
        let b = &schema.children[0];
        assert_eq!((b.name.as_str(), b.recursive), ("b", false));
        let a = &b.children[0];
        assert_eq!(
            (a.name.as_str(), a.ty.as_str(), a.recursive),
            ("a", "A", true)
        );
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
