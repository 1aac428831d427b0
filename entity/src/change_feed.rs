//! `change_feed`: the outbox of changed rows that live subscriptions are served from.

use sea_orm::entity::prelude::*;

use crate::enums::{ChangeKind, ChangedEntity};

crate::positional_model! {
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "change_feed")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub entity: ChangedEntity,
    pub kind: ChangeKind,
    /// The changed row's id (it may be gone: a deletion).
    pub row_id: i64,
    /// For a step, its sequence: what a deletion's visibility is decided by.
    pub sequence_id: Option<i64>,
    pub created_at: DateTimeUtc,
}}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
