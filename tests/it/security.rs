//! The adversarial probes of issue 24, as regression tests through the public surfaces: the
//! generated write-authorization matrix for mailings, the relationship-filter walk on both
//! APIs, ingest by viewers and members, idempotency keys per submitter, `Host` names, error
//! bodies, bad ids and batch cost.
//!
//! The world: four sequences owned by another member ("other"), one of each state a member
//! ("me") can find a sequence in: writable (shared), read-only, locked, hidden (private). Each
//! has a step, a sequence template, tasks, calls and mailings; in the hidden one, a task, a
//! call and a mailing belong to "me" (so they are visible to me while their links are not).

use std::collections::BTreeSet;

use entity::enums::{Role, ShareType};
use entity::{mailing, sequence, sequence_step, sequence_template, task, template, user};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder,
};
use serde_json::{Value, json};
use stepgraph::auth::Viewer;
use stepgraph::auth::policy::{self, SequenceAccess};
use stepgraph::seed::sized::{self, SizedOptions};

use crate::server::TestServer;
use crate::support::TestDb;

/// What a sequence is to the member "me".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Writable,
    ReadOnly,
    Locked,
    Hidden,
}

const STATES: [State; 4] = [
    State::Writable,
    State::ReadOnly,
    State::Locked,
    State::Hidden,
];

struct World {
    s: TestServer,
    admin: Viewer,
    me: Viewer,
    viewer: Viewer,
    /// By state, in [`STATES`] order.
    sequences: [sequence::Model; 4],
    steps: [i64; 4],
    sequence_templates: [i64; 4],
    /// Tasks owned by "other", by state.
    tasks: [i64; 4],
    template_visible: i64,
    template_hidden: i64,
}

