//! Builds and serves each node's signed configuration bundle from the portal's tables.

use super::{PortalError, PortalState};
use crate::{
    api_error::ApiError,
    bundle::{self, Application, BundleApi, BundleNode, Member, NodeBundle, PriorConsent},
    storage::entity::{portal_api, portal_application, portal_node, portal_prior_consent},
};
use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, sea_query::OnConflict};
use std::sync::Arc;

/// Path of a node's bundle; `{client_id}` is the node's own id.
pub const BUNDLE_PATH: &str = "/api/v1/nodes/{client_id}/bundle";

pub fn bundle_path(client_id: &str) -> String {
    BUNDLE_PATH.replace("{client_id}", client_id)
}

/// Status of an application that reaches the bundles.
pub const APPROVED: &str = "approved";
pub const REVOKED: &str = "revoked";

/// An approval as it reaches the bundles (the application workflow writes it on approval).
#[derive(Clone, Debug)]
pub struct NewApplication {
    pub requester: String,
    pub api: String,
    pub scopes: Vec<String>,
    pub rate_limit_per_minute: u32,
}

#[derive(Clone, Debug)]
pub struct NewPriorConsent {
    pub corporate_number: String,
    pub requester: String,
    pub api: String,
    pub scopes: Vec<String>,
    pub purpose: String,
    /// `YYYY-MM-DD`.
    pub until: String,
}

fn json_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

/// Writes an approval into the table the bundles are built from, on `db` (a transaction of the
/// application workflow, or the portal's database).
pub async fn write_approval(
    db: &impl sea_orm::ConnectionTrait,
    app: NewApplication,
) -> Result<(), sea_orm::DbErr> {
    use portal_application::Column as C;
    let row = portal_application::ActiveModel {
        id: Default::default(),
        requester: Set(app.requester),
        api: Set(app.api),
        scopes: Set(serde_json::json!(app.scopes).to_string()),
        rate_limit_per_minute: Set(i32::try_from(app.rate_limit_per_minute).unwrap_or(i32::MAX)),
        status: Set(APPROVED.to_owned()),
        updated_at: Set(crate::jst::now_rfc3339()),
    };
    portal_application::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([C::Requester, C::Api])
                .update_columns([C::Scopes, C::RateLimitPerMinute, C::Status, C::UpdatedAt])
                .to_owned(),
        )
        .exec(db)
        .await?;
    Ok(())
}

/// Marks `requester`'s approval for `api` revoked, on `db`.
pub async fn write_revocation(
    db: &impl sea_orm::ConnectionTrait,
    requester: &str,
    api: &str,
) -> Result<(), sea_orm::DbErr> {
    use portal_application::Column as C;
    portal_application::Entity::update_many()
        .col_expr(C::Status, sea_orm::sea_query::Expr::value(REVOKED))
        .col_expr(
            C::UpdatedAt,
            sea_orm::sea_query::Expr::value(crate::jst::now_rfc3339()),
        )
        .filter(C::Requester.eq(requester))
        .filter(C::Api.eq(api))
        .exec(db)
        .await?;
    Ok(())
}

impl PortalState {
    /// Approves (or re-approves, with new terms) `requester`'s use of `api`.
    pub async fn approve_application(&self, app: NewApplication) -> Result<(), PortalError> {
        write_approval(&self.db, app).await?;
        Ok(())
    }

    /// Revokes an approval; the affected nodes lose it with their next bundle.
    pub async fn revoke_application(&self, requester: &str, api: &str) -> Result<(), PortalError> {
        write_revocation(&self.db, requester, api).await?;
        Ok(())
    }

    pub async fn grant_prior_consent(&self, consent: NewPriorConsent) -> Result<i64, PortalError> {
        let row = portal_prior_consent::ActiveModel {
            id: Default::default(),
            corporate_number: Set(consent.corporate_number),
            requester: Set(consent.requester),
            api: Set(consent.api),
            scopes: Set(serde_json::json!(consent.scopes).to_string()),
            purpose: Set(consent.purpose),
            until: Set(consent.until),
            revoked_at: Set(None),
            kind: Set(crate::consent::prior::INDIVIDUAL.to_owned()),
            granted_by: Set(None),
            granted_at: Set(Some(crate::jst::now_rfc3339())),
        };
        Ok(portal_prior_consent::Entity::insert(row)
            .exec(&self.db)
            .await?
            .last_insert_id)
    }

