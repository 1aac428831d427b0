//! Sized, deterministic data for benchmarks: `seed --sequences N --steps-per-sequence M ...`.
//!
//! The same options and `--seed` always produce the same rows (ids included, given the same
//! starting database), because every value comes from [`SplitMix64`] and a fixed base time.
//! Every step gets exactly `mailings_per_step` mailings, `tasks_per_step` tasks and
//! `calls_per_step` calls, whatever its type, so sizes are predictable.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use entity::enums::{
    CallDirection, CallOutcome, MailingState, ReplySentiment, Role, SequenceType, ShareType,
    StepType, TaskAction, TaskState,
};
use entity::{call, call_purpose, sequence, task, task_priority, template, user};
use sea_orm::{ConnectionTrait, DbErr, TransactionTrait};
use serde_json::json;

use crate::seed::rng::SplitMix64;
use crate::seed::{self, Dataset, IdAlloc, MailingOrigin, SeedCounts};

#[derive(Debug, Clone, Copy)]
pub struct SizedOptions {
    pub sequences: u32,
    pub steps_per_sequence: u32,
    pub mailings_per_step: u32,
    pub tasks_per_step: u32,
    pub calls_per_step: u32,
    pub seed: u64,
}

const USERS: usize = 10;
const TEMPLATES: usize = 20;
/// Sequences written per chunk, to bound memory on large runs.
const CHUNK: u32 = 500;

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("BUG: fixed date is valid")
}

/// Loads the data set in one transaction.
pub async fn load<C>(db: &C, opts: SizedOptions) -> Result<SeedCounts, DbErr>
where
    C: ConnectionTrait + TransactionTrait + 'static,
    C::Transaction: 'static,
{
    let mut rng = SplitMix64::new(opts.seed);
    let mut next_sequence = 0u32;
    let mut shared: Option<Shared> = None;
    seed::run_chunked(db, |ids| {
        let mut data = Dataset::default();
        let shared = match &shared {
            Some(s) => s.clone(),
            None => {
                let s = build_shared(ids, &mut rng, &mut data);
                shared = Some(s.clone());
                s
            }
        };
        if next_sequence >= opts.sequences {
            // The first chunk always carries the shared rows, even with zero sequences.
            return (!data.users.is_empty()).then_some(data);
        }
        let end = (next_sequence + CHUNK).min(opts.sequences);
        for n in next_sequence..end {
            build_sequence(ids, &mut rng, &opts, &shared, n, &mut data);
        }
        next_sequence = end;
        Some(data)
    })
    .await
}

/// Ids of the rows every sequence draws from.
#[derive(Clone)]
struct Shared {
    owners: Vec<i64>,
    call_purposes: Vec<i64>,
    task_priorities: Vec<i64>,
    templates: Vec<i64>,
}