impl World {
    async fn new() -> World {
        let t = TestDb::new().await;
        let db = &t.db;
        sized::load(
            db,
            SizedOptions {
                sequences: 4,
                steps_per_sequence: 1,
                mailings_per_step: 2,
                tasks_per_step: 2,
                calls_per_step: 2,
                seed: 24,
            },
        )
        .await
        .unwrap();
        let users: Vec<user::Model> = user::Entity::find()
            .order_by_asc(user::Column::Id)
            .all(db)
            .await
            .unwrap();
        let set_role = async |u: &user::Model, role: Role| {
            let mut am = u.clone().into_active_model();
            am.role = sea_orm::ActiveValue::Set(role);
            am.update(db).await.unwrap();
            Viewer {
                user_id: u.id,
                role,
            }
        };
        let admin = set_role(&users[0], Role::Admin).await;
        let me = set_role(&users[1], Role::Member).await;
        let other = set_role(&users[2], Role::Member).await;
        let viewer = set_role(&users[3], Role::Viewer).await;

        let seqs: Vec<sequence::Model> = sequence::Entity::find()
            .order_by_asc(sequence::Column::Id)
            .all(db)
            .await
            .unwrap();
        let mut sequences = Vec::new();
        for (seq, state) in seqs.iter().zip(STATES) {
            let mut am = seq.clone().into_active_model();
            am.owner_id = sea_orm::ActiveValue::Set(other.user_id);
            am.share_type = sea_orm::ActiveValue::Set(match state {
                State::ReadOnly => ShareType::ReadOnly,
                State::Hidden => ShareType::Private,
                _ => ShareType::Shared,
            });
            am.locked = sea_orm::ActiveValue::Set(state == State::Locked);
            sequences.push(am.update(db).await.unwrap());
        }
        // Every template is other's and shared; one that no step uses becomes private.
        template::Entity::update_many()
            .col_expr(template::Column::OwnerId, Expr::value(other.user_id))
            .col_expr(template::Column::ShareType, Expr::value("shared"))
            .exec(db)
            .await
            .unwrap();
        let used: BTreeSet<i64> = sequence_template::Entity::find()
            .all(db)
            .await
            .unwrap()
            .iter()
            .map(|st| st.template_id)
            .collect();
        let templates: Vec<i64> = template::Entity::find()
            .order_by_asc(template::Column::Id)
            .all(db)
            .await
            .unwrap()
            .iter()
            .map(|t| t.id)
            .filter(|id| !used.contains(id))
            .collect();
        let (template_visible, template_hidden) = (templates[0], templates[1]);
        template::Entity::update_many()
            .col_expr(template::Column::ShareType, Expr::value("private"))
            .filter(template::Column::Id.eq(template_hidden))
            .exec(db)
            .await
            .unwrap();

        let mut steps = [0; 4];
        let mut sequence_templates = [0; 4];
        let mut tasks = [0; 4];
        for (i, seq) in sequences.iter().enumerate() {
            let step = sequence_step::Entity::find()
                .filter(sequence_step::Column::SequenceId.eq(seq.id))
                .one(db)
                .await
                .unwrap()
                .unwrap();
            steps[i] = step.id;
            // A sequence template on every step (the seed gives them to email steps only).
            let st = match sequence_template::Entity::find()
                .filter(sequence_template::Column::SequenceStepId.eq(step.id))
                .one(db)
                .await
                .unwrap()
            {
                Some(st) => st,
                None => {
                    let v = stepgraph::seed::variant(
                        0,
                        step.id,
                        template_visible,
                        other.user_id,
                        seq.created_at,
                    );
                    let mut am = v.into_active_model();
                    am.id = sea_orm::ActiveValue::NotSet;
                    am.insert(db).await.unwrap()
                }
            };
            sequence_templates[i] = st.id;
            let own: Vec<task::Model> = task::Entity::find()
                .filter(task::Column::SequenceStepId.eq(step.id))
                .order_by_asc(task::Column::Id)
                .all(db)
                .await
                .unwrap();
            tasks[i] = own[0].id;
            // The first task is other's; in the hidden sequence the second is mine.
            let mine = STATES[i] == State::Hidden;
            for (k, t) in own.iter().enumerate() {
                let owner = if mine && k == 1 { me } else { other };
                task::Entity::update_many()
                    .col_expr(task::Column::OwnerId, Expr::value(owner.user_id))
                    .filter(task::Column::Id.eq(t.id))
                    .exec(db)
                    .await
                    .unwrap();
            }
            // Calls and mailings hang off the first task; in the hidden sequence the second
            // of each is mine.
            for table in ["calls", "mailings"] {
                let rows = db
                    .query_all_raw(sea_orm::Statement::from_string(
                        t.backend(),
                        format!(
                            "SELECT id FROM {table} WHERE sequence_step_id = {} ORDER BY id",
                            step.id
                        ),
                    ))
                    .await
                    .unwrap();
                for (k, row) in rows.iter().enumerate() {
                    let id: i64 = row.try_get_by_index(0).unwrap();
                    let user = if mine && k == 1 { me } else { other };
                    let links = if table == "mailings" {
                        format!(
                            ", sequence_template_id = {}, template_id = {}",
                            st.id, st.template_id
                        )
                    } else {
                        String::new()
                    };
                    t.exec(&format!(
                        "UPDATE {table} SET user_id = {}, task_id = {}{links} WHERE id = {id}",
                        user.user_id, own[0].id
                    ))
                    .await
                    .unwrap();
                }
            }
        }
        let s = TestServer::start_configured(t, Default::default(), |state| {
            state.ingest_members = true;
        })
        .await;
        World {
            s,
            admin,
            me,
            viewer,
            sequences: sequences.try_into().unwrap(),
            steps,
            sequence_templates,
            tasks,
            template_visible,
            template_hidden,
        }
    }

    fn access(&self, i: usize) -> SequenceAccess {
        SequenceAccess::from(&self.sequences[i])
    }

    /// A mailing in the sequence of state `i` whose user is `user`.
    async fn mailing(&self, i: usize, user: &Viewer) -> i64 {
        mailing::Entity::find()
            .filter(mailing::Column::SequenceId.eq(self.sequences[i].id))
            .filter(mailing::Column::UserId.eq(user.user_id))
            .one(&self.s.db.db)
            .await
            .unwrap()
            .expect("a mailing")
            .id
    }

