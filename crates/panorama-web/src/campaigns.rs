//! Campaigns in the web app. Marketing analysts design them (the eligible
//! count previewed on the features), a branch manager or an executive
//! approves (someone other than the designer), the designer launches and
//! finishes them; analysts, branch managers and executives read the
//! results — each arm's rate with its interval, lift over control, the
//! cumulative response curve, the economics — and every launched campaign
//! compared on the same measures. Pages and JSON; every write is
//! CSRF-checked and audited; launching runs the same code as the CLI
//! (`panorama_campaign::service`).

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use chrono::NaiveDate;
use maud::{Markup, html};
use panorama_campaign::service::{
    self as ops, CHANNELS, Compared, Design, Eligibility, OBJECTIVES, Results,
};
use panorama_campaign::triggered::{TRIGGERS, Trigger};
use panorama_domain::money::Money;
use panorama_store::campaigns::{self, CampaignRow};
use panorama_store::ocrm;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::auth::{Permission, User};
use crate::context::{Ctx, json_text, within};
use crate::error::WebError;
use crate::extract::{ApiCsrf, CsrfForm, HasCsrf, Require, perm};
use crate::i18n::{self as t, Lang};
use crate::ui::{OrPage, PageError, layout, yuan};
use crate::{AppState, WebAnalytics};

/// The feature store, or why campaigns cannot be designed here.
fn analytics(state: &AppState) -> Result<&WebAnalytics, WebError> {
    state.config.analytics.as_ref().ok_or_else(|| {
        WebError::Conflict(
            "campaign design needs the analytics directory: serve with --analytics".into(),
        )
    })
}

/// A design as a form or JSON sends it: text fields, blank for the default.
#[derive(Debug, Default, Deserialize)]
pub struct DesignFields {
    name: String,
    objective: Option<String>,
    segment: String,
    control: Option<String>,
    arms: Option<String>,
    seed: Option<String>,
    product: Option<String>,
    script: Option<String>,
    score_model: Option<String>,
    min_score: Option<String>,
    rank_by: Option<String>,
    channel: Option<String>,
    fallback: Option<String>,
    exclude: Option<String>,
    capacity: Option<String>,
    per_rm: Option<String>,
    offers: Option<String>,
    universal_control: Option<String>,
    cap: Option<String>,
    cap_days: Option<String>,
    response: Option<String>,
    response_days: Option<String>,
    starts: Option<String>,
    ends: Option<String>,
    budget: Option<String>,
    priority: Option<String>,
    trigger: Option<String>,
}

