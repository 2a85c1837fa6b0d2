//! Read-only SQL for analysts over the analytics tables: `features` (the
//! latest as-of date unless another is chosen), `customer`, `account`,
//! `product`, `balance`, `txn` and `catalogue`. The snapshot carries no
//! names, id numbers, mobiles or addresses.
//!
//! Only queries run: DataFusion refuses DDL, DML and other statements
//! (`SQLOptions`), and reading files by path is not enabled.

use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::execution::context::SQLOptions;
use datafusion::prelude::SessionContext;

use crate::catalogue::catalogue;
use crate::engine::{register_batches, register_features, register_snapshot, session};
use crate::error::Result;

/// A session with every analyst table registered; returns it with the
/// features' as-of date.
pub async fn analyst_session(
    analytics: &Path,
    as_of: Option<NaiveDate>,
) -> Result<(SessionContext, NaiveDate)> {
    let ctx = session();
    register_snapshot(&ctx, analytics).await?;
    let date = register_features(&ctx, analytics, as_of).await?;
    let cat = catalogue();
    let schema = Arc::new(Schema::new(vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("type", DataType::Utf8, false),
        Field::new("unit", DataType::Utf8, false),
        Field::new("meaning", DataType::Utf8, false),
        Field::new("meaning_zh", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from_iter_values(
                cat.iter().map(|f| f.name.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                cat.iter().map(|f| f.kind.word()),
            )),
            Arc::new(StringArray::from_iter_values(cat.iter().map(|f| f.unit))),
            Arc::new(StringArray::from_iter_values(
                cat.iter().map(|f| f.meaning.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                cat.iter().map(|f| f.meaning_zh.as_str()),
            )),
        ],
    )?;
    register_batches(&ctx, "catalogue", schema, vec![batch])?;
    Ok((ctx, date))
}

/// Runs one read-only query.
pub async fn query(ctx: &SessionContext, text: &str) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let options = SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false);
    let df = ctx.sql_with_options(text, options).await?;
    let schema = Arc::new(df.schema().as_arrow().clone());
    let batches = df.collect().await?;
    Ok((schema, batches))
}
