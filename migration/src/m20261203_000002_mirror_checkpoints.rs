//! `mirror_checkpoints`: one row per mirrored Outreach resource, with the `updatedAt` cursor
//! of its incremental pull and when its ids were last reconciled. It is written in the same
//! transaction as each page of mirrored rows, so a sync resumes where it stopped.

use sea_orm_migration::prelude::*;

use crate::columns::TableDef;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut t = TableDef::new(manager.get_database_backend(), "mirror_checkpoints");
        t.string("resource", 64, false)
            .string("cursor", 64, true)
            .timestamp("reconciled_at", true)
            .unique(&["resource"]);
        t.create(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("mirror_checkpoints").to_owned())
            .await
    }
}