impl DesignFields {
    /// From a JSON body: strings as they are, numbers written out, arms
    /// as a list or a comma-separated string.
    fn from_json(body: &Value) -> DesignFields {
        let text = |k: &str| json_text(body, k);
        let arms = match &body["arms"] {
            Value::Array(list) => Some(
                list.iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            _ => text("arms"),
        };
        DesignFields {
            name: text("name").unwrap_or_default(),
            objective: text("objective"),
            segment: text("segment").unwrap_or_default(),
            control: text("control"),
            arms,
            seed: text("seed"),
            product: text("product"),
            script: text("script"),
            score_model: text("score_model"),
            min_score: text("min_score"),
            rank_by: text("rank_by"),
            channel: match &body["channel"] {
                Value::Array(list) => Some(
                    list.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(","),
                ),
                _ => text("channel"),
            },
            fallback: text("fallback"),
            exclude: text("exclude"),
            capacity: match &body["capacity"] {
                Value::Object(map) => Some(
                    map.iter()
                        .map(|(c, n)| {
                            format!(
                                "{c}={}",
                                n.as_str().map_or_else(|| n.to_string(), str::to_owned)
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(","),
                ),
                _ => text("capacity"),
            },
            per_rm: text("per_rm"),
            offers: match &body["offers"] {
                Value::Array(list) => Some(
                    list.iter()
                        .map(|o| {
                            let field = |k: &str| o[k].as_str().unwrap_or("").to_owned();
                            format!("{}={}|{}", field("arm"), field("product"), field("script"))
                        })
                        .collect::<Vec<_>>()
                        .join("\n"),
                ),
                _ => text("offers"),
            },
            universal_control: text("universal_control"),
            cap: text("cap"),
            cap_days: text("cap_days"),
            response: text("response"),
            response_days: text("response_days"),
            starts: text("starts"),
            ends: text("ends"),
            budget: text("budget"),
            priority: text("priority"),
            trigger: text("trigger"),
        }
    }

    /// The design, each field checked, by `by`.
    fn design(&self, by: &str) -> Result<Design, WebError> {
        fn blank(s: &Option<String>) -> Option<&str> {
            s.as_deref().map(str::trim).filter(|s| !s.is_empty())
        }
        fn number<T: std::str::FromStr>(
            s: &Option<String>,
            field: &str,
            default: T,
        ) -> Result<T, WebError> {
            match blank(s) {
                None => Ok(default),
                Some(v) => v
                    .parse()
                    .map_err(|_| WebError::BadRequest(format!("{field}: not a number: {v}"))),
            }
        }
        fn date(s: &Option<String>, field: &str) -> Result<Option<NaiveDate>, WebError> {
            blank(s)
                .map(|d| {
                    NaiveDate::parse_from_str(d, "%Y-%m-%d")
                        .map_err(|_| WebError::BadRequest(format!("{field}: YYYY-MM-DD, not {d}")))
                })
                .transpose()
        }
        let budget_minor = blank(&self.budget)
            .map(|b| {
                Money::parse_major(b)
                    .ok()
                    .map(Money::minor)
                    .filter(|m| *m >= 0)
                    .ok_or_else(|| {
                        WebError::BadRequest(format!("budget: an amount in yuan, not {b}"))
                    })
            })
            .transpose()?;
        let owned = |s: &Option<String>| blank(s).map(str::to_owned);
        let plan = [
            blank(&self.channel).unwrap_or("rm"),
            blank(&self.fallback).unwrap_or(""),
        ]
        .join(",");
        let (channel, fallback) = ops::parse_channels(&plan)?;
        let capacity = ops::parse_capacity(blank(&self.capacity).unwrap_or(""))?;
        let per_rm = match blank(&self.per_rm) {
            None => None,
            Some(v) => Some(v.parse::<u64>().map_err(|_| {
                WebError::BadRequest(format!("per_rm: a number of calls, not {v}"))
            })?),
        };
        let offers = blank(&self.offers)
            .unwrap_or("")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(ops::ArmOffer::parse)
            .collect::<Result<Vec<_>, _>>()?;
        within("name", &self.name, 100)?;
        within("segment", &self.segment, 2000)?;
        for (field, text) in [
            ("script", &self.script),
            ("offers", &self.offers),
            ("response", &self.response),
            ("exclude", &self.exclude),
        ] {
            within(field, text.as_deref().unwrap_or(""), 2000)?;
        }
        Ok(Design {
            name: self.name.trim().to_owned(),
            objective: blank(&self.objective).unwrap_or("cross_sell").to_owned(),
            eligibility: Eligibility {
                segment: self.segment.trim().to_owned(),
                score_model: owned(&self.score_model),
                min_score: number(&self.min_score, "min_score", 0.0)?,
                rank_by: owned(&self.rank_by),
                exclude: owned(&self.exclude),
                channel,
                fallback,
                capacity,
                per_rm,
                universal_control: number(&self.universal_control, "universal_control", 0.02)?,
                cap: number(&self.cap, "cap", 1)?,
                cap_days: number(&self.cap_days, "cap_days", 30)?,
                response_days: number(&self.response_days, "response_days", 30)?,
            },
            control: number(&self.control, "control", 0.1)?,
            arms: blank(&self.arms)
                .unwrap_or("A")
                .split(',')
                .map(|a| a.trim().to_owned())
                .collect(),
            seed: number(&self.seed, "seed", 1)?,
            product: owned(&self.product),
            script: owned(&self.script),
            offers,
            response: owned(&self.response),
            starts: date(&self.starts, "starts")?,
            ends: date(&self.ends, "ends")?,
            budget_minor,
            priority: number(&self.priority, "priority", 0)?,
            trigger: owned(&self.trigger),
            by: by.to_owned(),
        })
    }
}

/// Designs a draft from the fields; returns its id.
async fn design(state: &AppState, user: &User, fields: &DesignFields) -> Result<i64, WebError> {
    let a = analytics(state)?;
    let d = fields.design(&user.username)?;
    Ok(ops::design(&state.store, &a.config, &d).await?)
}

/// A campaign with its offers, policy and (once launched) results.
#[derive(Debug, Serialize)]
struct CampaignView {
    #[serde(flatten)]
    campaign: CampaignRow,
    eligibility: Option<Eligibility>,
    offers: Vec<Offer>,
    results: Option<Results>,
}

#[derive(Debug, Serialize)]
struct Offer {
    arm: String,
    product: Option<String>,
    script: Option<String>,
}

async fn view(state: &AppState, c: CampaignRow) -> Result<CampaignView, WebError> {
    let offers = campaigns::offers(&state.store, c.id)
        .await?
        .into_iter()
        .map(|(arm, (product, script))| Offer {
            arm,
            product,
            script,
        })
        .collect();
    let results = if ["live", "finished"].contains(&c.status.as_str()) {
        Some(ops::results(&state.store, &c, None).await?)
    } else {
        None
    };
    Ok(CampaignView {
        eligibility: Eligibility::of(&c).ok(),
        campaign: c,
        offers,
        results,
    })
}

async fn one(state: &AppState, id: i64) -> Result<CampaignRow, WebError> {
    campaigns::get(&state.store, id)
        .await?
        .ok_or(WebError::NotFound)
}

/// Approves a draft (a branch manager or an executive other than its designer).
async fn approve(state: &AppState, ctx: &Ctx, id: i64) -> Result<CampaignRow, WebError> {
    let user = ctx.require(Permission::ApproveCampaigns)?;
    one(state, id).await?;
    Ok(panorama_ocrm::approval::approve_campaign(&state.store, id, &user.username).await?)
}

/// Launches an approved campaign (its designer, or another analyst) on the
/// features of `as_of` (the latest by default). Runs to its end even if the
/// client goes away: the launch is one transaction either way.
async fn launch(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    as_of: Option<NaiveDate>,
) -> Result<ops::Launched, WebError> {
    let user = ctx.require(Permission::DesignCampaigns)?;
    let a = analytics(state)?.clone();
    one(state, id).await?;
    let store = state.store.clone();
    let by = user.username.clone();
    tokio::spawn(async move { ops::launch(&store, &a.dir, &a.config, id, as_of, &by).await })
        .await
        .map_err(|e| WebError::Internal(format!("launch task: {e}")))?
        .map_err(WebError::from)
}

/// Finishes a live campaign on `on` (today by default); results kept.
async fn finish(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    on: Option<NaiveDate>,
) -> Result<Results, WebError> {
    let user = ctx.require(Permission::DesignCampaigns)?;
    one(state, id).await?;
    Ok(ops::finish(&state.store, id, on, &user.username).await?)
}

fn parse_date(s: Option<&str>) -> Result<Option<NaiveDate>, WebError> {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|d| {
            NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| WebError::BadRequest(format!("date: YYYY-MM-DD, not {d}")))
        })
        .transpose()
}

// ---- JSON ----

/// `GET /api/campaigns`: every campaign with its results.
pub async fn api_list(
    State(state): State<AppState>,
    _: Require<perm::ViewAnalytics>,
) -> Result<Response, WebError> {
    let mut all = Vec::new();
    for c in campaigns::list(&state.store).await? {
        all.push(view(&state, c).await?);
    }
    Ok(Json(json!({"campaigns": all})).into_response())
}

/// `GET /api/campaigns/compare`: every launched campaign on the same measures.
pub async fn api_compare(
    State(state): State<AppState>,
    _: Require<perm::ViewAnalytics>,
) -> Result<Response, WebError> {
    Ok(Json(json!({"campaigns": ops::compare(&state.store).await?})).into_response())
}

/// `GET /api/campaigns/{id}`: one campaign, its offers, policy and results.
pub async fn api_get(
    State(state): State<AppState>,
    _: Require<perm::ViewAnalytics>,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let c = one(&state, id).await?;
    Ok(Json(view(&state, c).await?).into_response())
}

/// `POST /api/campaigns` (`X-CSRF-Token`): designs a draft; 201 with its id.
pub async fn api_create(
    State(state): State<AppState>,
    Require { user, .. }: Require<perm::DesignCampaigns>,
    _: ApiCsrf,
    Json(body): Json<Value>,
) -> Result<Response, WebError> {
    let id = design(&state, &user, &DesignFields::from_json(&body)).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": id, "status": "draft"})),
    )
        .into_response())
}

