//! The authorization policy: who may see which rows, and who may change steps.
//!
//! Everything that decides or reports access calls into this module: `canWrite`/`canDelete`,
//! the JSON:API `meta`, list and relationship visibility, relationship filters and mutation
//! enforcement. That is what keeps what a client is told and what is enforced from drifting
//! apart. Nothing here does I/O.
//!
//! Every rule is written twice, side by side: as a SQL condition (so invisible rows are removed
//! by the database before paging or counting) and as a pure function over rows already in
//! memory. `tests/it/visibility.rs` checks on every backend that the two agree row for row.
//!
//! | question | rule |
//! |---|---|
//! | see a sequence and its steps | admin; or owner; or share type read_only or shared |
//! | write a step (or create one in the sequence) | not locked, not a viewer, and (admin, owner or shared) |
//! | delete a step | not locked, not a viewer, and (admin or owner) |
//!
//! | row | visible when |
//! |---|---|
//! | sequence template | its step is visible |
//! | task | its sequence and its step (each when set) are visible, or the viewer owns it |
//! | call, mailing | its sequence, step, sequence template and task (each when set) are visible, or its user is the viewer |
//! | template | admin; or owner; or share type read_only or shared; or a visible sequence template uses it |
//! | user, call purpose, task priority | always (to every signed-in user) |

use entity::enums::{Role, ShareType};
use entity::{call, mailing, sequence, sequence_step, sequence_template, task, template};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait};

use crate::auth::Viewer;

/// The SQL form of a visibility rule: `None` when every row is visible (no condition at all,
/// so an admin's queries carry no sub-selects), otherwise the condition a row must meet.
pub type Visible = Option<Condition>;

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

fn is_shared(share_type: ShareType) -> bool {
    matches!(share_type, ShareType::ReadOnly | ShareType::Shared)
}

// ---------------------------------------------------------------------------------------------
// Writing steps (pure; the service checks these inside its write transactions).

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

// ---------------------------------------------------------------------------------------------
// Seeing rows: the pure rules.

/// Whether the viewer can see the sequence, and so its steps.
pub fn can_see(viewer: &Viewer, seq: &SequenceAccess) -> bool {
    is_admin(viewer) || is_owner(viewer, seq) || is_shared(seq.share_type)
}

/// Whether the viewer can see a sequence template, given whether its step is visible.
pub fn can_see_sequence_template(step_visible: bool) -> bool {
    step_visible
}

/// What the rows a task, call or mailing points at look like to the viewer: for each link,
/// `None` when it is not set, `Some(visible)` when it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Links {
    pub sequence: Option<bool>,
    pub step: Option<bool>,
    pub sequence_template: Option<bool>,
    pub task: Option<bool>,
}

impl Links {
    fn all_visible(&self) -> bool {
        [self.sequence, self.step, self.sequence_template, self.task]
            .into_iter()
            .all(|link| link.unwrap_or(true))
    }
}

/// Whether the viewer can see a task owned by `owner_id` with these links (a task has no
/// sequence-template or task link; pass `None` for them).
pub fn can_see_task(viewer: &Viewer, owner_id: Option<i64>, links: Links) -> bool {
    is_admin(viewer) || owner_id == Some(viewer.user_id) || links.all_visible()
}

/// Whether the viewer can see a call or a mailing of user `user_id` with these links.
pub fn can_see_activity(viewer: &Viewer, user_id: Option<i64>, links: Links) -> bool {
    is_admin(viewer) || user_id == Some(viewer.user_id) || links.all_visible()
}

/// Whether the viewer can see a template, given whether a visible sequence template uses it.
pub fn can_see_template(
    viewer: &Viewer,
    owner_id: Option<i64>,
    share_type: ShareType,
    used_by_visible_sequence_template: bool,
) -> bool {
    is_admin(viewer)
        || owner_id == Some(viewer.user_id)
        || is_shared(share_type)
        || used_by_visible_sequence_template
}

// ---------------------------------------------------------------------------------------------
// Seeing rows: the same rules in SQL. Each function is the condition on its own table.

/// `SELECT id FROM <table> WHERE cond`, for `fk IN (...)`.
fn sub_ids<E: EntityTrait>(id: E::Column, cond: Condition) -> SelectStatement {
    E::find().select_only().column(id).filter(cond).into_query()
}

/// `col IS NULL OR col IN (ids)`: "the row it points at is visible, when set".
fn when_set(col: impl ColumnTrait, ids: Option<SelectStatement>) -> Condition {
    match ids {
        None => Condition::all(),
        Some(ids) => Condition::any()
            .add(col.is_null())
            .add(col.in_subquery(ids)),
    }
}

/// Sequences (and so steps) the viewer can see: [`can_see`].
pub fn sequences(viewer: &Viewer) -> Visible {
    if is_admin(viewer) {
        return None;
    }
    Some(
        Condition::any()
            .add(sequence::Column::OwnerId.eq(viewer.user_id))
            .add(sequence::Column::ShareType.is_in([ShareType::ReadOnly, ShareType::Shared])),
    )
}

fn sequence_ids(viewer: &Viewer) -> Option<SelectStatement> {
    sequences(viewer).map(|c| sub_ids::<sequence::Entity>(sequence::Column::Id, c))
}

/// Steps: their sequence is visible.
pub fn steps(viewer: &Viewer) -> Visible {
    sequence_ids(viewer)
        .map(|ids| Condition::all().add(sequence_step::Column::SequenceId.in_subquery(ids)))
}

fn step_ids(viewer: &Viewer) -> Option<SelectStatement> {
    steps(viewer).map(|c| sub_ids::<sequence_step::Entity>(sequence_step::Column::Id, c))
}

