//! The demo data set: small, realistic and readable by hand.
//!
//! Four users (one admin, two members, one viewer), five sequences covering both sequence
//! types, every share type and one locked (archived) sequence, steps of all four types,
//! templates with A/B variants, tasks, calls, and mailings in every state, whose counters are
//! consistent. Timestamps are fixed, so two demo databases are identical.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use entity::enums::{
    CallDirection, CallOutcome, MailingState, ReplySentiment, Role, SequenceType, ShareType,
    StepType, TaskAction, TaskState,
};
use entity::{call, call_purpose, sequence, task, task_priority, template, user};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, TransactionTrait};
use serde_json::json;

use crate::seed::{self, Dataset, IdAlloc, MailingOrigin, SeedCounts};

/// The demo users' e-mail addresses, one per role, in the order admin, member, member, viewer.
pub const DEMO_USERS: [(&str, Role); 4] = [
    ("ada.admin@example.com", Role::Admin),
    ("mia.member@example.com", Role::Member),
    ("max.member@example.com", Role::Member),
    ("val.viewer@example.com", Role::Viewer),
];

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 1, 9, 0, 0)
        .single()
        .expect("BUG: fixed date is valid")
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("BUG: fixed date is valid")
}

const DAY: i32 = 86_400;

/// Loads the demo data. Refuses (with an error) when the database already has users, so a demo
/// never mixes with real data.
pub async fn load<C>(db: &C) -> Result<SeedCounts, DbErr>
where
    C: ConnectionTrait + TransactionTrait + 'static,
    C::Transaction: 'static,
{
    if user::Entity::find().count(db).await? > 0 {
        return Err(DbErr::Custom(
            "the database already has users; the demo data loads into an empty database only"
                .into(),
        ));
    }
    let mut done = false;
    seed::run_chunked(db, |ids| {
        if done {
            return None;
        }
        done = true;
        Some(build(ids))
    })
    .await
}

/// Whether the database holds the demo data (its users are all there).
pub async fn is_loaded<C: ConnectionTrait + 'static>(db: &C) -> Result<bool, DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter};
    let emails = DEMO_USERS.map(|(email, _)| email);
    let found = user::Entity::find()
        .filter(user::Column::Email.is_in(emails))
        .count(db)
        .await?;
    Ok(found == DEMO_USERS.len() as u64)
}

struct Step {
    step_type: StepType,
    interval: Option<i32>,
    date: Option<NaiveDate>,
    note: Option<&'static str>,
    /// Template indexes (into the template list) used by this step's variants.
    templates: &'static [usize],
}

const fn s(step_type: StepType, interval: i32, templates: &'static [usize]) -> Step {
    Step {
        step_type,
        interval: Some(interval),
        date: None,
        note: None,
        templates,
    }
}

