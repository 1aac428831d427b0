//! `tasks`: work items for a user, often created by a call, task or manual-email step.

use sea_orm::entity::prelude::*;

use crate::enums::{TaskAction, TaskState};

crate::positional_model! {
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tasks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub action: TaskAction,
    pub state: TaskState,
    pub task_type: String,
    pub due_at: Option<DateTimeUtc>,
    pub scheduled_at: Option<DateTimeUtc>,
    pub autoskip_at: Option<DateTimeUtc>,
    pub completed: bool,
    pub completed_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub note: Option<String>,
    pub state_changed_at: Option<DateTimeUtc>,
    pub sequence_id: Option<i64>,
    pub sequence_step_id: Option<i64>,
    pub task_priority_id: Option<i64>,
    pub owner_id: Option<i64>,
    pub creator_id: Option<i64>,
    pub completer_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