/// `POST /api/campaigns/preview` (`X-CSRF-Token`; body `segment`, optional
/// `as_of`): how many customers the condition selects.
pub async fn api_preview(
    State(state): State<AppState>,
    _: Require<perm::DesignCampaigns>,
    _: ApiCsrf,
    Json(body): Json<Value>,
) -> Result<Response, WebError> {
    let a = analytics(&state)?;
    let segment = json_text(&body, "segment").unwrap_or_default();
    let as_of = parse_date(json_text(&body, "as_of").as_deref())?;
    let (date, eligible) = ops::preview(&state.store, &a.dir, &a.config, &segment, as_of).await?;
    Ok(Json(json!({"as_of": date, "eligible": eligible})).into_response())
}

/// `POST /api/campaigns/{id}/approve` (`X-CSRF-Token`).
pub async fn api_approve(
    State(state): State<AppState>,
    Require { ctx, .. }: Require<perm::ApproveCampaigns>,
    _: ApiCsrf,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let c = approve(&state, &ctx, id).await?;
    Ok(Json(view(&state, c).await?).into_response())
}

/// `POST /api/campaigns/{id}/launch` (`X-CSRF-Token`; optional `as_of`):
/// what the selection and the contact policy did.
pub async fn api_launch(
    State(state): State<AppState>,
    Require { ctx, .. }: Require<perm::DesignCampaigns>,
    _: ApiCsrf,
    Path(id): Path<i64>,
    body: Option<Json<Value>>,
) -> Result<Response, WebError> {
    let as_of = match &body {
        Some(Json(b)) => parse_date(json_text(b, "as_of").as_deref())?,
        None => None,
    };
    let l = launch(&state, &ctx, id, as_of).await?;
    Ok(
        Json(json!({"id": id, "status": "live", "launch": l, "detail": l.detail()}))
            .into_response(),
    )
}

