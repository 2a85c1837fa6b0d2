//! The JSON API: the same data and rules as the pages.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use panorama_store::ocrm::{self, AuditFilter};
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::auth::{Credentials, Permission};
use crate::context::{self, Ctx, LoginRefused};
use crate::customers;
use crate::error::WebError;
use crate::extract::{Require, perm};
use crate::mask::Level;

/// `POST /api/login` with `{"username", "password"}`: sets the session
/// cookie and returns the user and the CSRF token for later writes.
pub async fn login(
    State(state): State<AppState>,
    mut ctx: Ctx,
    Json(creds): Json<Credentials>,
) -> Response {
    match context::login(&state, &mut ctx, creds).await {
        Ok(user) => {
            let csrf = ctx.csrf().await;
            Json(json!({"user": user, "csrf": csrf})).into_response()
        }
        Err(LoginRefused::Wrong) => (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "wrong username or password"})),
        )
            .into_response(),
        Err(LoginRefused::Locked) => (
            StatusCode::TOO_MANY_REQUESTS,
            Json(json!({"error": "too many failed logins; try again later"})),
        )
            .into_response(),
        Err(LoginRefused::Error(e)) => e.into_response(),
    }
}

/// `POST /api/logout` (header `X-CSRF-Token`).
pub async fn logout(
    State(state): State<AppState>,
    mut ctx: Ctx,
    headers: HeaderMap,
) -> Result<StatusCode, WebError> {
    ctx.user()?;
    ctx.check_csrf_header(&headers).await?;
    context::logout(&state, &mut ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/me`.
pub async fn me(State(state): State<AppState>, ctx: Ctx) -> Result<Response, WebError> {
    let user = ctx.user()?;
    let workbench = if user.can(Permission::ViewCustomers) {
        crate::workbench::sections_of(&state, user).await?
    } else {
        Vec::new()
    };
    Ok(Json(json!({
        "user": user,
        "workbench": workbench,
        "scope": format!("{:?}", user.scope()),
        "permissions": {
            "view_customers": user.can(Permission::ViewCustomers),
            "unmask": user.can(Permission::Unmask),
            "record_contact": user.can(Permission::RecordContact),
            "view_audit": user.can(Permission::ViewAudit),
            "manage_users": user.can(Permission::ManageUsers),
            "resolve_identities": user.can(Permission::ResolveIdentities),
            "view_analytics": user.can(Permission::ViewAnalytics),
            "view_pipeline": user.can(Permission::ViewPipeline),
        }
    }))
    .into_response())
}

/// `GET /api/customers`: the caller's scope, paged; `?page=&per_page=` and
/// the list page's filters (`tier`, `min_aum` in yuan, `name`, `sort`,
/// `segment`, `model`, `min_score`). The read is audited with its filters
/// and the rows it returned.
pub async fn customers(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ViewCustomers>,
    Query(q): Query<customers::CustomerQuery>,
) -> Result<Response, WebError> {
    let user = &user;
    let filter = q.filter(ctx.lang)?;
    let page = q.page()?;
    let per_page = q.per_page()?.unwrap_or(50).clamp(1, 500);
    let (rows, total) =
        ocrm::customers(&state.store, &user.scope(), &filter, page, per_page).await?;
    context::audit_list(&state, &ctx, "customer.list", &q.described(), rows.len()).await?;
    Ok(Json(json!({
        "page": page,
        "per_page": per_page,
        "total": total,
        "customers": customers::list_items(user, rows),
    }))
    .into_response())
}

/// `GET /api/customers/{id}`: the 360° view, masked per role.
pub async fn customer(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let level = Level::for_role(ctx.user()?.role);
    let view = customers::customer_360(&state, &ctx, id, level, None).await?;
    Ok(Json(view).into_response())
}

/// Query of `GET /api/search`.
#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    q: String,
}

/// `GET /api/search?q=…`.
pub async fn search(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<SearchQuery>,
) -> Result<Response, WebError> {
    let found = customers::search(&state, &ctx, &q.q, 50).await?;
    Ok(Json(json!({"customers": found})).into_response())
}

/// Query of `GET /api/alerts`.
#[derive(Debug, Deserialize)]
pub struct AlertQuery {
    since: Option<String>,
}

/// `GET /api/alerts?since=DATE`: alerts of the customers in the caller's
/// scope raised on or after `since` (default: the last 7 days of batches).
pub async fn alerts(
    State(state): State<AppState>,
    Require { user, .. }: Require<perm::ViewCustomers>,
    Query(q): Query<AlertQuery>,
) -> Result<Response, WebError> {
    let user = &user;
    let since = match q.since.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| WebError::BadRequest(format!("since: '{s}' is not a date (YYYY-MM-DD)")))?
            .to_string(),
        None => match ocrm::latest_alert_date(&state.store).await? {
            Some(latest) => chrono::NaiveDate::parse_from_str(&latest, "%Y-%m-%d")
                .map(|d| (d - chrono::Days::new(7)).to_string())
                .unwrap_or(latest),
            None => return Ok(Json(json!({"alerts": []})).into_response()),
        },
    };
    let rows = ocrm::alerts(&state.store, &user.scope(), &since, 500).await?;
    Ok(Json(json!({"since": since, "alerts": rows})).into_response())
}

/// `GET /api/audit?customer=…&actor=…&action=…&from=…&to=…` (auditors only).
pub async fn audit(
    State(state): State<AppState>,
    Require { ctx, .. }: Require<perm::ViewAudit>,
    Query(filter): Query<AuditFilter>,
) -> Result<Response, WebError> {
    context::check_audit_dates(&filter)?;
    let rows = ocrm::audit_search(&state.store, &filter, 500).await?;
    ctx.audit(
        &state,
        ocrm::Audit {
            action: "audit.search",
            customer_id: filter.customer,
            detail: Some(&format!("{} events", rows.len())),
            ..ocrm::Audit::default()
        },
    )
    .await?;
    Ok(Json(json!({"events": rows})).into_response())
}

/// `GET /api/openapi.json`: the API described in OpenAPI 3.1.
pub async fn openapi() -> Response {
    let error = json!({"$ref": "#/components/schemas/Error"});
    let ok = |description: &str| json!({"description": description});
    let denied = json!({
        "401": {"description": "not logged in", "content": {"application/json": {"schema": error}}},
        "403": {"description": "the role may not do this", "content": {"application/json": {"schema": error}}}
    });
    let with = |mut responses: serde_json::Value, extra: serde_json::Value| {
        if let (Some(r), Some(e)) = (responses.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                r.insert(k.clone(), v.clone());
            }
        }
        responses
    };
    let param = |name: &str, place: &str, kind: &str, required: bool| json!({"name": name, "in": place, "required": required, "schema": {"type": kind}});
    // Campaigns apart: one json! of every path exceeds the macro's recursion limit.
    let campaign_paths = json!({
            "/api/campaigns": {
                "get": {"summary": "Campaigns with their offers, policy and results per arm: rate, 95% interval, lift over control, curve, economics (analysts, executives, branch managers)",
                    "responses": with(json!({"200": ok("campaigns, newest first")}), denied.clone())},
                "post": {"summary": "Design a draft campaign (analysts; JSON name, segment, and optionally objective, channel (one, or a list tried in order: [\"rm\", \"sms\"]), capacity ({\"sms\": 5000} or \"sms=5000\"), per_rm, exclude, control, arms, seed, product, script, offers ([{arm, product, script}] per arm), score_model, min_score, universal_control, cap, cap_days, priority, response, response_days, starts, ends, budget in yuan); audited",
                    "parameters": [param("X-CSRF-Token", "header", "string", true)],
                    "responses": with(json!({"201": ok("the draft's id"), "400": ok("a field or condition that does not hold, with the reason"), "409": ok("served without the analytics directory")}), denied.clone())}
            },
            "/api/campaigns/compare": {"get": {"summary": "Every launched campaign on the same measures: treated and control rates, lift with its interval and p-value, incremental responders, cost per incremental responder, ROI",
                "responses": with(json!({"200": ok("campaigns, newest first")}), denied.clone())}},
            "/api/campaigns/effect": {"get": {"summary": "The whole marketing programme of a year against its universal control group (customers every campaign left out): product take-up, attrition and change in assets, marketed against held out, with 95% intervals, p-values and incremental totals",
                "parameters": [param("year", "query", "integer", false), param("from", "query", "string", false), param("to", "query", "string", false), param("share", "query", "number", false)],
                "responses": with(json!({"200": ok("the effect"), "400": ok("no campaign launched in the year, or a bad parameter"), "409": ok("served without the analytics directory")}), denied.clone())}},
            "/api/campaigns/preview": {"post": {"summary": "How many customers a segment condition selects on the features of a date (analysts; JSON segment, as_of)",
                "parameters": [param("X-CSRF-Token", "header", "string", true)],
                "responses": with(json!({"200": ok("as_of and eligible"), "400": ok("the condition does not compile")}), denied.clone())}},
            "/api/campaigns/{id}": {"get": {"summary": "One campaign: design, offers, policy and results",
                "parameters": [param("id", "path", "integer", true)],
                "responses": with(json!({"200": ok("the campaign"), "404": ok("no such campaign")}), denied.clone())}},
            "/api/campaigns/{id}/approve": {"post": {"summary": "Approve a draft campaign (branch managers and executives, not its designer; audited)",
                "parameters": [param("id", "path", "integer", true), param("X-CSRF-Token", "header", "string", true)],
                "responses": with(json!({"200": ok("approved"), "400": ok("not a draft, or the designer approving"), "404": ok("no such campaign")}), denied.clone())}},
            "/api/campaigns/{id}/launch": {"post": {"summary": "Launch an approved campaign (analysts; JSON as_of optional): select on the features, apply the contact policy, split, write members, call tasks and messages; audited",
                "parameters": [param("id", "path", "integer", true), param("X-CSRF-Token", "header", "string", true)],
                "responses": with(json!({"200": ok("what each step selected and removed"), "400": ok("not approved"), "404": ok("no such campaign")}), denied.clone())}},
            "/api/campaigns/{id}/finish": {"post": {"summary": "Finish a live campaign (analysts; JSON on optional): its results are kept; audited",
                "parameters": [param("id", "path", "integer", true), param("X-CSRF-Token", "header", "string", true)],
                "responses": with(json!({"200": ok("the results kept"), "400": ok("not live"), "404": ok("no such campaign")}), denied.clone())}}
    });
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {"title": "Panorama OCRM API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "The relationship manager's workbench. Session cookie auth: POST /api/login first; writes send the returned CSRF token as X-CSRF-Token. Data scope and PII masking follow the caller's role."},
        "paths": {
            "/api/login": {"post": {
                "summary": "Log in", "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["username", "password"],
                    "properties": {"username": {"type": "string"}, "password": {"type": "string"}}}}}},
                "responses": {"200": ok("logged in: user and csrf token; sets the session cookie"),
                              "401": ok("wrong username or password"), "429": ok("locked after repeated failures")}}},
            "/api/logout": {"post": {"summary": "Log out", "parameters": [param("X-CSRF-Token", "header", "string", true)],
                "responses": with(json!({"204": ok("logged out")}), denied.clone())}},
            "/api/me": {"get": {"summary": "The caller, their scope and permissions",
                "responses": with(json!({"200": ok("the user")}), denied.clone())}},
            "/api/customers": {"get": {"summary": "Customers in the caller's scope, paged",
                "parameters": [param("page", "query", "integer", false), param("per_page", "query", "integer", false),
                               param("tier", "query", "string", false), param("min_aum", "query", "integer", false),
                               param("segment", "query", "integer", false), param("name", "query", "string", false),
                               param("sort", "query", "string", false)],
                "responses": with(json!({"200": ok("page of customers, masked per role")}), denied.clone())}},
            "/api/customers/{id}": {"get": {"summary": "Customer 360 view, masked per role (audited)",
                "parameters": [param("id", "path", "integer", true)],
                "responses": with(json!({"200": ok("the 360 view"), "404": ok("no such customer in the caller's scope")}), denied.clone())}},
            "/api/search": {"get": {"summary": "Search by name, mobile, resident id, credit code, account or card number (audited)",
                "parameters": [param("q", "query", "string", true)],
                "responses": with(json!({"200": ok("matching customers in scope")}), denied.clone())}},
            "/api/alerts": {"get": {"summary": "Alerts raised by the batch for the customers in the caller's scope",
                "parameters": [param("since", "query", "string", false)],
                "responses": with(json!({"200": ok("alerts, most severe and soonest due first"), "400": ok("since is not a date")}), denied.clone())}},
            "/api/audit": {"get": {"summary": "Audit trail search (auditors only)",
                "parameters": [param("customer", "query", "integer", false), param("actor", "query", "string", false),
                               param("action", "query", "string", false), param("from", "query", "string", false),
                               param("to", "query", "string", false)],
                "responses": with(json!({"200": ok("events, newest first")}), denied.clone())}},
            "/api/ecif/reviews": {"get": {"summary": "Identity review queue: uncertain pairs with both records side by side and per-field evidence, masked (stewards)",
                "parameters": [param("status", "query", "string", false), param("limit", "query", "integer", false)],
                "responses": with(json!({"200": ok("pairs, most probable first"), "400": ok("unknown status")}), denied.clone())}},
            "/api/ecif/reviews/{id}": {"get": {"summary": "One review pair, masked (stewards)",
                "parameters": [param("id", "path", "integer", true)],
                "responses": with(json!({"200": ok("the pair"), "404": ok("no such review")}), denied.clone())}},
            "/api/ecif/reviews/{id}/unmask": {"post": {"summary": "One review pair in clear after a stated reason (stewards, audited)",
                "parameters": [param("id", "path", "integer", true), param("X-CSRF-Token", "header", "string", true)],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}}}}},
                "responses": with(json!({"200": ok("the pair in clear"), "400": ok("no reason given"), "404": ok("no such review")}), denied.clone())}},
            "/api/ecif/reviews/{id}/accept": {"post": {"summary": "Accept a pair: merge its customers (stewards, audited)",
                "parameters": [param("id", "path", "integer", true), param("X-CSRF-Token", "header", "string", true)],
                "responses": with(json!({"200": ok("what was merged"), "409": ok("not an open pair")}), denied.clone())}},
            "/api/ecif/reviews/{id}/reject": {"post": {"summary": "Reject a pair: never link its records (stewards, audited)",
                "parameters": [param("id", "path", "integer", true), param("X-CSRF-Token", "header", "string", true)],
                "responses": with(json!({"200": ok("rejected"), "409": ok("not an open pair")}), denied.clone())}},
            "/api/ecif/merges": {"get": {"summary": "Merge and unmerge events with their evidence, newest first (stewards)",
                "parameters": [param("limit", "query", "integer", false)],
                "responses": with(json!({"200": ok("events")}), denied.clone())}},
            "/api/ecif/merges/{id}/undo": {"post": {"summary": "Undo a merge: the absorbed customer returns with its id and records (stewards, audited)",
                "parameters": [param("id", "path", "integer", true), param("X-CSRF-Token", "header", "string", true)],
                "responses": with(json!({"200": ok("undone"), "409": ok("no such merge, or already undone")}), denied.clone())}},
            "/api/ecif/quality": {"get": {"summary": "Data quality per source system: invalid, legacy and missing ids, missing mobiles and addresses, credit-code flags, duplicates (stewards)",
                "responses": with(json!({"200": ok("one row per system")}), denied.clone())}},
            "/api/models": {"get": {"summary": "Model registry: every version with its evaluation (AUC, KS, deciles, truth check) (analysts, executives, branch managers)",
                "responses": with(json!({"200": ok("versions, by name")}), denied.clone())}},
            "/api/opportunities": {
                "get": {"summary": "The caller's pipeline by stage and product, and open opportunities (RM: own; branch manager: subtree; executive: bank)",
                    "parameters": [param("stage", "query", "string", false)],
                    "responses": with(json!({"200": ok("pipeline and opportunities"), "400": ok("not a stage")}), denied.clone())},
                "post": {"summary": "Raise an opportunity on a customer in scope (JSON customer_id, product_code, amount in yuan, expected_close, notes, campaign_id); an RM owns it, anyone else refers it to the customer's RM; audited",
                    "parameters": [param("X-CSRF-Token", "header", "string", true)],
                    "responses": with(json!({"201": ok("created at stage lead"), "400": ok("unknown product, bad amount or date"), "404": ok("customer not in scope")}), denied.clone())}
            },
            "/api/me/workbench": {"post": {"summary": "Choose and order the caller's workbench sections (JSON sections: tasks, alerts, leads, pipeline, customers)",
                "parameters": [param("X-CSRF-Token", "header", "string", true)],
                "responses": with(json!({"200": ok("the sections kept"), "400": ok("unknown section")}), denied.clone())}},
            "/api/users": {
                "get": {"summary": "Every user with role, org unit and status (admins only)",
                    "responses": with(json!({"200": ok("users and the roles")}), denied.clone())},
                "post": {"summary": "Create a user (JSON username, display_name, role, org_code, password of 10+ characters); audited",
                    "parameters": [param("X-CSRF-Token", "header", "string", true)],
                    "responses": with(json!({"201": ok("created"), "400": ok("bad username, role, org unit or weak password"), "409": ok("username taken")}), denied.clone())}
            },
            "/api/users/{id}": {"post": {"summary": "Change a user (JSON display_name, role, org_code, active, password — each optional); disabling or a new password ends their sessions; an admin cannot lock themselves out; audited",
                "parameters": [param("id", "path", "integer", true), param("X-CSRF-Token", "header", "string", true)],
                "responses": with(json!({"200": ok("changed"), "400": ok("bad role, org unit or weak password"), "404": ok("no such user"), "409": ok("would lock the admin out")}), denied.clone())}},
            "/api/opportunities/{id}/stage": {"post": {"summary": "Move one's own opportunity (JSON stage, optional amount); won and lost are final; audited",
                "parameters": [param("id", "path", "integer", true), param("X-CSRF-Token", "header", "string", true)],
                "responses": with(json!({"200": ok("moved"), "400": ok("not a stage"), "404": ok("not the caller's opportunity"), "409": ok("closed, or at that stage already")}), denied.clone())}}
        },
        "components": {"schemas": {"Error": {"type": "object", "properties": {"error": {"type": "string"}}}}}
    });
    if let (Some(paths), Some(more)) = (doc["paths"].as_object_mut(), campaign_paths.as_object()) {
        paths.extend(more.clone());
    }
    Json(doc).into_response()
}

/// This feature's routes.
pub(crate) fn routes() -> axum::Router<crate::AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/api/login", post(login))
        .route("/api/logout", post(logout))
        .route("/api/me", get(me))
        .route("/api/customers", get(customers))
        .route("/api/customers/{id}", get(customer))
        .route("/api/search", get(search))
        .route("/api/alerts", get(alerts))
        .route("/api/audit", get(audit))
        .route("/api/openapi.json", get(openapi))
}
