//! Queries behind ECIF: reading source records and the previous resolution,
//! writing customers, cross-references, merges, households, relationships and
//! the steward's review queue, and the data-quality report.

use std::collections::HashMap;

use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use serde::Serialize;
use sqlx::{AnyConnection, Row};

use crate::{Backend, BulkInsert, Result, Store, StoreError, Value, now_utc};

/// A source record with what resolution needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RecordRow {
    /// Record id.
    pub id: i64,
    /// System.
    pub system: String,
    /// person / organisation.
    pub party_type: String,
    /// Name.
    pub name: String,
    /// M/F.
    pub gender: Option<String>,
    /// ISO date.
    pub birth_date: Option<String>,
    /// Standardised id (valid or upgraded).
    pub id_no_std: Option<String>,
    /// Raw id.
    pub id_no: Option<String>,
    /// Standardised credit code.
    pub credit_code_std: Option<String>,
    /// valid / checksum_failed / invalid / missing.
    pub credit_code_status: String,
    /// Standardised mobile.
    pub mobile_std: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Address.
    pub address: Option<String>,
    /// Industry.
    pub industry: Option<String>,
    /// Last batch that changed it.
    pub batch_id: i64,
    /// Trust of its system.
    pub trust: i64,
}

macro_rules! record_select {
    () => {
        "SELECT r.id, r.system, r.party_type, r.name, r.gender, r.birth_date, r.id_no_std, r.id_no, r.credit_code_std, \
         r.credit_code_status, r.mobile_std, r.email, r.address, r.industry, r.batch_id, s.trust \
         FROM source_record r JOIN source_system s ON s.code = r.system"
    };
}
const RECORD_SELECT: &str = record_select!();

/// Every source record, in id order, streamed.
pub fn records(store: &Store) -> BoxStream<'_, Result<RecordRow>> {
    sqlx::query_as(concat!(record_select!(), " ORDER BY r.id"))
        .fetch(store.db())
        .map_err(StoreError::from)
        .boxed()
}

/// `$1, $2, …, $n`.
fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The source records of some customers with their links (record → customer), in id order.
pub async fn records_of_customers(
    conn: &mut AnyConnection,
    customers: &[i64],
) -> Result<(Vec<RecordRow>, HashMap<i64, i64>)> {
    if customers.is_empty() {
        return Ok((Vec::new(), HashMap::new()));
    }
    let list = placeholders(customers.len());
    let sql = format!(
        "{RECORD_SELECT} JOIN customer_xref x ON x.source_record_id = r.id WHERE x.customer_id IN ({list}) ORDER BY r.id"
    );
    let mut query = sqlx::query_as::<_, RecordRow>(&sql);
    for c in customers {
        query = query.bind(c);
    }
    let records = query.fetch_all(&mut *conn).await?;
    let sql = format!(
        "SELECT source_record_id, customer_id FROM customer_xref WHERE customer_id IN ({list})"
    );
    let mut query = sqlx::query_as::<_, (i64, i64)>(&sql);
    for c in customers {
        query = query.bind(c);
    }
    let links = query.fetch_all(&mut *conn).await?.into_iter().collect();
    Ok((records, links))
}

/// The previous resolution: source record → customer (active customers only).
pub async fn previous_links(store: &Store) -> Result<HashMap<i64, i64>> {
    // Streamed into the map: a million fetched rows held at once took
    // ~400 bytes each before the map was built.
    Ok(sqlx::query_as::<_, (i64, i64)>(
        "SELECT x.source_record_id, x.customer_id FROM customer_xref x \
         JOIN customer c ON c.id = x.customer_id WHERE c.status = 'active'",
    )
    .fetch(store.db())
    .try_collect()
    .await?)
}

/// The newest batch seen by the last resolution (0 if none).
pub async fn last_resolved_batch(store: &Store) -> Result<i64> {
    let v: Option<i64> = sqlx::query_scalar("SELECT MAX(max_batch_id) FROM resolve_run")
        .fetch_one(store.db())
        .await?;
    Ok(v.unwrap_or(0))
}

/// Steward decisions: (left record, right record, accepted?).
pub async fn decisions(conn: &mut AnyConnection) -> Result<Vec<(i64, i64, bool)>> {
    let rows = sqlx::query(
        "SELECT left_record_id, right_record_id, status FROM match_review WHERE status <> 'open'",
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.get::<i64, _>(0),
                r.get::<i64, _>(1),
                r.get::<String, _>(2) == "accepted",
            )
        })
        .collect())
}

/// Declared family relationships between records of one system, as record-id pairs.
pub async fn declared_relationships(store: &Store) -> Result<Vec<(i64, i64, String)>> {
    let rows = sqlx::query(
        "SELECT a.id, b.id, r.kind FROM source_relationship r \
         JOIN source_record a ON a.system = r.system AND a.source_key = r.from_key \
         JOIN source_record b ON b.system = r.system AND b.source_key = r.to_key",
    )
    .fetch_all(store.db())
    .await?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.get::<i64, _>(0),
                r.get::<i64, _>(1),
                r.get::<String, _>(2),
            )
        })
        .collect())
}

/// A golden customer to write.
#[derive(Debug, Clone)]
pub struct CustomerWrite {
    /// Existing id to update, or `None` to insert.
    pub id: Option<i64>,
    /// person / organisation.
    pub party_type: String,
    /// Survived attributes.
    pub name: String,
    /// M/F.
    pub gender: Option<String>,
    /// ISO date.
    pub birth_date: Option<String>,
    /// Resident id.
    pub id_no: Option<String>,
    /// Credit code.
    pub credit_code: Option<String>,
    /// Mobile.
    pub mobile: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Address.
    pub address: Option<String>,
    /// Industry.
    pub industry: Option<String>,
    /// Provenance JSON.
    pub provenance: String,
}

