//! One standard-data record of a dataset version, keyed by corporate number.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "corporation_record")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub dataset_id: i64,
    pub source_id: i64,
    pub corporate_number: String,
    /// Line of the source file that produced the record.
    pub line: i64,
    /// False for a row that describes a past state (NTA `latest=0`).
    pub current: bool,
    /// The standard-data document, JSON text.
    pub document: String,
    /// The corporate name, for `name_prefix` filters (ConnectBox listing).
    pub name: Option<String>,
    /// Prefecture name (都道府県), for `prefecture` filters.
    pub prefecture: Option<String>,
    /// The data's own update date (YYYY-MM-DD), for `changed_since`.
    pub updated_on: Option<String>,
    /// True for the one record per number that answers in its version (set before publication).
    pub head: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