fn build_shared(ids: &mut IdAlloc, rng: &mut SplitMix64, d: &mut Dataset) -> Shared {
    let t0 = base();
    let first_user = ids.user;
    let mut owners = Vec::new();
    for i in 0..USERS {
        let id = ids.user;
        ids.user += 1;
        let role = match i {
            0 => Role::Admin,
            i if i == USERS - 1 => Role::Viewer,
            _ => Role::Member,
        };
        if role != Role::Viewer {
            owners.push(id);
        }
        d.users.push(user::Model {
            id,
            // The first id makes the addresses unique per run, so a second run can share a
            // database with the first.
            email: format!("user{i}.run{first_user}@bench.example.com"),
            first_name: Some(format!("User{i}")),
            last_name: Some("Bench".into()),
            username: Some(format!("user{i}_{first_user}")),
            title: None,
            role,
            locked: false,
            created_at: t0,
            updated_at: t0,
        });
    }
    let mut call_purposes = Vec::new();
    for (i, name) in [
        "Initial Contact",
        "Follow-up",
        "Discovery Call",
        "Demo Scheduling",
    ]
    .iter()
    .enumerate()
    {
        call_purposes.push(ids.call_purpose);
        d.call_purposes.push(call_purpose::Model {
            id: ids.call_purpose,
            name: (*name).into(),
            order: Some(i as i32 + 1),
            creator_id: Some(owners[0]),
            created_at: t0,
            updated_at: t0,
        });
        ids.call_purpose += 1;
    }
    let mut task_priorities = Vec::new();
    for (name, weight) in [("High", 3), ("Medium", 2), ("Low", 1)] {
        task_priorities.push(ids.task_priority);
        d.task_priorities.push(task_priority::Model {
            id: ids.task_priority,
            name: name.into(),
            color: None,
            weight,
            created_at: t0,
            updated_at: t0,
        });
        ids.task_priority += 1;
    }
    let mut templates = Vec::new();
    for i in 0..TEMPLATES {
        let owner = *rng.pick(&owners);
        templates.push(ids.template);
        d.templates.push(template::Model {
            id: ids.template,
            name: Some(format!("Template {i}")),
            subject: Some(format!("Subject line {i}")),
            body_html: Some(format!("<p>Body {i}</p>")),
            body_text: Some(format!("Body {i}")),
            share_type: *rng.pick(&[ShareType::Private, ShareType::ReadOnly, ShareType::Shared]),
            archived: false,
            archived_at: None,
            track_links: true,
            track_opens: true,
            to_recipients: json!([]),
            cc_recipients: json!([]),
            bcc_recipients: json!([]),
            tags: json!([]),
            last_used_at: None,
            owner_id: Some(owner),
            creator_id: Some(owner),
            updater_id: Some(owner),
            created_at: t0,
            updated_at: t0,
        });
        ids.template += 1;
    }
    Shared {
        owners,
        call_purposes,
        task_priorities,
        templates,
    }
}

const STEP_TYPES: [StepType; 4] = [
    StepType::AutoEmail,
    StepType::ManualEmail,
    StepType::Call,
    StepType::Task,
];
const MAILING_STATES: [MailingState; 10] = [
    MailingState::Bounced,
    MailingState::Delivered,
    MailingState::Delivering,
    MailingState::Drafted,
    MailingState::Failed,
    MailingState::Opened,
    MailingState::Placeholder,
    MailingState::Queued,
    MailingState::Replied,
    MailingState::Scheduled,
];