/// Inserts or updates a customer; returns its id. New customers get the
/// stable number `C` + ten digits of their id.
pub async fn write_customer(conn: &mut AnyConnection, c: &CustomerWrite) -> Result<i64> {
    let now = now_utc();
    match c.id {
        Some(id) => {
            sqlx::query(
                "UPDATE customer SET party_type = $1, name = $2, gender = $3, birth_date = $4, id_no = $5, credit_code = $6, \
                 mobile = $7, email = $8, address = $9, industry = $10, provenance = $11, updated_at = $12, status = 'active', merged_into = NULL \
                 WHERE id = $13",
            )
            .bind(&c.party_type)
            .bind(&c.name)
            .bind(c.gender.as_deref())
            .bind(c.birth_date.as_deref())
            .bind(c.id_no.as_deref())
            .bind(c.credit_code.as_deref())
            .bind(c.mobile.as_deref())
            .bind(c.email.as_deref())
            .bind(c.address.as_deref())
            .bind(c.industry.as_deref())
            .bind(&c.provenance)
            .bind(&now)
            .bind(id)
            .execute(conn)
            .await?;
            Ok(id)
        }
        None => {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO customer (customer_no, party_type, name, gender, birth_date, id_no, credit_code, mobile, email, address, \
                 industry, provenance, created_at, updated_at) VALUES ('pending', $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
            )
            .bind(&c.party_type)
            .bind(&c.name)
            .bind(c.gender.as_deref())
            .bind(c.birth_date.as_deref())
            .bind(c.id_no.as_deref())
            .bind(c.credit_code.as_deref())
            .bind(c.mobile.as_deref())
            .bind(c.email.as_deref())
            .bind(c.address.as_deref())
            .bind(c.industry.as_deref())
            .bind(&c.provenance)
            .bind(&now)
            .fetch_one(&mut *conn)
            .await?;
            sqlx::query("UPDATE customer SET customer_no = $1 WHERE id = $2")
                .bind(format!("C{id:010}"))
                .bind(id)
                .execute(conn)
                .await?;
            Ok(id)
        }
    }
}

/// Marks `absorbed` as merged into `surviving` and records the event with the
/// records that moved; returns the event id.
pub async fn record_merge(
    conn: &mut AnyConnection,
    surviving: i64,
    absorbed: i64,
    actor: &str,
    evidence: &str,
) -> Result<i64> {
    let now = now_utc();
    sqlx::query(
        "UPDATE customer SET status = 'merged', merged_into = $1, updated_at = $2 WHERE id = $3",
    )
    .bind(surviving)
    .bind(&now)
    .bind(absorbed)
    .execute(&mut *conn)
    .await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO merge_event (at, kind, surviving_customer_id, absorbed_customer_id, actor, evidence) VALUES ($1, 'merge', $2, $3, $4, $5) RETURNING id",
    )
    .bind(&now)
    .bind(surviving)
    .bind(absorbed)
    .bind(actor)
    .bind(evidence)
    .fetch_one(&mut *conn)
    .await?;
    audit(
        conn,
        actor,
        "ecif.merge",
        Some(surviving),
        &format!("merge_event {id}: customer {absorbed} merged into {surviving}"),
    )
    .await?;
    carry_assignments(conn, surviving, absorbed, actor, &now[..10]).await?;
    Ok(id)
}