    pub async fn revoke_prior_consent(&self, id: i64) -> Result<(), PortalError> {
        use portal_prior_consent::Column as C;
        portal_prior_consent::Entity::update_many()
            .col_expr(
                C::RevokedAt,
                sea_orm::sea_query::Expr::value(crate::jst::now_rfc3339()),
            )
            .filter(C::Id.eq(id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// A version above every one issued before, also across restarts (it starts from the clock in ms).
    fn next_version(&self) -> u64 {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let mut last = self
            .bundle_version
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        *last = (*last + 1).max(now_ms);
        *last
    }

    /// What node `client_id` must know: every registered node (endpoints and keys), the APIs, the
    /// approved applications in which it is the requester or the provider, and the prior consents for
    /// its APIs or given to it. `None` for a node the portal does not know.
    pub async fn build_bundle(&self, client_id: &str) -> Result<Option<NodeBundle>, PortalError> {
        let nodes = portal_node::Entity::find().all(&self.db).await?;
        if !nodes.iter().any(|n| n.client_id == client_id) {
            return Ok(None);
        }
        let apis = portal_api::Entity::find().all(&self.db).await?;
        let provider_of = |slug: &str| {
            apis.iter()
                .find(|a| a.slug == slug)
                .map(|a| a.provider_client_id.clone())
        };
        let applications = portal_application::Entity::find()
            .filter(portal_application::Column::Status.eq(APPROVED))
            .all(&self.db)
            .await?
            .into_iter()
            .filter_map(|a| {
                let provider = provider_of(&a.api)?;
                (a.requester == client_id || provider == client_id).then(|| Application {
                    requester: a.requester,
                    provider,
                    api: a.api,
                    scopes: json_list(&a.scopes),
                    rate_limit_per_minute: u32::try_from(a.rate_limit_per_minute).unwrap_or(0),
                })
            })
            .collect();
        let prior_consents = portal_prior_consent::Entity::find()
            .filter(portal_prior_consent::Column::RevokedAt.is_null())
            .all(&self.db)
            .await?
            .into_iter()
            .filter(|c| {
                c.requester == client_id || provider_of(&c.api).as_deref() == Some(client_id)
            })
            .map(|c| PriorConsent {
                id: c.id,
                // A comprehensive consent covers every scope the API has now, also ones added later.
                scopes: match apis.iter().find(|a| a.slug == c.api) {
                    Some(api) if c.kind == crate::consent::prior::COMPREHENSIVE => {
                        json_list(&api.scopes)
                    }
                    _ => json_list(&c.scopes),
                },
                corporate_number: c.corporate_number,
                requester: c.requester,
                api: c.api,
                until: c.until,
            })
            .collect();
        let mut members: Vec<Member> = Vec::new();
        for n in &nodes {
            match members
                .iter_mut()
                .find(|m| m.organisation == n.organisation)
            {
                Some(m) => m.nodes.push(n.client_id.clone()),
                None => members.push(Member {
                    organisation: n.organisation.clone(),
                    nodes: vec![n.client_id.clone()],
                }),
            }
        }
        let now = bundle::unix_now();
        Ok(Some(NodeBundle {
            issuer: bundle::ISSUER.to_owned(),
            audience: client_id.to_owned(),
            version: self.next_version(),
            issued_at: now,
            expires_at: now + self.config.bundle_lifetime_secs,
            members,
            nodes: nodes
                .into_iter()
                .map(|n| BundleNode {
                    client_id: n.client_id,
                    organisation: n.organisation,
                    endpoint: n.endpoint,
                    public_key: n.public_key,
                })
                .collect(),
            apis: apis
                .iter()
                .map(|a| BundleApi {
                    slug: a.slug.clone(),
                    provider: a.provider_client_id.clone(),
                    path_template: a.path_template.clone(),
                    scopes: json_list(&a.scopes),
                    consent_required: a.consent_required,
                })
                .collect(),
            applications,
            prior_consents,
            // The portal does not record plugin digests yet (ConnectBox uploads will); the field is
            // part of the format so nodes already carry it.
            plugin_digests: vec![],
        }))
    }

    /// The signed bundle for `client_id`.
    pub async fn signed_bundle(&self, client_id: &str) -> Result<Option<String>, PortalError> {
        Ok(self
            .build_bundle(client_id)
            .await?
            .map(|b| bundle::sign(&self.key, &b)))
    }
}

/// `GET /api/v1/nodes/{client_id}/bundle`: only the node itself, with a request token signed by its
/// registered key for audience `portal`, gets its bundle (`application/jose`).
#[utoipa::path(
    get,
    path = "/api/v1/nodes/{client_id}/bundle",
    tag = "nodes",
    params(("client_id" = String, Path, description = "The calling node")),
    security(("node_jws" = [])),
    responses(
        (status = 200, description = "The signed bundle (compact JWS)", body = String, content_type = "application/jose"),
    ),
)]
pub async fn get_node_bundle(
    State(state): State<Arc<PortalState>>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let bearer = crate::token::bearer(&headers);
    let path = bundle_path(&client_id);
    let claims = state
        .node_verifier
        .read()
        .await
        .verify(bearer, "GET", &path, b"")
        .map_err(|e| {
            tracing::warn!(code = e.code(), node = %crate::api_error::clip(&client_id), "bundle request refused");
            ApiError::new(
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::UNAUTHORIZED),
                e.code(),
                e.to_string(),
            )
        })?;
    if claims.iss != client_id {
        tracing::warn!(code = "node_mismatch", node = %claims.iss, "bundle of another node requested");
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "node_mismatch",
            format!(
                "node {} may not fetch the bundle of node {}",
                claims.iss,
                crate::api_error::clip(&client_id)
            ),
        ));
    }
    let jws = state
        .signed_bundle(&client_id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_node",
                "node is not registered",
            )
        })?;
    Ok(([(header::CONTENT_TYPE, "application/jose")], jws).into_response())
}
