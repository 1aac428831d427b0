//! Visibility everywhere (docs/permissions.md): no root list, lookup, relationship, count or
//! relationship filter shows a row tied to a sequence the viewer may not see.
//!
//! The walk is generated from the schema's own introspection: every root list, every to-one
//! and every to-many field of every object type reached, so a field added later is covered
//! without touching this file. What a viewer must never receive is written out here from the
//! the table in docs/permissions.md, independently of `auth::policy`.

use std::collections::{BTreeSet, HashMap, HashSet};

use entity::enums::{Role, ShareType};
use entity::{call, mailing, sequence, sequence_step, sequence_template, task, template, user};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryOrder, QuerySelect,
    QueryTrait, Statement,
};
use serde_json::{Value, json};
use stepgraph::auth::Viewer;
use stepgraph::auth::policy::{self, Links, SequenceAccess};
use stepgraph::graphql::Limits;
use stepgraph::seed::demo;
use stepgraph::service::lists::{
    Calls, Mailings, SequenceTemplates, Sequences, Steps, Tasks, Templates,
};
use stepgraph::service::resource::{self, Resource};

use crate::introspect::{Schema, schema};
use crate::server::TestServer;
use crate::support::TestDb;

/// Every row of the tables visibility depends on.
struct World {
    users: Vec<user::Model>,
    sequences: Vec<sequence::Model>,
    steps: Vec<sequence_step::Model>,
    sequence_templates: Vec<sequence_template::Model>,
    templates: Vec<template::Model>,
    tasks: Vec<task::Model>,
    calls: Vec<call::Model>,
    mailings: Vec<mailing::Model>,
}

async fn world(db: &DatabaseConnection) -> World {
    World {
        users: user::Entity::find().all(db).await.unwrap(),
        sequences: sequence::Entity::find().all(db).await.unwrap(),
        steps: sequence_step::Entity::find().all(db).await.unwrap(),
        sequence_templates: sequence_template::Entity::find().all(db).await.unwrap(),
        templates: template::Entity::find().all(db).await.unwrap(),
        tasks: task::Entity::find().all(db).await.unwrap(),
        calls: call::Entity::find().all(db).await.unwrap(),
        mailings: mailing::Entity::find().all(db).await.unwrap(),
    }
}

