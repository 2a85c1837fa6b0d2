//! Bind parameters of queries assembled from fixed fragments: the values
//! are bound, never spliced into the SQL text.

use sqlx::any::AnyArguments;
use sqlx::query::QueryAs;

use crate::Any;

/// A bind parameter of a query assembled from fixed fragments.
#[derive(Debug, Clone)]
pub(crate) enum Bind {
    Int(i64),
    Real(f64),
    Text(String),
}

pub(crate) fn bind_all<'q, T>(
    mut q: QueryAs<'q, Any, T, AnyArguments<'q>>,
    binds: &'q [Bind],
) -> QueryAs<'q, Any, T, AnyArguments<'q>> {
    for b in binds {
        q = match b {
            Bind::Int(v) => q.bind(*v),
            Bind::Real(v) => q.bind(*v),
            Bind::Text(v) => q.bind(v.as_str()),
        };
    }
    q
}

/// [`bind_all`] for a statement without rows.
pub(crate) fn bind_each<'q>(
    mut q: sqlx::query::Query<'q, Any, AnyArguments<'q>>,
    binds: &'q [Bind],
) -> sqlx::query::Query<'q, Any, AnyArguments<'q>> {
    for b in binds {
        q = match b {
            Bind::Int(v) => q.bind(*v),
            Bind::Real(v) => q.bind(*v),
            Bind::Text(v) => q.bind(v.as_str()),
        };
    }
    q
}