/// Ends the open assignments of `absorbed` and gives `surviving` each of its
/// RMs that it does not already have (a second primary RM comes over as
/// secondary), so no RM loses a customer to a merge and every open
/// assignment belongs to an active customer.
async fn carry_assignments(
    conn: &mut AnyConnection,
    surviving: i64,
    absorbed: i64,
    actor: &str,
    on: &str,
) -> Result<()> {
    let moving: Vec<(i64, String)> = sqlx::query_as(
        "SELECT rm_user_id, role FROM assignment WHERE customer_id = $1 AND to_date IS NULL ORDER BY role, id",
    )
    .bind(absorbed)
    .fetch_all(&mut *conn)
    .await?;
    if moving.is_empty() {
        return Ok(());
    }
    sqlx::query("UPDATE assignment SET to_date = $1 WHERE customer_id = $2 AND to_date IS NULL")
        .bind(on)
        .bind(absorbed)
        .execute(&mut *conn)
        .await?;
    for (rm, role) in moving {
        let held: Vec<(i64, String)> = sqlx::query_as(
            "SELECT rm_user_id, role FROM assignment WHERE customer_id = $1 AND to_date IS NULL",
        )
        .bind(surviving)
        .fetch_all(&mut *conn)
        .await?;
        if held.iter().any(|(r, _)| *r == rm) {
            continue;
        }
        let role = if role == "primary" && held.iter().any(|(_, r)| r == "primary") {
            "secondary"
        } else {
            role.as_str()
        };
        sqlx::query(
            "INSERT INTO assignment (customer_id, rm_user_id, role, from_date, reason, assigned_by) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(surviving)
        .bind(rm)
        .bind(role)
        .bind(on)
        .bind(format!("carried over from merged customer {absorbed}"))
        .bind(actor)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Writes an audit event.
pub async fn audit(
    conn: &mut AnyConnection,
    actor: &str,
    action: &str,
    customer_id: Option<i64>,
    detail: &str,
) -> Result<()> {
    sqlx::query("INSERT INTO audit_event (at, actor, action, customer_id, outcome, detail) VALUES ($1, $2, $3, $4, 'ok', $5)")
        .bind(now_utc())
        .bind(actor)
        .bind(action)
        .bind(customer_id)
        .bind(detail)
        .execute(conn)
        .await?;
    Ok(())
}

/// Upserts cross-references (record → customer) in bulk.
pub async fn write_links(
    conn: &mut AnyConnection,
    backend: Backend,
    links: &[(i64, i64, f64, String, String)],
) -> Result<u64> {
    let insert = BulkInsert::new(
        backend,
        "customer_xref",
        &[
            "source_record_id",
            "customer_id",
            "match_score",
            "rule",
            "evidence",
            "linked_at",
        ],
        "ON CONFLICT (source_record_id) DO UPDATE SET customer_id = excluded.customer_id, match_score = excluded.match_score, \
         rule = excluded.rule, evidence = excluded.evidence, linked_at = excluded.linked_at \
         WHERE customer_xref.customer_id <> excluded.customer_id OR customer_xref.rule <> excluded.rule",
    );
    let now = now_utc();
    let rows: Vec<Vec<Value>> = links
        .iter()
        .map(|(record, customer, score, rule, evidence)| {
            vec![
                Value::Int(Some(*record)),
                Value::Int(Some(*customer)),
                Value::Real(Some(*score)),
                Value::text(rule),
                Value::text(evidence),
                Value::text(&now),
            ]
        })
        .collect();
    insert.execute(conn, &rows).await
}

/// Points every account at the customer of its source record; with
/// `customers`, only the accounts of those customers' records.
pub async fn link_accounts(conn: &mut AnyConnection, customers: Option<&[i64]>) -> Result<u64> {
    if customers.is_some_and(<[i64]>::is_empty) {
        return Ok(0);
    }
    let within = match customers {
        Some(c) => format!(
            " AND source_record_id IN (SELECT source_record_id FROM customer_xref WHERE customer_id IN ({}))",
            placeholders(c.len())
        ),
        None => String::new(),
    };
    let sql = format!(
        "UPDATE account SET customer_id = (SELECT x.customer_id FROM customer_xref x WHERE x.source_record_id = account.source_record_id) \
         WHERE (customer_id IS NULL OR customer_id <> (SELECT x.customer_id FROM customer_xref x WHERE x.source_record_id = account.source_record_id)){within}"
    );
    let mut query = sqlx::query(&sql);
    for c in customers.unwrap_or_default() {
        query = query.bind(c);
    }
    Ok(query.execute(conn).await?.rows_affected())
}

/// Gives every active customer without one (with `customers`, only among
/// those) a home branch: the branch of the source record that opened the
/// relationship first (earliest opening date, then the lowest record id). A
/// home branch, once set, stays — RM assignments and branch scopes hang on it.
pub async fn assign_home_branches(
    conn: &mut AnyConnection,
    customers: Option<&[i64]>,
) -> Result<u64> {
    if customers.is_some_and(<[i64]>::is_empty) {
        return Ok(0);
    }
    let within = match customers {
        Some(c) => format!(" AND id IN ({})", placeholders(c.len())),
        None => String::new(),
    };
    let sql = format!(
        "UPDATE customer SET home_org_unit_id = (\
           SELECT o.id FROM customer_xref x \
           JOIN source_record s ON s.id = x.source_record_id \
           JOIN org_unit o ON o.code = s.branch_code \
           WHERE x.customer_id = customer.id \
           ORDER BY CASE WHEN s.opened_on IS NULL THEN 1 ELSE 0 END, s.opened_on, s.id LIMIT 1) \
         WHERE status = 'active' AND home_org_unit_id IS NULL{within}"
    );
    let mut query = sqlx::query(&sql);
    for c in customers.unwrap_or_default() {
        query = query.bind(c);
    }
    Ok(query.execute(conn).await?.rows_affected())
}

/// Adds uncertain pairs to the review queue (a decided pair keeps its decision).
pub async fn write_review(
    conn: &mut AnyConnection,
    backend: Backend,
    pairs: &[(i64, i64, f64, String)],
) -> Result<u64> {
    let insert = BulkInsert::new(
        backend,
        "match_review",
        &[
            "left_record_id",
            "right_record_id",
            "match_probability",
            "evidence",
            "status",
        ],
        "ON CONFLICT (left_record_id, right_record_id) DO UPDATE SET match_probability = excluded.match_probability, \
         evidence = excluded.evidence WHERE match_review.status = 'open'",
    );
    let rows: Vec<Vec<Value>> = pairs
        .iter()
        .map(|(l, r, p, e)| {
            vec![
                Value::Int(Some(*l)),
                Value::Int(Some(*r)),
                Value::Real(Some(*p)),
                Value::text(e),
                Value::text("open"),
            ]
        })
        .collect();
    insert.execute(conn, &rows).await
}

/// AUM per customer at the latest month: deposits, wealth, funds and insurance (minor units).
pub async fn customer_aum(conn: &mut AnyConnection) -> Result<(Option<String>, HashMap<i64, i64>)> {
    let month: Option<String> = sqlx::query_scalar("SELECT MAX(month) FROM balance_monthly")
        .fetch_one(&mut *conn)
        .await?;
    let Some(month) = month else {
        return Ok((None, HashMap::new()));
    };
    // Streamed into the map (a row per customer).
    let aum = sqlx::query_as::<_, (i64, i64)>(
        "SELECT a.customer_id, CAST(SUM(b.end_balance_minor) AS BIGINT) FROM balance_monthly b \
         JOIN account a ON a.id = b.account_id JOIN product p ON p.code = a.product_code \
         WHERE b.month = $1 AND a.customer_id IS NOT NULL AND p.class IN ('deposit', 'settlement', 'wealth', 'fund', 'insurance') \
         GROUP BY a.customer_id",
    )
    .bind(&month)
    .fetch(&mut *conn)
    .try_collect()
    .await?;
    Ok((Some(month), aum))
}

/// One household to write.
#[derive(Debug, Clone)]
pub struct HouseholdWrite {
    /// Head customer.
    pub head: i64,
    /// Members with roles.
    pub members: Vec<(i64, String)>,
    /// Shared address.
    pub address: Option<String>,
    /// Household AUM.
    pub aum_minor: i64,
}

/// Replaces all households, in bulk. The household number is `H` + the
/// head's customer digits, so it is stable while the head is.
pub async fn replace_households(
    conn: &mut AnyConnection,
    backend: Backend,
    households: &[HouseholdWrite],
    as_of: Option<&str>,
) -> Result<()> {
    sqlx::query("DELETE FROM household_member")
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM household")
        .execute(&mut *conn)
        .await?;
    let first = next_id(conn, "household").await?;
    let now = now_utc();
    let mut homes = Vec::with_capacity(households.len());
    let mut members = Vec::new();
    for (k, h) in households.iter().enumerate() {
        let id = first + k as i64;
        homes.push(vec![
            Value::Int(Some(id)),
            Value::Text(Some(format!("H{:010}", h.head))),
            Value::Int(Some(h.head)),
            Value::text_opt(h.address.as_deref()),
            Value::text(&now),
            Value::Int(Some(h.aum_minor)),
            Value::text_opt(as_of),
        ]);
        for (customer, role) in &h.members {
            members.push(vec![
                Value::Int(Some(id)),
                Value::Int(Some(*customer)),
                Value::text(role),
            ]);
        }
    }
    BulkInsert::new(
        backend,
        "household",
        &[
            "id",
            "household_no",
            "head_customer_id",
            "address",
            "created_at",
            "aum_minor",
            "as_of",
        ],
        "",
    )
    .execute(conn, &homes)
    .await?;
    BulkInsert::new(
        backend,
        "household_member",
        &["household_id", "customer_id", "role"],
        "",
    )
    .execute(conn, &members)
    .await?;
    sync_id_sequence(conn, backend, "household").await
}

/// After a resolution: active customers, and review pairs still open.
pub async fn resolution_totals(conn: &mut AnyConnection) -> Result<(i64, i64)> {
    let customers = sqlx::query_scalar("SELECT COUNT(*) FROM customer WHERE status = 'active'")
        .fetch_one(&mut *conn)
        .await?;
    let reviews = sqlx::query_scalar("SELECT COUNT(*) FROM match_review WHERE status = 'open'")
        .fetch_one(&mut *conn)
        .await?;
    Ok((customers, reviews))
}

/// Rebuilds party relationships: declared ones (mapped to customers), payroll
/// employees (salary credits from a company's account) and suppliers
/// (payments between companies). Returns how many there are.
pub async fn rebuild_relationships(conn: &mut AnyConnection) -> Result<i64> {
    sqlx::query("DELETE FROM party_relationship WHERE source <> 'steward'")
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO party_relationship (from_customer_id, to_customer_id, kind, source, since, evidence) \
         SELECT xa.customer_id, xb.customer_id, r.kind, 'declared', MIN(r.since), 'declared in ' || MIN(r.system) \
         FROM source_relationship r \
         JOIN source_record a ON a.system = r.system AND a.source_key = r.from_key \
         JOIN source_record b ON b.system = r.system AND b.source_key = r.to_key \
         JOIN customer_xref xa ON xa.source_record_id = a.id JOIN customer_xref xb ON xb.source_record_id = b.id \
         WHERE xa.customer_id <> xb.customer_id \
         GROUP BY xa.customer_id, xb.customer_id, r.kind \
         ON CONFLICT (from_customer_id, to_customer_id, kind) DO NOTHING",
    )
    .execute(&mut *conn)
    .await?;
    for (kind, direction, channel_filter) in [
        ("payroll_employee", "C", "t.channel = 'batch'"),
        ("supplier", "C", "t.channel <> 'batch'"),
    ] {
        // payroll: a person's account is credited from a company's account;
        // supplier: a company's account is credited by another company.
        let sql = format!(
            "INSERT INTO party_relationship (from_customer_id, to_customer_id, kind, source, since, evidence) \
             SELECT a.customer_id, ca.customer_id, '{kind}', '{source}', MIN(substr(t.booked_at, 1, 10)), \
             'payments: ' || CAST(COUNT(*) AS TEXT) \
             FROM txn t JOIN account a ON a.id = t.account_id \
             JOIN account ca ON ca.system = t.system AND ca.account_no = t.counterparty_account \
             JOIN customer pa ON pa.id = a.customer_id JOIN customer pc ON pc.id = ca.customer_id \
             WHERE t.direction = '{direction}' AND {channel_filter} AND pc.party_type = 'organisation' \
             AND pa.party_type = '{payee_type}' AND a.customer_id <> ca.customer_id \
             GROUP BY a.customer_id, ca.customer_id \
             ON CONFLICT (from_customer_id, to_customer_id, kind) DO NOTHING",
            source = if kind == "supplier" {
                "payment_flow"
            } else {
                "payroll"
            },
            payee_type = if kind == "supplier" {
                "organisation"
            } else {
                "person"
            },
        );
        sqlx::query(&sql).execute(&mut *conn).await?;
    }
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM party_relationship")
            .fetch_one(conn)
            .await?,
    )
}

/// Counts of one resolution, for its run record.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunCounts {
    /// full / incremental.
    pub mode: String,
    /// Newest batch seen.
    pub max_batch_id: i64,
    /// Records resolved.
    pub records: i64,
    /// Active customers after the run.
    pub customers: i64,
    /// Customers created.
    pub new_customers: i64,
    /// Merges.
    pub merges: i64,
    /// Pairs in review.
    pub review_pairs: i64,
    /// Households.
    pub households: i64,
    /// Relationships.
    pub relationships: i64,
}

