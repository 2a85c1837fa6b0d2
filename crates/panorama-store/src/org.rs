//! The org hierarchy: units within a subtree (a user's scope is the
//! subtree under their org unit's path), and the upkeep of units and their
//! materialised paths when an extract loads them.

use std::collections::HashMap;

use sqlx::FromRow;

use crate::{AnyConnection, Result, Store};

/// An org unit.
#[derive(Debug, Clone, FromRow)]
pub struct OrgUnit {
    /// Id.
    pub id: i64,
    /// Code (`HO`, `BR01`, `SB0101`, …).
    pub code: String,
    /// Name.
    pub name: String,
    /// Materialised path (`/1/2/`), a prefix of its descendants'.
    pub path: String,
}

/// The org unit `code` if it lies in the subtree under `path`.
pub async fn unit_within(store: &Store, code: &str, path: &str) -> Result<Option<OrgUnit>> {
    Ok(
        sqlx::query_as(
            "SELECT id, code, name, path FROM org_unit WHERE code = $1 AND path LIKE $2",
        )
        .bind(code)
        .bind(format!("{path}%"))
        .fetch_optional(store.db())
        .await?,
    )
}

/// The org units of the subtree under `path`: (code, name), in path order.
pub async fn units_within(store: &Store, path: &str) -> Result<Vec<(String, String)>> {
    Ok(
        sqlx::query_as("SELECT code, name FROM org_unit WHERE path LIKE $1 ORDER BY path")
            .bind(format!("{path}%"))
            .fetch_all(store.db())
            .await?,
    )
}

/// The path of org unit `id`.
pub async fn path_of(store: &Store, id: i64) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT path FROM org_unit WHERE id = $1")
            .bind(id)
            .fetch_optional(store.db())
            .await?,
    )
}

/// The codes of every org unit.
pub async fn codes(conn: &mut AnyConnection) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar("SELECT code FROM org_unit")
        .fetch_all(conn)
        .await?)
}

/// An org unit as an extract gives it.
#[derive(Debug, Clone, Copy)]
pub struct UnitRecord<'a> {
    /// Code.
    pub code: &'a str,
    /// Name.
    pub name: &'a str,
    /// English name.
    pub name_en: Option<&'a str>,
    /// Level (`head_office`, `branch`, `sub_branch`).
    pub level: &'a str,
    /// The parent's code.
    pub parent: Option<&'a str>,
}

/// Inserts or updates one org unit (its parent must already be there to be
/// linked); the rows changed (0 when it was already as given). Paths are
/// set by [`fix_paths`] once all units are in.
pub async fn upsert_unit(conn: &mut AnyConnection, u: &UnitRecord<'_>) -> Result<u64> {
    let parent_id: Option<i64> = match u.parent {
        Some(p) => {
            sqlx::query_scalar("SELECT id FROM org_unit WHERE code = $1")
                .bind(p)
                .fetch_optional(&mut *conn)
                .await?
        }
        None => None,
    };
    let done = sqlx::query(
        "INSERT INTO org_unit (code, name, name_en, level, parent_id, path) VALUES ($1, $2, $3, $4, $5, '') \
         ON CONFLICT (code) DO UPDATE SET name = excluded.name, name_en = excluded.name_en, level = excluded.level, \
         parent_id = excluded.parent_id WHERE org_unit.name IS DISTINCT FROM excluded.name \
         OR org_unit.name_en IS DISTINCT FROM excluded.name_en OR org_unit.level IS DISTINCT FROM excluded.level \
         OR org_unit.parent_id IS DISTINCT FROM excluded.parent_id",
    )
    .bind(u.code)
    .bind(u.name)
    .bind(u.name_en)
    .bind(u.level)
    .bind(parent_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Each unit's materialised path (`/root/…/id/`) from its parent links; a
/// cycle or a chain deeper than 32 stops where it repeats.
fn paths(parents: &HashMap<i64, Option<i64>>) -> Vec<(i64, String)> {
    let mut out: Vec<(i64, String)> = parents
        .keys()
        .map(|&id| {
            let mut chain = vec![id];
            let mut cur = parents.get(&id).copied().flatten();
            while let Some(p) = cur {
                if chain.contains(&p) || chain.len() > 32 {
                    break;
                }
                chain.push(p);
                cur = parents.get(&p).copied().flatten();
            }
            chain.reverse();
            let ids: Vec<String> = chain.iter().map(i64::to_string).collect();
            (id, format!("/{}/", ids.join("/")))
        })
        .collect();
    out.sort();
    out
}

/// Recomputes every org unit's materialised path from its parent chain.
pub async fn fix_paths(conn: &mut AnyConnection) -> Result<()> {
    let links: Vec<(i64, Option<i64>)> = sqlx::query_as("SELECT id, parent_id FROM org_unit")
        .fetch_all(&mut *conn)
        .await?;
    for (id, path) in paths(&links.into_iter().collect()) {
        sqlx::query("UPDATE org_unit SET path = $1 WHERE id = $2 AND path <> $1")
            .bind(path)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_parents_and_stop_at_a_cycle() {
        let parents: HashMap<i64, Option<i64>> = [
            (1, None),
            (2, Some(1)),
            (3, Some(2)),
            (7, Some(8)),
            (8, Some(7)),
        ]
        .into_iter()
        .collect();
        let p = paths(&parents);
        assert_eq!(
            p,
            vec![
                (1, "/1/".to_owned()),
                (2, "/1/2/".to_owned()),
                (3, "/1/2/3/".to_owned()),
                (7, "/8/7/".to_owned()),
                (8, "/7/8/".to_owned()),
            ]
        );
    }
}