type Ids = BTreeSet<(&'static str, i64)>;

/// What `viewer` must never receive: every row tied to a private sequence of someone else,
/// except their own tasks, calls and mailings; and private templates of others that no
/// visible sequence template uses. Written from docs/permissions.md, not from the policy code.
fn forbidden(w: &World, viewer: &Viewer) -> Ids {
    let mut out = Ids::new();
    if viewer.role == Role::Admin {
        return out;
    }
    let me = viewer.user_id;
    let seqs: HashSet<i64> = w
        .sequences
        .iter()
        .filter(|s| s.share_type == ShareType::Private && s.owner_id != me)
        .map(|s| s.id)
        .collect();
    let steps: HashSet<i64> = w
        .steps
        .iter()
        .filter(|s| seqs.contains(&s.sequence_id))
        .map(|s| s.id)
        .collect();
    let sts: HashSet<i64> = w
        .sequence_templates
        .iter()
        .filter(|v| steps.contains(&v.sequence_step_id))
        .map(|v| v.id)
        .collect();
    let hidden = |set: &HashSet<i64>, id: Option<i64>| id.is_some_and(|id| set.contains(&id));
    let tasks: HashSet<i64> = w
        .tasks
        .iter()
        .filter(|t| {
            (hidden(&seqs, t.sequence_id) || hidden(&steps, t.sequence_step_id))
                && t.owner_id != Some(me)
        })
        .map(|t| t.id)
        .collect();
    for c in &w.calls {
        if (hidden(&seqs, c.sequence_id)
            || hidden(&steps, c.sequence_step_id)
            || hidden(&tasks, c.task_id))
            && c.user_id != Some(me)
        {
            out.insert(("Call", c.id));
        }
    }
    for m in &w.mailings {
        if (hidden(&seqs, m.sequence_id)
            || hidden(&steps, m.sequence_step_id)
            || hidden(&sts, m.sequence_template_id)
            || hidden(&tasks, m.task_id))
            && m.user_id != Some(me)
        {
            out.insert(("Mailing", m.id));
        }
    }
    for t in &w.templates {
        let used_visibly = w
            .sequence_templates
            .iter()
            .any(|v| v.template_id == t.id && !sts.contains(&v.id));
        if t.share_type == ShareType::Private && t.owner_id != Some(me) && !used_visibly {
            out.insert(("Template", t.id));
        }
    }
    out.extend(seqs.into_iter().map(|id| ("Sequence", id)));
    out.extend(steps.into_iter().map(|id| ("SequenceStep", id)));
    out.extend(sts.into_iter().map(|id| ("SequenceTemplate", id)));
    out.extend(tasks.into_iter().map(|id| ("Task", id)));
    out
}

fn viewer_of(u: &user::Model) -> Viewer {
    Viewer {
        user_id: u.id,
        role: u.role,
    }
}

/// The demo data, plus links that are legal but unusual: a call of a shared step made from a
/// task of a private sequence, a task and a call with no sequence, a mailing of Max's sent
/// from Mia's private task.
async fn demo_with_odd_links(t: &TestDb) {
    demo::load(&t.db).await.unwrap();
    for sql in [
        // The first call of a shared sequence now points at a task of Mia's private one.
        "UPDATE calls SET task_id = (SELECT MIN(k.id) FROM tasks k JOIN sequences s ON s.id = k.sequence_id WHERE s.share_type = 'private' AND s.name = 'Executive intro') WHERE id = (SELECT MIN(c.id) FROM calls c JOIN sequences s ON s.id = c.sequence_id WHERE s.share_type = 'shared')",
        "UPDATE tasks SET sequence_id = NULL, sequence_step_id = NULL WHERE id = (SELECT MAX(id) FROM tasks)",
    ] {
        t.exec(sql).await.unwrap();
    }
}

/// The policy's SQL conditions and its pure functions agree, row for row, for every user.
#[tokio::test]
async fn policy_in_sql_and_in_memory_agree() {
    let t = TestDb::new().await;
    demo_with_odd_links(&t).await;
    let w = world(&t.db).await;

    async fn sql_ids<R: Resource>(db: &DatabaseConnection, v: &Viewer) -> BTreeSet<i64> {
        let rows = resource::select::<R>(v, &Default::default())
            .all(db)
            .await
            .unwrap();
        rows.iter().map(R::id).collect()
    }

    for u in &w.users {
        let v = viewer_of(u);
        let seq_access: HashMap<i64, SequenceAccess> = w
            .sequences
            .iter()
            .map(|s| (s.id, SequenceAccess::from(s)))
            .collect();
        let seq_visible = |id: i64| policy::can_see(&v, &seq_access[&id]);
        let step_seq: HashMap<i64, i64> = w.steps.iter().map(|s| (s.id, s.sequence_id)).collect();
        let step_visible = |id: i64| seq_visible(step_seq[&id]);
        let st_step: HashMap<i64, i64> = w
            .sequence_templates
            .iter()
            .map(|s| (s.id, s.sequence_step_id))
            .collect();
        let st_visible = |id: i64| policy::can_see_sequence_template(step_visible(st_step[&id]));
        let task_by_id: HashMap<i64, &task::Model> = w.tasks.iter().map(|t| (t.id, t)).collect();
        let task_visible = |id: i64| {
            let t = task_by_id[&id];
            policy::can_see_task(
                &v,
                t.owner_id,
                Links {
                    sequence: t.sequence_id.map(seq_visible),
                    step: t.sequence_step_id.map(step_visible),
                    ..Links::default()
                },
            )
        };

        let expect = |ids: Vec<(i64, bool)>| -> BTreeSet<i64> {
            ids.into_iter()
                .filter(|(_, ok)| *ok)
                .map(|(id, _)| id)
                .collect()
        };
        let case = format!("{} ({:?})", u.email, u.role);
        assert_eq!(
            sql_ids::<Sequences>(&t.db, &v).await,
            expect(
                w.sequences
                    .iter()
                    .map(|s| (s.id, seq_visible(s.id)))
                    .collect()
            ),
            "sequences for {case}"
        );
        assert_eq!(
            sql_ids::<Steps>(&t.db, &v).await,
            expect(w.steps.iter().map(|s| (s.id, step_visible(s.id))).collect()),
            "steps for {case}"
        );
        assert_eq!(
            sql_ids::<SequenceTemplates>(&t.db, &v).await,
            expect(
                w.sequence_templates
                    .iter()
                    .map(|s| (s.id, st_visible(s.id)))
                    .collect()
            ),
            "sequence templates for {case}"
        );
        assert_eq!(
            sql_ids::<Tasks>(&t.db, &v).await,
            expect(w.tasks.iter().map(|k| (k.id, task_visible(k.id))).collect()),
            "tasks for {case}"
        );
        let calls = w.calls.iter().map(|c| {
            let links = Links {
                sequence: c.sequence_id.map(seq_visible),
                step: c.sequence_step_id.map(step_visible),
                sequence_template: None,
                task: c.task_id.map(task_visible),
            };
            (c.id, policy::can_see_activity(&v, c.user_id, links))
        });
        assert_eq!(
            sql_ids::<Calls>(&t.db, &v).await,
            expect(calls.collect()),
            "calls for {case}"
        );
        let mailings = w.mailings.iter().map(|m| {
            let links = Links {
                sequence: m.sequence_id.map(seq_visible),
                step: m.sequence_step_id.map(step_visible),
                sequence_template: m.sequence_template_id.map(st_visible),
                task: m.task_id.map(task_visible),
            };
            (m.id, policy::can_see_activity(&v, m.user_id, links))
        });
        assert_eq!(
            sql_ids::<Mailings>(&t.db, &v).await,
            expect(mailings.collect()),
            "mailings for {case}"
        );
        let templates = w.templates.iter().map(|tp| {
            let used = w
                .sequence_templates
                .iter()
                .any(|s| s.template_id == tp.id && st_visible(s.id));
            (
                tp.id,
                policy::can_see_template(&v, tp.owner_id, tp.share_type, used),
            )
        });
        assert_eq!(
            sql_ids::<Templates>(&t.db, &v).await,
            expect(templates.collect()),
            "templates for {case}"
        );
        // And the independent statement of the rule agrees with both.
        let hidden = forbidden(&w, &v);
        for s in &w.steps {
            assert_eq!(
                hidden.contains(&("SequenceStep", s.id)),
                !step_visible(s.id),
                "{case}"
            );
        }
    }
    t.finish().await;
}

// --- The schema-driven walk ------------------------------------------------------------------

/// Everything a walk returned: each row's (type, id), and the problems found on the way.
#[derive(Default)]
struct Walk {
    seen: Ids,
    /// Rows whose own relationships resolved to null (parent type, id, field).
    nulls: BTreeSet<(String, i64, String)>,
    problems: Vec<String>,
}

fn type_of(name: &str) -> &'static str {
    match name {
        "Sequence" => "Sequence",
        "SequenceStep" => "SequenceStep",
        "SequenceTemplate" => "SequenceTemplate",
        "Template" => "Template",
        "Task" => "Task",
        "Call" => "Call",
        "Mailing" => "Mailing",
        "User" => "User",
        "CallPurpose" => "CallPurpose",
        "TaskPriority" => "TaskPriority",
        other => panic!("a row type the test does not know yet: {other}"),
    }
}