/// Records a resolution run.
pub async fn record_run(conn: &mut AnyConnection, c: &RunCounts, report: &str) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO resolve_run (at, mode, max_batch_id, records, customers, new_customers, merges, review_pairs, households, relationships, report) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(now_utc())
    .bind(&c.mode)
    .bind(c.max_batch_id)
    .bind(c.records)
    .bind(c.customers)
    .bind(c.new_customers)
    .bind(c.merges)
    .bind(c.review_pairs)
    .bind(c.households)
    .bind(c.relationships)
    .bind(report)
    .fetch_one(conn)
    .await?)
}

/// An open or decided review pair with both records side by side.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ReviewRow {
    /// Review id.
    pub id: i64,
    /// Left record.
    pub left_record_id: i64,
    /// Right record.
    pub right_record_id: i64,
    /// Match probability.
    pub match_probability: f64,
    /// Per-field evidence (JSON).
    pub evidence: Option<String>,
    /// open / accepted / rejected.
    pub status: String,
    /// Left: system, key, name, id, mobile, birth date, address.
    pub left_system: String,
    /// Left source key.
    pub left_key: String,
    /// Left name.
    pub left_name: String,
    /// Left id.
    pub left_id_no: Option<String>,
    /// Left mobile.
    pub left_mobile: Option<String>,
    /// Left birth date.
    pub left_birth_date: Option<String>,
    /// Left address.
    pub left_address: Option<String>,
    /// Right system.
    pub right_system: String,
    /// Right source key.
    pub right_key: String,
    /// Right name.
    pub right_name: String,
    /// Right id.
    pub right_id_no: Option<String>,
    /// Right mobile.
    pub right_mobile: Option<String>,
    /// Right birth date.
    pub right_birth_date: Option<String>,
    /// Right address.
    pub right_address: Option<String>,
}

/// The review pair and both records, side by side.
const REVIEW_SELECT: &str = "SELECT m.id, m.left_record_id, m.right_record_id, m.match_probability, m.evidence, m.status, \
     a.system AS left_system, a.source_key AS left_key, a.name AS left_name, a.id_no AS left_id_no, a.mobile AS left_mobile, \
     a.birth_date AS left_birth_date, a.address AS left_address, \
     b.system AS right_system, b.source_key AS right_key, b.name AS right_name, b.id_no AS right_id_no, b.mobile AS right_mobile, \
     b.birth_date AS right_birth_date, b.address AS right_address \
     FROM match_review m JOIN source_record a ON a.id = m.left_record_id JOIN source_record b ON b.id = m.right_record_id";

/// Review pairs with a status, highest probability first.
pub async fn review_queue(store: &Store, status: &str, limit: i64) -> Result<Vec<ReviewRow>> {
    Ok(sqlx::query_as(&format!(
        "{REVIEW_SELECT} WHERE m.status = $1 ORDER BY m.match_probability DESC, m.id LIMIT $2"
    ))
    .bind(status)
    .bind(limit)
    .fetch_all(store.db())
    .await?)
}

/// One review pair, whatever its status.
pub async fn review(store: &Store, id: i64) -> Result<Option<ReviewRow>> {
    Ok(sqlx::query_as(&format!("{REVIEW_SELECT} WHERE m.id = $1"))
        .bind(id)
        .fetch_optional(store.db())
        .await?)
}

/// Records a steward's decision on an open review pair; returns the pair's records.
pub async fn decide_review(
    conn: &mut AnyConnection,
    id: i64,
    accept: bool,
    actor: &str,
) -> Result<Option<(i64, i64)>> {
    let row = sqlx::query("SELECT left_record_id, right_record_id FROM match_review WHERE id = $1 AND status = 'open'")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let pair = (row.get::<i64, _>(0), row.get::<i64, _>(1));
    sqlx::query(
        "UPDATE match_review SET status = $1, decided_by = $2, decided_at = $3 WHERE id = $4",
    )
    .bind(if accept { "accepted" } else { "rejected" })
    .bind(actor)
    .bind(now_utc())
    .bind(id)
    .execute(&mut *conn)
    .await?;
    audit(
        conn,
        actor,
        if accept {
            "ecif.review.accept"
        } else {
            "ecif.review.reject"
        },
        None,
        &format!("review {id}: records {} and {}", pair.0, pair.1),
    )
    .await?;
    Ok(Some(pair))
}

