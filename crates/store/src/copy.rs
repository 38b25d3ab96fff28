//! Copying a whole store into an empty one, of either backend (`healthbook store copy`):
//! every table row by row, values as stored (envelopes and bodies byte for byte, audit
//! records with their hashes), in one transaction on the destination, checked by
//! counting before it commits.

use crate::db::{Arg, Val};
use crate::engine::{Backend, Engine};
use crate::{Result, Store, StoreError};

/// A table of a store: its name, its columns and how many rows it holds.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Table {
    pub name: String,
    pub columns: Vec<String>,
    pub rows: i64,
}

/// One value of a row on its way between two stores.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Bytes(Vec<u8>),
}

impl Value {
    fn from_val(v: Val<'_>) -> Value {
        match v {
            Val::Null => Value::Null,
            Val::Int(i) => Value::Int(i),
            Val::Real(r) => Value::Real(r),
            Val::Text(t) => Value::Text(t.to_string()),
            Val::Bytes(b) => Value::Bytes(b.to_vec()),
        }
    }

    fn arg(&self) -> Arg<'_> {
        match self {
            Value::Null => Arg::Null,
            Value::Int(i) => Arg::Int(*i),
            Value::Real(r) => Arg::Real(*r),
            Value::Text(t) => Arg::Text(t),
            Value::Bytes(b) => Arg::Bytes(b),
        }
    }
}

/// The table of data keys, which a copy re-wraps rather than copies.
const DATA_KEYS: &str = "data_keys";

/// Rows written per statement batch while copying.
const BATCH: usize = 2_000;

impl<B: Backend> Engine<B> {
    /// The tables, each after the tables it refers to (so that a copy in this order
    /// meets every foreign key).
    pub(crate) fn tables_impl(&self) -> Result<Vec<Table>> {
        self.read(|db| {
            let mut left: Vec<(String, Vec<String>)> = Vec::new();
            for (table, column) in db.table_columns()? {
                match left.last_mut() {
                    Some((t, cols)) if *t == table => cols.push(column),
                    _ => left.push((table, vec![column])),
                }
            }
            let refs = db.references()?;
            let mut out: Vec<Table> = Vec::with_capacity(left.len());
            while !left.is_empty() {
                let ready = left.iter().position(|(name, _)| {
                    refs.iter()
                        .all(|(t, to)| t != name || to == name || out.iter().any(|o| &o.name == to))
                });
                // A cycle of references (none in this schema): the rest as listed.
                let (name, columns) = left.remove(ready.unwrap_or(0));
                let rows = db.count_rows(&name)?;
                out.push(Table {
                    name,
                    columns,
                    rows,
                });
            }
            Ok(out)
        })
    }

    pub(crate) fn export_rows_impl(
        &self,
        table: &Table,
        f: &mut dyn FnMut(Vec<Value>) -> Result<()>,
    ) -> Result<()> {
        self.read(|db| {
            let n = table.columns.len();
            db.scan_table(&table.name, &table.columns, &mut |r| {
                let row = (0..n)
                    .map(|i| r.val(i).map(Value::from_val))
                    .collect::<Result<Vec<_>>>()?;
                f(row)
            })
        })
    }

    pub(crate) fn copy_from_impl(
        &self,
        src: &dyn Store,
        progress: &mut dyn FnMut(&str, u64),
    ) -> Result<Vec<Table>> {
        let theirs = src.tables()?;
        let mine = self.tables_impl()?;
        for t in &theirs {
            let Some(m) = mine.iter().find(|m| m.name == t.name) else {
                return Err(StoreError::Invalid(format!(
                    "the destination has no table {} (is it at the same schema version?)",
                    t.name
                )));
            };
            let (mut a, mut b) = (t.columns.clone(), m.columns.clone());
            a.sort();
            b.sort();
            if a != b {
                return Err(StoreError::Invalid(format!(
                    "table {}: the source has columns {:?}, the destination {:?}",
                    t.name, t.columns, m.columns
                )));
            }
        }
        // A new store has made its first data key; the source's replace it.
        if let Some(m) = mine.iter().find(|m| m.rows > 0 && m.name != DATA_KEYS) {
            return Err(StoreError::Invalid(format!(
                "the destination is not empty: {} has {} rows",
                m.name, m.rows
            )));
        }
        // The source's data keys, wrapped by this store's master key: the sealed values
        // are copied as they are, and open here with the same data keys.
        let keys = src.data_keys_for(self.backend.crypt().master()?)?;
        self.write(|db| {
            for t in &theirs {
                if t.name == DATA_KEYS {
                    db.exec(crate::db::Q::DeleteDataKeys, crate::db::args![])?;
                    for k in &keys {
                        crate::keys::insert_data_key(db, k)?;
                    }
                    progress(&t.name, keys.len() as u64);
                    let written = db.count_rows(&t.name)?;
                    if written != keys.len() as i64 || written != t.rows {
                        return Err(StoreError::Invalid(format!(
                            "table {}: {} rows counted at the start, {} written",
                            t.name, t.rows, written
                        )));
                    }
                    continue;
                }
                let mut batch: Vec<Vec<Value>> = Vec::with_capacity(BATCH);
                let mut done: u64 = 0;
                let mut flush = |batch: &mut Vec<Vec<Value>>, done: &mut u64| -> Result<()> {
                    if batch.is_empty() {
                        return Ok(());
                    }
                    let args: Vec<Vec<Arg<'_>>> = batch
                        .iter()
                        .map(|r| r.iter().map(Value::arg).collect())
                        .collect();
                    db.insert_rows(&t.name, &t.columns, &args)?;
                    *done += batch.len() as u64;
                    batch.clear();
                    progress(&t.name, *done);
                    Ok(())
                };
                src.export_rows(t, &mut |row| {
                    batch.push(row);
                    if batch.len() >= BATCH {
                        flush(&mut batch, &mut done)?;
                    }
                    Ok(())
                })?;
                flush(&mut batch, &mut done)?;
                // The same rows on both sides before anything is committed.
                let written = db.count_rows(&t.name)?;
                if written != done as i64 || written != t.rows {
                    return Err(StoreError::Invalid(format!(
                        "table {}: {} rows counted at the start, {} read, {} written (was the source in use?)",
                        t.name, t.rows, done, written
                    )));
                }
            }
            Ok(())
        })?;
        self.backend.crypt().load(&keys)?;
        Ok(theirs)
    }
}
