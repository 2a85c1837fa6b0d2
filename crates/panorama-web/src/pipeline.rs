//! The opportunity pipeline (商机): an RM raises an opportunity from the 360
//! (or an agent refers one to the customer's RM), moves it through lead →
//! contacted → proposal → won or lost, and reads their pipeline by stage and
//! product; a branch manager reads their subtree's, an executive the bank's.
//! Pages and JSON; every write is CSRF-checked and audited.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use panorama_domain::money::Money;
use panorama_store::ocrm;
use panorama_store::pipeline::{self, NewOpportunity, OpportunityItem, PipelineCell, Refusal};
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::auth::{Role, User};
use crate::context::Ctx;
use crate::error::WebError;
use crate::extract::{ApiCsrf, CsrfForm, HasCsrf, Require, perm};
use crate::i18n::{self as t, Lang, Text};
use crate::mask::{self, Level};
use crate::ui::{OrPage, PageError, layout};

/// A stage's name.
pub(crate) fn stage_name(stage: &str) -> Text {
    match stage {
        "lead" => t::STAGE_LEAD,
        "contacted" => t::STAGE_CONTACTED,
        "proposal" => t::STAGE_PROPOSAL,
        "won" => t::STAGE_WON,
        _ => t::STAGE_LOST,
    }
}

fn refusal(r: Refusal, lang: Lang) -> WebError {
    match r {
        Refusal::NotFound => WebError::NotFound,
        Refusal::UnknownProduct => WebError::BadRequest(t::UNKNOWN_PRODUCT.get(lang).to_owned()),
        Refusal::UnknownStage => WebError::BadRequest(t::UNKNOWN_STAGE.get(lang).to_owned()),
        Refusal::Closed => WebError::Conflict(t::OPPORTUNITY_CLOSED.get(lang).to_owned()),
        Refusal::Unchanged => WebError::Conflict(t::STAGE_UNCHANGED.get(lang).to_owned()),
    }
}

/// What a new opportunity needs, from a form or JSON.
#[derive(Debug, Deserialize)]
pub struct OpportunityInput {
    /// Product code.
    pub product_code: String,
    /// Expected amount in yuan (`12,000.50`).
    pub amount: Option<String>,
    /// Expected close (YYYY-MM-DD).
    pub expected_close: Option<String>,
    /// A note.
    pub notes: Option<String>,
    /// The campaign whose lead this is.
    pub campaign_id: Option<i64>,
}

