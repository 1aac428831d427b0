//! SeaORM entities of stepgraph: the storage model and nothing else.
//!
//! These types mirror the tables created by the `migration` crate. They derive no GraphQL,
//! JSON:API or serde traits on purpose: a derive on a storage type would silently turn a column
//! into part of a public contract. The server crate maps them into its own wire types.

pub mod api_token;
pub mod call;
pub mod call_purpose;
pub mod change_feed;
pub mod enums;
pub mod mailing;
pub mod mailing_event;
pub mod mirror_checkpoint;
pub mod reads;
pub mod sequence;
pub mod sequence_step;
pub mod sequence_template;
pub mod task;
pub mod task_priority;
pub mod template;
pub mod user;

/// Decodes a model from a row by column position instead of by column name.
///
/// Why: SeaORM's derived `FromQueryResult` finds every cell by its column name (a SipHash
/// lookup in sqlx's column map per cell, and an error string formatted for every NULL). A
/// page of 50 steps has 1,250 cells, and decoding them by name was a quarter of the server's
/// CPU for a flat list. A `SELECT` of an entity (`Entity::find()`, or `sub.*` over one) lists
/// the columns in the model's field order, which is what [`positional_model!`] relies on; the
/// server's tests decode every table both ways and compare.
pub trait FromRow: Sized {
    /// How many columns the model reads.
    const WIDTH: usize;

    /// The model from the columns of `row` from `start` on that `mask` selects (bit `i`: field
    /// `i`, in field order); a field not selected holds its [`Placeholder`], which means
    /// nothing. Only code that reads nothing but the selected fields may hold such a model
    /// (`graphql::joins` computes the mask from what a GraphQL selection reads).
    fn from_row_masked(
        row: &sea_orm::QueryResult,
        start: usize,
        mask: u64,
    ) -> Result<Self, sea_orm::DbErr>;

    /// The model from the row's first columns, every field read.
    fn from_row(row: &sea_orm::QueryResult) -> Result<Self, sea_orm::DbErr> {
        Self::from_row_masked(row, 0, u64::MAX)
    }

    /// The model from columns `start..`, or `None` when they are the NULLs of an outer join
    /// that matched nothing (told by the first column, the primary key, which is never NULL
    /// in a row).
    /// `mask` selects which fields were read (see [`FromRow::from_row_masked`]); it must
    /// select the primary key, field 0.
    fn from_joined(
        row: &sea_orm::QueryResult,
        start: usize,
        mask: u64,
    ) -> Result<Option<Self>, sea_orm::DbErr> {
        debug_assert!(mask & 1 == 1, "a joined target's mask selects its key");
        match Option::<i64>::cell(row, start)? {
            Some(_) => Self::from_row_masked(row, start, mask).map(Some),
            None => Ok(None),
        }
    }
}

/// A column's value read by position: what [`positional_model!`] decodes each field with.
///
/// Why not SeaORM's `try_get_by_index`: on PostgreSQL it calls sqlx's `Row::try_get`, which
/// checks each cell's type against every type the Rust type accepts (a `String` compares the
/// column's type with five built-in types and then with `citext` by name) before decoding
/// it, about 4% of a nested list's instructions. A model's columns are the ones its migration
/// made, and `tests/it/seed.rs` decodes every table both ways on every backend and compares,
/// so the check can only ever pass: on PostgreSQL a cell is decoded unchecked (the decoders
/// still refuse malformed bytes: a wrong width, invalid UTF-8). Other backends go through
/// SeaORM as before.
pub trait Cell: Sized {
    fn cell(row: &sea_orm::QueryResult, index: usize) -> Result<Self, sea_orm::DbErr>;
}

/// The error SeaORM gives for a NULL in a column its model declares NOT NULL.
fn null_at(index: usize) -> sea_orm::DbErr {
    sea_orm::DbErr::Type(format!(
        "A null value was encountered while decoding column {index}"
    ))
}

