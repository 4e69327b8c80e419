//! The organisation workflow's REST answers as the pages read them: systems
//! (`/api/v1/systems`), published APIs (`/api/v1/published-apis`, `/api/v1/catalogue/{slug}`) and
//! API-use applications (`/api/v1/applications`). Serializable both ways: the server renders these
//! pages with the data and the browser hydrates from it.

use serde::{Deserialize, Serialize};

/// The application states, in the order the status filter offers them.
pub const STATUSES: [&str; 5] = ["pending", "approved", "rejected", "withdrawn", "revoked"];

/// Rate limit a new application asks for unless the requester changes it (calls per minute).
pub const DEFAULT_RATE_LIMIT: u32 = 60;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemView {
    pub client_id: String,
    pub name: String,
    pub organisation_id: i64,
    pub endpoint: String,
    pub public_key: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Systems {
    pub systems: Vec<SystemView>,
}

/// One API as the catalogue and the provider's own list show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiItem {
    pub slug: String,
    pub name: String,
    pub summary: String,
    pub provider: String,
    pub provider_client_id: String,
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub consent_required: bool,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub updated_at: String,
    /// Only in the provider's own list: `published` or `unpublished`.
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnApis {
    pub apis: Vec<ApiItem>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionView {
    pub version: String,
    pub created_at: String,
}

/// `GET /api/v1/catalogue/{slug}` (and the provider's `/api/v1/published-apis/{slug}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiDetailView {
    pub api: ApiItem,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub terms: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub path_template: String,
    #[serde(default)]
    pub versions: Vec<VersionView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    pub organisation_id: i64,
    pub organisation: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiRef {
    pub slug: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationView {
    pub id: i64,
    pub api: ApiRef,
    pub requester: Party,
    /// The requester's system (node client id).
    pub system: String,
    pub provider: Party,
    pub status: String,
    pub requested_scopes: Vec<String>,
    pub granted_scopes: Option<Vec<String>>,
    pub purpose: String,
    pub requested_rate_limit_per_minute: i32,
    pub granted_rate_limit_per_minute: Option<i32>,
    /// As typed, newlines kept: rendered as text.
    pub comment: String,
    /// `requester`, `provider` or `both` for the viewer's organisation; `None` for operators.
    pub side: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl ApplicationView {
    /// The viewer's organisation provides the API.
    pub fn viewer_provides(&self) -> bool {
        matches!(self.side.as_deref(), Some("provider" | "both"))
    }

    /// The viewer's organisation applied.
    pub fn viewer_requests(&self) -> bool {
        matches!(self.side.as_deref(), Some("requester" | "both"))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applications {
    pub applications: Vec<ApplicationView>,
}

/// One transition in an application's history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventView {
    pub id: i64,
    pub time: String,
    pub actor: String,
    pub actor_organisation_id: Option<i64>,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub comment: String,
    #[serde(default)]
    pub detail: serde_json::Value,
}

impl EventView {
    /// Scopes the transition recorded (submitted: requested; approved: granted).
    pub fn scopes(&self) -> Option<Vec<String>> {
        self.detail.get("scopes").and_then(|v| {
            v.as_array().map(|list| {
                list.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
        })
    }

    pub fn rate_limit(&self) -> Option<i64> {
        self.detail
            .get("rate_limit_per_minute")
            .and_then(|v| v.as_i64())
    }
}

/// `GET /api/v1/applications/{id}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApplicationDetail {
    pub application: ApplicationView,
    pub history: Vec<EventView>,
}

/// The answer to a submission or a transition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationChange {
    pub application: ApplicationView,
    #[serde(default)]
    pub changed: bool,
}

/// The standard-data scopes a provider may offer (name, standard-data block).
pub fn standard_scopes() -> &'static [(&'static str, &'static str)] {
    renkei_standard::SCOPES
}

/// Splits a list typed as text (commas, 、 or new lines) into its trimmed, non-empty items.
pub fn split_list(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in text.split([',', '、', '\n']) {
        let item = item.trim();
        if !item.is_empty() && !out.iter().any(|o| o == item) {
            out.push(item.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_typed_as_text_are_split_and_deduplicated() {
        assert_eq!(
            split_list(" 法人情報, 国税庁、法人情報\nCorporate registry ,, "),
            ["法人情報", "国税庁", "Corporate registry"]
        );
        assert!(split_list(" , \n").is_empty());
    }

    #[test]
    fn application_answers_decode() {
        let text = r#"{"application":{"id":3,"api":{"slug":"a","name":"A"},"requester":{"organisation_id":1,"organisation":"R"},"system":"s","provider":{"organisation_id":2,"organisation":"P"},"status":"approved","requested_scopes":["basic","x-nta"],"granted_scopes":["basic"],"purpose":"p","requested_rate_limit_per_minute":60,"granted_rate_limit_per_minute":30,"comment":"\u003cb\u003e\nx","side":"provider","created_at":"t","updated_at":"t"},"history":[{"id":1,"time":"2026-12-04T10:00:00.000+09:00","actor":"a@x","actor_organisation_id":2,"action":"approved","from_status":"pending","to_status":"approved","comment":"","detail":{"scopes":["basic"],"rate_limit_per_minute":30}}]}"#;
        let d: ApplicationDetail = serde_json::from_str(text).unwrap();
        assert_eq!(d.application.comment, "<b>\nx");
        assert!(d.application.viewer_provides() && !d.application.viewer_requests());
        assert_eq!(d.history[0].scopes(), Some(vec!["basic".to_owned()]));
        assert_eq!(d.history[0].rate_limit(), Some(30));
    }
}