fn build_sequence(
    ids: &mut IdAlloc,
    rng: &mut SplitMix64,
    opts: &SizedOptions,
    shared: &Shared,
    n: u32,
    d: &mut Dataset,
) {
    let seq_id = ids.sequence;
    ids.sequence += 1;
    let owner = *rng.pick(&shared.owners);
    let created = base() + Duration::minutes(i64::from(n));
    let seq_type = if rng.chance(80) {
        SequenceType::Interval
    } else {
        SequenceType::Date
    };
    let enabled = rng.chance(70);
    let locked = rng.chance(5);
    d.sequences.push(sequence::Model {
        enabled,
        enabled_at: enabled.then_some(created),
        locked,
        locked_at: locked.then_some(created),
        ..super::sequence(
            seq_id,
            format!("Sequence {n}"),
            seq_type,
            *rng.pick(&[ShareType::Private, ShareType::ReadOnly, ShareType::Shared]),
            owner,
            created,
        )
    });
    let start_date = NaiveDate::from_ymd_opt(2026, 3, 1).expect("BUG: fixed date is valid")
        + Duration::days(i64::from(n % 200));
    for k in 0..opts.steps_per_sequence {
        let step_id = ids.step;
        ids.step += 1;
        let step_type = *rng.pick(&STEP_TYPES);
        let at = created + Duration::seconds(i64::from(k));
        let (interval, date) = match seq_type {
            SequenceType::Interval => (Some(rng.below(7) as i32 * 86_400), None),
            SequenceType::Date => (None, Some(start_date + Duration::days(i64::from(k)))),
        };
        let mut st = seed::step(
            step_id,
            seq_id,
            step_type,
            k as i32 + 1,
            interval,
            date,
            None,
            owner,
            at,
        );
        if step_type == StepType::Call {
            st.call_purpose_id = Some(*rng.pick(&shared.call_purposes));
        }
        if step_type != StepType::AutoEmail {
            st.task_priority_id = Some(*rng.pick(&shared.task_priorities));
            st.task_note = Some(format!("Note for step {step_id}"));
        }
        d.steps.push(st);

        let mut variants = Vec::new();
        if matches!(step_type, StepType::AutoEmail | StepType::ManualEmail) {
            let count = 1 + rng.below(2);
            for _ in 0..count {
                let template_id = *rng.pick(&shared.templates);
                if variants.iter().any(|&(_, t)| t == template_id) {
                    continue;
                }
                let id = ids.sequence_template;
                ids.sequence_template += 1;
                d.sequence_templates
                    .push(seed::variant(id, step_id, template_id, owner, at));
                variants.push((id, template_id));
            }
        }
        for j in 0..opts.mailings_per_step {
            let state = *rng.pick(&MAILING_STATES);
            let sentiment = *rng.pick(&[
                ReplySentiment::Positive,
                ReplySentiment::Neutral,
                ReplySentiment::Negative,
            ]);
            let (variant, template_id) = match variants.len() {
                0 => (None, None),
                len => {
                    let (v, t) = variants[j as usize % len];
                    (Some(v), Some(t))
                }
            };
            let origin = MailingOrigin {
                sequence_id: seq_id,
                sequence_step_id: step_id,
                sequence_template_id: variant,
                template_id,
                task_id: None,
                user_id: Some(owner),
            };
            let opted_out = rng.chance(5);
            let clicked = rng.chance(30);
            let id = ids.mailing;
            ids.mailing += 1;
            let sent = at + Duration::hours(24 + i64::from(j));
            d.mailings.push(seed::mailing_in_state(
                id,
                state,
                Some(sentiment),
                opted_out,
                clicked,
                sent,
                &origin,
            ));
        }
        for j in 0..opts.tasks_per_step {
            let id = ids.task;
            ids.task += 1;
            let state = *rng.pick(&[
                TaskState::Pending,
                TaskState::Incomplete,
                TaskState::Complete,
            ]);
            let due = at + Duration::days(1 + i64::from(j));
            let done = state == TaskState::Complete;
            d.tasks.push(task::Model {
                id,
                action: *rng.pick(&[TaskAction::ActionItem, TaskAction::Call, TaskAction::Email]),
                state,
                task_type: "sequence_step_task".into(),
                due_at: Some(due),
                scheduled_at: None,
                autoskip_at: None,
                completed: done,
                completed_at: done.then_some(due),
                note: None,
                state_changed_at: Some(due),
                sequence_id: Some(seq_id),
                sequence_step_id: Some(step_id),
                task_priority_id: Some(*rng.pick(&shared.task_priorities)),
                owner_id: Some(owner),
                creator_id: Some(owner),
                completer_id: done.then_some(owner),
                created_at: at,
                updated_at: at,
            });
        }
        for j in 0..opts.calls_per_step {
            let id = ids.call;
            ids.call += 1;
            let answered = rng.chance(40);
            let dialed = at + Duration::days(1) + Duration::minutes(i64::from(j));
            d.calls.push(call::Model {
                id,
                direction: CallDirection::Outbound,
                outcome: Some(if answered {
                    CallOutcome::Answered
                } else {
                    CallOutcome::NotAnswered
                }),
                state: Some("completed".into()),
                sequence_action: None,
                user_call_type: Some("voip".into()),
                from: None,
                to: None,
                note: None,
                recording_url: None,
                voicemail_recording_url: None,
                vendor_call_id: None,
                external_vendor: None,
                should_record_call: false,
                dialed_at: Some(dialed),
                answered_at: answered.then_some(dialed),
                completed_at: Some(dialed + Duration::minutes(3)),
                returned_at: None,
                state_changed_at: None,
                call_purpose_id: Some(*rng.pick(&shared.call_purposes)),
                sequence_id: Some(seq_id),
                sequence_step_id: Some(step_id),
                task_id: None,
                user_id: Some(owner),
                created_at: dialed,
                updated_at: dialed,
            });
        }
    }
}
