//! The authorization policy: pure functions over a viewer and a sequence's access facts.
//!
//! Everything that decides or reports access calls into this module: `canWrite`/`canDelete`,
//! the JSON:API `meta`, list visibility (through [`visible_sequences`], the same rule in SQL)
//! and mutation enforcement. That is what keeps what a client is told and what is enforced
//! from drifting apart. Nothing here does I/O.
//!
//! | question | rule |
//! |---|---|
//! | see a sequence and its steps | admin; or owner; or share type read_only or shared |
//! | write a step (or create one in the sequence) | not locked, not a viewer, and (admin, owner or shared) |
//! | delete a step | not locked, not a viewer, and (admin or owner) |

use entity::enums::{Role, ShareType};
use entity::{sequence, sequence_step, sequence_template, template};
use sea_orm::sea_query::Condition;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait, Select};

use crate::auth::Viewer;

/// The facts about a sequence that access depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SequenceAccess {
    pub owner_id: i64,
    pub share_type: ShareType,
    pub locked: bool,
}

impl From<&sequence::Model> for SequenceAccess {
    fn from(seq: &sequence::Model) -> Self {
        Self {
            owner_id: seq.owner_id,
            share_type: seq.share_type,
            locked: seq.locked,
        }
    }
}

fn is_admin(viewer: &Viewer) -> bool {
    viewer.role == Role::Admin
}

fn is_owner(viewer: &Viewer, seq: &SequenceAccess) -> bool {
    viewer.user_id == seq.owner_id
}

/// Whether the viewer can see the sequence and its steps.
pub fn can_see(viewer: &Viewer, seq: &SequenceAccess) -> bool {
    is_admin(viewer)
        || is_owner(viewer, seq)
        || matches!(seq.share_type, ShareType::ReadOnly | ShareType::Shared)
}

/// Whether the viewer can change a step of the sequence, or add one to it.
pub fn can_write_step(viewer: &Viewer, seq: &SequenceAccess) -> bool {
    !seq.locked
        && viewer.role != Role::Viewer
        && (is_admin(viewer) || is_owner(viewer, seq) || seq.share_type == ShareType::Shared)
}

/// Whether the viewer can delete a step of the sequence.
pub fn can_delete_step(viewer: &Viewer, seq: &SequenceAccess) -> bool {
    !seq.locked && viewer.role != Role::Viewer && (is_admin(viewer) || is_owner(viewer, seq))
}

/// [`can_see`] as a SQL condition on the `sequences` table, so invisible rows are removed by
/// the database before any paging or counting. `None` means "everything is visible".
pub fn visible_sequences_condition(viewer: &Viewer) -> Option<Condition> {
    if is_admin(viewer) {
        return None;
    }
    Some(
        Condition::any()
            .add(sequence::Column::OwnerId.eq(viewer.user_id))
            .add(sequence::Column::ShareType.is_in([ShareType::ReadOnly, ShareType::Shared])),
    )
}

/// Templates are shared by the same rule as sequences: admins, owners, and anyone when the
/// share type is read_only or shared. As a SQL condition on `templates`; `None`: all visible.
pub fn visible_templates_condition(viewer: &Viewer) -> Option<Condition> {
    if is_admin(viewer) {
        return None;
    }
    Some(
        Condition::any()
            .add(template::Column::OwnerId.eq(viewer.user_id))
            .add(template::Column::ShareType.is_in([ShareType::ReadOnly, ShareType::Shared])),
    )
}

/// [`can_see`] for steps, as a condition on `sequence_steps`: their sequence is visible.
/// `None` means "everything is visible".
pub fn visible_steps_condition(viewer: &Viewer) -> Option<Condition> {
    visible_sequences_condition(viewer)?;
    Some(
        Condition::all().add(
            sequence_step::Column::SequenceId.in_subquery(visible_sequences(viewer).into_query()),
        ),
    )
}

/// Sequence templates are visible with their step, as a condition on `sequence_templates`.
pub fn visible_sequence_templates_condition(viewer: &Viewer) -> Option<Condition> {
    let steps = visible_steps_condition(viewer)?;
    let ids = sequence_step::Entity::find()
        .select_only()
        .column(sequence_step::Column::Id)
        .filter(steps)
        .into_query();
    Some(Condition::all().add(sequence_template::Column::SequenceStepId.in_subquery(ids)))
}

/// The ids of the sequences the viewer can see, as a sub-select for `sequence_id IN (...)`.
pub fn visible_sequences(viewer: &Viewer) -> Select<sequence::Entity> {
    let select = sequence::Entity::find()
        .select_only()
        .column(sequence::Column::Id);
    match visible_sequences_condition(viewer) {
        Some(cond) => select.filter(cond),
        None => select,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER: i64 = 1;
    const OTHER: i64 = 2;

    fn seq(share_type: ShareType, locked: bool) -> SequenceAccess {
        SequenceAccess {
            owner_id: OWNER,
            share_type,
            locked,
        }
    }

    /// The whole truth table: role x ownership x share type x locked, against the rules of
    /// SPEC section 4 written out independently as expected values.
    #[test]
    fn truth_table() {
        use ShareType::*;
        for role in [Role::Admin, Role::Member, Role::Viewer] {
            for user_id in [OWNER, OTHER] {
                for share in [Private, ReadOnly, Shared] {
                    for locked in [false, true] {
                        let v = Viewer { user_id, role };
                        let s = seq(share, locked);
                        let admin = role == Role::Admin;
                        let owner = user_id == OWNER;
                        let see = admin || owner || share != Private;
                        let write =
                            !locked && role != Role::Viewer && (admin || owner || share == Shared);
                        let delete = !locked && role != Role::Viewer && (admin || owner);
                        let case = format!("{role:?} owner={owner} {share:?} locked={locked}");
                        assert_eq!(can_see(&v, &s), see, "see: {case}");
                        assert_eq!(can_write_step(&v, &s), write, "write: {case}");
                        assert_eq!(can_delete_step(&v, &s), delete, "delete: {case}");
                        // Whatever may be written or deleted may be seen.
                        assert!(!write || see, "{case}");
                        assert!(!delete || write, "{case}");
                    }
                }
            }
        }
    }

    #[test]
    fn spot_checks() {
        let member = Viewer {
            user_id: OTHER,
            role: Role::Member,
        };
        assert!(!can_see(&member, &seq(ShareType::Private, false)));
        assert!(can_see(&member, &seq(ShareType::ReadOnly, false)));
        assert!(!can_write_step(&member, &seq(ShareType::ReadOnly, false)));
        assert!(can_write_step(&member, &seq(ShareType::Shared, false)));
        assert!(!can_delete_step(&member, &seq(ShareType::Shared, false)));
        let admin = Viewer {
            user_id: OTHER,
            role: Role::Admin,
        };
        assert!(!can_write_step(&admin, &seq(ShareType::Private, true)));
        let viewer_owner = Viewer {
            user_id: OWNER,
            role: Role::Viewer,
        };
        assert!(can_see(&viewer_owner, &seq(ShareType::Private, false)));
        assert!(!can_write_step(
            &viewer_owner,
            &seq(ShareType::Private, false)
        ));
    }
}