/// `POST /api/campaigns/{id}/finish` (`X-CSRF-Token`; optional `on`): the
/// results kept.
pub async fn api_finish(
    State(state): State<AppState>,
    Require { ctx, .. }: Require<perm::DesignCampaigns>,
    _: ApiCsrf,
    Path(id): Path<i64>,
    body: Option<Json<Value>>,
) -> Result<Response, WebError> {
    let on = match &body {
        Some(Json(b)) => parse_date(json_text(b, "on").as_deref())?,
        None => None,
    };
    let r = finish(&state, &ctx, id, on).await?;
    Ok(Json(json!({"id": id, "status": "finished", "results": r})).into_response())
}

/// `GET /campaigns/{id}/members.csv`: `customer_id,arm` of a launched
/// campaign (ids, no personal data), for gateways and analysis; audited.
pub async fn members_csv(
    State(state): State<AppState>,
    Require { ctx, .. }: Require<perm::DesignCampaigns>,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let c = one(&state, id).await?;
    if !["live", "finished"].contains(&c.status.as_str()) {
        return Err(WebError::Conflict(format!(
            "campaign {id} is {}: launch it first",
            c.status
        )));
    }
    let members = campaigns::members(&state.store, id).await?;
    let mut out = String::with_capacity(members.len() * 16 + 16);
    out.push_str("customer_id,arm\n");
    for (customer, arm) in &members {
        out.push_str(&format!("{customer},{arm}\n"));
    }
    ctx.audit(
        &state,
        ocrm::Audit {
            action: "campaign.export",
            object_type: Some("campaign"),
            object_id: Some(&id.to_string()),
            detail: Some(&json!({"members": members.len()}).to_string()),
            ..ocrm::Audit::default()
        },
    )
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"campaign-{id}-members.csv\""),
            ),
        ],
        out,
    )
        .into_response())
}

// ---- Pages ----

fn trigger_name(tr: &Trigger, lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => tr.zh,
        Lang::En => tr.en,
    }
}

fn objective_name(o: &str) -> t::Text {
    match o {
        "acquire" => t::OBJ_ACQUIRE,
        "upsell" => t::OBJ_UPSELL,
        "retain" => t::OBJ_RETAIN,
        "reactivate" => t::OBJ_REACTIVATE,
        _ => t::OBJ_CROSS_SELL,
    }
}

fn channel_name(c: &str) -> t::Text {
    match c {
        "sms" => t::CH_SMS,
        "email" => t::CH_EMAIL,
        "branch" => t::CH_BRANCH,
        "app" => t::CH_APP,
        panorama_campaign::service::UNCONTACTED => t::UNCONTACTED,
        _ => t::CH_RM,
    }
}

fn status_name(s: &str) -> t::Text {
    match s {
        "draft" => t::ST_DRAFT,
        "approved" => t::ST_APPROVED,
        "live" => t::ST_LIVE,
        "finished" => t::ST_FINISHED,
        _ => t::ST_CANCELLED,
    }
}

pub(crate) fn pct(v: f64) -> String {
    format!("{:.2}%", 100.0 * v)
}

pub(crate) fn pp(v: f64) -> String {
    format!("{:+.2}pp", 100.0 * v)
}

/// The comparison of launched campaigns.
fn comparison(rows: &[Compared], lang: Lang) -> Markup {
    html! {
        section id="compare" {
            h2 { (t::CAMPAIGN_COMPARE.get(lang)) }
            @if rows.is_empty() { p.muted { (t::NONE.get(lang)) } }
            @else {
                table { thead { tr {
                    th { (t::CAMPAIGNS.get(lang)) } th { (t::OBJECTIVE.get(lang)) } th { (t::CHANNEL.get(lang)) }
                    th { (t::STATUS.get(lang)) } th.n { (t::MEMBERS.get(lang)) } th.n { (t::RATE.get(lang)) }
                    th.n { (t::CONTROL_RATE.get(lang)) } th.n { (t::LIFT.get(lang)) } th { (t::INTERVAL.get(lang)) }
                    th.n { "p" } th.n { (t::INCREMENTAL.get(lang)) } th.n { (t::COST_PER_INCREMENTAL.get(lang)) } th.n { "ROI" }
                } } tbody { @for r in rows { tr {
                    td { a href={ "/campaigns/" (r.id) } { (r.name) } }
                    td { (objective_name(&r.objective).get(lang)) }
                    td { (channel_name(&r.channel).get(lang)) }
                    td { (status_name(&r.status).get(lang)) }
                    td.n { (r.treated.members) }
                    td.n { (pct(r.treated.rate)) }
                    td.n { @if let Some(c) = &r.control { (pct(c.rate)) } @else { "—" } }
                    @if let Some(l) = &r.lift {
                        td.n { (pp(l.difference)) } td { (pp(l.low)) " – " (pp(l.high)) } td.n { (format!("{:.4}", l.p_value)) }
                    } @else { td { "—" } td {} td {} }
                    td.n { (format!("{:.1}", r.economics.incremental_responders)) }
                    td.n { (yuan(r.cost_per_incremental_minor)) }
                    td.n { @if let Some(x) = r.economics.roi { (format!("{:+.0}%", 100.0 * x)) } @else { "—" } }
                } } }
                }
            }
        }
    }
}