fn blank(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn amount(raw: Option<&str>, lang: Lang) -> Result<Option<i64>, WebError> {
    raw.map(|a| {
        Money::parse_major(a)
            .ok()
            .map(Money::minor)
            .filter(|m| *m >= 0)
            .ok_or_else(|| WebError::BadRequest(format!("{}: {a}", t::EXPECTED_AMOUNT.get(lang))))
    })
    .transpose()
}

/// Creates an opportunity on a customer in the caller's scope, owned by the
/// caller if an RM, else by the customer's RM (a referral); audited.
async fn create(
    state: &AppState,
    ctx: &Ctx,
    user: &User,
    customer: i64,
    input: &OpportunityInput,
) -> Result<i64, WebError> {
    let lang = ctx.lang;
    if ocrm::customer_in_scope(&state.store, &user.scope(), customer)
        .await?
        .is_none()
    {
        return Err(WebError::NotFound);
    }
    let amount_minor = amount(blank(&input.amount), lang)?;
    let close = blank(&input.expected_close);
    if let Some(d) = close
        && chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err()
    {
        return Err(WebError::BadRequest(format!(
            "{}: {d}",
            t::EXPECTED_CLOSE.get(lang)
        )));
    }
    let notes = blank(&input.notes);
    if notes.is_some_and(|n| n.chars().count() > 500) {
        return Err(WebError::BadRequest(t::NOTES.get(lang).to_owned()));
    }
    let owner = match user.role {
        Role::Rm => user.id,
        _ => pipeline::primary_rm(&state.store, customer)
            .await?
            .unwrap_or(user.id),
    };
    let id = pipeline::create(
        &state.store,
        &NewOpportunity {
            customer_id: customer,
            owner_user_id: owner,
            product_code: input.product_code.trim(),
            amount_minor,
            expected_close: close,
            campaign_id: input.campaign_id,
            notes,
        },
        &user.username,
    )
    .await?
    .map_err(|r| refusal(r, lang))?;
    ctx.audit(
        state,
        ocrm::Audit {
            action: "opportunity.create",
            customer_id: Some(customer),
            object_type: Some("opportunity"),
            object_id: Some(&id.to_string()),
            detail: Some(
                &json!({"product": input.product_code.trim(), "owner": owner}).to_string(),
            ),
            ..ocrm::Audit::default()
        },
    )
    .await?;
    Ok(id)
}

/// A stage move, from a form or JSON.
#[derive(Debug, Deserialize)]
pub struct MoveInput {
    /// The new stage.
    pub stage: String,
    /// A revised expected amount in yuan.
    pub amount: Option<String>,
}

/// Moves the caller's own opportunity; audited.
async fn move_stage(
    state: &AppState,
    ctx: &Ctx,
    user: &User,
    id: i64,
    input: &MoveInput,
) -> Result<i64, WebError> {
    let lang = ctx.lang;
    let amount_minor = amount(blank(&input.amount), lang)?;
    let stage = input.stage.trim();
    let customer = pipeline::move_stage(
        &state.store,
        id,
        user.id,
        stage,
        amount_minor,
        &user.username,
    )
    .await?
    .map_err(|r| refusal(r, lang))?;
    ctx.audit(
        state,
        ocrm::Audit {
            action: "opportunity.stage",
            customer_id: Some(customer),
            object_type: Some("opportunity"),
            object_id: Some(&id.to_string()),
            detail: Some(&json!({"stage": stage}).to_string()),
            ..ocrm::Audit::default()
        },
    )
    .await?;
    Ok(customer)
}

/// The list filter.
#[derive(Debug, Deserialize)]
pub struct PipelineQuery {
    stage: Option<String>,
}

/// The pipeline and open opportunities in the caller's scope, masked.
async fn read(
    state: &AppState,
    user: &User,
    stage: Option<&str>,
) -> Result<(String, Vec<PipelineCell>, Vec<OpportunityItem>), WebError> {
    if let Some(s) = stage
        && !pipeline::STAGES.contains(&s)
    {
        return Err(WebError::BadRequest(format!("stage: {s}")));
    }
    // Won and lost over the last 90 days beside the open ones.
    let since = (chrono::Utc::now().date_naive() - chrono::Days::new(90)).to_string();
    let scope = user.scope();
    let cells = pipeline::pipeline(&state.store, &scope, &since).await?;
    let level = Level::for_role(user.role);
    let items = pipeline::open_items(&state.store, &scope, stage, 200)
        .await?
        .into_iter()
        .map(|o| OpportunityItem {
            customer_name: mask::name(&o.customer_name, &o.customer_no, level),
            ..o
        })
        .collect();
    Ok((since, cells, items))
}

/// `GET /api/opportunities?stage=`: the caller's pipeline by stage and
/// product, and their open opportunities.
pub async fn api_list(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ViewPipeline>,
    Query(q): Query<PipelineQuery>,
) -> Result<Response, WebError> {
    let user = &user;
    let (since, cells, items) = read(&state, user, blank(&q.stage)).await?;
    let filters = format!("stage={}", blank(&q.stage).unwrap_or(""));
    crate::context::audit_list(&state, &ctx, "opportunity.list", &filters, items.len()).await?;
    Ok(
        Json(json!({"closed_since": since, "pipeline": cells, "opportunities": items}))
            .into_response(),
    )
}

/// Body of `POST /api/opportunities`.
#[derive(Debug, Deserialize)]
pub struct CreateBody {
    customer_id: i64,
    #[serde(flatten)]
    input: OpportunityInput,
}

/// `POST /api/opportunities`: a new opportunity (`X-CSRF-Token`).
pub async fn api_create(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::RecordContact>,
    _: ApiCsrf,
    Json(body): Json<CreateBody>,
) -> Result<Response, WebError> {
    let id = create(&state, &ctx, &user, body.customer_id, &body.input).await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(json!({"id": id, "stage": "lead"})),
    )
        .into_response())
}

/// `POST /api/opportunities/{id}/stage`: moves the caller's opportunity.
pub async fn api_move(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::RecordContact>,
    _: ApiCsrf,
    Path(id): Path<i64>,
    Json(body): Json<MoveInput>,
) -> Result<Response, WebError> {
    move_stage(&state, &ctx, &user, id, &body).await?;
    Ok(Json(json!({"id": id, "stage": body.stage.trim()})).into_response())
}

/// A form post: the token and the fields.
#[derive(Debug, Deserialize)]
pub struct CreateForm {
    csrf: String,
    #[serde(flatten)]
    input: OpportunityInput,
}

impl HasCsrf for CreateForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /customers/{id}/opportunities`: from the 360's form.
pub async fn form_create(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::RecordContact>,
    Path(customer): Path<i64>,
    CsrfForm(f): CsrfForm<CreateForm>,
) -> Result<Response, PageError> {
    let path = format!("/customers/{customer}");
    create(&state, &ctx, &user, customer, &f.input)
        .await
        .page(&ctx, &path)?;
    Ok(Redirect::to(&format!("{path}#opportunities")).into_response())
}

/// A stage move from the pipeline page.
#[derive(Debug, Deserialize)]
pub struct MoveForm {
    csrf: String,
    #[serde(flatten)]
    input: MoveInput,
}

impl HasCsrf for MoveForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /opportunities/{id}/stage`.
pub async fn form_move(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::RecordContact>,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<MoveForm>,
) -> Result<Response, PageError> {
    let path = "/opportunities";
    move_stage(&state, &ctx, &user, id, &f.input)
        .await
        .page(&ctx, path)?;
    Ok(Redirect::to(path).into_response())
}

