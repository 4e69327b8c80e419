//! Database entities, one module per table.

pub mod account;
pub mod audit_log;
pub mod connectbox_upload;
pub mod corporation_record;
pub mod dataset;
pub mod dataset_reject;
pub mod dataset_source;
pub mod exchange_record;
pub mod login_failure;
pub mod mail_outbox;
pub mod node_bundle_event;
pub mod notice;
pub mod oidc_client;
pub mod oidc_code;
pub mod one_time_token;
pub mod organisation;
pub mod portal_api;
pub mod portal_application;
pub mod portal_exchange;
pub mod portal_node;
pub mod portal_prior_consent;
pub mod portal_session;