/// The customer of a source record.
pub async fn customer_of(conn: &mut AnyConnection, record: i64) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT customer_id FROM customer_xref WHERE source_record_id = $1")
            .bind(record)
            .fetch_optional(conn)
            .await?,
    )
}

/// Source records of a customer.
pub async fn records_of(conn: &mut AnyConnection, customer: i64) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar("SELECT source_record_id FROM customer_xref WHERE customer_id = $1 ORDER BY source_record_id")
        .bind(customer)
        .fetch_all(conn)
        .await?)
}

/// Moves records to a customer (a steward's merge or an unmerge).
pub async fn move_records(
    conn: &mut AnyConnection,
    records: &[i64],
    customer: i64,
    rule: &str,
) -> Result<()> {
    for r in records {
        sqlx::query("UPDATE customer_xref SET customer_id = $1, rule = $2, linked_at = $3 WHERE source_record_id = $4")
            .bind(customer)
            .bind(rule)
            .bind(now_utc())
            .bind(r)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// A merge event.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct MergeRow {
    /// Event id.
    pub id: i64,
    /// When.
    pub at: String,
    /// merge / unmerge.
    pub kind: String,
    /// Surviving customer.
    pub surviving_customer_id: i64,
    /// Absorbed customer.
    pub absorbed_customer_id: i64,
    /// Who.
    pub actor: String,
    /// Evidence (JSON: records moved and why).
    pub evidence: Option<String>,
    /// The unmerge that undid it.
    pub undone_by: Option<i64>,
}

/// Merge events, newest first.
pub async fn merges(store: &Store, limit: i64) -> Result<Vec<MergeRow>> {
    Ok(sqlx::query_as(
        "SELECT id, at, kind, surviving_customer_id, absorbed_customer_id, actor, evidence, undone_by FROM merge_event ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(store.db())
    .await?)
}

/// One merge event.
pub async fn merge_event(conn: &mut AnyConnection, id: i64) -> Result<Option<MergeRow>> {
    Ok(sqlx::query_as(
        "SELECT id, at, kind, surviving_customer_id, absorbed_customer_id, actor, evidence, undone_by FROM merge_event WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

/// Undoes a merge: the absorbed customer is active again with its records,
/// the pairs across the two are marked rejected so they are not linked again,
/// and the unmerge is recorded and audited. Returns the unmerge event id.
pub async fn unmerge(
    conn: &mut AnyConnection,
    event: &MergeRow,
    records: &[i64],
    actor: &str,
) -> Result<i64> {
    let now = now_utc();
    sqlx::query(
        "UPDATE customer SET status = 'active', merged_into = NULL, updated_at = $1 WHERE id = $2",
    )
    .bind(&now)
    .bind(event.absorbed_customer_id)
    .execute(&mut *conn)
    .await?;
    move_records(conn, records, event.absorbed_customer_id, "unmerge").await?;
    let remaining = records_of(conn, event.surviving_customer_id).await?;
    for a in records {
        for b in &remaining {
            let (l, r) = if a < b { (*a, *b) } else { (*b, *a) };
            sqlx::query(
                "INSERT INTO match_review (left_record_id, right_record_id, match_probability, evidence, status, decided_by, decided_at) \
                 VALUES ($1, $2, 0, '{\"reason\":\"unmerge\"}', 'rejected', $3, $4) \
                 ON CONFLICT (left_record_id, right_record_id) DO UPDATE SET status = 'rejected', decided_by = excluded.decided_by, decided_at = excluded.decided_at",
            )
            .bind(l)
            .bind(r)
            .bind(actor)
            .bind(&now)
            .execute(&mut *conn)
            .await?;
        }
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO merge_event (at, kind, surviving_customer_id, absorbed_customer_id, actor, evidence) VALUES ($1, 'unmerge', $2, $3, $4, $5) RETURNING id",
    )
    .bind(&now)
    .bind(event.surviving_customer_id)
    .bind(event.absorbed_customer_id)
    .bind(actor)
    .bind(format!("{{\"undoes\":{},\"records\":{:?}}}", event.id, records))
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query("UPDATE merge_event SET undone_by = $1 WHERE id = $2")
        .bind(id)
        .bind(event.id)
        .execute(&mut *conn)
        .await?;
    audit(
        conn,
        actor,
        "ecif.unmerge",
        Some(event.absorbed_customer_id),
        &format!(
            "unmerge of merge_event {}: customer {} split from {}",
            event.id, event.absorbed_customer_id, event.surviving_customer_id
        ),
    )
    .await?;
    link_accounts(
        conn,
        Some(&[event.surviving_customer_id, event.absorbed_customer_id]),
    )
    .await?;
    Ok(id)
}

/// Data quality of one source system.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct QualityRow {
    /// System.
    pub system: String,
    /// Records.
    pub records: i64,
    /// Resident ids failing their check digit or shape.
    pub invalid_ids: i64,
    /// Legacy 15-digit ids upgraded.
    pub legacy_ids: i64,
    /// Person records without an id.
    pub missing_ids: i64,
    /// Records without a usable mobile.
    pub missing_mobiles: i64,
    /// Records without an address.
    pub missing_addresses: i64,
    /// Credit codes failing their checksum.
    pub credit_code_flags: i64,
    /// Records whose customer has another record in the same system (duplicates).
    pub duplicates: i64,
}

/// The data-quality report by source system.
pub async fn quality(store: &Store) -> Result<Vec<QualityRow>> {
    Ok(sqlx::query_as(
        "SELECT r.system, CAST(COUNT(*) AS BIGINT) AS records, \
         CAST(SUM(CASE WHEN r.id_status = 'invalid' THEN 1 ELSE 0 END) AS BIGINT) AS invalid_ids, \
         CAST(SUM(CASE WHEN r.id_status = 'upgraded' THEN 1 ELSE 0 END) AS BIGINT) AS legacy_ids, \
         CAST(SUM(CASE WHEN r.id_status = 'missing' AND r.party_type = 'person' THEN 1 ELSE 0 END) AS BIGINT) AS missing_ids, \
         CAST(SUM(CASE WHEN r.mobile_std IS NULL AND r.party_type = 'person' THEN 1 ELSE 0 END) AS BIGINT) AS missing_mobiles, \
         CAST(SUM(CASE WHEN r.address IS NULL THEN 1 ELSE 0 END) AS BIGINT) AS missing_addresses, \
         CAST(SUM(CASE WHEN r.credit_code_status = 'checksum_failed' THEN 1 ELSE 0 END) AS BIGINT) AS credit_code_flags, \
         CAST(SUM(CASE WHEN EXISTS (SELECT 1 FROM customer_xref x2 JOIN source_record r2 ON r2.id = x2.source_record_id \
              WHERE x2.customer_id = x.customer_id AND r2.system = r.system AND r2.id <> r.id) THEN 1 ELSE 0 END) AS BIGINT) AS duplicates \
         FROM source_record r LEFT JOIN customer_xref x ON x.source_record_id = r.id GROUP BY r.system ORDER BY r.system",
    )
    .fetch_all(store.db())
    .await?)
}

/// (system, source key, customer id) of every resolved record, for measuring against a truth.
pub async fn resolved_keys(store: &Store) -> Result<Vec<(String, String, i64)>> {
    let rows = sqlx::query("SELECT r.system, r.source_key, x.customer_id FROM source_record r JOIN customer_xref x ON x.source_record_id = r.id")
        .fetch_all(store.db())
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.get::<String, _>(0),
                r.get::<String, _>(1),
                r.get::<i64, _>(2),
            )
        })
        .collect())
}