/// `Option<T>` of column `index` of a PostgreSQL row, without sqlx's type check (see
/// [`Cell`]); `None` when the row is not PostgreSQL's.
fn pg_unchecked<T>(
    row: &sea_orm::QueryResult,
    index: usize,
) -> Option<Result<Option<T>, sea_orm::DbErr>>
where
    T: for<'r> sea_orm::sqlx::Decode<'r, sea_orm::sqlx::Postgres>,
{
    use sea_orm::sqlx::Row;
    let pg = row.try_as_pg_row()?;
    Some(
        pg.try_get_unchecked::<Option<T>, _>(index)
            .map_err(|e| sea_orm::DbErr::Type(e.to_string())),
    )
}

macro_rules! cells {
    ($($ty:ty),* $(,)?) => {
        $(
            impl Cell for $ty {
                fn cell(row: &sea_orm::QueryResult, index: usize) -> Result<Self, sea_orm::DbErr> {
                    match pg_unchecked::<$ty>(row, index) {
                        Some(value) => value?.ok_or_else(|| null_at(index)),
                        None => row.try_get_by_index(index),
                    }
                }
            }

            impl Cell for Option<$ty> {
                fn cell(row: &sea_orm::QueryResult, index: usize) -> Result<Self, sea_orm::DbErr> {
                    match pg_unchecked::<$ty>(row, index) {
                        Some(value) => value,
                        None => row.try_get_by_index(index),
                    }
                }
            }
        )*
    };
}

cells!(
    i32,
    i64,
    bool,
    String,
    sea_orm::prelude::DateTimeUtc,
    sea_orm::prelude::Date,
    sea_orm::prelude::Json,
);

/// The string-backed enums (`enums`): the string read as a [`Cell`], then converted as
/// SeaORM converts it.
macro_rules! enum_cells {
    ($($ty:ty),* $(,)?) => {
        $(
            impl Cell for $ty {
                fn cell(row: &sea_orm::QueryResult, index: usize) -> Result<Self, sea_orm::DbErr> {
                    let value = String::cell(row, index)?;
                    <$ty as sea_orm::ActiveEnum>::try_from_value(&value)
                }
            }

            impl Cell for Option<$ty> {
                fn cell(row: &sea_orm::QueryResult, index: usize) -> Result<Self, sea_orm::DbErr> {
                    Option::<String>::cell(row, index)?
                        .map(|value| <$ty as sea_orm::ActiveEnum>::try_from_value(&value))
                        .transpose()
                }
            }
        )*
    };
}

enum_cells!(
    enums::Role,
    enums::SequenceType,
    enums::ShareType,
    enums::StepType,
    enums::ScheduleIntervalType,
    enums::ReplyAction,
    enums::MailingState,
    enums::MailingType,
    enums::ReplySentiment,
    enums::TaskAction,
    enums::TaskState,
    enums::CallDirection,
    enums::CallOutcome,
    enums::MailingEventType,
    enums::ChangedEntity,
    enums::ChangeKind,
);

/// The value a field of a model holds when its column was not read (see
/// [`FromRow::from_row_masked`]): any value of the type, never shown to anyone.
pub trait Placeholder {
    fn placeholder() -> Self;
}

macro_rules! placeholder {
    ($($ty:ty => $value:expr),* $(,)?) => {
        $(impl Placeholder for $ty {
            fn placeholder() -> Self {
                $value
            }
        })*
    };
}

placeholder! {
    i32 => 0,
    i64 => 0,
    bool => false,
    String => String::new(),
    sea_orm::prelude::DateTimeUtc => chrono::DateTime::UNIX_EPOCH,
    sea_orm::prelude::Json => sea_orm::prelude::Json::Null,
    enums::Role => enums::Role::Viewer,
    enums::SequenceType => enums::SequenceType::Interval,
    enums::ShareType => enums::ShareType::Private,
    enums::StepType => enums::StepType::Task,
    enums::MailingState => enums::MailingState::Drafted,
    enums::TaskAction => enums::TaskAction::ActionItem,
    enums::TaskState => enums::TaskState::Incomplete,
    enums::CallDirection => enums::CallDirection::Outbound,
    enums::ChangeKind => enums::ChangeKind::Updated,
    enums::ChangedEntity => enums::ChangedEntity::SequenceStep,
    enums::MailingEventType => enums::MailingEventType::Delivered,
}

impl<T> Placeholder for Option<T> {
    fn placeholder() -> Self {
        None
    }
}

