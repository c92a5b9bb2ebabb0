//! One small SQL interface over both engines. Queries are written once, in
//! the SQL that SQLite and PostgreSQL share, with `?N` placeholders
//! (rewritten to `$N` for PostgreSQL); values travel as [`Val`] and rows
//! come back as [`Row`]s of them.
//!
//! Architecture invariant: nothing outside `db/` names an engine's types;
//! the rest of the server talks to `dyn Conn`.

use super::DbError;

/// A value going into or coming out of a query. Booleans are stored as
/// integers 0 and 1 in both engines.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    /// A BLOB (SQLite) or BYTEA (PostgreSQL): the parts of a release.
    Bytes(Vec<u8>),
}

impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::Int(v)
    }
}
impl From<i32> for Val {
    fn from(v: i32) -> Val {
        Val::Int(v.into())
    }
}
impl From<u32> for Val {
    fn from(v: u32) -> Val {
        Val::Int(v.into())
    }
}
/// Unsigned values beyond `i64::MAX` are stored as `i64::MAX`, never wrapped.
impl From<u64> for Val {
    fn from(v: u64) -> Val {
        Val::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<usize> for Val {
    fn from(v: usize) -> Val {
        Val::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<bool> for Val {
    fn from(v: bool) -> Val {
        Val::Int(i64::from(v))
    }
}
impl From<f64> for Val {
    fn from(v: f64) -> Val {
        Val::Real(v)
    }
}
// The closed vocabularies are stored as their wire strings.
impl From<shoumen_protocol::AlertKind> for Val {
    fn from(k: shoumen_protocol::AlertKind) -> Val {
        Val::Text(k.as_str().to_string())
    }
}

impl From<&str> for Val {
    fn from(v: &str) -> Val {
        Val::Text(v.to_string())
    }
}
impl From<String> for Val {
    fn from(v: String) -> Val {
        Val::Text(v)
    }
}
impl From<&String> for Val {
    fn from(v: &String) -> Val {
        Val::Text(v.clone())
    }
}
impl<T: Into<Val>> From<Option<T>> for Val {
    fn from(v: Option<T>) -> Val {
        v.map_or(Val::Null, Into::into)
    }
}

/// Query parameters: `vals![a, b, c]`.
#[macro_export]
macro_rules! vals {
    () => { &[] as &[$crate::db::Val] };
    ($($v:expr),+ $(,)?) => { &[$($crate::db::Val::from($v)),+] as &[$crate::db::Val] };
}

/// One result row.
#[derive(Clone, Debug, PartialEq)]
pub struct Row(pub Vec<Val>);

/// Reading a column as a Rust type.
pub trait FromVal: Sized {
    fn from_val(v: &Val) -> Option<Self>;
}

impl FromVal for i64 {
    fn from_val(v: &Val) -> Option<i64> {
        match v {
            Val::Int(i) => Some(*i),
            _ => None,
        }
    }
}
impl FromVal for u64 {
    fn from_val(v: &Val) -> Option<u64> {
        match v {
            Val::Int(i) => u64::try_from(*i).ok(),
            _ => None,
        }
    }
}
impl FromVal for bool {
    fn from_val(v: &Val) -> Option<bool> {
        match v {
            Val::Int(i) => Some(*i != 0),
            _ => None,
        }
    }
}
impl FromVal for f64 {
    fn from_val(v: &Val) -> Option<f64> {
        match v {
            Val::Real(r) => Some(*r),
            Val::Int(i) => Some(*i as f64),
            _ => None,
        }
    }
}
impl FromVal for String {
    fn from_val(v: &Val) -> Option<String> {
        match v {
            Val::Text(s) => Some(s.clone()),
            _ => None,
        }
    }
}
impl FromVal for Vec<u8> {
    fn from_val(v: &Val) -> Option<Vec<u8>> {
        match v {
            Val::Bytes(b) => Some(b.clone()),
            _ => None,
        }
    }
}
impl From<Vec<u8>> for Val {
    fn from(v: Vec<u8>) -> Val {
        Val::Bytes(v)
    }
}
impl From<&[u8]> for Val {
    fn from(v: &[u8]) -> Val {
        Val::Bytes(v.to_vec())
    }
}
impl<T: FromVal> FromVal for Option<T> {
    fn from_val(v: &Val) -> Option<Option<T>> {
        match v {
            Val::Null => Some(None),
            v => T::from_val(v).map(Some),
        }
    }
}

impl Row {
    /// Column `i` as `T`; a missing column or another type is damage.
    pub fn get<T: FromVal>(&self, i: usize) -> Result<T, DbError> {
        let v = self.0.get(i).ok_or_else(|| DbError::Corrupt(format!("no column {i} in the result")))?;
        T::from_val(v)
            .ok_or_else(|| DbError::Corrupt(format!("column {i} holds {v:?}, not a {}", std::any::type_name::<T>())))
    }
}

/// Which engine a connection talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A database connection, whichever the engine.
pub trait Conn: Send {
    fn engine(&self) -> Engine;
    /// Runs a statement; returns the rows it changed.
    fn execute(&mut self, sql: &str, params: &[Val]) -> Result<u64, DbError>;
    /// Runs a query and collects its rows.
    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>, DbError>;
    /// Runs a query and hands its rows to `f` one by one, without holding
    /// them all (exports); stops when `f` returns false.
    fn query_each(
        &mut self,
        sql: &str,
        params: &[Val],
        f: &mut dyn FnMut(&Row) -> Result<bool, DbError>,
    ) -> Result<(), DbError>;
    /// Starts a transaction; `write` takes the write lock at once (SQLite's
    /// BEGIN IMMEDIATE) so the transaction cannot fail on it half-way.
    fn begin(&mut self, write: bool) -> Result<(), DbError>;
    fn commit(&mut self) -> Result<(), DbError>;
    fn rollback(&mut self);
    /// Whether a transaction is open on this connection (then
    /// [`transaction`](dyn Conn::transaction) nests as a savepoint).
    fn in_transaction(&mut self) -> bool;
    /// Several statements without parameters (schema migrations).
    fn batch(&mut self, sql: &str) -> Result<(), DbError>;
}

impl dyn Conn + '_ {
    /// `select` locking the rows it reads until the transaction ends, on
    /// PostgreSQL; SQLite's one writer already excludes other writers.
    pub fn for_update(&self, select: &str) -> String {
        match self.engine() {
            Engine::Postgres => format!("{select} FOR UPDATE"),
            Engine::Sqlite => select.to_string(),
        }
    }

    /// The first row, or `None`.
    pub fn query_opt<T>(
        &mut self,
        sql: &str,
        params: &[Val],
        f: impl FnOnce(&Row) -> Result<T, DbError>,
    ) -> Result<Option<T>, DbError> {
        let rows = self.query(sql, params)?;
        rows.first().map(f).transpose()
    }

    /// The first row; none is an error.
    pub fn query_row<T>(
        &mut self,
        sql: &str,
        params: &[Val],
        f: impl FnOnce(&Row) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        self.query_opt(sql, params, f)?.ok_or(DbError::NoRow)
    }

    /// Every row, mapped.
    pub fn query_map<T>(
        &mut self,
        sql: &str,
        params: &[Val],
        f: impl FnMut(&Row) -> Result<T, DbError>,
    ) -> Result<Vec<T>, DbError> {
        self.query(sql, params)?.iter().map(f).collect()
    }

    /// The integer in the first column of the first row (COUNT, EXISTS …).
    pub fn scalar(&mut self, sql: &str, params: &[Val]) -> Result<i64, DbError> {
        self.query_row(sql, params, |r| r.get(0))
    }

    /// Runs `f` in a transaction: committed if it returns `Ok`, rolled back
    /// otherwise.
    pub fn transaction<T, E: From<DbError>>(
        &mut self,
        write: bool,
        f: impl FnOnce(&mut dyn Conn) -> Result<T, E>,
    ) -> Result<T, E> {
        // Inside another transaction (an operation around a record's own
        // transaction): a savepoint, so the inner part still undoes itself
        // on an error and the outer one decides.
        if self.in_transaction() {
            self.batch("SAVEPOINT nested")?;
            return match f(self) {
                Ok(v) => {
                    self.batch("RELEASE SAVEPOINT nested")?;
                    Ok(v)
                }
                Err(e) => {
                    let _ = self.batch("ROLLBACK TO SAVEPOINT nested");
                    let _ = self.batch("RELEASE SAVEPOINT nested");
                    Err(e)
                }
            };
        }
        self.begin(write)?;
        match f(self) {
            Ok(v) => {
                self.commit()?;
                Ok(v)
            }
            Err(e) => {
                self.rollback();
                Err(e)
            }
        }
    }
}

/// `?N` and `?` placeholders as PostgreSQL's `$N`, leaving quoted text alone.
pub fn postgres_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    let (mut quote, mut next) = (None::<char>, 1);
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                out.push(c);
            }
            (Some(_), c) => out.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                out.push(c);
            }
            (None, '?') => {
                out.push('$');
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                if digits.is_empty() {
                    digits = next.to_string();
                    next += 1;
                }
                out.push_str(&digits);
            }
            (None, c) => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_postgres_dollars_outside_quotes() {
        assert_eq!(postgres_placeholders("SELECT ?1, ?2 WHERE a = '?3'"), "SELECT $1, $2 WHERE a = '?3'");
        assert_eq!(postgres_placeholders("VALUES (?, ?)"), "VALUES ($1, $2)");
    }

    #[test]
    fn values_convert_without_wrapping() {
        assert_eq!(Val::from(u64::MAX), Val::Int(i64::MAX));
        assert_eq!(Val::from(true), Val::Int(1));
        assert_eq!(Val::from(None::<i64>), Val::Null);
        let row = Row(vec![Val::Int(3), Val::Null, Val::Text("x".into())]);
        assert_eq!(row.get::<i64>(0).unwrap(), 3);
        assert_eq!(row.get::<Option<String>>(1).unwrap(), None);
        assert!(row.get::<i64>(2).is_err());
    }
}