/// Sequence templates: their step is visible ([`can_see_sequence_template`]).
pub fn sequence_templates(viewer: &Viewer) -> Visible {
    step_ids(viewer)
        .map(|ids| Condition::all().add(sequence_template::Column::SequenceStepId.in_subquery(ids)))
}

fn sequence_template_ids(viewer: &Viewer) -> Option<SelectStatement> {
    sequence_templates(viewer)
        .map(|c| sub_ids::<sequence_template::Entity>(sequence_template::Column::Id, c))
}

/// Tasks: [`can_see_task`].
pub fn tasks(viewer: &Viewer) -> Visible {
    if is_admin(viewer) {
        return None;
    }
    Some(
        Condition::any()
            .add(task::Column::OwnerId.eq(viewer.user_id))
            .add(
                Condition::all()
                    .add(when_set(task::Column::SequenceId, sequence_ids(viewer)))
                    .add(when_set(task::Column::SequenceStepId, step_ids(viewer))),
            ),
    )
}

fn task_ids(viewer: &Viewer) -> Option<SelectStatement> {
    tasks(viewer).map(|c| sub_ids::<task::Entity>(task::Column::Id, c))
}

/// Calls: [`can_see_activity`].
pub fn calls(viewer: &Viewer) -> Visible {
    if is_admin(viewer) {
        return None;
    }
    Some(
        Condition::any()
            .add(call::Column::UserId.eq(viewer.user_id))
            .add(
                Condition::all()
                    .add(when_set(call::Column::SequenceId, sequence_ids(viewer)))
                    .add(when_set(call::Column::SequenceStepId, step_ids(viewer)))
                    .add(when_set(call::Column::TaskId, task_ids(viewer))),
            ),
    )
}

/// Mailings: [`can_see_activity`].
pub fn mailings(viewer: &Viewer) -> Visible {
    if is_admin(viewer) {
        return None;
    }
    Some(
        Condition::any()
            .add(mailing::Column::UserId.eq(viewer.user_id))
            .add(
                Condition::all()
                    .add(when_set(mailing::Column::SequenceId, sequence_ids(viewer)))
                    .add(when_set(mailing::Column::SequenceStepId, step_ids(viewer)))
                    .add(when_set(
                        mailing::Column::SequenceTemplateId,
                        sequence_template_ids(viewer),
                    ))
                    .add(when_set(mailing::Column::TaskId, task_ids(viewer))),
            ),
    )
}

/// Templates: [`can_see_template`].
pub fn templates(viewer: &Viewer) -> Visible {
    if is_admin(viewer) {
        return None;
    }
    let mut used = Query::select();
    used.column((
        sequence_template::Entity,
        sequence_template::Column::TemplateId,
    ))
    .from(sequence_template::Entity);
    if let Some(visible) = sequence_templates(viewer) {
        used.cond_where(visible);
    }
    Some(
        Condition::any()
            .add(template::Column::OwnerId.eq(viewer.user_id))
            .add(template::Column::ShareType.is_in([ShareType::ReadOnly, ShareType::Shared]))
            .add(Expr::col((template::Entity, template::Column::Id)).in_subquery(used)),
    )
}

/// Users, call purposes and task priorities: the organisation's directory and settings,
/// visible to every signed-in user.
pub fn everyone(_viewer: &Viewer) -> Visible {
    None
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

    /// Tasks, calls and mailings: every combination of links, against the rule written out.
    #[test]
    fn linked_rows() {
        let opts = [None, Some(false), Some(true)];
        for role in [Role::Admin, Role::Member, Role::Viewer] {
            let v = Viewer {
                user_id: OTHER,
                role,
            };
            for owner in [None, Some(OWNER), Some(OTHER)] {
                for sequence in opts {
                    for step in opts {
                        for sequence_template in opts {
                            for task in opts {
                                let links = Links {
                                    sequence,
                                    step,
                                    sequence_template,
                                    task,
                                };
                                let hidden_link = [sequence, step, sequence_template, task]
                                    .contains(&Some(false));
                                let expected =
                                    role == Role::Admin || owner == Some(OTHER) || !hidden_link;
                                assert_eq!(can_see_task(&v, owner, links), expected, "{links:?}");
                                assert_eq!(can_see_activity(&v, owner, links), expected);
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn templates_follow_their_use() {
        let member = Viewer {
            user_id: OTHER,
            role: Role::Member,
        };
        assert!(!can_see_template(
            &member,
            Some(OWNER),
            ShareType::Private,
            false
        ));
        assert!(can_see_template(
            &member,
            Some(OWNER),
            ShareType::Private,
            true
        ));
        assert!(can_see_template(
            &member,
            Some(OTHER),
            ShareType::Private,
            false
        ));
        assert!(can_see_template(&member, None, ShareType::ReadOnly, false));
        assert!(!can_see_template(&member, None, ShareType::Private, false));
        let admin = Viewer {
            user_id: OTHER,
            role: Role::Admin,
        };
        assert!(can_see_template(&admin, None, ShareType::Private, false));
        assert!(can_see_sequence_template(true));
        assert!(!can_see_sequence_template(false));
    }

    #[test]
    fn admins_have_no_conditions() {
        let admin = Viewer {
            user_id: OTHER,
            role: Role::Admin,
        };
        for visible in [
            sequences(&admin),
            steps(&admin),
            sequence_templates(&admin),
            tasks(&admin),
            calls(&admin),
            mailings(&admin),
            templates(&admin),
            everyone(&admin),
        ] {
            assert!(visible.is_none());
        }
        let member = Viewer {
            user_id: OTHER,
            role: Role::Member,
        };
        for visible in [
            sequences(&member),
            steps(&member),
            sequence_templates(&member),
            tasks(&member),
            calls(&member),
            mailings(&member),
            templates(&member),
        ] {
            assert!(visible.is_some());
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