impl Walk {
    fn visit(&mut self, path: &str, v: &Value) {
        match v {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.visit(&format!("{path}[{i}]"), item);
                }
            }
            Value::Object(map) => {
                if let (Some(t), Some(id)) = (map.get("__typename"), map.get("id")) {
                    let id: i64 = id.as_str().unwrap().parse().unwrap();
                    let t = t.as_str().unwrap();
                    if !t.ends_with("Connection") {
                        self.seen.insert((type_of(t), id));
                        for (k, child) in map {
                            if child.is_null() {
                                self.nulls.insert((t.to_string(), id, k.clone()));
                            }
                        }
                    }
                }
                if let (Some(total), Some(nodes)) = (map.get("totalCount"), map.get("nodes")) {
                    let shown = nodes.as_array().unwrap().len() as i64;
                    if total.as_i64() != Some(shown) {
                        self.problems
                            .push(format!("{path}: totalCount {total} but {shown} rows"));
                    }
                    if map["pageInfo"]["hasNextPage"] != json!(false) {
                        self.problems
                            .push(format!("{path}: a page of 100 is not all"));
                    }
                }
                for (k, child) in map {
                    self.visit(&format!("{path}.{k}"), child);
                }
            }
            _ => {}
        }
    }
}

async fn walk(s: &TestServer, schema: &Schema, token: &str) -> Walk {
    let mut w = Walk::default();
    let docs = schema.root_documents();
    assert!(docs.len() >= 10, "the walk covers every root list");
    for (name, doc, paged) in docs {
        let mut after = Value::Null;
        let mut shown = 0;
        loop {
            let res = s.gql(token, &doc, json!({ "after": after })).await;
            assert_eq!(res.status, 200, "{name}: {}", res.body);
            assert!(
                res.body.get("errors").is_none(),
                "{name}: no errors expected: {}",
                res.body["errors"]
            );
            let data = &res.body["data"][&name];
            if !paged {
                w.visit(&name, data);
                break;
            }
            // A root list is walked page by page; its totalCount is checked against the walk.
            let nodes = data["nodes"].as_array().unwrap();
            shown += nodes.len() as i64;
            w.visit(&name, &data["nodes"]);
            if data["pageInfo"]["hasNextPage"] != json!(true) {
                if data["totalCount"].as_i64() != Some(shown) {
                    w.problems.push(format!(
                        "{name}: totalCount {} but the walk showed {shown}",
                        data["totalCount"]
                    ));
                }
                break;
            }
            after = data["pageInfo"]["endCursor"].clone();
        }
    }
    assert!(w.problems.is_empty(), "{:#?}", w.problems);
    w
}

