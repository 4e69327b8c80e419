//! Systems, API publication, catalogue search and API-use applications: the owner and listing columns of
//! `portal_api`, its category index and versions, organisations' systems, and applications with history.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PortalApi {
    Table,
    OrganisationId,
    Terms,
    Status,
    Version,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PortalApiSearch {
    Table,
    ApiId,
    Status,
    Name,
    SearchText,
}

#[derive(DeriveIden)]
enum PortalApiCategory {
    Table,
    Id,
    ApiId,
    Category,
}

#[derive(DeriveIden)]
enum PortalApiVersion {
    Table,
    Id,
    ApiId,
    Version,
    Openapi,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PortalSystem {
    Table,
    ClientId,
    OrganisationId,
    Name,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PortalApiApplication {
    Table,
    Id,
    ApiId,
    ApiSlug,
    RequesterOrgId,
    RequesterClientId,
    ProviderOrgId,
    RequestedScopes,
    GrantedScopes,
    Purpose,
    RequestedRateLimit,
    GrantedRateLimit,
    Comment,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PortalApiApplicationEvent {
    Table,
    Id,
    ApplicationId,
    Time,
    Actor,
    ActorOrgId,
    Action,
    FromStatus,
    ToStatus,
    Comment,
    Detail,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE. Rows from before (the demo's seed) count as published.
        for column in [
            big_integer_null(PortalApi::OrganisationId),
            text(PortalApi::Terms).default("").to_owned(),
            string(PortalApi::Status).default("published").to_owned(),
            string(PortalApi::Version).default("").to_owned(),
            string(PortalApi::UpdatedAt).default("").to_owned(),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table(PortalApi::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        // The catalogue lists published APIs by name, then id, from the narrow search rows.
        manager
            .create_table(
                Table::create()
                    .table(PortalApiSearch::Table)
                    .if_not_exists()
                    .col(big_integer(PortalApiSearch::ApiId).primary_key())
                    .col(string(PortalApiSearch::Status))
                    .col(string(PortalApiSearch::Name))
                    .col(text(PortalApiSearch::SearchText))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("portal_api_search_status_name")
                    .table(PortalApiSearch::Table)
                    .col(PortalApiSearch::Status)
                    .col(PortalApiSearch::Name)
                    .col(PortalApiSearch::ApiId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PortalApiCategory::Table)
                    .if_not_exists()
                    .col(big_pk_auto(PortalApiCategory::Id))
                    .col(big_integer(PortalApiCategory::ApiId))
                    .col(string(PortalApiCategory::Category))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("portal_api_category_category_api")
                    .table(PortalApiCategory::Table)
                    .col(PortalApiCategory::Category)
                    .col(PortalApiCategory::ApiId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("portal_api_category_api")
                    .table(PortalApiCategory::Table)
                    .col(PortalApiCategory::ApiId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PortalApiVersion::Table)
                    .if_not_exists()
                    .col(big_pk_auto(PortalApiVersion::Id))
                    .col(big_integer(PortalApiVersion::ApiId))
                    .col(string(PortalApiVersion::Version))
                    .col(text(PortalApiVersion::Openapi))
                    .col(string(PortalApiVersion::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("portal_api_version_api_version")
                    .table(PortalApiVersion::Table)
                    .col(PortalApiVersion::ApiId)
                    .col(PortalApiVersion::Version)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PortalSystem::Table)
                    .if_not_exists()
                    .col(string(PortalSystem::ClientId).primary_key())
                    .col(big_integer(PortalSystem::OrganisationId))
                    .col(string(PortalSystem::Name))
                    .col(string(PortalSystem::CreatedAt))
                    .col(string(PortalSystem::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("portal_system_organisation")
                    .table(PortalSystem::Table)
                    .col(PortalSystem::OrganisationId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PortalApiApplication::Table)
                    .if_not_exists()
                    .col(big_pk_auto(PortalApiApplication::Id))
                    .col(big_integer(PortalApiApplication::ApiId))
                    .col(string(PortalApiApplication::ApiSlug))
                    .col(big_integer(PortalApiApplication::RequesterOrgId))
                    .col(string(PortalApiApplication::RequesterClientId))
                    .col(big_integer(PortalApiApplication::ProviderOrgId))
                    .col(text(PortalApiApplication::RequestedScopes))
                    .col(text_null(PortalApiApplication::GrantedScopes))
                    .col(text(PortalApiApplication::Purpose))
                    .col(integer(PortalApiApplication::RequestedRateLimit))
                    .col(integer_null(PortalApiApplication::GrantedRateLimit))
                    .col(text(PortalApiApplication::Comment))
                    .col(string(PortalApiApplication::Status))
                    .col(string(PortalApiApplication::CreatedAt))
                    .col(string(PortalApiApplication::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            (
                "portal_api_application_requester",
                PortalApiApplication::RequesterOrgId,
            ),
            (
                "portal_api_application_provider",
                PortalApiApplication::ProviderOrgId,
            ),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(PortalApiApplication::Table)
                        .col(column)
                        .col(PortalApiApplication::Status)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(PortalApiApplicationEvent::Table)
                    .if_not_exists()
                    .col(big_pk_auto(PortalApiApplicationEvent::Id))
                    .col(big_integer(PortalApiApplicationEvent::ApplicationId))
                    .col(string(PortalApiApplicationEvent::Time))
                    .col(string(PortalApiApplicationEvent::Actor))
                    .col(big_integer_null(PortalApiApplicationEvent::ActorOrgId))
                    .col(string(PortalApiApplicationEvent::Action))
                    .col(string_null(PortalApiApplicationEvent::FromStatus))
                    .col(string(PortalApiApplicationEvent::ToStatus))
                    .col(text(PortalApiApplicationEvent::Comment))
                    .col(text(PortalApiApplicationEvent::Detail))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("portal_api_application_event_application")
                    .table(PortalApiApplicationEvent::Table)
                    .col(PortalApiApplicationEvent::ApplicationId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
