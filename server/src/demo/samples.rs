//! Sample catalogue entries of the demo: published APIs with their own categories, so searching by
//! several categories has something to combine. They describe themselves as samples; no node serves
//! them (their provider client id is registered nowhere, so a call through a node is refused).

use crate::storage::entity::portal_api;
use serde_json::{Value, json};

/// The client id the sample entries name; no node has it.
pub const SAMPLE_PROVIDER_ID: &str = "sample-provider";

struct Sample {
    slug: &'static str,
    name: &'static str,
    summary: &'static str,
    categories: &'static [&'static str],
    scope: &'static str,
    block: &'static str,
    consent_required: bool,
    /// The block's item properties: name, type, required, description.
    properties: &'static [(&'static str, &'static str, bool, &'static str)],
}

const SAMPLES: [Sample; 3] = [
    Sample {
        slug: "sample-finance",
        name: "財務情報（サンプル掲載）/ Financial statements (sample entry)",
        summary: "カタログ表示用のサンプルです。実際には提供されていません。A sample catalogue entry: no node serves it.",
        categories: &["財務", "決算", "Sample"],
        scope: "finance",
        block: "Finance",
        consent_required: true,
        properties: &[
            ("Fiscal year", "string", true, "会計年度 / fiscal year"),
            (
                "Net sales",
                "integer",
                false,
                "売上高（円）/ net sales in yen",
            ),
            (
                "Ordinary income",
                "integer",
                false,
                "経常利益（円）/ ordinary income in yen",
            ),
        ],
    },
    Sample {
        slug: "sample-certificates",
        name: "許認可・証明書（サンプル掲載）/ Licences and certificates (sample entry)",
        summary: "カタログ表示用のサンプルです。実際には提供されていません。A sample catalogue entry: no node serves it.",
        categories: &["許認可", "Sample"],
        scope: "certificate",
        block: "Certificate",
        consent_required: false,
        properties: &[
            (
                "Certificate name",
                "string",
                true,
                "証明書の名称 / name of the certificate",
            ),
            (
                "Issued on",
                "string",
                false,
                "交付日 / date of issue (YYYY-MM-DD)",
            ),
        ],
    },
    Sample {
        slug: "sample-offices",
        name: "事業所一覧（サンプル掲載）/ Offices (sample entry)",
        summary: "カタログ表示用のサンプルです。実際には提供されていません。A sample catalogue entry: no node serves it.",
        categories: &["事業所", "法人基本情報", "Sample"],
        scope: "office_list",
        block: "Office list",
        consent_required: false,
        properties: &[
            ("Office name", "string", true, "事業所名 / office name"),
            ("Address", "string", false, "所在地 / address"),
        ],
    },
];

fn openapi(s: &Sample) -> Value {
    let required: Vec<&str> = s.properties.iter().filter(|p| p.2).map(|p| p.0).collect();
    let properties: serde_json::Map<String, Value> = s
        .properties
        .iter()
        .map(|(name, ty, _, description)| {
            (
                (*name).to_owned(),
                json!({ "type": ty, "description": description }),
            )
        })
        .collect();
    let item = s.block.replace(' ', "");
    json!({
        "openapi": "3.0.3",
        "info": { "title": s.name, "version": "0.1.0", "description": s.summary },
        "paths": {
            format!("/v1/corporations/{{number}}/{}", s.scope): {
                "get": {
                    "summary": format!("{} ブロックの取得（サンプル）/ Get the {} block (sample)", s.block, s.block),
                    "parameters": [{
                        "name": "number", "in": "path", "required": true,
                        "description": "13 桁の法人番号 / 13-digit corporate number",
                        "schema": { "type": "string", "pattern": "^[1-9][0-9]{12}$" }
                    }],
                    "responses": {
                        "200": {
                            "description": "標準データ / standard data",
                            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Answer" } } }
                        },
                        "404": { "description": "該当なし / not found" }
                    }
                }
            }
        },
        "components": { "schemas": {
            "Answer": {
                "type": "object", "required": ["data"],
                "properties": { "data": {
                    "type": "object", "required": [s.block],
                    "properties": { s.block: { "type": "array", "items": { "$ref": format!("#/components/schemas/{item}") } } }
                } }
            },
            item: { "type": "object", "required": required, "properties": properties }
        } }
    })
}

/// The sample entries, published.
pub fn entries() -> Vec<portal_api::Model> {
    SAMPLES
        .iter()
        .map(|s| portal_api::Model {
            id: 0,
            slug: s.slug.to_owned(),
            name: s.name.to_owned(),
            summary: s.summary.to_owned(),
            description: "このエントリはカタログの検索と表示を試すためのサンプルで、データは提供されません。\n\n\
                This entry is a sample for trying the catalogue's search and pages; no data is served."
                .to_owned(),
            provider: "サンプル提供者 (sample entries)".to_owned(),
            provider_client_id: SAMPLE_PROVIDER_ID.to_owned(),
            categories: json!(s.categories).to_string(),
            scopes: json!([s.scope]).to_string(),
            consent_required: s.consent_required,
            path_template: format!("/v1/corporations/{{number}}/{}", s.scope),
            openapi: serde_json::to_string_pretty(&openapi(s)).unwrap_or_default(),
            organisation_id: None,
            terms: "サンプルのため利用できません / A sample: not available for use.".to_owned(),
            status: crate::portal::catalogue::PUBLISHED.to_owned(),
            version: "0.1.0".to_owned(),
            updated_at: String::new(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn samples_are_published_with_distinct_categories_and_readable_documents() {
        let entries = super::entries();
        assert_eq!(entries.len(), 3);
        for e in &entries {
            assert!(
                e.name.contains("サンプル") && e.name.contains("sample"),
                "{}",
                e.name
            );
            let doc: serde_json::Value = serde_json::from_str(&e.openapi).unwrap();
            assert_eq!(doc["openapi"], "3.0.3");
        }
        assert!(entries[0].categories.contains("財務"));
        assert!(entries[1].categories.contains("許認可"));
    }
}
