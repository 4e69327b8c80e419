//! Database entities, one module per table.

pub mod connectbox_upload;
pub mod corporation_record;
pub mod dataset;
pub mod dataset_reject;
pub mod dataset_source;
pub mod exchange_record;
pub mod portal_api;
pub mod portal_exchange;
pub mod portal_node;
