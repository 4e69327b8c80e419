//! Database entities, one module per table.

pub mod connectbox_upload;
pub mod corporation_record;
pub mod dataset;
pub mod dataset_reject;
pub mod dataset_source;
pub mod exchange_record;
pub mod node_bundle_event;
pub mod portal_api;
pub mod portal_api_application;
pub mod portal_api_application_event;
pub mod portal_api_category;
pub mod portal_api_search;
pub mod portal_api_version;
pub mod portal_application;
pub mod portal_exchange;
pub mod portal_node;
pub mod portal_prior_consent;
pub mod portal_system;
pub mod account;
pub mod audit_log;
pub mod login_failure;
pub mod mail_outbox;
pub mod notice;
pub mod one_time_token;
pub mod organisation;
pub mod portal_session;