/// Runs `stmt` as `ConnectionTrait::query_all_raw` does: on a request's [`reads::Db`], on a
/// read-pool connection; on the pool's handle, the pool's own driver called directly (a
/// transaction goes through `query_all_raw`).
///
/// Why: `DatabaseConnection::query_all_raw` wraps the driver's future in two more async
/// layers (a span and a match on the driver), and each moves the driver's large future by
/// value: about 50,000 instructions of `memcpy` per statement, 5% of a nested list's. The
/// driver's `query_all` is the same statement, counted and timed by the same metric
/// callback.
pub async fn query_all(
    db: &(impl sea_orm::ConnectionTrait + 'static),
    stmt: sea_orm::Statement,
) -> Result<Vec<sea_orm::QueryResult>, sea_orm::DbErr> {
    let any = db as &dyn std::any::Any;
    if let Some(db) = any.downcast_ref::<reads::Db>() {
        return db.query_all(stmt).await;
    }
    if let Some(db) = any.downcast_ref::<sea_orm::DatabaseConnection>() {
        return on_pool(db, stmt).await;
    }
    db.query_all_raw(stmt).await
}

/// [`query_all`] through sqlx's pool.
pub(crate) async fn on_pool(
    db: &sea_orm::DatabaseConnection,
    stmt: sea_orm::Statement,
) -> Result<Vec<sea_orm::QueryResult>, sea_orm::DbErr> {
    use sea_orm::DatabaseConnectionType as Driver;
    match &db.inner {
        Driver::SqlxPostgresPoolConnection(conn) => conn.query_all(stmt).await,
        Driver::SqlxMySqlPoolConnection(conn) => conn.query_all(stmt).await,
        Driver::SqlxSqlitePoolConnection(conn) => conn.query_all(stmt).await,
        _ => sea_orm::ConnectionTrait::query_all_raw(db, stmt).await,
    }
}

/// Runs `stmt` and decodes every row by position ([`FromRow`]). The statement must select
/// exactly the entity's columns, in its field order: `Entity::find()` built as it is, or
/// `sub.*` over one (never `select_only`, extra expressions or a join).
pub async fn all_by_position<M: FromRow>(
    db: &(impl sea_orm::ConnectionTrait + 'static),
    stmt: sea_orm::Statement,
) -> Result<Vec<M>, sea_orm::DbErr> {
    all_by_position_masked(db, stmt, u64::MAX).await
}

/// [`all_by_position`] for a statement that selects only the columns of `mask`, in field
/// order ([`FromRow::from_row_masked`]).
pub async fn all_by_position_masked<M: FromRow>(
    db: &(impl sea_orm::ConnectionTrait + 'static),
    stmt: sea_orm::Statement,
    mask: u64,
) -> Result<Vec<M>, sea_orm::DbErr> {
    query_all(db, stmt)
        .await?
        .iter()
        .map(|row| M::from_row_masked(row, 0, mask))
        .collect()
}

/// Declares an entity's `Model` as written, and implements [`FromRow`] for it: field `i` is
/// read from column `i`, which is the order SeaORM's `Column` enum (and so every entity
/// `SELECT`) lists them in.
macro_rules! positional_model {
    (
        $(#[$meta:meta])*
        pub struct Model {
            $(
                $(#[$field_meta:meta])*
                pub $field:ident : $ty:ty
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        pub struct Model {
            $( $(#[$field_meta])* pub $field : $ty ),*
        }

        impl $crate::FromRow for Model {
            const WIDTH: usize = [$(stringify!($field)),*].len();

            #[allow(unused_assignments)]
            fn from_row_masked(
                row: &sea_orm::QueryResult,
                start: usize,
                mask: u64,
            ) -> Result<Self, sea_orm::DbErr> {
                let mut index = start;
                let mut bit = 1u64;
                Ok(Self {
                    $( $field: {
                        let value = if mask & bit != 0 {
                            index += 1;
                            $crate::Cell::cell(row, index - 1)?
                        } else {
                            $crate::Placeholder::placeholder()
                        };
                        bit <<= 1;
                        value
                    } ),*
                })
            }
        }
    };
}
pub(crate) use positional_model;
