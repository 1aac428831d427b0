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
//! | write a mailing (create it; a member reporting its events) | not a viewer, every sequence it touches visible and writable as a step is, and (admin, or it touches one, or it is the viewer's own) |
//!
//! A mailing touches the sequences of all its links: its sequence, its step's, its sequence
//! template's step's and its task's (the task's sequence and its step's), whichever are set.
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
use sea_orm::sea_query::{
    Condition, Expr, ExprTrait, Func, IntoColumnRef, Query, SelectStatement, SimpleExpr,
};
use sea_orm::{ColumnTrait, DbBackend};

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

impl SequenceAccess {
    /// The sequence columns [`SequenceAccess::from`] reads: what a statement that checks
    /// access must select (`graphql::joins` reads only these for `canWrite`).
    pub const COLUMNS: &'static [&'static str] = &["owner_id", "share_type", "locked"];
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

pub fn is_admin(viewer: &Viewer) -> bool {
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

/// Whether the viewer can write a mailing (create it, or report its events): `touched` holds
/// every sequence its links lead to (see the module's table), `own` whether the mailing's
/// user is the viewer. Viewers never write; everyone else needs every touched sequence
/// visible and writable ([`can_write_step`]: so nobody adds to a locked sequence, admins
/// included), and a member's mailing that touches none (a single mailing) must be their own.
pub fn can_write_mailing(viewer: &Viewer, touched: &[SequenceAccess], own: bool) -> bool {
    viewer.role != Role::Viewer
        && touched
            .iter()
            .all(|seq| can_see(viewer, seq) && can_write_step(viewer, seq))
        && (is_admin(viewer) || own || !touched.is_empty())
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
//
// A link to another row is checked with a correlated `EXISTS (SELECT 1 FROM <target> WHERE
// <target>.id = <this>.<fk> AND ...)` (on SQLite its scalar twin, see [`row_passes`]), never
// with `fk IN (SELECT id FROM <every visible target>)`: under the `OR` these rules contain,
// databases cannot turn an `IN` into a join and materialise the whole visible set on every
// query (all visible sequence templates, to check one template), while an `EXISTS` is a
// primary-key lookup for each row actually considered.

/// `owner_id = viewer OR share_type IN (read_only, shared)` on `sequences` (non-admins).
fn shared_or_owned_sequence(viewer: &Viewer) -> Condition {
    Condition::any()
        .add(sequence::Column::OwnerId.eq(viewer.user_id))
        .add(sequence::Column::ShareType.is_in([ShareType::ReadOnly, ShareType::Shared]))
}

/// "The row of `sub` (a `FROM` and a primary-key match on a foreign key, nothing selected)
/// passes `rule`", as a condition on the referring row.
///
/// PostgreSQL and MySQL get `EXISTS (SELECT 1 ... AND rule)`, which they plan as a semi-join.
/// SQLite gets the scalar `COALESCE((SELECT rule ...), FALSE)` instead: SQLite 3.51 puts a
/// Bloom filter in front of an `EXISTS` whose `WHERE` culls rows whenever it expects the outer
/// scan to be longer than the looked-up table, and it builds that filter by reading every
/// matching row of the table first, `LIMIT` or not. A member's first page of 50 steps read the
/// 7,026 sequences it can see (1.7 ms a page at 100,000 steps, growing with the table); the
/// scalar form does one primary-key lookup per step considered (0.19 ms). `COALESCE` makes
/// "no such row" false, as with `EXISTS`, not NULL.
///
/// The backend comes from [`crate::db::backend`], the one database this process opened: the
/// rules stay functions of the viewer alone for their callers.
fn row_passes(mut sub: SelectStatement, rule: Option<Condition>) -> SimpleExpr {
    if crate::db::backend() == Some(DbBackend::Sqlite) {
        let rule = rule.map_or_else(|| Expr::cust("TRUE"), SimpleExpr::from);
        sub.expr(rule);
        Func::coalesce([
            SimpleExpr::SubQuery(None, Box::new(sub.into())),
            Expr::cust("FALSE"),
        ])
        .into()
    } else {
        sub.expr(Expr::value(1));
        if let Some(rule) = rule {
            sub.cond_where(rule);
        }
        Expr::exists(sub)
    }
}

/// A visible sequence whose id is `fk`.
fn sequence_at(viewer: &Viewer, fk: impl IntoColumnRef) -> SimpleExpr {
    row_passes(
        Query::select()
            .from(sequence::Entity)
            .and_where(Expr::col((sequence::Entity, sequence::Column::Id)).equals(fk))
            .to_owned(),
        Some(shared_or_owned_sequence(viewer)),
    )
}

/// A visible step whose id is `fk` (its sequence visible).
fn step_at(viewer: &Viewer, fk: impl IntoColumnRef) -> SimpleExpr {
    row_passes(
        Query::select()
            .from(sequence_step::Entity)
            .inner_join(
                sequence::Entity,
                Expr::col((sequence::Entity, sequence::Column::Id))
                    .equals((sequence_step::Entity, sequence_step::Column::SequenceId)),
            )
            .and_where(Expr::col((sequence_step::Entity, sequence_step::Column::Id)).equals(fk))
            .to_owned(),
        Some(shared_or_owned_sequence(viewer)),
    )
}

/// `EXISTS` a visible sequence template matching `link` (a condition on
/// `sequence_templates`): its step's sequence is visible.
fn sequence_template_where(viewer: &Viewer, link: SimpleExpr) -> SimpleExpr {
    Expr::exists(
        Query::select()
            .expr(Expr::value(1))
            .from(sequence_template::Entity)
            .inner_join(
                sequence_step::Entity,
                Expr::col((sequence_step::Entity, sequence_step::Column::Id)).equals((
                    sequence_template::Entity,
                    sequence_template::Column::SequenceStepId,
                )),
            )
            .inner_join(
                sequence::Entity,
                Expr::col((sequence::Entity, sequence::Column::Id))
                    .equals((sequence_step::Entity, sequence_step::Column::SequenceId)),
            )
            .and_where(link)
            .cond_where(shared_or_owned_sequence(viewer))
            .to_owned(),
    )
}

/// A visible task whose id is `fk`.
fn task_at(viewer: &Viewer, fk: impl IntoColumnRef) -> SimpleExpr {
    row_passes(
        Query::select()
            .from(task::Entity)
            .and_where(Expr::col((task::Entity, task::Column::Id)).equals(fk))
            .to_owned(),
        tasks(viewer),
    )
}

/// "The row `col` points at is visible, when set": `col IS NULL OR <exists>`.
fn when_set(col: impl ColumnTrait, exists: SimpleExpr) -> Condition {
    Condition::any().add(col.is_null()).add(exists)
}

/// Sequences (and so steps) the viewer can see: [`can_see`].
pub fn sequences(viewer: &Viewer) -> Visible {
    if is_admin(viewer) {
        return None;
    }
    Some(shared_or_owned_sequence(viewer))
}

/// Steps: their sequence is visible.
pub fn steps(viewer: &Viewer) -> Visible {
    if is_admin(viewer) {
        return None;
    }
    Some(Condition::all().add(sequence_at(
        viewer,
        (sequence_step::Entity, sequence_step::Column::SequenceId),
    )))
}

/// Sequence templates: their step is visible ([`can_see_sequence_template`]).
pub fn sequence_templates(viewer: &Viewer) -> Visible {
    if is_admin(viewer) {
        return None;
    }
    Some(Condition::all().add(step_at(
        viewer,
        (
            sequence_template::Entity,
            sequence_template::Column::SequenceStepId,
        ),
    )))
}

/// Tasks: [`can_see_task`].
pub fn tasks(viewer: &Viewer) -> Visible {
    if is_admin(viewer) {
        return None;
    }
    use task::Column as T;
    Some(
        Condition::any().add(T::OwnerId.eq(viewer.user_id)).add(
            Condition::all()
                .add(when_set(
                    T::SequenceId,
                    sequence_at(viewer, (task::Entity, T::SequenceId)),
                ))
                .add(when_set(
                    T::SequenceStepId,
                    step_at(viewer, (task::Entity, T::SequenceStepId)),
                )),
        ),
    )
}

/// Calls: [`can_see_activity`].
pub fn calls(viewer: &Viewer) -> Visible {
    if is_admin(viewer) {
        return None;
    }
    use call::Column as C;
    Some(
        Condition::any().add(C::UserId.eq(viewer.user_id)).add(
            Condition::all()
                .add(when_set(
                    C::SequenceId,
                    sequence_at(viewer, (call::Entity, C::SequenceId)),
                ))
                .add(when_set(
                    C::SequenceStepId,
                    step_at(viewer, (call::Entity, C::SequenceStepId)),
                ))
                .add(when_set(
                    C::TaskId,
                    task_at(viewer, (call::Entity, C::TaskId)),
                )),
        ),
    )
}

/// Mailings: [`can_see_activity`].
pub fn mailings(viewer: &Viewer) -> Visible {
    if is_admin(viewer) {
        return None;
    }
    use mailing::Column as M;
    let variant = sequence_template_where(
        viewer,
        Expr::col((sequence_template::Entity, sequence_template::Column::Id))
            .equals((mailing::Entity, M::SequenceTemplateId)),
    );
    Some(
        Condition::any().add(M::UserId.eq(viewer.user_id)).add(
            Condition::all()
                .add(when_set(
                    M::SequenceId,
                    sequence_at(viewer, (mailing::Entity, M::SequenceId)),
                ))
                .add(when_set(
                    M::SequenceStepId,
                    step_at(viewer, (mailing::Entity, M::SequenceStepId)),
                ))
                .add(when_set(M::SequenceTemplateId, variant))
                .add(when_set(
                    M::TaskId,
                    task_at(viewer, (mailing::Entity, M::TaskId)),
                )),
        ),
    )
}

/// Templates: [`can_see_template`].
pub fn templates(viewer: &Viewer) -> Visible {
    if is_admin(viewer) {
        return None;
    }
    let used = sequence_template_where(
        viewer,
        Expr::col((
            sequence_template::Entity,
            sequence_template::Column::TemplateId,
        ))
        .equals((template::Entity, template::Column::Id)),
    );
    Some(
        Condition::any()
            .add(template::Column::OwnerId.eq(viewer.user_id))
            .add(template::Column::ShareType.is_in([ShareType::ReadOnly, ShareType::Shared]))
            .add(used),
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
    /// docs/permissions.md written out independently as expected values.
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