    async fn ingest_token(&self, who: &Viewer) -> String {
        let email = user::Entity::find_by_id(who.user_id)
            .one(&self.s.db.db)
            .await
            .unwrap()
            .unwrap()
            .email;
        stepgraph::auth::tokens::create_with(
            &self.s.db.db,
            &email,
            None,
            None,
            &[stepgraph::auth::tokens::Scope::Ingest],
        )
        .await
        .unwrap()
        .token
    }

    async fn ingest(&self, token: &str, events: Value) -> (u16, Value) {
        let res = self
            .s
            .http
            .post(format!("{}/events/mailings", self.s.base))
            .bearer_auth(token)
            .json(&json!({ "events": events }))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }
}

/// One mailing's links: for each sequence-bound link the index (into [`STATES`]) of the
/// sequence its row lives in, and which template.
#[derive(Debug, Clone, Copy)]
struct Links {
    sequence: Option<usize>,
    step: Option<usize>,
    sequence_template: Option<usize>,
    task: Option<usize>,
    /// `Some(true)`: the hidden template.
    template: Option<bool>,
}

/// The outcome the policy gives, derived from the rows' facts with the pure policy functions
/// (never from the server): 403 for a viewer; 422 when a link is invisible (exactly as when it
/// is missing) or the links disagree on the step or the sequence; else 201 when every touched
/// sequence is visible and writable, 403 otherwise.
fn expected(w: &World, who: &Viewer, l: &Links) -> u16 {
    if who.role == Role::Viewer {
        return 403;
    }
    let sees = |i: usize| policy::can_see(who, &w.access(i));
    let sequence_links = [l.sequence, l.step, l.sequence_template, l.task];
    // Tasks here are other's: visible exactly when their sequence is.
    if sequence_links.iter().flatten().any(|&i| !sees(i))
        || (l.template == Some(true) && !policy::is_admin(who))
    {
        return 422;
    }
    let step = l.sequence_template.or(l.step);
    if l.sequence_template.is_some() && l.step.is_some() && l.sequence_template != l.step {
        return 422;
    }
    if let (Some(seq), Some(step)) = (l.sequence, step)
        && seq != step
    {
        return 422;
    }
    let writable = sequence_links
        .iter()
        .flatten()
        .all(|&i| sees(i) && policy::can_write_step(who, &w.access(i)));
    if writable { 201 } else { 403 }
}

fn body(w: &World, l: &Links) -> Value {
    let mut rels = serde_json::Map::new();
    let mut link = |name: &str, ty: &str, id: Option<i64>| {
        if let Some(id) = id {
            rels.insert(name.into(), json!({"data": {"type": ty, "id": id}}));
        }
    };
    link(
        "sequence",
        "sequence",
        l.sequence.map(|i| w.sequences[i].id),
    );
    link("sequenceStep", "sequenceStep", l.step.map(|i| w.steps[i]));
    link(
        "sequenceTemplate",
        "sequenceTemplate",
        l.sequence_template.map(|i| w.sequence_templates[i]),
    );
    link("task", "task", l.task.map(|i| w.tasks[i]));
    link(
        "template",
        "template",
        l.template.map(|hidden| {
            if hidden {
                w.template_hidden
            } else {
                w.template_visible
            }
        }),
    );
    json!({"data": {"type": "mailing", "attributes": {"subject": "matrix"}, "relationships": rels}})
}