/// The whole graph, walked from every root list as the admin, the members and the viewer of the
/// demo (whose private sequences have tasks, calls, mailings and A/B templates), on whichever
/// database the suite runs against.
#[tokio::test]
async fn no_path_of_the_graph_shows_a_hidden_row() {
    let t = TestDb::new().await;
    demo_with_odd_links(&t).await;
    let w = world(&t.db).await;
    let s = TestServer::start_with(
        t,
        Limits {
            max_complexity: usize::MAX / 4,
            ..Limits::default()
        },
    )
    .await;
    let admin = w.users.iter().find(|u| u.role == Role::Admin).unwrap();
    let admin_token = s.token(&viewer_of(admin)).await;
    let schema = schema(&s, &admin_token).await;
    let admin_walk = walk(&s, &schema, &admin_token).await;
    let lookups = schema.lookups();
    assert!(lookups.len() >= 4, "lookups found: {lookups:?}");

    let mut checked_hidden = 0;
    for u in w.users.iter().filter(|u| u.role != Role::Admin) {
        let v = viewer_of(u);
        let hidden = forbidden(&w, &v);
        // The walk reaches every one of these rows when nothing hides them: the check below
        // is about visibility, not about a walk too shallow to get there.
        let missed: Vec<_> = hidden.difference(&admin_walk.seen).collect();
        assert!(missed.is_empty(), "the admin's walk missed {missed:?}");
        checked_hidden += hidden.len();

        let token = s.token(&v).await;
        let mine = walk(&s, &schema, &token).await;
        let leaked: Vec<_> = mine.seen.intersection(&hidden).collect();
        assert!(
            leaked.is_empty(),
            "{} received hidden rows {leaked:?}",
            u.email
        );
        // Everything else the admin reached is reachable for them too, except rows only
        // reachable through hidden ones: at least the directory and shared sequences.
        assert!(mine.seen.iter().any(|(t, _)| *t == "Sequence"));
        assert!(mine.seen.iter().any(|(t, _)| *t == "SequenceStep"));

        // Lookups: a hidden id answers null, a visible one answers the row.
        for (field, type_name) in &lookups {
            let ids: Vec<i64> = admin_walk
                .seen
                .iter()
                .filter(|(t, _)| *t == type_of(type_name))
                .map(|(_, id)| *id)
                .collect();
            if ids.is_empty() {
                continue;
            }
            // In chunks within the server's alias and root-field limits.
            for chunk in ids.chunks(40) {
                let body: Vec<String> = chunk
                    .iter()
                    .map(|id| format!("r{id}: {field}(id: \"{id}\") {{ id }}"))
                    .collect();
                let res = s
                    .gql(&token, &format!("{{ {} }}", body.join(" ")), json!({}))
                    .await;
                let data = res.data();
                for id in chunk {
                    let hide = hidden.contains(&(type_of(type_name), *id));
                    assert_eq!(
                        data[format!("r{id}")].is_null(),
                        hide,
                        "{}: {field}(id: {id})",
                        u.email
                    );
                }
                // The same rows by global id (Relay's `nodes`), through the same loaders.
                let node_ids: Vec<String> = chunk
                    .iter()
                    .map(|id| stepgraph::graphql::node::encode(type_name, *id).to_string())
                    .collect();
                let res = s
                    .gql(
                        &token,
                        "query($ids: [ID!]!) { nodes(ids: $ids) { nodeId } }",
                        json!({ "ids": node_ids }),
                    )
                    .await;
                let nodes = res.data()["nodes"].as_array().unwrap().clone();
                for (id, node) in chunk.iter().zip(&nodes) {
                    let hide = hidden.contains(&(type_of(type_name), *id));
                    assert_eq!(
                        node.is_null(),
                        hide,
                        "{}: nodes([{type_name} {id}])",
                        u.email
                    );
                }
            }
        }
    }
    assert!(
        checked_hidden > 20,
        "the demo hides enough to test ({checked_hidden})"
    );

    // Max owns a pending task and made a call in Mia's private "Executive intro": both are his
    // to see, with their sequence and step shown as null (the schema says a hidden target is
    // null there).
    let max = w
        .users
        .iter()
        .find(|u| u.email == "max.member@example.com")
        .unwrap();
    let max_walk = walk(&s, &schema, &s.token(&viewer_of(max)).await).await;
    let exec = w
        .sequences
        .iter()
        .find(|q| q.name == "Executive intro")
        .unwrap();
    let his_call = w
        .calls
        .iter()
        .find(|c| c.sequence_id == Some(exec.id) && c.user_id == Some(max.id))
        .expect("the demo has Max's call in Mia's private sequence");
    assert!(max_walk.seen.contains(&("Call", his_call.id)));
    for field in ["sequence", "sequenceStep", "task"] {
        assert!(
            max_walk
                .nulls
                .contains(&("Call".into(), his_call.id, field.into())),
            "Call.{field} of a hidden row is null"
        );
    }
    s.finish().await;
}