/// `GET /campaigns`: the comparison, every campaign by status, and (for
/// analysts) the link to design one.
pub async fn list_page(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ViewAnalytics>,
) -> Result<Response, PageError> {
    let path = "/campaigns";
    let user = &user;
    let lang = ctx.lang;
    let compared = ops::compare(&state.store).await.page(&ctx, path)?;
    let all = campaigns::list(&state.store).await.page(&ctx, path)?;
    let csrf = ctx.csrf().await;
    let body = html! {
        p {
            @if user.can(Permission::DesignCampaigns) {
                a.button href="/campaigns/new" id="new-campaign" { (t::NEW_CAMPAIGN.get(lang)) } " "
            }
            a href="/campaigns/effect" id="marketing-effect" { (t::MARKETING_EFFECT.get(lang)) }
        }
        (comparison(&compared, lang))
        section id="all-campaigns" {
            h2 { (t::ALL_CAMPAIGNS.get(lang)) }
            @if all.is_empty() { p.muted { (t::NONE.get(lang)) } }
            table { tbody { @for c in &all { tr id={ "campaign-" (c.id) } {
                td { a href={ "/campaigns/" (c.id) } { (c.name) } }
                td { (objective_name(&c.objective).get(lang)) }
                td { span.tag { (status_name(&c.status).get(lang)) } }
                td.muted { (c.created_by) " / " (c.approved_by.as_deref().unwrap_or("—")) }
                td.muted { (c.launched_on.as_deref().unwrap_or("")) }
            } } } }
        }
    };
    Ok(layout(lang, Some(user), &csrf, t::CAMPAIGNS.get(lang), body).into_response())
}

/// What the design form starts from: a segment's condition (the segment
/// page's "start a campaign").
#[derive(Debug, Deserialize)]
pub struct NewQuery {
    segment: Option<String>,
}