/// `GET /opportunities?stage=`: the pipeline by stage (a bar per stage) and
/// product, and the open opportunities with a move form on one's own.
pub async fn page(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ViewPipeline>,
    Query(q): Query<PipelineQuery>,
) -> Result<Response, PageError> {
    let path = "/opportunities";
    let user = &user;
    let lang = ctx.lang;
    let (since, cells, items) = read(&state, user, blank(&q.stage)).await.page(&ctx, path)?;
    let csrf = ctx.csrf().await;
    let by_stage: Vec<(&str, i64, i64)> = pipeline::STAGES
        .iter()
        .map(|s| {
            let (n, a) = cells
                .iter()
                .filter(|c| c.stage == *s)
                .fold((0, 0), |(n, a), c| {
                    (n + c.opportunities, a + c.amount_minor)
                });
            (*s, n, a)
        })
        .collect();
    let widest = by_stage.iter().map(|s| s.2).max().unwrap_or(0).max(1);
    let mut products: Vec<(&str, &str)> = cells
        .iter()
        .map(|c| {
            (
                c.product_code.as_str(),
                match lang {
                    Lang::Zh => c.product_name.as_str(),
                    Lang::En => c.product_name_en.as_str(),
                },
            )
        })
        .collect();
    products.dedup();
    let cell = |p: &str, s: &str| {
        cells
            .iter()
            .find(|c| c.product_code == p && c.stage == s)
            .map(|c| (c.opportunities, c.amount_minor))
    };
    let body = html! {
        section id="pipeline" {
            h2 { (t::PIPELINE.get(lang)) }
            p.muted { (t::WON_LOST_SINCE.get(lang)) " " (since) }
            svg width="520" height=(by_stage.len() * 26 + 8) role="img" aria-label="pipeline" {
                @for (k, (s, n, a)) in by_stage.iter().enumerate() {
                    @let y = k * 26 + 4;
                    @let w = 300 * a / widest;
                    text x="0" y=(y + 15) font-size="12" { (stage_name(s).get(lang)) }
                    rect x="80" y=(y) width=(w.max(1)) height="18" fill=(if *s == "lost" { "#c9ccd1" } else { "#0b3d6e" }) {}
                    text x=(90 + w) y=(y + 14) font-size="11" fill="#333" { (n) " · " (crate::ui::yuan(Some(*a))) }
                }
            }
            table id="pipeline-products" {
                thead { tr { th { (t::PRODUCT.get(lang)) } @for s in pipeline::STAGES { th.n { a href={ "/opportunities?stage=" (s) } { (stage_name(s).get(lang)) } } } } }
                tbody { @for (code, name) in &products { tr {
                    td { (name) " " span.muted { (code) } }
                    @for s in pipeline::STAGES { td.n { @if let Some((n, a)) = cell(code, s) { (n) " · " (crate::ui::yuan(Some(a))) } } }
                } } }
            }
        }
        section id="open-opportunities" {
            h2 { (t::OPEN_OPPORTUNITIES.get(lang)) " (" (items.len()) ")" }
            @if items.is_empty() { p.muted { (t::NONE.get(lang)) } }
            table { tbody { @for o in &items { tr {
                td { (o.expected_close.as_deref().unwrap_or("—")) }
                td { a href={ "/customers/" (o.customer_id) } { (o.customer_name) } }
                td { (o.product_code.as_deref().unwrap_or("—")) }
                td { span.tag { (stage_name(&o.stage).get(lang)) } }
                td.n { (crate::ui::yuan(o.amount_minor)) }
                td.muted { (o.owner_name) }
                td { @if o.owner_user_id == user.id {
                    form.inline method="post" action={ "/opportunities/" (o.id) "/stage" } {
                        input type="hidden" name="csrf" value=(csrf);
                        select name="stage" { @for s in pipeline::STAGES { @if *s != o.stage {
                            option value=(s) { (stage_name(s).get(lang)) }
                        } } }
                        " " button type="submit" { (t::MOVE.get(lang)) }
                    }
                } }
            } } } }
        }
    };
    Ok(layout(lang, Some(user), &csrf, t::PIPELINE.get(lang), body).into_response())
}

/// This feature's routes.
pub(crate) fn routes() -> axum::Router<crate::AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/opportunities", get(page))
        .route("/opportunities/{id}/stage", post(form_move))
        .route("/customers/{id}/opportunities", post(form_create))
        .route("/api/opportunities", get(api_list).post(api_create))
        .route("/api/opportunities/{id}/stage", post(api_move))
}