fn build(ids: &mut IdAlloc) -> Dataset {
    let t0 = base();
    let mut d = Dataset::default();

    let names = [
        ("Ada", "Admin", "Revenue Operations Lead"),
        ("Mia", "Member", "Account Executive"),
        ("Max", "Member", "Sales Development Rep"),
        ("Val", "Viewer", "Sales Analyst"),
    ];
    for (i, ((email, role), (first, last, title))) in DEMO_USERS.iter().zip(names).enumerate() {
        d.users.push(user::Model {
            id: ids.user + i as i64,
            email: (*email).into(),
            first_name: Some(first.into()),
            last_name: Some(last.into()),
            username: Some(first.to_lowercase()),
            title: Some(title.into()),
            role: *role,
            locked: false,
            created_at: t0,
            updated_at: t0,
        });
    }
    let [ada, mia, max, _val] = [0, 1, 2, 3].map(|i| ids.user + i);
    ids.user += 4;

    for (i, name) in [
        "Initial Contact",
        "Follow-up",
        "Discovery Call",
        "Demo Scheduling",
    ]
    .into_iter()
    .enumerate()
    {
        d.call_purposes.push(call_purpose::Model {
            id: ids.call_purpose + i as i64,
            name: name.into(),
            order: Some(i as i32 + 1),
            creator_id: Some(ada),
            created_at: t0,
            updated_at: t0,
        });
    }
    let purpose = |i: i64| ids.call_purpose + i;
    for (i, (name, color, weight)) in [
        ("High", "#d93025", 3),
        ("Medium", "#f9ab00", 2),
        ("Low", "#1e8e3e", 1),
    ]
    .into_iter()
    .enumerate()
    {
        d.task_priorities.push(task_priority::Model {
            id: ids.task_priority + i as i64,
            name: name.into(),
            color: Some(color.into()),
            weight,
            created_at: t0,
            updated_at: t0,
        });
    }
    let priority = |i: i64| ids.task_priority + i;

    let templates = [
        (
            "Intro: value prop A",
            "Quick question about {{account.name}}",
            mia,
        ),
        (
            "Intro: value prop B",
            "An idea for {{account.name}}'s pipeline",
            mia,
        ),
        ("Follow-up bump", "Re: quick question", mia),
        ("Break-up email", "Should I close your file?", mia),
        (
            "Webinar thank-you",
            "Thanks for joining, {{first_name}}",
            max,
        ),
        ("Webinar recording", "The recording you asked for", max),
        ("Renewal reminder", "Your renewal is coming up", ada),
        ("Partner check-in", "Checking in on our partnership", max),
        // Mia's own A/B pair for her private "Executive intro": private templates that only a
        // private sequence uses, so nobody else may see them.
        (
            "Executive intro: variant A",
            "A note for {{first_name}}",
            mia,
        ),
        (
            "Executive intro: variant B",
            "{{first_name}}, a short intro",
            mia,
        ),
    ];
    for (i, (name, subject, owner)) in templates.iter().enumerate() {
        d.templates.push(template::Model {
            id: ids.template + i as i64,
            name: Some((*name).into()),
            subject: Some((*subject).into()),
            body_html: Some(format!("<p>Hi {{{{first_name}}}},</p><p>{subject}</p>")),
            body_text: Some(format!("Hi {{{{first_name}}}},\n\n{subject}")),
            // Mia's break-up email is private but used in her shared sequence, so its readers
            // see it through that use; her "Executive intro" pair is private and used only
            // there, so nobody else may see it.
            share_type: if [3, 8, 9].contains(&i) {
                ShareType::Private
            } else {
                ShareType::Shared
            },
            archived: false,
            archived_at: None,
            track_links: true,
            track_opens: true,
            to_recipients: json!([]),
            cc_recipients: json!([]),
            bcc_recipients: if i == 6 {
                json!(["renewals@example.com"])
            } else {
                json!([])
            },
            tags: json!(["demo"]),
            last_used_at: Some(t0 + Duration::days(20)),
            owner_id: Some(*owner),
            creator_id: Some(*owner),
            updater_id: Some(*owner),
            created_at: t0,
            updated_at: t0,
        });
    }

    use StepType::*;
    // (name, type, share type, enabled, locked, owner, steps)
    type Plan = (
        &'static str,
        SequenceType,
        ShareType,
        bool,
        bool,
        i64,
        Vec<Step>,
    );
    let plans: [Plan; 5] = [
        (
            "Mid-market outbound Q4",
            SequenceType::Interval,
            ShareType::Shared,
            true,
            false,
            mia,
            vec![
                s(AutoEmail, 0, &[0, 1]),
                s(ManualEmail, 2 * DAY, &[2]),
                Step {
                    note: Some("Call the main line; ask for the VP of Sales."),
                    ..s(Call, 3 * DAY, &[])
                },
                Step {
                    note: Some("Connect on LinkedIn and comment on a recent post."),
                    ..s(Task, 5 * DAY, &[])
                },
                s(AutoEmail, 7 * DAY, &[3]),
            ],
        ),
        (
            "Executive intro",
            SequenceType::Interval,
            ShareType::Private,
            false,
            false,
            mia,
            vec![
                s(ManualEmail, 0, &[8, 9]),
                Step {
                    note: Some("Reference the intro email."),
                    ..s(Call, DAY, &[])
                },
            ],
        ),
        (
            "Webinar follow-up (November 2026)",
            SequenceType::Date,
            ShareType::ReadOnly,
            true,
            false,
            max,
            vec![
                Step {
                    date: Some(day(2026, 11, 20)),
                    interval: None,
                    ..s(AutoEmail, 0, &[4])
                },
                Step {
                    date: Some(day(2026, 11, 23)),
                    interval: None,
                    ..s(Call, 0, &[])
                },
                Step {
                    date: Some(day(2026, 11, 27)),
                    interval: None,
                    ..s(AutoEmail, 0, &[5])
                },
            ],
        ),
        (
            "2025 renewal push (archived)",
            SequenceType::Interval,
            ShareType::Shared,
            false,
            true,
            ada,
            vec![
                s(AutoEmail, 0, &[6]),
                Step {
                    note: Some("Confirm the renewal quote."),
                    ..s(Task, 3 * DAY, &[])
                },
            ],
        ),
        (
            "Partner nurture",
            SequenceType::Date,
            ShareType::Private,
            false,
            false,
            max,
            vec![
                Step {
                    date: Some(day(2026, 12, 1)),
                    interval: None,
                    note: Some("Prepare the quarterly partner report."),
                    ..s(Task, 0, &[])
                },
                Step {
                    date: Some(day(2026, 12, 3)),
                    interval: None,
                    ..s(ManualEmail, 0, &[7])
                },
            ],
        ),
    ];

    let states = [
        (MailingState::Delivered, None, false, false),
        (MailingState::Opened, None, false, false),
        (MailingState::Opened, None, false, true),
        (
            MailingState::Replied,
            Some(ReplySentiment::Positive),
            false,
            true,
        ),
        (
            MailingState::Replied,
            Some(ReplySentiment::Neutral),
            false,
            false,
        ),
        (
            MailingState::Replied,
            Some(ReplySentiment::Negative),
            false,
            false,
        ),
        (MailingState::Bounced, None, false, false),
        (MailingState::Failed, None, false, false),
        (MailingState::Scheduled, None, false, false),
        (MailingState::Delivering, None, false, false),
        (MailingState::Delivered, None, true, false),
        (MailingState::Queued, None, false, false),
        (MailingState::Drafted, None, false, false),
        (MailingState::Placeholder, None, false, false),
    ];

    // Extra opened mailings per email step, added after every other row so the ids of the rest
    // do not move: they make open counts differ from step to step, so ordering by them shows.
    let mut extra_opens: Vec<(usize, MailingOrigin, DateTime<Utc>)> = Vec::new();
    for (si, (name, seq_type, share, enabled, locked, owner, steps)) in
        plans.into_iter().enumerate()
    {
        let seq_id = ids.sequence;
        ids.sequence += 1;
        let created = t0 + Duration::days(si as i64);
        d.sequences.push(sequence::Model {
            description: Some(format!("Demo sequence: {name}.")),
            schedule_interval_type: Some(entity::enums::ScheduleIntervalType::Calendar),
            enabled,
            enabled_at: enabled.then_some(created + Duration::hours(1)),
            locked,
            locked_at: locked.then_some(created + Duration::days(30)),
            last_used_at: Some(created + Duration::days(10)),
            max_activations: (seq_type == SequenceType::Date).then_some(500),
            primary_reply_action: Some(entity::enums::ReplyAction::Finish),
            secondary_reply_action: Some(entity::enums::ReplyAction::Pause),
            secondary_reply_pause_duration: Some(7 * DAY),
            throttle_max_adds_per_day: Some(50),
            tags: json!([
                "demo",
                if seq_type == SequenceType::Date {
                    "event"
                } else {
                    "outbound"
                }
            ]),
            ..super::sequence(seq_id, name.into(), seq_type, share, owner, created)
        });
        for (k, plan) in steps.into_iter().enumerate() {
            let step_id = ids.step;
            ids.step += 1;
            let at = created + Duration::minutes(k as i64 * 10);
            let mut st = seed::step(
                step_id,
                seq_id,
                plan.step_type,
                k as i32 + 1,
                plan.interval,
                plan.date,
                plan.note.map(Into::into),
                owner,
                at,
            );
            match plan.step_type {
                Call => {
                    st.call_purpose_id = Some(purpose(k as i64 % 4));
                    st.task_priority_id = Some(priority(0));
                    st.task_autoskip_delay = Some(DAY);
                }
                Task | ManualEmail => {
                    st.task_priority_id = Some(priority(1));
                    st.task_autoskip_delay = Some(2 * DAY);
                }
                AutoEmail => {}
            }
            d.steps.push(st);

            // Tasks get their ids first: manual emails and calls are made from the step's
            // first task.
            let first_task = (plan.step_type != AutoEmail).then_some(ids.task);
            // In Mia's private "Executive intro", Max was handed the pending task and made one
            // of the calls: rows of a sequence he cannot see that are still his own.
            let guest = (si == 1).then_some(max);

            let mut variant_ids = Vec::new();
            for &ti in plan.templates {
                let id = ids.sequence_template;
                ids.sequence_template += 1;
                let mut v = seed::variant(id, step_id, ids.template + ti as i64, owner, at);
                v.is_reply = plan.step_type == ManualEmail && k > 0;
                d.sequence_templates.push(v);
                variant_ids.push((id, ids.template + ti as i64));
            }

            if matches!(plan.step_type, AutoEmail | ManualEmail) {
                // Earlier steps have sent more; every sequence shows every state somewhere.
                let n = states.len() - (k % 3) * 2;
                for (j, (state, sentiment, opted_out, clicked)) in states.iter().take(n).enumerate()
                {
                    let (variant, template_id) = match variant_ids.len() {
                        0 => (None, None),
                        len => {
                            let (v, t) = variant_ids[j % len];
                            (Some(v), Some(t))
                        }
                    };
                    let origin = MailingOrigin {
                        sequence_id: seq_id,
                        sequence_step_id: step_id,
                        sequence_template_id: variant,
                        template_id,
                        task_id: first_task.filter(|_| plan.step_type == ManualEmail),
                        user_id: Some(owner),
                    };
                    let id = ids.mailing;
                    ids.mailing += 1;
                    let sent = at + Duration::hours(j as i64 * 3 + 24);
                    d.mailings.push(seed::mailing_in_state(
                        id, *state, *sentiment, *opted_out, *clicked, sent, &origin,
                    ));
                }
                // None for the first step of the first sequence (the tests' reference step).
                let extra = (si * 3 + k * 2) % 5;
                if extra > 0 {
                    let origin = MailingOrigin {
                        sequence_id: seq_id,
                        sequence_step_id: step_id,
                        sequence_template_id: variant_ids.first().map(|(v, _)| *v),
                        template_id: variant_ids.first().map(|(_, t)| *t),
                        task_id: first_task.filter(|_| plan.step_type == ManualEmail),
                        user_id: Some(owner),
                    };
                    extra_opens.push((extra, origin, at + Duration::days(2)));
                }
            }

            if plan.step_type != AutoEmail {
                let (action, task_type) = match plan.step_type {
                    Call => (TaskAction::Call, "sequence_step_call"),
                    Task => (TaskAction::ActionItem, "sequence_step_task"),
                    _ => (TaskAction::Email, "sequence_step_email"),
                };
                for (j, state) in [TaskState::Complete, TaskState::Pending]
                    .into_iter()
                    .enumerate()
                {
                    let id = ids.task;
                    ids.task += 1;
                    let due = at + Duration::days(2 + j as i64);
                    let done = state == TaskState::Complete;
                    d.tasks.push(task::Model {
                        id,
                        action,
                        state,
                        task_type: task_type.into(),
                        due_at: Some(due),
                        scheduled_at: Some(due - Duration::hours(2)),
                        autoskip_at: Some(due + Duration::days(1)),
                        completed: done,
                        completed_at: done.then_some(due - Duration::hours(1)),
                        note: plan.note.map(Into::into),
                        state_changed_at: Some(due - Duration::hours(1)),
                        sequence_id: Some(seq_id),
                        sequence_step_id: Some(step_id),
                        task_priority_id: Some(priority(if j == 0 { 0 } else { 2 })),
                        owner_id: Some(if done { owner } else { guest.unwrap_or(owner) }),
                        creator_id: Some(owner),
                        completer_id: done.then_some(owner),
                        created_at: at,
                        updated_at: due - Duration::hours(1),
                    });
                }
            }

            if plan.step_type == Call {
                for (j, outcome) in [CallOutcome::Answered, CallOutcome::NotAnswered]
                    .into_iter()
                    .enumerate()
                {
                    let id = ids.call;
                    ids.call += 1;
                    let dialed = at + Duration::days(2) + Duration::minutes(j as i64 * 45);
                    let answered = outcome == CallOutcome::Answered;
                    d.calls.push(call::Model {
                        id,
                        direction: CallDirection::Outbound,
                        outcome: Some(outcome),
                        state: Some("completed".into()),
                        sequence_action: Some(
                            if answered {
                                "Advance"
                            } else {
                                "Finish - No Reply"
                            }
                            .into(),
                        ),
                        user_call_type: Some("voip".into()),
                        from: Some("+1 415 555 0100".into()),
                        to: Some(format!("+1 212 555 01{:02}", id % 100)),
                        note: Some(
                            if answered {
                                "Good conversation; send pricing."
                            } else {
                                "Left a voicemail."
                            }
                            .into(),
                        ),
                        recording_url: answered
                            .then(|| format!("https://recordings.example.com/calls/{id}.mp3")),
                        voicemail_recording_url: None,
                        vendor_call_id: Some(format!("demo-{id}")),
                        external_vendor: None,
                        should_record_call: true,
                        dialed_at: Some(dialed),
                        answered_at: answered.then_some(dialed + Duration::seconds(20)),
                        completed_at: Some(
                            dialed + Duration::minutes(if answered { 12 } else { 1 }),
                        ),
                        returned_at: None,
                        state_changed_at: Some(dialed),
                        call_purpose_id: Some(purpose(j as i64)),
                        sequence_id: Some(seq_id),
                        sequence_step_id: Some(step_id),
                        task_id: first_task,
                        user_id: Some(if answered {
                            owner
                        } else {
                            guest.unwrap_or(owner)
                        }),
                        created_at: dialed,
                        updated_at: dialed,
                    });
                }
            }
        }
    }
    for (extra, origin, sent) in extra_opens {
        for j in 0..extra {
            let id = ids.mailing;
            ids.mailing += 1;
            let sent = sent + Duration::hours(j as i64);
            d.mailings.push(seed::mailing_in_state(
                id,
                MailingState::Opened,
                None,
                false,
                j % 2 == 0,
                sent,
                &origin,
            ));
        }
    }
    d
}