/// A customer's source record with how it was linked.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SourceLink {
    /// Source record id.
    pub record_id: i64,
    /// Its system.
    pub system: String,
    /// Its key (the system's customer number).
    pub source_key: String,
    /// `deterministic`, `probabilistic`, `steward`, `previous`, `singleton`.
    pub rule: String,
    /// Match score.
    pub score: f64,
    /// The link's evidence (JSON: the record it was linked to and the pair's waterfall).
    pub evidence: Option<String>,
}

/// The source records of a customer and how each was linked, by system and key.
pub async fn source_links(store: &Store, customer_id: i64) -> Result<Vec<SourceLink>> {
    let rows = sqlx::query(
        "SELECT r.id, r.system, r.source_key, x.rule, x.match_score, x.evidence FROM customer_xref x \
         JOIN source_record r ON r.id = x.source_record_id WHERE x.customer_id = $1 ORDER BY r.system, r.source_key",
    )
    .bind(customer_id)
    .fetch_all(store.db())
    .await?;
    Ok(rows
        .iter()
        .map(|r| SourceLink {
            record_id: r.get(0),
            system: r.get(1),
            source_key: r.get(2),
            rule: r.get(3),
            score: r.get::<Option<f64>, _>(4).unwrap_or(1.0),
            evidence: r.get(5),
        })
        .collect())
}

/// Every source record's system and key by record id (to label records with a generated bank's truth).
pub async fn record_keys(store: &Store) -> Result<Vec<(i64, String, String)>> {
    let rows = sqlx::query("SELECT id, system, source_key FROM source_record ORDER BY id")
        .fetch_all(store.db())
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.get::<i64, _>(0),
                r.get::<String, _>(1),
                r.get::<String, _>(2),
            )
        })
        .collect())
}

/// The next free id of a table (fixed identifier from this program), for
/// bulk inserts with ids allocated by the caller inside its transaction.
pub async fn next_id(conn: &mut AnyConnection, table: &str) -> Result<i64> {
    let sql = format!("SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM {table}");
    let max: i64 = sqlx::query_scalar(&sql).fetch_one(conn).await?;
    Ok(max + 1)
}

/// After inserting explicit ids on PostgreSQL, moves the identity sequence past them.
pub async fn sync_id_sequence(
    conn: &mut AnyConnection,
    backend: Backend,
    table: &str,
) -> Result<()> {
    if backend == Backend::Postgres {
        let sql = format!(
            "SELECT CAST(setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table})) AS BIGINT)"
        );
        let _: Option<i64> = sqlx::query_scalar(&sql).fetch_optional(conn).await?;
    }
    Ok(())
}

/// Inserts new customers with ids allocated by the caller (`C` + ten digits of the id).
pub async fn insert_customers(
    conn: &mut AnyConnection,
    backend: Backend,
    customers: &[(i64, CustomerWrite)],
) -> Result<()> {
    let insert = BulkInsert::new(
        backend,
        "customer",
        &[
            "id",
            "customer_no",
            "party_type",
            "name",
            "gender",
            "birth_date",
            "id_no",
            "credit_code",
            "mobile",
            "email",
            "address",
            "industry",
            "provenance",
            "created_at",
            "updated_at",
        ],
        "",
    );
    let now = now_utc();
    let rows: Vec<Vec<Value>> = customers
        .iter()
        .map(|(id, c)| {
            vec![
                Value::Int(Some(*id)),
                Value::Text(Some(format!("C{id:010}"))),
                Value::text(&c.party_type),
                Value::text(&c.name),
                Value::text_opt(c.gender.as_deref()),
                Value::text_opt(c.birth_date.as_deref()),
                Value::text_opt(c.id_no.as_deref()),
                Value::text_opt(c.credit_code.as_deref()),
                Value::text_opt(c.mobile.as_deref()),
                Value::text_opt(c.email.as_deref()),
                Value::text_opt(c.address.as_deref()),
                Value::text_opt(c.industry.as_deref()),
                Value::text(&c.provenance),
                Value::text(&now),
                Value::text(&now),
            ]
        })
        .collect();
    insert.execute(conn, &rows).await?;
    sync_id_sequence(conn, backend, "customer").await
}

/// An import run (an ingest batch) with its files.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct ImportRun {
    /// Batch id.
    pub id: i64,
    /// Started.
    pub started_at: String,
    /// The extract folder.
    pub folder: String,
    /// The extract's date.
    pub extract_date: Option<String>,
    /// `running`, `committed` or `failed`.
    pub status: String,
    /// Rows read.
    pub rows_read: i64,
    /// Rows landed.
    pub rows_landed: i64,
    /// Rows rejected.
    pub rows_rejected: i64,
    /// Why it failed.
    pub error: Option<String>,
}

/// A file of an import run, with its reject report.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct ImportFile {
    /// Batch.
    pub batch_id: i64,
    /// Source system.
    pub system: String,
    /// File name.
    pub file: String,
    /// Kind of rows.
    pub kind: String,
    /// Rows read.
    pub rows_read: i64,
    /// Rows landed.
    pub rows_landed: i64,
    /// Rows rejected (listed with line and reason in the reject file).
    pub rows_rejected: i64,
    /// The reject report's path.
    pub reject_file: Option<String>,
}