/// `GET /campaigns/new?segment=`: the design form.
pub async fn new_page(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::DesignCampaigns>,
    Query(q): Query<NewQuery>,
) -> Result<Response, PageError> {
    let path = "/campaigns/new";
    let user = &user;
    let lang = ctx.lang;
    let csrf = ctx.csrf().await;
    let models = panorama_store::models::approved(&state.store)
        .await
        .page(&ctx, path)?;
    let products: Vec<(String, String)> = panorama_store::products::names(&state.store)
        .await
        .page(&ctx, path)?;
    let body = html! {
        form method="post" action="/campaigns" id="design" {
            input type="hidden" name="csrf" value=(csrf);
            fieldset {
                legend { (t::DESIGN.get(lang)) }
                label { (t::CAMPAIGN_NAME.get(lang)) " " input name="name" id="c-name" required maxlength="100" size="40"; }
                label { (t::OBJECTIVE.get(lang)) " " select name="objective" id="c-objective" {
                    @for o in OBJECTIVES { option value=(o) selected[*o == "cross_sell"] { (objective_name(o).get(lang)) } }
                } }
                label { (t::CHANNEL.get(lang)) " " select name="channel" id="c-channel" {
                    @for c in CHANNELS { option value=(c) { (channel_name(c).get(lang)) } }
                } }
                label { (t::FALLBACK_CHANNEL.get(lang)) " " select name="fallback" id="c-fallback" {
                    option value="" { "—" }
                    @for c in CHANNELS { option value=(c) { (channel_name(c).get(lang)) } }
                } }
                label { (t::CHANNEL_CAPACITY.get(lang)) " " input name="capacity" id="c-capacity" size="24" placeholder="rm=500,sms=20000"; }
                label { (t::PER_RM.get(lang)) " " input name="per_rm" id="c-per-rm" size="5"; }
                p.muted { (t::CAPACITY_HINT.get(lang)) }
            }
            fieldset {
                legend { (t::ELIGIBILITY.get(lang)) }
                label { (t::SEGMENT_CONDITION.get(lang)) br;
                    textarea name="segment" id="c-segment" rows="2" cols="70" required
                        placeholder="aum >= 50000 and not holds('wealth')" { (q.segment.as_deref().unwrap_or("")) } }
                p.muted { (t::CONDITION_HINT.get(lang)) }
                label { (t::SCORE_MODEL.get(lang)) " " select name="score_model" id="c-model" {
                    option value="" { "—" }
                    @for m in &models { option value=(m.name) { (m.name) " v" (m.version) " (" (m.kind) ")" } }
                } }
                label { (t::MIN_SCORE.get(lang)) " " input name="min_score" id="c-min-score" size="6" placeholder="0.0"; }
                label { (t::RANK_BY.get(lang)) " " select name="rank_by" id="c-rank-by" {
                    option value="score" { (t::RANK_BY_SCORE.get(lang)) }
                    option value="value" { (t::RANK_BY_VALUE.get(lang)) }
                } }
                label { (t::EXCLUSIONS.get(lang)) br;
                    textarea name="exclude" id="c-exclude" rows="1" cols="70" placeholder="holds('wealth') or age >= 75" {} }
                p.muted { (t::EXCLUSIONS_HINT.get(lang)) }
            }
            fieldset {
                legend { (t::OFFERS.get(lang)) }
                label { (t::ARMS.get(lang)) " " input name="arms" id="c-arms" value="A" size="12"; }
                label { (t::PRODUCT.get(lang)) " " select name="product" id="c-product" {
                    option value="" { "—" }
                    @for (code, name) in &products { option value=(code) { (name) " (" (code) ")" } }
                } }
                label { (t::SCRIPT.get(lang)) br; textarea name="script" id="c-script" rows="2" cols="70" maxlength="500" {} }
                label { (t::ARM_OFFERS.get(lang)) br; textarea name="offers" id="c-offers" rows="2" cols="70" placeholder="B=W001|…" {} }
                p.muted { (t::ARM_OFFERS_HINT.get(lang)) }
            }
            fieldset {
                legend { (t::TEST_DESIGN.get(lang)) }
                label { (t::CONTROL_SHARE.get(lang)) " " input name="control" id="c-control" value="0.1" size="5"; }
                label { (t::UNIVERSAL_CONTROL.get(lang)) " " input name="universal_control" value="0.02" size="5"; }
                label { (t::SEED.get(lang)) " " input name="seed" value="1" size="6"; }
            }
            fieldset {
                legend { (t::CONTACT_POLICY.get(lang)) }
                label { (t::FREQUENCY_CAP.get(lang)) " " input name="cap" value="1" size="3"; " / " input name="cap_days" value="30" size="4"; " " (t::DAYS.get(lang)) }
                label { (t::PRIORITY.get(lang)) " " input name="priority" value="0" size="4"; }
                label { (t::TRIGGER.get(lang)) " " select name="trigger" id="c-trigger" {
                    option value="" { (t::TRIGGER_NONE.get(lang)) }
                    @for tr in TRIGGERS { option value=(tr.code) { (trigger_name(tr, lang)) } }
                } }
                p.muted { (t::TRIGGER_HINT.get(lang)) }
            }
            fieldset {
                legend { (t::RESPONSE_DEFINITION.get(lang)) }
                label { (t::RESPONSE_RULE.get(lang)) " " input name="response" id="c-response" size="40" placeholder="holds('wealth')"; }
                label { (t::RESPONSE_WINDOW.get(lang)) " " input name="response_days" value="30" size="4"; " " (t::DAYS.get(lang)) }
                label { (t::STARTS.get(lang)) " " input type="date" name="starts"; }
                label { (t::ENDS.get(lang)) " " input type="date" name="ends"; }
                label { (t::BUDGET.get(lang)) " " input name="budget" id="c-budget" size="10" placeholder="50000"; }
            }
            button type="submit" id="c-save" { (t::SAVE_DRAFT.get(lang)) }
        }
    };
    Ok(layout(
        lang,
        Some(user),
        &ctx.csrf().await,
        t::NEW_CAMPAIGN.get(lang),
        body,
    )
    .into_response())
}

/// A form post: the token and the design.
#[derive(Debug, Deserialize)]
pub struct DesignForm {
    csrf: String,
    #[serde(flatten)]
    fields: DesignFields,
}

