//! The queries the analytics snapshot reads: active customers, their
//! accounts, the product catalogue and relationships whole, and balances and
//! transactions one import batch at a time. The analytics crate turns the
//! rows into Parquet; the columns of each query are in the order its
//! [`Table`] documents.

use futures_util::stream::BoxStream;
use sqlx::any::AnyRow;

use crate::{Result, Store};

/// A table of the snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// Active customers: id, customer_no, party_type, gender, birth_date,
    /// industry, home branch code, household id, created_at.
    Customer,
    /// Accounts of customers: id, customer_id, product_code, class,
    /// branch_code, opened_on, matures_on, closed_on, status, rate_bp (the
    /// account's, else the product's, else 0), credit_limit_minor.
    Account,
    /// Products: code, name, name_en, class, term_months, rate_bp.
    Product,
    /// Relationships between active customers: from, to, kind.
    Relationship,
    /// Monthly balances of one batch: account_id, month, avg_balance_minor,
    /// end_balance_minor.
    Balance,
    /// Transactions of one batch: account_id, booked_at, booked_at (again,
    /// for the date column), amount_minor, direction, channel, mcc.
    Txn,
}

impl Table {
    fn sql(self) -> &'static str {
        match self {
            Table::Customer => {
                "SELECT c.id, c.customer_no, c.party_type, c.gender, c.birth_date, c.industry, \
                 o.code, hm.household_id, c.created_at \
                 FROM customer c LEFT JOIN org_unit o ON o.id = c.home_org_unit_id \
                 LEFT JOIN household_member hm ON hm.customer_id = c.id \
                 WHERE c.status = 'active' ORDER BY c.id"
            }
            Table::Account => {
                "SELECT a.id, a.customer_id, a.product_code, COALESCE(p.class, 'unknown'), a.branch_code, \
                 a.opened_on, a.matures_on, a.closed_on, a.status, COALESCE(a.rate_bp, p.rate_bp, 0), \
                 a.credit_limit_minor \
                 FROM account a LEFT JOIN product p ON p.code = a.product_code \
                 WHERE a.customer_id IS NOT NULL ORDER BY a.id"
            }
            Table::Product => {
                "SELECT code, name, name_en, class, term_months, rate_bp FROM product ORDER BY code"
            }
            Table::Relationship => {
                "SELECT r.from_customer_id, r.to_customer_id, r.kind FROM party_relationship r \
                 JOIN customer f ON f.id = r.from_customer_id AND f.status = 'active' \
                 JOIN customer t ON t.id = r.to_customer_id AND t.status = 'active' \
                 ORDER BY r.from_customer_id, r.to_customer_id, r.kind"
            }
            Table::Balance => {
                "SELECT account_id, month, avg_balance_minor, end_balance_minor \
                 FROM balance_monthly WHERE batch_id = $1"
            }
            Table::Txn => {
                "SELECT account_id, booked_at, booked_at, amount_minor, direction, channel, mcc \
                 FROM txn WHERE batch_id = $1"
            }
        }
    }

    /// Whether the table is read one import batch at a time.
    pub fn by_batch(self) -> bool {
        matches!(self, Table::Balance | Table::Txn)
    }
}

/// The rows of `table` (of import batch `batch` for the tables read by
/// batch), streamed.
pub fn rows(
    store: &Store,
    table: Table,
    batch: Option<i64>,
) -> BoxStream<'_, sqlx::Result<AnyRow>> {
    let mut query = sqlx::query(table.sql());
    if let Some(b) = batch.filter(|_| table.by_batch()) {
        query = query.bind(b);
    }
    query.fetch(store.db())
}

/// Rows per import batch of a table read by batch: (batch, rows).
pub async fn batch_counts(store: &Store, table: Table) -> Result<Vec<(i64, i64)>> {
    let sql = match table {
        Table::Balance => "SELECT batch_id, COUNT(*) FROM balance_monthly GROUP BY batch_id",
        Table::Txn => "SELECT batch_id, COUNT(*) FROM txn GROUP BY batch_id",
        _ => return Ok(Vec::new()),
    };
    Ok(sqlx::query_as(sql).fetch_all(store.db()).await?)
}