/// Every combination of a mailing's links (none, or a row in a writable, read-only, locked or
/// hidden sequence; no template, a visible or a hidden one), for every role: the answer to
/// `POST /api/v2/mailings` is the policy's. It would have caught the viewer's mailing on a
/// task alone, and a member's on a task in a locked or read-only sequence.
#[tokio::test]
async fn the_mailing_write_matrix_equals_the_policy() {
    let w = World::new().await;
    let opts: Vec<Option<usize>> = std::iter::once(None).chain((0..4).map(Some)).collect();
    let mut cases = Vec::new();
    for &sequence in &opts {
        for &step in &opts {
            for &sequence_template in &opts {
                for &task in &opts {
                    for template in [None, Some(false), Some(true)] {
                        cases.push(Links {
                            sequence,
                            step,
                            sequence_template,
                            task,
                            template,
                        });
                    }
                }
            }
        }
    }
    let mut seen = BTreeSet::new();
    for who in [w.admin, w.me, w.viewer] {
        let token = w.s.token(&who).await;
        // Eight at a time: the matrix is 1,875 requests per role.
        for chunk in cases.chunks(8) {
            let answers = futures_util::future::join_all(
                chunk
                    .iter()
                    .map(|l| w.s.api("POST", "/mailings", &token, Some(body(&w, l)))),
            )
            .await;
            for (l, res) in chunk.iter().zip(answers) {
                let want = expected(&w, &who, l);
                assert_eq!(res.status, want, "{:?} {l:?}: {}", who.role, res.body);
                seen.insert((format!("{:?}", who.role), want));
            }
        }
    }
    // Every outcome was reached by the roles that can reach it: the matrix is not vacuous.
    for (role, status) in [
        ("Admin", 201),
        ("Admin", 403),
        ("Admin", 422),
        ("Member", 201),
        ("Member", 403),
        ("Member", 422),
        ("Viewer", 403),
    ] {
        assert!(
            seen.contains(&(role.to_string(), status)),
            "{role} never got {status}"
        );
    }
    w.s.finish().await;
}

/// A link to a row the caller cannot see answers exactly like a link to a missing row.
#[tokio::test]
async fn a_hidden_link_reads_like_a_missing_one_on_writes() {
    let w = World::new().await;
    let token = w.s.token(&w.me).await;
    let hidden = 3;
    assert_eq!(STATES[hidden], State::Hidden);
    for (name, ty, id) in [
        ("sequence", "sequence", w.sequences[hidden].id),
        ("sequenceStep", "sequenceStep", w.steps[hidden]),
        (
            "sequenceTemplate",
            "sequenceTemplate",
            w.sequence_templates[hidden],
        ),
        ("task", "task", w.tasks[hidden]),
        ("template", "template", w.template_hidden),
    ] {
        let post = async |id: i64| {
            let body = json!({"data": {"type": "mailing", "relationships": {name: {"data": {"type": ty, "id": id}}}}});
            w.s.api("POST", "/mailings", &token, Some(body)).await
        };
        let hidden = post(id).await;
        let missing = post(999_999).await;
        assert_eq!(hidden.status, 422, "{name}: {}", hidden.body);
        assert_eq!(
            hidden.body.to_string().replace(&format!("id {id}"), "id N"),
            missing.body.to_string().replace("id 999999", "id N"),
            "{name}"
        );
        assert_eq!(hidden.statements, missing.statements, "{name}");
    }
    w.s.finish().await;
}

/// The type a relationship leads to, by its name on the wire.
fn target_type(rel: &str) -> Option<&'static str> {
    Some(match rel {
        "sequence" => "sequence",
        "sequenceStep" | "sequenceSteps" => "sequenceStep",
        "sequenceTemplate" | "sequenceTemplates" => "sequenceTemplate",
        "task" | "tasks" => "task",
        "template" | "templates" => "template",
        "call" | "calls" => "call",
        "mailing" | "mailings" => "mailing",
        _ => return None,
    })
}

/// The ids of a collection as a viewer sees them.
async fn ids(s: &TestServer, token: &str, path: &str) -> BTreeSet<String> {
    let res = s
        .api("GET", &format!("/{path}?page[size]=1000"), token, None)
        .await;
    assert_eq!(res.status, 200, "{path}: {}", res.body);
    res.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].to_string().trim_matches('"').to_string())
        .collect()
}

const COLLECTIONS: [(&str, &str); 5] = [
    ("sequenceStep", "sequenceSteps"),
    ("sequenceTemplate", "sequenceTemplates"),
    ("task", "tasks"),
    ("call", "calls"),
    ("mailing", "mailings"),
];