/// A filter over a relationship considers only the related rows the viewer can see.
#[tokio::test]
async fn relationship_filters_see_only_visible_rows() {
    let t = TestDb::new().await;
    demo_with_odd_links(&t).await;
    let w = world(&t.db).await;
    // The call of a shared step that was made from a task of Mia's private sequence: hidden
    // from Max (not his call, not his task), so filtering steps by it finds nothing for him.
    let exec = w
        .sequences
        .iter()
        .find(|q| q.name == "Executive intro")
        .unwrap();
    let private_tasks: HashSet<i64> = w
        .tasks
        .iter()
        .filter(|k| k.sequence_id == Some(exec.id))
        .map(|k| k.id)
        .collect();
    let odd_call = w
        .calls
        .iter()
        .find(|c| {
            c.task_id.is_some_and(|k| private_tasks.contains(&k)) && c.sequence_id != Some(exec.id)
        })
        .expect("the odd link is in place");
    let s = TestServer::start(t).await;
    let by_call = r#"query($id: ID!) { sequenceSteps(filter: { calls: { id: [$id] } }) { totalCount nodes { id } } }"#;
    let vars = json!({ "id": odd_call.id.to_string() });

    let admin = s.token_for_role(Role::Admin).await;
    let res = s.gql(&admin, by_call, vars.clone()).await;
    assert_eq!(
        res.data()["sequenceSteps"]["nodes"][0]["id"],
        json!(odd_call.sequence_step_id.unwrap().to_string()),
        "the admin sees the call, so the filter matches its step"
    );
    let max = w
        .users
        .iter()
        .find(|u| u.email == "max.member@example.com")
        .unwrap();
    let token = s.token(&viewer_of(max)).await;
    let res = s.gql(&token, by_call, vars).await;
    assert_eq!(res.data()["sequenceSteps"]["totalCount"], json!(0));
    assert_eq!(res.data()["sequenceSteps"]["nodes"], json!([]));
    // The step itself is visible to Max: the filter, not the step, is what hides it.
    let step = s
        .gql(
            &token,
            r#"query($id: ID!) { sequenceStep(id: $id) { id } }"#,
            json!({ "id": odd_call.sequence_step_id.unwrap().to_string() }),
        )
        .await;
    assert!(step.data()["sequenceStep"].is_object());
    s.finish().await;
}

