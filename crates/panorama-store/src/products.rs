//! The product catalogue as pages read it.

use crate::{AnyConnection, Result, Store};

/// The codes of every product.
pub async fn codes(conn: &mut AnyConnection) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar("SELECT code FROM product ORDER BY code")
        .fetch_all(conn)
        .await?)
}

/// The codes of every product (outside a transaction).
pub async fn all_codes(store: &Store) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar("SELECT code FROM product ORDER BY code")
        .fetch_all(store.db())
        .await?)
}

/// Whether product `code` is in the catalogue.
pub async fn exists(store: &Store, code: &str) -> Result<bool> {
    let found: Option<String> = sqlx::query_scalar("SELECT code FROM product WHERE code = $1")
        .bind(code)
        .fetch_optional(store.db())
        .await?;
    Ok(found.is_some())
}

/// Every product: (code, name), by code.
pub async fn names(store: &Store) -> Result<Vec<(String, String)>> {
    Ok(
        sqlx::query_as("SELECT code, name FROM product ORDER BY code")
            .fetch_all(store.db())
            .await?,
    )
}

/// Every product's customer rate in basis points, where it has one: (code, rate).
pub async fn rates(store: &Store) -> Result<Vec<(String, Option<i64>)>> {
    Ok(
        sqlx::query_as("SELECT code, rate_bp FROM product ORDER BY code")
            .fetch_all(store.db())
            .await?,
    )
}

/// The product classes of the catalogue.
pub async fn classes(store: &Store) -> Result<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT DISTINCT class FROM product ORDER BY class")
            .fetch_all(store.db())
            .await?,
    )
}