/// For every relationship filter of every JSON:API collection: filtering by a hidden row's id
/// returns exactly what filtering by an id that does not exist returns (no rows, a zero
/// count, the same number of statements). It would have caught `filter[sequence][id]=2`
/// listing my tasks in a private sequence.
#[tokio::test]
async fn relationship_filters_never_match_through_hidden_rows_json_api() {
    let w = World::new().await;
    let admin = w.s.token(&w.admin).await;
    let me = w.s.token(&w.me).await;
    let mut hidden = std::collections::HashMap::new();
    for (ty, path) in COLLECTIONS
        .iter()
        .chain(&[("sequence", "sequences"), ("template", "templates")])
    {
        let all = ids(&w.s, &admin, path).await;
        let mine = ids(&w.s, &me, path).await;
        let gone: Vec<String> = all.difference(&mine).cloned().collect();
        assert!(
            !gone.is_empty(),
            "no {ty} is hidden from me: the walk would be vacuous"
        );
        hidden.insert(*ty, gone);
    }
    let mut walked = 0;
    for (ty, path) in COLLECTIONS
        .iter()
        .chain(&[("sequence", "sequences"), ("template", "templates")])
    {
        // The relationships a row of this type has on the wire.
        let one =
            w.s.api("GET", &format!("/{path}?page[size]=1"), &admin, None)
                .await;
        let rels: Vec<String> = one.body["data"][0]["relationships"]
            .as_object()
            .unwrap_or_else(|| panic!("{ty}: {}", one.body))
            .keys()
            .cloned()
            .collect();
        for rel in rels {
            let Some(target) = target_type(&rel) else {
                continue;
            };
            let probe = async |id: &str| {
                w.s.api(
                    "GET",
                    &format!("/{path}?filter[{rel}][id]={id}&count=true&page[size]=1000"),
                    &me,
                    None,
                )
                .await
            };
            let missing = probe("999999").await;
            if missing.status != 200
                && missing.body["errors"][0]["source"]["parameter"] == format!("filter[{rel}][id]")
            {
                continue; // not a filter of this collection (as in Outreach)
            }
            assert_eq!(missing.status, 200, "{path} {rel}: {}", missing.body);
            for id in &hidden[target] {
                let res = probe(id).await;
                assert_eq!(res.status, 200, "{path} {rel}={id}: {}", res.body);
                assert_eq!(
                    res.body["data"], missing.body["data"],
                    "{path}?filter[{rel}][id]={id} matched through a hidden {target}"
                );
                assert_eq!(res.body["meta"]["count"], missing.body["meta"]["count"]);
                assert_eq!(res.statements, missing.statements, "{path} {rel}");
                walked += 1;
            }
        }
    }
    assert!(walked >= 10, "only {walked} filters walked");
    w.s.finish().await;
}

