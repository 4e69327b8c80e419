//! The standard corporate data model (法人標準データ): corporate numbers, prefectures, scopes and schemas.
//!
//! Guests (converter plugins) use this crate without default features: only
//! [`CorporateNumber`], [`PREFECTURES`] and [`SCOPES`]. The host enables `validate`
//! for [`StandardSchema`], the JSON Schemas kept as data in `standard/schema/`.

mod corporate_number;
mod prefecture;
#[cfg(feature = "validate")]
mod schema;
mod scope;

pub use corporate_number::{CorporateNumber, CorporateNumberError};
pub use prefecture::{PREFECTURES, is_prefecture, prefecture_code};
#[cfg(feature = "validate")]
pub use schema::{ROOT_SCHEMA, SCHEMA_FILES, StandardSchema, Violation};
#[cfg(feature = "json")]
pub use scope::filter_by_scopes;
pub use scope::{SCOPES, block_of_scope, is_extension_block};
