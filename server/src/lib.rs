//! renkei: the portal, the nodes, datasets (ConnectBox) and the plugin host, as one library behind one binary.

pub mod accounts;
pub mod api_error;
pub mod bench;
pub mod bundle;
pub mod connectbox;
pub mod consent;
pub mod dataset;
pub mod demo;
pub mod jst;
pub mod keys;
pub mod node;
pub mod observability;
pub mod openapi;
pub mod password;
pub mod plugin_host;
pub mod portal;
pub mod portal_ui;
pub mod shutdown;
pub mod storage;
pub mod tls;
pub mod token;
