//! Backend-aware column and constraint builders shared by the migrations.
//!
//! Why this exists: the three backends disagree on details that matter for correctness.
//! - SQLite does not enforce `VARCHAR(n)`, so string limits get an explicit `CHECK (length(..))`.
//! - MySQL's `length()` counts bytes, so limits there use `char_length()`.
//! - MySQL's `TEXT` holds 65,535 *bytes*; a 65,535-character note needs `MEDIUMTEXT`.
//! - MySQL's `TIMESTAMP` ends in 2038 and has implicit defaults, so timestamps are `DATETIME(6)`
//!   there (always written in UTC by the server) and `TIMESTAMPTZ` elsewhere.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// Builds the columns, checks, foreign keys and indexes of one table for one backend.
pub struct TableDef {
    backend: DbBackend,
    name: &'static str,
    create: TableCreateStatement,
    indexes: Vec<IndexCreateStatement>,
}

impl TableDef {
    pub fn new(backend: DbBackend, name: &'static str) -> Self {
        let mut create = Table::create();
        create.table(name).col(
            ColumnDef::new("id")
                .big_integer()
                .not_null()
                .auto_increment()
                .primary_key(),
        );
        Self {
            backend,
            name,
            create,
            indexes: Vec::new(),
        }
    }

    fn length_fn(&self) -> &'static str {
        match self.backend {
            DbBackend::MySql => "char_length",
            _ => "length",
        }
    }

    fn add(&mut self, mut col: ColumnDef, nullable: bool) -> &mut Self {
        if nullable {
            col.null();
        } else {
            col.not_null();
        }
        self.create.col(col);
        self
    }

    fn length_check(&mut self, col: &'static str, max: u32) {
        let sql = format!("{}(\"{col}\") <= {max}", self.length_fn());
        let sql = if self.backend == DbBackend::MySql {
            sql.replace('"', "`")
        } else {
            sql
        };
        self.create
            .check((format!("ck_{}_{col}_len", self.name), Expr::cust(sql)));
    }

    /// A `VARCHAR(max)` column whose limit holds on every backend.
    pub fn string(&mut self, col: &'static str, max: u32, nullable: bool) -> &mut Self {
        if self.backend == DbBackend::Sqlite {
            self.length_check(col, max);
        }
        self.add(ColumnDef::new(col).string_len(max).to_owned(), nullable)
    }

    /// A string column restricted to `values` by a CHECK constraint.
    pub fn enumeration(
        &mut self,
        col: &'static str,
        values: &[&'static str],
        nullable: bool,
    ) -> &mut Self {
        let len = values.iter().map(|v| v.len()).max().unwrap_or(1).max(16) as u32;
        self.create.check((
            format!("ck_{}_{col}", self.name),
            Expr::col(col).is_in(values.iter().copied()),
        ));
        self.add(ColumnDef::new(col).string_len(len).to_owned(), nullable)
    }

    /// A long text column limited to `max` characters (`None`: the backend's large text type).
    pub fn text(&mut self, col: &'static str, max: Option<u32>) -> &mut Self {
        let mut def = ColumnDef::new(col);
        match self.backend {
            DbBackend::MySql => def.custom(if max.is_some() {
                "mediumtext"
            } else {
                "longtext"
            }),
            _ => def.text(),
        };
        if let Some(max) = max {
            self.length_check(col, max);
        }
        self.add(def, true)
    }

    /// A BIGINT that refers to a row without a foreign key (the row may be gone).
    pub fn add_plain_big_integer(&mut self, col: &'static str, nullable: bool) -> &mut Self {
        self.add(ColumnDef::new(col).big_integer().to_owned(), nullable)
    }

    pub fn integer(&mut self, col: &'static str, nullable: bool) -> &mut Self {
        self.add(ColumnDef::new(col).integer().to_owned(), nullable)
    }

    /// A nullable integer that must not be negative (seconds, durations).
    pub fn non_negative(&mut self, col: &'static str) -> &mut Self {
        self.create.check((
            format!("ck_{}_{col}_nonneg", self.name),
            Expr::col(col).gte(0),
        ));
        self.integer(col, true)
    }

    /// A counter: NOT NULL, defaults to 0, never negative.
    pub fn counter(&mut self, col: &'static str) -> &mut Self {
        self.create.check((
            format!("ck_{}_{col}_nonneg", self.name),
            Expr::col(col).gte(0),
        ));
        self.add(ColumnDef::new(col).integer().default(0).to_owned(), false)
    }

    pub fn boolean(&mut self, col: &'static str, default: bool) -> &mut Self {
        self.add(
            ColumnDef::new(col).boolean().default(default).to_owned(),
            false,
        )
    }

    pub fn date(&mut self, col: &'static str) -> &mut Self {
        self.add(ColumnDef::new(col).date().to_owned(), true)
    }

    pub fn json(&mut self, col: &'static str) -> &mut Self {
        self.add(ColumnDef::new(col).json().to_owned(), false)
    }

    pub fn timestamp(&mut self, col: &'static str, nullable: bool) -> &mut Self {
        let def = timestamp_column(self.backend, col);
        self.add(def, nullable)
    }

    /// `created_at` and `updated_at`, both NOT NULL and indexed for sorting and range filters.
    pub fn timestamps(&mut self) -> &mut Self {
        self.timestamp("created_at", false)
            .timestamp("updated_at", false);
        self.index(&["created_at"]).index(&["updated_at"])
    }

    /// A BIGINT foreign key to `target.id`, indexed.
    pub fn foreign_key(
        &mut self,
        col: &'static str,
        target: &'static str,
        nullable: bool,
        on_delete: ForeignKeyAction,
    ) -> &mut Self {
        self.add(ColumnDef::new(col).big_integer().to_owned(), nullable);
        self.create.foreign_key(
            ForeignKey::create()
                .name(format!("fk_{}_{col}", self.name))
                .from(self.name, col)
                .to(target, "id")
                .on_delete(on_delete)
                .on_update(ForeignKeyAction::Cascade),
        );
        self.index(&[col])
    }

    /// An index on `cols` followed by `id`, so keyset pagination (`ORDER BY col, id`) and
    /// per-parent windows (`PARTITION BY fk ORDER BY id`) are index scans on every backend.
    pub fn index(&mut self, cols: &[&'static str]) -> &mut Self {
        let mut index = Index::create();
        index
            .name(format!("idx_{}_{}", self.name, cols.join("_")))
            .table(self.name);
        for col in cols {
            index.col(*col);
        }
        index.col("id");
        self.indexes.push(index);
        self
    }

    pub fn unique(&mut self, cols: &[&'static str]) -> &mut Self {
        let mut index = Index::create();
        index
            .name(format!("uq_{}_{}", self.name, cols.join("_")))
            .table(self.name)
            .unique();
        for col in cols {
            index.col(*col);
        }
        self.indexes.push(index);
        self
    }

    pub async fn create(self, manager: &SchemaManager<'_>) -> Result<(), DbErr> {
        manager.create_table(self.create).await?;
        for index in self.indexes {
            manager.create_index(index).await?;
        }
        Ok(())
    }
}

/// A timestamp column as every table stores it: `TIMESTAMPTZ` on PostgreSQL (and SQLite's
/// text), `DATETIME(6)` on MySQL, whose `TIMESTAMP` stops in 2038.
pub fn timestamp_column(backend: DbBackend, col: &'static str) -> ColumnDef {
    let mut def = ColumnDef::new(col);
    match backend {
        DbBackend::MySql => def.custom("datetime(6)"),
        _ => def.timestamp_with_time_zone(),
    };
    def
}

/// Runs `statements` (raw SQL, one at a time) when the database is `backend`, and nothing
/// otherwise: the shape of a migration that only one backend needs (triggers in its dialect).
pub async fn raw_on(
    manager: &SchemaManager<'_>,
    backend: DbBackend,
    statements: &[&str],
) -> Result<(), DbErr> {
    use sea_orm_migration::sea_orm::ConnectionTrait;
    if manager.get_database_backend() != backend {
        return Ok(());
    }
    for sql in statements {
        manager.get_connection().execute_unprepared(sql).await?;
    }
    Ok(())
}
