//! The small transaction interface the store's rules are written against.
//!
//! The rules (linking, audit chains, lockout, aggregates) name statements by [`Q`]; each
//! backend (`sqlite/`, `postgres/`) gives the SQL of every statement in its own dialect
//! and binds [`Arg`]s / reads [`Val`]s with its driver. No driver type leaves a backend.

use crate::{Result, StoreError};

pub(crate) use crate::sql::Q;

/// A value bound to a statement.
#[derive(Clone, Copy, Debug)]
pub enum Arg<'a> {
    Null,
    Int(i64),
    Real(f64),
    Bool(bool),
    Text(&'a str),
    Bytes(&'a [u8]),
    /// A list bound as one value (PostgreSQL `text[]`, SQLite a JSON array for `json_each`).
    Texts(&'a [String]),
    Ints(&'a [i64]),
}

/// What can be bound as an [`Arg`].
pub(crate) trait ToArg {
    fn to_arg(&self) -> Arg<'_>;
}

macro_rules! int_arg {
    ($($t:ty),*) => {$(
        impl ToArg for $t {
            fn to_arg(&self) -> Arg<'_> {
                Arg::Int(*self as i64)
            }
        }
    )*};
}
int_arg!(i64, i32, u32, u64, usize);

impl ToArg for bool {
    fn to_arg(&self) -> Arg<'_> {
        Arg::Bool(*self)
    }
}
impl ToArg for f64 {
    fn to_arg(&self) -> Arg<'_> {
        Arg::Real(*self)
    }
}
impl ToArg for str {
    fn to_arg(&self) -> Arg<'_> {
        Arg::Text(self)
    }
}
impl ToArg for String {
    fn to_arg(&self) -> Arg<'_> {
        Arg::Text(self)
    }
}
impl ToArg for [u8] {
    fn to_arg(&self) -> Arg<'_> {
        Arg::Bytes(self)
    }
}
impl ToArg for Vec<u8> {
    fn to_arg(&self) -> Arg<'_> {
        Arg::Bytes(self)
    }
}
impl ToArg for [String] {
    fn to_arg(&self) -> Arg<'_> {
        Arg::Texts(self)
    }
}
impl ToArg for Vec<String> {
    fn to_arg(&self) -> Arg<'_> {
        Arg::Texts(self)
    }
}
impl ToArg for [i64] {
    fn to_arg(&self) -> Arg<'_> {
        Arg::Ints(self)
    }
}
impl ToArg for Vec<i64> {
    fn to_arg(&self) -> Arg<'_> {
        Arg::Ints(self)
    }
}
impl ToArg for Arg<'_> {
    fn to_arg(&self) -> Arg<'_> {
        *self
    }
}
impl<T: ToArg> ToArg for Option<T> {
    fn to_arg(&self) -> Arg<'_> {
        match self {
            Some(v) => v.to_arg(),
            None => Arg::Null,
        }
    }
}
impl<T: ToArg + ?Sized> ToArg for &T {
    fn to_arg(&self) -> Arg<'_> {
        (**self).to_arg()
    }
}

/// The arguments of a statement: `args![a, b, c]`.
macro_rules! args {
    ($($e:expr),* $(,)?) => {
        &[$($crate::db::ToArg::to_arg(&$e)),*]
    };
}
pub(crate) use args;

/// A value read from a row, borrowed from the driver's row.
#[derive(Clone, Copy, Debug)]
pub enum Val<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
    Bytes(&'a [u8]),
}

/// A driver's row: one value per column.
pub trait RawRow {
    fn val(&self, i: usize) -> Result<Val<'_>>;
}

/// One row of a result.
pub struct Row<'a>(pub(crate) &'a dyn RawRow);

impl Row<'_> {
    pub(crate) fn get<T: FromVal>(&self, i: usize) -> Result<T> {
        T::from_val(self.0.val(i)?).map_err(|want| {
            StoreError::Db(format!("column {i}: expected {want}, found another type"))
        })
    }
    pub(crate) fn val(&self, i: usize) -> Result<Val<'_>> {
        self.0.val(i)
    }
}