impl HasCsrf for DesignForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /campaigns`: saves the draft and shows it.
pub async fn form_create(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::DesignCampaigns>,
    CsrfForm(f): CsrfForm<DesignForm>,
) -> Result<Response, PageError> {
    let path = "/campaigns/new";
    let id = design(&state, &user, &f.fields).await.page(&ctx, path)?;
    Ok(Redirect::to(&format!("/campaigns/{id}")).into_response())
}

/// A step on the campaign page: the token and, for a launch, the features
/// date, for finishing the day.
#[derive(Debug, Deserialize)]
pub struct StepForm {
    csrf: String,
    date: Option<String>,
}

/// `POST /campaigns/{id}/{approve|launch|finish}`.
pub async fn form_step(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, action)): Path<(i64, String)>,
    Form(f): Form<StepForm>,
) -> Result<Response, PageError> {
    let path = format!("/campaigns/{id}");
    ctx.user().page(&ctx, &path)?;
    ctx.check_csrf(&f.csrf).await.page(&ctx, &path)?;
    let date = parse_date(f.date.as_deref()).page(&ctx, &path)?;
    match action.as_str() {
        "approve" => {
            approve(&state, &ctx, id).await.page(&ctx, &path)?;
        }
        "launch" => {
            launch(&state, &ctx, id, date).await.page(&ctx, &path)?;
        }
        "finish" => {
            finish(&state, &ctx, id, date).await.page(&ctx, &path)?;
        }
        _ => return Err(WebError::NotFound).page(&ctx, &path),
    }
    Ok(Redirect::to(&path).into_response())
}

/// What the user may do with the campaign now.
fn actions(c: &CampaignRow, user: &User, csrf: &str, lang: Lang) -> Markup {
    let step = |action: &str, label: t::Text, date: Option<t::Text>| {
        html! {
            form.inline method="post" action={ "/campaigns/" (c.id) "/" (action) } {
                input type="hidden" name="csrf" value=(csrf);
                @if let Some(d) = date { label { (d.get(lang)) " " input type="date" name="date"; } " " }
                button type="submit" id={ "c-" (action) } { (label.get(lang)) }
            }
        }
    };
    html! {
        p.actions {
            @if c.status == "draft" && user.can(Permission::ApproveCampaigns) && user.username != c.created_by {
                (step("approve", t::APPROVE, None))
            }
            @if c.status == "draft" && !user.can(Permission::ApproveCampaigns) {
                span.muted { (t::AWAITS_APPROVAL.get(lang)) }
            }
            @if c.status == "approved" && user.can(Permission::DesignCampaigns) {
                (step("launch", t::LAUNCH, Some(t::FEATURES_DATE)))
            }
            @if c.status == "live" && user.can(Permission::DesignCampaigns) {
                (step("finish", t::FINISH, Some(t::FINISH_DATE)))
            }
            @if ["live", "finished"].contains(&c.status.as_str()) && user.can(Permission::DesignCampaigns) {
                " " a href={ "/campaigns/" (c.id) "/members.csv" } id="c-members" { (t::EXPORT_MEMBERS.get(lang)) }
            }
        }
    }
}

/// `GET /campaigns/{id}`: the design, the steps open to the user, and the
/// results with their charts.
pub async fn detail_page(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ViewAnalytics>,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let path = format!("/campaigns/{id}");
    let user = &user;
    let lang = ctx.lang;
    let c = one(&state, id).await.page(&ctx, &path)?;
    let v = view(&state, c).await.page(&ctx, &path)?;
    let csrf = ctx.csrf().await;
    let c = &v.campaign;
    let body = html! {
        section id="design-summary" {
            p.muted {
                (objective_name(&c.objective).get(lang)) " · " span.tag id="c-status" { (status_name(&c.status).get(lang)) }
                " · " (t::DESIGNED_BY.get(lang)) " " (c.created_by)
                " · " (t::APPROVED_BY.get(lang)) " " (c.approved_by.as_deref().unwrap_or("—"))
                @if let Some(d) = &c.launched_on { " · " (t::LAUNCHED_ON.get(lang)) " " (d) }
                @if let Some(d) = &c.finished_on { " · " (t::FINISHED_ON.get(lang)) " " (d) }
            }
            (actions(c, user, &csrf, lang))
            table { tbody {
                @if let Some(e) = &v.eligibility {
                    tr { th { (t::SEGMENT_CONDITION.get(lang)) } td { code { (e.segment) } } }
                    @if let Some(m) = &e.score_model { tr { th { (t::SCORE_MODEL.get(lang)) } td { (m) " ≥ " (e.min_score) } } }
                    @if e.rank_by.as_deref() == Some("value") { tr { th { (t::RANK_BY.get(lang)) } td id="c-rank-by" { (t::RANK_BY_VALUE.get(lang)) } } }
                    @if let Some(x) = &e.exclude { tr { th { (t::EXCLUSIONS.get(lang)) } td { code { (x) } } } }
                    tr { th { (t::CHANNEL.get(lang)) } td id="c-plan" {
                        @for (k, ch) in e.plan().iter().enumerate() {
                            @if k > 0 { " → " }
                            (channel_name(&ch.name).get(lang))
                            @if let Some(n) = ch.capacity { " ≤ " (n) }
                            @if let Some(n) = ch.per_rm { " (" (t::PER_RM.get(lang)) " " (n) ")" }
                        }
                    } }
                    tr { th { (t::CONTACT_POLICY.get(lang)) } td {
                        (t::FREQUENCY_CAP.get(lang)) " " (e.cap) " / " (e.cap_days) " " (t::DAYS.get(lang))
                        " · " (t::UNIVERSAL_CONTROL.get(lang)) " " (pct(e.universal_control))
                        " · " (t::PRIORITY.get(lang)) " " (c.priority)
                    } }
                    @if let Some(code) = &c.trigger_event {
                        tr { th { (t::TRIGGER.get(lang)) } td id="c-trigger" {
                            (panorama_campaign::triggered::trigger(code).map_or(code.as_str(), |tr| trigger_name(tr, lang)))
                        } }
                    }
                    tr { th { (t::RESPONSE_DEFINITION.get(lang)) } td {
                        code { (c.response_rule.as_deref().unwrap_or("—")) } " · " (e.response_days) " " (t::DAYS.get(lang))
                    } }
                }
                tr { th { (t::CONTROL_SHARE.get(lang)) } td { (pct(c.control_share_bp as f64 / 10_000.0)) " · " (t::SEED.get(lang)) " " (c.seed) } }
                tr { th { (t::BUDGET.get(lang)) } td { (yuan(c.budget_minor)) } }
            } }
            h3 { (t::OFFERS.get(lang)) }
            table { tbody { @for o in &v.offers { tr {
                td { (o.arm) } td { (o.product.as_deref().unwrap_or("—")) } td { (o.script.as_deref().unwrap_or("")) }
            } } } }
        }
        @if let Some(r) = &v.results {
            section id="results" {
                h2 { (t::CAMPAIGN_RESULTS.get(lang)) @if r.frozen { " " span.tag { (t::KEPT.get(lang)) } } }
                (crate::ui::chart("rate-chart", "rates", &format!("/api/campaigns/{}", c.id), &[], &[]))
                table id="arms" { thead { tr {
                    th { (t::ARM.get(lang)) } th.n { (t::MEMBERS.get(lang)) } th.n { (t::RESPONDERS.get(lang)) }
                    th.n { (t::RATE.get(lang)) } th { (t::INTERVAL.get(lang)) } th.n { (t::LIFT.get(lang)) }
                    th { (t::INTERVAL.get(lang)) } th.n { "p" }
                } } tbody { @for a in &r.arms { tr {
                    td { (a.arm) } td.n { (a.rate.members) } td.n { (a.rate.responders) }
                    td.n { (pct(a.rate.rate)) } td { (pct(a.rate.low)) " – " (pct(a.rate.high)) }
                    @if let Some(l) = &a.lift {
                        td.n { (pp(l.difference)) } td { (pp(l.low)) " – " (pp(l.high)) } td.n { (format!("{:.4}", l.p_value)) }
                    } @else { td {} td {} td {} }
                } } } }
                p id="economics" {
                    (t::INCREMENTAL.get(lang)) " " (format!("{:.1}", r.economics.incremental_responders))
                    " · " (t::VALUE_PER_RESPONSE.get(lang)) " " (yuan(r.economics.value_per_response_minor))
                    " · " (t::INCREMENTAL_VALUE.get(lang)) " " (yuan(r.economics.incremental_value_minor))
                    " · " (t::BUDGET.get(lang)) " " (yuan(r.economics.cost_minor))
                    " · ROI " @if let Some(x) = r.economics.roi { (format!("{:+.0}%", 100.0 * x)) } @else { "—" }
                }
                @if !r.curve.is_empty() {
                    h3 { (t::RESPONSE_CURVE.get(lang)) }
                    (crate::ui::chart("curve-chart", "curve", &format!("/api/campaigns/{}", c.id), &[], &[]))
                }
            }
        }
    };
    Ok(layout(lang, Some(user), &csrf, &c.name, body).into_response())
}

/// This feature's routes.
pub(crate) fn routes() -> axum::Router<crate::AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/campaigns", get(list_page).post(form_create))
        .route("/campaigns/new", get(new_page))
        .route("/campaigns/{id}", get(detail_page))
        .route("/campaigns/{id}/members.csv", get(members_csv))
        .route("/campaigns/{id}/{action}", post(form_step))
        .route("/api/campaigns", get(api_list).post(api_create))
        .route("/api/campaigns/compare", get(api_compare))
        .route("/api/campaigns/preview", post(api_preview))
        .route("/api/campaigns/{id}", get(api_get))
        .route("/api/campaigns/{id}/approve", post(api_approve))
        .route("/api/campaigns/{id}/launch", post(api_launch))
        .route("/api/campaigns/{id}/finish", post(api_finish))
}
