//! `mirror_checkpoints`: where the mirror of an Outreach account stands, one row per resource
//! (`sequenceSteps`, ...). A database with rows here is a mirror.

use sea_orm::entity::prelude::*;

crate::positional_model! {
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mirror_checkpoints")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The resource's JSON:API type (unique).
    pub resource: String,
    /// The greatest `updatedAt` applied, as upstream spelled it.
    pub cursor: Option<String>,
    /// When the resource's ids were last reconciled with upstream.
    pub reconciled_at: Option<DateTimeUtc>,
}}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