/// What a column reads into. The error names the type that was wanted.
pub(crate) trait FromVal: Sized {
    fn from_val(v: Val<'_>) -> std::result::Result<Self, &'static str>;
}

macro_rules! int_val {
    ($($t:ty),*) => {$(
        impl FromVal for $t {
            fn from_val(v: Val<'_>) -> std::result::Result<Self, &'static str> {
                match v {
                    Val::Int(i) => <$t>::try_from(i).map_err(|_| "a smaller integer"),
                    _ => Err("an integer"),
                }
            }
        }
    )*};
}
int_val!(i64, i32, u32, u64, usize);

impl FromVal for bool {
    fn from_val(v: Val<'_>) -> std::result::Result<Self, &'static str> {
        match v {
            Val::Int(i) => Ok(i != 0),
            _ => Err("a boolean"),
        }
    }
}
impl FromVal for f64 {
    fn from_val(v: Val<'_>) -> std::result::Result<Self, &'static str> {
        match v {
            Val::Real(r) => Ok(r),
            Val::Int(i) => Ok(i as f64),
            _ => Err("a number"),
        }
    }
}
impl FromVal for String {
    fn from_val(v: Val<'_>) -> std::result::Result<Self, &'static str> {
        match v {
            Val::Text(t) => Ok(t.to_string()),
            _ => Err("text"),
        }
    }
}
impl FromVal for Vec<u8> {
    fn from_val(v: Val<'_>) -> std::result::Result<Self, &'static str> {
        match v {
            Val::Bytes(b) => Ok(b.to_vec()),
            Val::Text(t) => Ok(t.as_bytes().to_vec()),
            _ => Err("bytes"),
        }
    }
}
impl<T: FromVal> FromVal for Option<T> {
    fn from_val(v: Val<'_>) -> std::result::Result<Self, &'static str> {
        match v {
            Val::Null => Ok(None),
            v => T::from_val(v).map(Some),
        }
    }
}

/// One connection, inside a transaction when the store opened one.
pub trait Db {
    /// The data keys that seal and open values at rest ([`crate::crypt`]).
    fn crypt(&self) -> &crate::crypt::Crypt;
    /// Run a statement; the number of rows it changed.
    fn exec(&self, q: Q, args: &[Arg<'_>]) -> Result<u64>;
    /// Run a statement whose count nobody reads. A backend may hold it and send it
    /// with the statements that follow (PostgreSQL: one round trip for many); it runs
    /// before the next statement that is run, and before the commit, in its order.
    /// Its error, if any, comes from that later call.
    fn exec_later(&self, q: Q, args: &[Arg<'_>]) -> Result<()> {
        self.exec(q, args).map(drop)
    }
    /// Run a query; `f` sees each row until it returns `false`.
    fn query(
        &self,
        q: Q,
        args: &[Arg<'_>],
        f: &mut dyn FnMut(&Row<'_>) -> Result<bool>,
    ) -> Result<()>;
    /// Run a statement that is a script of several (no arguments, no rows).
    fn script(&self, q: Q) -> Result<()>;

    // Whole tables, for copying a store to another backend (`crate::copy`). Table and
    // column names come from the database's own catalogue and are checked to be plain
    // identifiers before they enter a statement.

    /// The columns of the store's tables (not the migration bookkeeping), as (table,
    /// column), a table's columns together and in their order.
    fn table_columns(&self) -> Result<Vec<(String, String)>>;
    /// The foreign keys between tables: (table, the table it refers to).
    fn references(&self) -> Result<Vec<(String, String)>>;
    /// Every row of a table, given to `f` one at a time (memory stays bounded).
    fn scan_table(
        &self,
        table: &str,
        columns: &[String],
        f: &mut dyn FnMut(&Row<'_>) -> Result<()>,
    ) -> Result<()>;
    /// Insert rows (each one value per column) with as few statements as the backend
    /// allows.
    fn insert_rows(&self, table: &str, columns: &[String], rows: &[Vec<Arg<'_>>]) -> Result<()> {
        self.upsert_rows(table, columns, rows, "")
    }
    /// As [`Db::insert_rows`], each statement ending with `on_conflict` (an
    /// `ON CONFLICT …` clause of our own text, never of data). Rows must not repeat a
    /// conflict key: one statement may not touch a row twice.
    fn upsert_rows(
        &self,
        table: &str,
        columns: &[String],
        rows: &[Vec<Arg<'_>>],
        on_conflict: &'static str,
    ) -> Result<()>;
    /// The rows of a table.
    fn count_rows(&self, table: &str) -> Result<i64>;
}

/// A table or column name from the catalogue, checked before it enters a statement.
pub(crate) fn ident(name: &str) -> Result<&str> {
    if !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        Ok(name)
    } else {
        Err(StoreError::Invalid(format!("not a plain name: {name:?}")))
    }
}

/// The most parameters one multi-row insert binds (both backends allow more).
pub(crate) const MAX_PARAMS: usize = 30_000;

impl dyn Db + '_ {
    /// The first row, if any.
    pub(crate) fn one<T>(
        &self,
        q: Q,
        args: &[Arg<'_>],
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<Option<T>> {
        let mut f = Some(f);
        let mut out = None;
        self.query(q, args, &mut |r| {
            if let Some(f) = f.take() {
                out = Some(f(r)?);
            }
            Ok(false)
        })?;
        Ok(out)
    }

    /// Every row.
    pub(crate) fn all<T>(
        &self,
        q: Q,
        args: &[Arg<'_>],
        mut f: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        self.query(q, args, &mut |r| {
            out.push(f(r)?);
            Ok(true)
        })?;
        Ok(out)
    }

    /// The first column of the first row (an error when there is none).
    pub(crate) fn value<T: FromVal>(&self, q: Q, args: &[Arg<'_>]) -> Result<T> {
        self.one(q, args, |r| r.get(0))?
            .ok_or_else(|| StoreError::Db(format!("{q:?}: no row")))
    }

    /// Whether the query has a row.
    pub(crate) fn exists(&self, q: Q, args: &[Arg<'_>]) -> Result<bool> {
        Ok(self.one(q, args, |_| Ok(()))?.is_some())
    }
}
