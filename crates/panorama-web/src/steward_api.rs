//! The data steward's JSON API over ECIF: the review queue of uncertain
//! pairs with both records side by side and the per-field evidence, accept
//! or reject, merge events and their undoing, and the data-quality report.
//!
//! Only the steward role may call these. Records are masked like customers
//! (strict for stewards); a stated reason shows one pair in clear and is
//! audited. Accepting, rejecting and unmerging are audited by the ECIF
//! actions themselves and refresh the golden records they touch.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use panorama_store::ecif::{self as q, ReviewRow};
use panorama_store::ocrm::Audit;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::Permission;
use crate::context::Ctx;
use crate::error::WebError;
use crate::extract::{ApiCsrf, Require, perm};
use crate::mask::{self, Level};

/// One source record of a review pair, masked to the caller's level.
#[derive(Debug, Serialize)]
pub struct Side {
    record_id: i64,
    system: String,
    source_key: String,
    name: String,
    id_no: Option<String>,
    mobile: Option<String>,
    birth_date: Option<String>,
    address: Option<String>,
}

/// A review pair as the steward sees it.
#[derive(Debug, Serialize)]
pub struct ReviewView {
    id: i64,
    status: String,
    match_probability: f64,
    /// Per-field comparison levels and weights, as the matcher recorded them.
    evidence: Value,
    left: Side,
    right: Side,
}

fn side(
    record_id: i64,
    fields: [&Option<String>; 4],
    system: &str,
    key: &str,
    name: &str,
    level: Level,
) -> Side {
    let [id_no, mobile, birth_date, address] = fields;
    Side {
        record_id,
        system: system.to_owned(),
        source_key: key.to_owned(),
        name: mask::name(name, key, level),
        id_no: id_no.as_deref().map(|v| mask::resident_id(v, level)),
        mobile: mobile.as_deref().map(|v| mask::mobile(v, level)),
        birth_date: birth_date.as_deref().map(|v| mask::birth_date(v, level)),
        address: address.as_deref().map(|v| mask::address(v, level)),
    }
}

fn view(r: ReviewRow, level: Level) -> ReviewView {
    ReviewView {
        id: r.id,
        status: r.status,
        match_probability: r.match_probability,
        evidence: r
            .evidence
            .as_deref()
            .and_then(|e| serde_json::from_str(e).ok())
            .unwrap_or(Value::Null),
        left: side(
            r.left_record_id,
            [
                &r.left_id_no,
                &r.left_mobile,
                &r.left_birth_date,
                &r.left_address,
            ],
            &r.left_system,
            &r.left_key,
            &r.left_name,
            level,
        ),
        right: side(
            r.right_record_id,
            [
                &r.right_id_no,
                &r.right_mobile,
                &r.right_birth_date,
                &r.right_address,
            ],
            &r.right_system,
            &r.right_key,
            &r.right_name,
            level,
        ),
    }
}

/// Query of `GET /api/ecif/reviews`.
#[derive(Debug, Deserialize)]
pub struct ReviewQuery {
    #[serde(default = "open")]
    status: String,
    limit: Option<i64>,
}

fn open() -> String {
    "open".to_owned()
}

/// `GET /api/ecif/reviews?status=open|accepted|rejected&limit=N`: review
/// pairs, most probable first, masked.
pub async fn reviews(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ResolveIdentities>,
    Query(q): Query<ReviewQuery>,
) -> Result<Response, WebError> {
    let user = &user;
    if !matches!(q.status.as_str(), "open" | "accepted" | "rejected") {
        return Err(WebError::BadRequest(format!(
            "status: '{}' is not one of open, accepted, rejected",
            q.status
        )));
    }
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let level = Level::for_role(user.role);
    let rows = q::review_queue(&state.store, &q.status, limit).await?;
    let pairs: Vec<ReviewView> = rows.into_iter().map(|r| view(r, level)).collect();
    let filters = format!("status={}&limit={limit}", q.status);
    crate::context::audit_list(&state, &ctx, "ecif.review.list", &filters, pairs.len()).await?;
    Ok(Json(json!({"status": q.status, "pairs": pairs})).into_response())
}

/// `GET /api/ecif/reviews/{id}`: one pair, masked.
pub async fn review(
    State(state): State<AppState>,
    Require { user, .. }: Require<perm::ResolveIdentities>,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let user = &user;
    let row = q::review(&state.store, id)
        .await?
        .ok_or(WebError::NotFound)?;
    Ok(Json(view(row, Level::for_role(user.role))).into_response())
}

/// Body of `POST /api/ecif/reviews/{id}/unmask`.
#[derive(Debug, Deserialize)]
pub struct Reason {
    reason: String,
}