/// The same walk on GraphQL, driven by the schema: every list field's filter input whose
/// field is an object with an `id` list (a relationship filter).
#[tokio::test]
async fn relationship_filters_never_match_through_hidden_rows_graphql() {
    let w = World::new().await;
    let admin = w.s.token(&w.admin).await;
    let me = w.s.token(&w.me).await;
    let schema = w.s.gql(
        &admin,
        "{ __schema { queryType { fields { name type { name kind ofType { name } } args { name type { name } } } } types { name kind inputFields { name type { name kind ofType { name kind ofType { name kind ofType { name } } } } } } } }",
        json!({}),
    ).await;
    let types = schema.data()["__schema"]["types"]
        .as_array()
        .unwrap()
        .clone();
    let input = |name: &str| -> Vec<(String, String)> {
        types
            .iter()
            .find(|t| t["name"] == name)
            .and_then(|t| t["inputFields"].as_array())
            .map(|fields| {
                fields
                    .iter()
                    .filter_map(|f| {
                        let t = &f["type"];
                        let ty = t["name"]
                            .as_str()
                            .or(t["ofType"]["name"].as_str())
                            .or(t["ofType"]["ofType"]["name"].as_str())
                            .or(t["ofType"]["ofType"]["ofType"]["name"].as_str())?;
                        Some((f["name"].as_str()?.to_string(), ty.to_string()))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    // Hidden ids per GraphQL type, as in the JSON:API walk.
    let mut hidden = std::collections::HashMap::new();
    for (ty, path) in COLLECTIONS
        .iter()
        .chain(&[("sequence", "sequences"), ("template", "templates")])
    {
        let all = ids(&w.s, &admin, path).await;
        let mine = ids(&w.s, &me, path).await;
        hidden.insert(*ty, all.difference(&mine).cloned().collect::<Vec<_>>());
    }
    let mut walked = 0;
    for field in schema.data()["__schema"]["queryType"]["fields"]
        .as_array()
        .unwrap()
    {
        let Some(filter_arg) = field["args"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == "filter")
        else {
            continue;
        };
        let list = field["name"].as_str().unwrap();
        let filter_type = filter_arg["type"]["name"].as_str().unwrap();
        for (name, ty) in input(filter_type) {
            let Some(target) = target_type(&name) else {
                continue;
            };
            if !input(&ty).iter().any(|(f, _)| f == "id") {
                continue;
            }
            let query = format!(
                "query($f: {filter_type}) {{ {list}(filter: $f, first: 100) {{ totalCount nodes {{ id }} }} }}"
            );
            let probe = async |id: &str| {
                w.s.gql(&me, &query, json!({"f": {name.as_str(): {"id": [id]}}}))
                    .await
            };
            let missing = probe("999999").await;
            for id in &hidden[target] {
                let res = probe(id).await;
                assert_eq!(
                    res.data(),
                    missing.data(),
                    "{list}(filter: {{{name}: {{id: [{id}]}}}}) matched through a hidden {target}"
                );
                assert_eq!(res.statements, missing.statements, "{list} {name}");
                walked += 1;
            }
        }
    }
    assert!(walked >= 10, "only {walked} filters walked");
    w.s.finish().await;
}

/// Item 3's header: a to-one whose target is hidden costs what an unset one costs, on both
/// APIs, so `x-sql-statements` cannot tell them apart.
#[tokio::test]
async fn statement_counts_do_not_tell_hidden_links_from_unset_ones() {
    let w = World::new().await;
    let me = w.s.token(&w.me).await;
    let db = &w.s.db.db;
    // My mailing in the hidden sequence (its links hidden from me), and a copy with no links.
    let linked = mailing::Entity::find()
        .filter(mailing::Column::UserId.eq(w.me.user_id))
        .one(db)
        .await
        .unwrap()
        .expect("my mailing in the hidden sequence");
    assert_eq!(linked.sequence_id, Some(w.sequences[3].id));
    let mut bare = linked.clone().into_active_model();
    bare.id = sea_orm::ActiveValue::NotSet;
    for col in [
        mailing::Column::SequenceId,
        mailing::Column::SequenceStepId,
        mailing::Column::SequenceTemplateId,
        mailing::Column::TaskId,
    ] {
        bare.set(col, sea_orm::Value::BigInt(None));
    }
    let bare = bare.insert(db).await.unwrap();
    let rest = async |id: i64| w.s.api("GET", &format!("/mailings/{id}"), &me, None).await;
    let (a, b) = (rest(linked.id).await, rest(bare.id).await);
    assert_eq!(a.status, 200);
    let linkage = |doc: &Value| -> Vec<(String, Value)> {
        doc["data"]["relationships"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v["data"].clone()))
            .collect()
    };
    assert_eq!(linkage(&a.body), linkage(&b.body));
    assert_eq!(a.statements, b.statements);
    let gql = async |id: i64| {
        w.s.gql(
            &me,
            "query($id: ID!) { mailing(id: $id) { sequence { id } sequenceStep { id } sequenceTemplate { id } template { id } task { id } } }",
            json!({"id": id.to_string()}),
        )
        .await
    };
    let (a, b) = (gql(linked.id).await, gql(bare.id).await);
    assert_eq!(a.data(), b.data());
    assert_eq!(a.statements, b.statements);
    w.s.finish().await;
}

fn event(key: &str, mailing: i64, kind: &str) -> Value {
    json!({"idempotencyKey": key, "mailingId": mailing, "type": kind, "occurredAt": "2026-11-20T10:00:00Z"})
}

/// Ingest (item 4): a viewer's `ingest` token is refused whatever it names; a member's events
/// apply only to mailings whose every sequence the member may write; idempotency keys (item
/// 5) belong to their submitter, so another user's key can be neither probed nor blocked.
#[tokio::test]
async fn ingest_is_for_members_who_may_write_and_keys_are_per_submitter() {
    let w = World::new().await;
    let other = Viewer {
        user_id: w.sequences[0].owner_id,
        role: Role::Member,
    };
    let viewer = w.ingest_token(&w.viewer).await;
    let writable = w.mailing(0, &other).await;
    let (status, body) = w
        .ingest(&viewer, json!([event("v1", writable, "opened")]))
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "FORBIDDEN", "{body}");

    let me = w.ingest_token(&w.me).await;
    let events = json!([
        event("m0", w.mailing(0, &other).await, "opened"),
        event("m1", w.mailing(1, &other).await, "opened"),
        event("m2", w.mailing(2, &other).await, "opened"),
        event("m3", w.mailing(3, &other).await, "opened"),
        // Mine, so visible, but in the hidden sequence: not mine to write.
        event("m4", w.mailing(3, &w.me).await, "opened"),
    ]);
    let (status, body) = w.ingest(&me, events).await;
    assert_eq!(status, 200, "{body}");
    let outcome: Vec<(String, String)> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap().to_string(),
                r["error"]["code"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let want = [
        ("applied", ""),
        ("rejected", "FORBIDDEN"),
        ("rejected", "FORBIDDEN"),
        ("rejected", "NOT_FOUND"),
        ("rejected", "FORBIDDEN"),
    ];
    assert_eq!(
        outcome,
        want.map(|(a, b)| (a.to_string(), b.to_string())),
        "{body}"
    );

    // The admin's key "k" for one event; my "k" for another is mine, not a conflict.
    let admin = w.ingest_token(&w.admin).await;
    let (_, body) = w
        .ingest(&admin, json!([event("k", writable, "delivered")]))
        .await;
    assert_eq!(body["results"][0]["status"], "applied", "{body}");
    let (_, body) = w
        .ingest(&me, json!([event("k", writable, "clicked")]))
        .await;
    assert_eq!(body["results"][0]["status"], "applied", "{body}");
    let (_, body) = w
        .ingest(&me, json!([event("k", writable, "clicked")]))
        .await;
    assert_eq!(body["results"][0]["status"], "duplicate", "{body}");
    w.s.finish().await;
}

/// DNS rebinding (item 6): a server on a loopback address answers only loopback `Host`
/// names, the GraphiQL page included, in each API's own error format.
#[tokio::test]
async fn a_loopback_server_answers_loopback_host_names_only() {
    let w = World::new().await;
    let token = w.s.token(&w.me).await;
    let port = w.s.base.rsplit(':').next().unwrap().to_string();
    let get = async |path: &str, host: &str| {
        w.s.http
            .get(format!("{}{path}", w.s.base))
            .header("host", host)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
    };
    let foreign = format!("attacker.example:{port}");
    let page = get("/graphiql", &foreign).await;
    assert_eq!(page.status().as_u16(), 421);
    let api = TestServer::read_api(get("/api/v2/sequences", &foreign).await).await;
    assert_eq!(api.status, 421);
    assert_eq!(api.body["errors"][0]["status"], "421", "{}", api.body);
    let gql = TestServer::read(get("/graphql?query=%7Bviewer%7Bid%7D%7D", &foreign).await).await;
    assert_eq!(gql.status, 421);
    assert_eq!(gql.code(), "MISDIRECTED_REQUEST");
    for host in [format!("localhost:{port}"), format!("127.0.0.1:{port}")] {
        assert_eq!(
            get("/api/v2/sequences", &host).await.status().as_u16(),
            200,
            "{host}"
        );
    }
    w.s.finish().await;
}

/// Error bodies (item 8) and bad ids (item 9): a malformed GraphQL body names no Rust type,
/// an oversized body is JSON in each API's form, and a PATCH whose body id is not an integer
/// the URL could hold is refused, never read as "no id".
#[tokio::test]
async fn bad_bodies_get_clear_json_errors() {
    let w = World::new().await;
    let token = w.s.token(&w.me).await;
    let post = async |path: &str, ct: &str, body: String| {
        w.s.http
            .post(format!("{}{path}", w.s.base))
            .header("content-type", ct)
            .bearer_auth(&token)
            .body(body)
            .send()
            .await
            .unwrap()
    };
    for body in [r#"{"query": 1}"#, "[1, 2]", "{not json"] {
        let res = TestServer::read(post("/graphql", "application/json", body.into()).await).await;
        assert_eq!(res.status, 400, "{body}");
        assert_eq!(res.code(), "BAD_REQUEST");
        let text = res.body.to_string();
        assert!(
            !text.contains("BatchRequest") && !text.contains("untagged"),
            "{text}"
        );
    }
    let big = format!(
        r#"{{"query": "{{ viewer {{ id }} }}", "x": "{}"}}"#,
        "a".repeat(600 * 1024)
    );
    let res = TestServer::read(post("/graphql", "application/json", big.clone()).await).await;
    assert_eq!(res.status, 413);
    assert_eq!(res.code(), "PAYLOAD_TOO_LARGE");
    let res =
        TestServer::read_api(post("/api/v2/mailings", "application/vnd.api+json", big).await).await;
    assert_eq!(res.status, 413);
    assert!(
        !res.body.to_string().contains("Failed to buffer"),
        "{}",
        res.body
    );
    assert_eq!(res.body["errors"][0]["status"], "413");

    let step = w.steps[0];
    for id in ["13.0", "99999999999999999999999", "true"] {
        let res = w
            .s
            .http
            .patch(format!("{}/api/v2/sequenceSteps/{step}", w.s.base))
            .header("content-type", "application/vnd.api+json")
            .bearer_auth(&token)
            .body(format!(
                r#"{{"data": {{"type": "sequenceStep", "id": {id}, "attributes": {{"interval": 7}}}}}}"#
            ))
            .send()
            .await
            .unwrap();
        let res = TestServer::read_api(res).await;
        assert_eq!(res.status, 400, "{id}: {}", res.body);
        assert_eq!(res.source(), "/data/id");
    }
    w.s.finish().await;
}

/// Cost (item 7): list-argument items count towards a document's complexity, across aliases,
/// and the members of a batch share one complexity budget.
#[tokio::test]
async fn list_arguments_count_across_aliases_and_batch_members() {
    let w = World::new().await;
    let token = w.s.token(&w.me).await;
    let ids: Vec<String> = (1..=1000).map(|i| i.to_string()).collect();
    let doc = |aliases: usize| {
        let fields: Vec<String> = (0..aliases)
            .map(|i| {
                format!("a{i}: sequenceSteps(filter: {{id: $ids}}, first: 1) {{ totalCount }}")
            })
            .collect();
        format!("query($ids: [ID!]) {{ {} }}", fields.join(" "))
    };
    // One document: 50 aliases of 1,000 ids is 50,000 items, over the 20,000 limit.
    let res = w.s.gql(&token, &doc(50), json!({"ids": ids})).await;
    assert_eq!(res.code(), "GRAPHQL_VALIDATION_FAILED", "{}", res.body);
    // Five aliases pass alone; five such documents in one batch do not all run.
    let one = w.s.gql(&token, &doc(5), json!({"ids": ids})).await;
    one.data();
    let member = json!({"query": doc(5), "variables": {"ids": ids}});
    let batch =
        w.s.http
            .post(format!("{}/graphql", w.s.base))
            .bearer_auth(&token)
            .json(&json!([member, member, member, member, member]))
            .send()
            .await
            .unwrap();
    let body: Value = batch.json().await.unwrap();
    let answers = body.as_array().unwrap();
    assert!(answers[0].get("errors").is_none(), "{}", answers[0]);
    assert!(
        answers[4]["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("batch")),
        "{}",
        answers[4]
    );
    w.s.finish().await;
}