/// On SQLite, the visibility check of a page is a primary-key lookup for each row the page
/// considers, never a pass over the whole target table: SQLite 3.51 plans the obvious
/// `EXISTS` with a Bloom filter that reads every visible sequence first, `LIMIT` or not (see
/// `policy::row_passes`). PostgreSQL and MySQL plan `EXISTS` as a semi-join and are not asked.
#[tokio::test]
async fn a_members_page_looks_up_only_the_sequences_of_its_rows() {
    let t = TestDb::new().await;
    if t.backend() != DbBackend::Sqlite {
        return t.finish().await;
    }
    demo::load(&t.db).await.unwrap();
    let w = world(&t.db).await;
    let member = w.users.iter().find(|u| u.role == Role::Member).unwrap();
    let page = resource::select::<Steps>(&viewer_of(member), &Default::default())
        .order_by_asc(sequence_step::Column::Id)
        .limit(50)
        .build(DbBackend::Sqlite);
    let explain = Statement::from_sql_and_values(
        DbBackend::Sqlite,
        format!("EXPLAIN QUERY PLAN {}", page.sql),
        page.values.map(|v| v.0).unwrap_or_default(),
    );
    let plan: Vec<String> =
        t.db.query_all_raw(explain)
            .await
            .unwrap()
            .iter()
            .map(|row| row.try_get::<String>("", "detail").unwrap())
            .collect();
    assert!(
        plan.iter()
            .any(|step| step.starts_with("SCAN sequence_steps")),
        "{plan:?}"
    );
    // The member's rule reads sequences, and only ever one by its id.
    let sequence_reads: Vec<&String> = plan
        .iter()
        .filter(|step| step.contains(" sequences "))
        .collect();
    assert!(!sequence_reads.is_empty(), "{plan:?}");
    assert!(
        sequence_reads
            .iter()
            .all(|step| step.starts_with("SEARCH sequences USING INTEGER PRIMARY KEY")),
        "a step's sequence is looked up by its id: {plan:?}"
    );
    assert!(
        !plan.iter().any(|step| step.contains("BLOOM FILTER")),
        "no filter built from the whole table: {plan:?}"
    );
    t.finish().await;
}