/// The latest import runs with their files, newest first.
pub async fn import_runs(store: &Store, limit: i64) -> Result<Vec<(ImportRun, Vec<ImportFile>)>> {
    let runs: Vec<ImportRun> = sqlx::query_as(
        "SELECT id, started_at, folder, extract_date, status, rows_read, rows_landed, rows_rejected, error \
         FROM ingest_batch ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(store.db())
    .await?;
    let mut out = Vec::with_capacity(runs.len());
    for run in runs {
        let files: Vec<ImportFile> = sqlx::query_as(
            "SELECT batch_id, system, file, kind, rows_read, rows_landed, rows_rejected, reject_file \
             FROM ingest_file WHERE batch_id = $1 ORDER BY id",
        )
        .bind(run.id)
        .fetch_all(store.db())
        .await?;
        out.push((run, files));
    }
    Ok(out)
}

/// Relationships a steward declares between a person and a company (or two
/// persons); they survive every resolution (`source = 'steward'`).
pub const STEWARD_KINDS: &[&str] = &[
    "legal_representative",
    "executive",
    "shareholder",
    "finance_contact",
    "payroll_employee",
    "guarantor",
    "spouse",
    "parent",
    "child",
];

/// Declares a relationship between two active customers; audited. `false`
/// when it exists already.
pub async fn add_relationship(
    store: &Store,
    from: i64,
    to: i64,
    kind: &str,
    actor: &str,
) -> Result<bool> {
    if !STEWARD_KINDS.contains(&kind) {
        return Err(StoreError::Invalid(format!(
            "unknown relationship {kind:?}; one of {}",
            STEWARD_KINDS.join(", ")
        )));
    }
    if from == to {
        return Err(StoreError::Invalid(
            "a customer is not related to itself".into(),
        ));
    }
    let mut tx = store.begin().await?;
    let active: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM customer WHERE id IN ($1, $2) AND status = 'active'",
    )
    .bind(from)
    .bind(to)
    .fetch_one(&mut *tx)
    .await?;
    if active != 2 {
        return Err(StoreError::Invalid(
            "both customers must exist and be active".into(),
        ));
    }
    let done = sqlx::query(
        "INSERT INTO party_relationship (from_customer_id, to_customer_id, kind, source, since, evidence) \
         VALUES ($1, $2, $3, 'steward', $4, $5) ON CONFLICT (from_customer_id, to_customer_id, kind) DO NOTHING",
    )
    .bind(from)
    .bind(to)
    .bind(kind)
    .bind(now_utc().get(..10).unwrap_or_default().to_owned())
    .bind(format!("{{\"by\":{:?}}}", actor))
    .execute(&mut *tx)
    .await?;
    crate::audit::insert_audit(
        &mut tx,
        &crate::audit::Audit {
            actor,
            action: "ecif.relationship.add",
            customer_id: Some(from),
            object_type: Some("party_relationship"),
            detail: Some(&format!("{from} -[{kind}]-> {to}")),
            ..crate::audit::Audit::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}

/// Removes a steward's relationship; audited. `false` when there is no such
/// steward relationship (resolution owns the others).
pub async fn remove_relationship(store: &Store, id: i64, actor: &str) -> Result<bool> {
    let mut tx = store.begin().await?;
    let found: Option<(i64, i64, String)> = sqlx::query_as(
        "SELECT from_customer_id, to_customer_id, kind FROM party_relationship WHERE id = $1 AND source = 'steward'",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((from, to, kind)) = found else {
        return Ok(false);
    };
    sqlx::query("DELETE FROM party_relationship WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    crate::audit::insert_audit(
        &mut tx,
        &crate::audit::Audit {
            actor,
            action: "ecif.relationship.remove",
            customer_id: Some(from),
            object_type: Some("party_relationship"),
            object_id: Some(&id.to_string()),
            detail: Some(&format!("{from} -[{kind}]-> {to}")),
            ..crate::audit::Audit::default()
        },
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// A relationship as one of its customers sees it.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct RelationshipRow {
    /// Id.
    pub id: i64,
    /// The other customer.
    pub other: i64,
    /// Their customer number.
    pub other_no: String,
    /// Kind (declared from the `from` side).
    pub kind: String,
    /// `declared`, `payroll`, `payment_flow` or `steward`.
    pub source: String,
    /// `out` (this customer is `from`) or `in`.
    pub direction: String,
}

/// A customer's relationships either way round.
pub async fn relationships(store: &Store, customer: i64) -> Result<Vec<RelationshipRow>> {
    Ok(sqlx::query_as(
        "SELECT r.id, r.to_customer_id AS other, c.customer_no AS other_no, r.kind, r.source, 'out' AS direction \
           FROM party_relationship r JOIN customer c ON c.id = r.to_customer_id WHERE r.from_customer_id = $1 \
         UNION ALL \
         SELECT r.id, r.from_customer_id AS other, c.customer_no AS other_no, r.kind, r.source, 'in' AS direction \
           FROM party_relationship r JOIN customer c ON c.id = r.from_customer_id WHERE r.to_customer_id = $1 \
         ORDER BY 4, 2",
    )
    .bind(customer)
    .fetch_all(store.db())
    .await?)
}

/// A record's key for per-record resolution: (record id, party type, kind, key hash).
pub type RecordKey<'a> = (i64, &'a str, i64, i64);

/// Whether any record's keys are kept.
pub async fn has_record_keys(conn: &mut AnyConnection) -> Result<bool> {
    Ok(
        sqlx::query_scalar::<_, i64>("SELECT record_id FROM ecif_key LIMIT 1")
            .fetch_optional(conn)
            .await?
            .is_some(),
    )
}

/// Drops every record's keys and their indexes (a full resolution writes
/// them all again, then [`index_record_keys`]: at a million records, rows
/// inserted into two random-order indexes took 269 s, most of the run).
pub async fn clear_record_keys(conn: &mut AnyConnection) -> Result<u64> {
    let n = sqlx::query("DELETE FROM ecif_key")
        .execute(&mut *conn)
        .await?
        .rows_affected();
    for index in ["ecif_key_lookup", "ecif_key_record"] {
        sqlx::query(&format!("DROP INDEX IF EXISTS {index}"))
            .execute(&mut *conn)
            .await?;
    }
    Ok(n)
}

/// Builds the indexes of the records' keys again after [`clear_record_keys`]
/// (the same as the migration's).
pub async fn index_record_keys(conn: &mut AnyConnection) -> Result<()> {
    for sql in [
        "CREATE INDEX IF NOT EXISTS ecif_key_lookup ON ecif_key (party_type, kind, key_hash)",
        "CREATE INDEX IF NOT EXISTS ecif_key_record ON ecif_key (record_id)",
    ] {
        sqlx::query(sql).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Replaces the keys of `records` with `keys` (records whose keys are not
/// given lose theirs).
pub async fn replace_record_keys(
    conn: &mut AnyConnection,
    backend: Backend,
    records: &[i64],
    keys: &[RecordKey<'_>],
) -> Result<u64> {
    for chunk in records.chunks(500) {
        let sql = format!(
            "DELETE FROM ecif_key WHERE record_id IN ({})",
            placeholders(chunk.len())
        );
        let mut query = sqlx::query(&sql);
        for r in chunk {
            query = query.bind(r);
        }
        query.execute(&mut *conn).await?;
    }
    insert_record_keys(conn, backend, keys).await
}

/// Adds record keys (after [`clear_record_keys`], or for new records).
pub async fn insert_record_keys(
    conn: &mut AnyConnection,
    backend: Backend,
    keys: &[RecordKey<'_>],
) -> Result<u64> {
    let insert = BulkInsert::new(
        backend,
        "ecif_key",
        &["record_id", "party_type", "kind", "key_hash"],
        "",
    );
    let rows: Vec<Vec<Value>> = keys
        .iter()
        .map(|(r, p, k, h)| {
            vec![
                Value::Int(Some(*r)),
                Value::text(p),
                Value::Int(Some(*k)),
                Value::Int(Some(*h)),
            ]
        })
        .collect();
    insert.execute(conn, &rows).await
}

/// The records holding a key, at most `limit` of them (ask one more than a
/// block may hold to tell an oversized block).
pub async fn records_with_key(
    conn: &mut AnyConnection,
    party: &str,
    kind: i64,
    key: i64,
    limit: i64,
) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT record_id FROM ecif_key WHERE party_type = $1 AND kind = $2 AND key_hash = $3 LIMIT $4",
    )
    .bind(party)
    .bind(kind)
    .bind(key)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// How many records hold a key (a value's frequency, for term-frequency keys).
pub async fn key_count(conn: &mut AnyConnection, party: &str, kind: i64, key: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM ecif_key WHERE party_type = $1 AND kind = $2 AND key_hash = $3",
    )
    .bind(party)
    .bind(kind)
    .bind(key)
    .fetch_one(conn)
    .await?)
}

/// Keys held per (party type, kind) for kinds from `min_kind` on (the
/// number of records with a value, for term frequencies).
pub async fn key_totals(
    conn: &mut AnyConnection,
    min_kind: i64,
) -> Result<Vec<(String, i64, i64)>> {
    Ok(sqlx::query_as(
        "SELECT party_type, kind, COUNT(*) FROM ecif_key WHERE kind >= $1 GROUP BY party_type, kind",
    )
    .bind(min_kind)
    .fetch_all(conn)
    .await?)
}

/// The id and report of the newest resolution that was not refused (its
/// report's `engine` holds the learned models), if any.
pub async fn last_resolution_report(conn: &mut AnyConnection) -> Result<Option<(i64, String)>> {
    Ok(sqlx::query_as(
        "SELECT id, report FROM resolve_run WHERE mode <> 'refused' ORDER BY id DESC LIMIT 1",
    )
    .fetch_optional(conn)
    .await?)
}

/// The id of the newest resolution that was not refused, if any.
pub async fn last_resolution_id(conn: &mut AnyConnection) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT MAX(id) FROM resolve_run WHERE mode <> 'refused'")
            .fetch_one(conn)
            .await?,
    )
}

/// Source records by id, in id order.
pub async fn records_by_ids(conn: &mut AnyConnection, ids: &[i64]) -> Result<Vec<RecordRow>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        let sql = format!(
            "{RECORD_SELECT} WHERE r.id IN ({}) ORDER BY r.id",
            placeholders(chunk.len())
        );
        let mut query = sqlx::query_as::<_, RecordRow>(&sql);
        for id in chunk {
            query = query.bind(id);
        }
        out.extend(query.fetch_all(&mut *conn).await?);
    }
    out.sort_by_key(|r| r.id);
    Ok(out)
}

/// The customers of some records (records not linked are left out).
pub async fn customers_of_records(
    conn: &mut AnyConnection,
    records: &[i64],
) -> Result<HashMap<i64, i64>> {
    let mut out = HashMap::new();
    for chunk in records.chunks(500) {
        let sql = format!(
            "SELECT x.source_record_id, x.customer_id FROM customer_xref x \
             JOIN customer c ON c.id = x.customer_id \
             WHERE c.status = 'active' AND x.source_record_id IN ({})",
            placeholders(chunk.len())
        );
        let mut query = sqlx::query_as::<_, (i64, i64)>(&sql);
        for r in chunk {
            query = query.bind(r);
        }
        out.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(out)
}

/// A linked source record as its system sent it, for making arrivals of
/// known parties (`panorama bench ecif-online`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RawRecord {
    /// Record id.
    pub id: i64,
    /// Its customer.
    pub customer_id: i64,
    /// person / organisation.
    pub party_type: String,
    /// Name.
    pub name: String,
    /// M/F.
    pub gender: Option<String>,
    /// ISO date.
    pub birth_date: Option<String>,
    /// Id type.
    pub id_type: Option<String>,
    /// Id as sent.
    pub id_no: Option<String>,
    /// Credit code as sent.
    pub credit_code: Option<String>,
    /// Mobile as sent.
    pub mobile: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Address.
    pub address: Option<String>,
    /// Branch.
    pub branch_code: Option<String>,
}

/// About `n` linked source records spread evenly over the ids (every
/// `step`-th from `offset`), in id order.
pub async fn spread_records(store: &Store, n: i64, offset: i64) -> Result<Vec<RawRecord>> {
    let (lo, hi): (Option<i64>, Option<i64>) =
        sqlx::query_as("SELECT MIN(id), MAX(id) FROM source_record")
            .fetch_one(store.db())
            .await?;
    let (Some(lo), Some(hi)) = (lo, hi) else {
        return Ok(Vec::new());
    };
    let step = ((hi - lo + 1) / n.max(1)).max(1);
    Ok(sqlx::query_as(
        "SELECT r.id, x.customer_id, r.party_type, r.name, r.gender, r.birth_date, r.id_type, r.id_no, \
         r.credit_code, r.mobile, r.email, r.address, r.branch_code \
         FROM source_record r JOIN customer_xref x ON x.source_record_id = r.id \
         WHERE (r.id - $1) % $2 = $3 ORDER BY r.id LIMIT $4",
    )
    .bind(lo)
    .bind(step)
    .bind(offset.rem_euclid(step))
    .bind(n)
    .fetch_all(store.db())
    .await?)
}