/// `POST /api/ecif/reviews/{id}/unmask` with `{"reason"}`: the pair in
/// clear, audited as `ecif.review.unmask` with the reason.
pub async fn unmask(
    State(state): State<AppState>,
    Require { ctx, .. }: Require<perm::ResolveIdentities>,
    _: ApiCsrf,
    Path(id): Path<i64>,
    Json(body): Json<Reason>,
) -> Result<Response, WebError> {
    let reason = body.reason.trim();
    crate::context::within("reason", reason, 200)?;
    if reason.chars().count() < 2 {
        return Err(WebError::BadRequest(
            "reason: say why the records must be seen in clear".into(),
        ));
    }
    let row = q::review(&state.store, id)
        .await?
        .ok_or(WebError::NotFound)?;
    let object_id = id.to_string();
    ctx.audit(
        &state,
        Audit {
            action: "ecif.review.unmask",
            object_type: Some("match_review"),
            object_id: Some(&object_id),
            detail: Some(&format!(
                "review {id}: records {} and {}",
                row.left_record_id, row.right_record_id
            )),
            reason: Some(reason),
            ..Audit::default()
        },
    )
    .await?;
    Ok(Json(view(row, Level::Clear)).into_response())
}

/// `POST /api/ecif/reviews/{id}/accept`: merges the pair's customers.
pub async fn accept(
    state: State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    id: Path<i64>,
) -> Result<Response, WebError> {
    decide(state, ctx, headers, id, true).await
}

/// `POST /api/ecif/reviews/{id}/reject`: the pair is never linked.
pub async fn reject(
    state: State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    id: Path<i64>,
) -> Result<Response, WebError> {
    decide(state, ctx, headers, id, false).await
}

async fn decide(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<i64>,
    accept: bool,
) -> Result<Response, WebError> {
    let user = ctx.require(Permission::ResolveIdentities)?;
    ctx.check_csrf_header(&headers).await?;
    let message = panorama_ecif::store::decide(&state.store, id, accept, &user.username).await?;
    let row = q::review(&state.store, id).await?;
    Ok(Json(json!({
        "message": message,
        "review": row.map(|r| view(r, Level::for_role(user.role))),
    }))
    .into_response())
}

/// Query of `GET /api/ecif/merges`.
#[derive(Debug, Deserialize)]
pub struct Limit {
    limit: Option<i64>,
}

/// `GET /api/ecif/merges?limit=N`: merge and unmerge events, newest first.
pub async fn merges(
    State(state): State<AppState>,
    _: Require<perm::ResolveIdentities>,
    Query(q): Query<Limit>,
) -> Result<Response, WebError> {
    let rows = q::merges(&state.store, q.limit.unwrap_or(100).clamp(1, 1000)).await?;
    let events: Vec<Value> = rows
        .into_iter()
        .map(|m| {
            json!({
                "id": m.id, "at": m.at, "kind": m.kind,
                "surviving_customer_id": m.surviving_customer_id,
                "absorbed_customer_id": m.absorbed_customer_id,
                "actor": m.actor,
                "evidence": m.evidence.as_deref().and_then(|e| serde_json::from_str::<Value>(e).ok()),
                "undone_by": m.undone_by,
            })
        })
        .collect();
    Ok(Json(json!({"events": events})).into_response())
}

/// `POST /api/ecif/merges/{id}/undo`: the absorbed customer comes back with
/// its id and records.
pub async fn undo(
    State(state): State<AppState>,
    Require { user, .. }: Require<perm::ResolveIdentities>,
    _: ApiCsrf,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let user = &user;
    let message = panorama_ecif::store::unmerge(&state.store, id, &user.username).await?;
    Ok(Json(json!({"message": message})).into_response())
}

/// `GET /api/ecif/quality`: per source system, records, invalid and legacy
/// ids, missing ids, mobiles and addresses, credit-code flags, duplicates.
pub async fn quality(
    State(state): State<AppState>,
    _: Require<perm::ResolveIdentities>,
) -> Result<Response, WebError> {
    let rows = q::quality(&state.store).await?;
    Ok(Json(json!({"systems": rows})).into_response())
}

/// This feature's routes.
pub(crate) fn routes() -> axum::Router<crate::AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/api/ecif/reviews", get(reviews))
        .route("/api/ecif/reviews/{id}", get(review))
        .route("/api/ecif/reviews/{id}/unmask", post(unmask))
        .route("/api/ecif/reviews/{id}/accept", post(accept))
        .route("/api/ecif/reviews/{id}/reject", post(reject))
        .route("/api/ecif/merges", get(merges))
        .route("/api/ecif/merges/{id}/undo", post(undo))
        .route("/api/ecif/quality", get(quality))
}
