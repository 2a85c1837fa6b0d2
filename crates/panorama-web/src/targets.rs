//! Targets (经营任务下达与分解) for executives and branch managers: set a
//! target for an org unit and period, split it among the child org units
//! (or, at a sub-branch, its RMs) by hand or in proportion to their books,
//! recompute the actuals from the data, and read progress and ranking with
//! a chart. RMs read their own on the workbench. Pages and JSON; writes are
//! CSRF-checked and audited.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use maud::{Markup, html};
use panorama_domain::money::Money;
use panorama_ocrm::forecast::{self, Outlook};
use panorama_store::targets::{self, Base, Child, Indicator, Node, Period, TargetRow};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::AppState;
use crate::auth::User;
use crate::context::Ctx;
use crate::error::WebError;
use crate::extract::{ApiCsrf, Require, perm};
use crate::i18n::{self as t, Lang};
use crate::ui::{OrPage, PageError, layout, yuan};

/// The bank's business day: the latest date the nightly chain computed
/// features for (today when it has not run). Periods are read from it, so a
/// bank whose data ends before today (a demo, a test system loaded with
/// last month's extracts) sees the periods of its data.
pub(crate) async fn business_day(state: &AppState) -> Result<chrono::NaiveDate, WebError> {
    let latest = panorama_store::ocrm::latest_feature_date(&state.store).await?;
    Ok(latest
        .and_then(|d| d.get(..10).and_then(|d| d.parse().ok()))
        .unwrap_or_else(|| chrono::Local::now().date_naive()))
}

/// The quarter of the business day, the default period.
pub(crate) async fn current_quarter(state: &AppState) -> Result<String, WebError> {
    Ok(targets::periods_of(business_day(state).await?)
        .get(1)
        .map(|p| p.code.clone())
        .unwrap_or_default())
}

async fn period_of(state: &AppState, raw: Option<&str>, lang: Lang) -> Result<Period, WebError> {
    let code = match raw.map(str::trim).filter(|s| !s.is_empty()) {
        Some(code) => code.to_owned(),
        None => current_quarter(state).await?,
    };
    Period::parse(&code)
        .ok_or_else(|| WebError::BadRequest(format!("{}: {code}", t::PERIOD.get(lang))))
}

/// A value as the indicator counts it: yuan for money, a whole number else.
fn parse_value(ind: &Indicator, raw: &str, lang: Lang) -> Result<i64, WebError> {
    let bad = || WebError::BadRequest(format!("{}: {raw}", t::TARGET_VALUE.get(lang)));
    let v = if ind.unit == "minor" {
        Money::parse_major(raw).map_err(|_| bad())?.minor()
    } else {
        raw.trim().parse::<i64>().map_err(|_| bad())?
    };
    if v < 0 {
        return Err(bad());
    }
    Ok(v)
}

fn show_value(ind: &Indicator, v: Option<i64>) -> String {
    match v {
        None => "—".to_owned(),
        Some(v) if ind.unit == "minor" => yuan(Some(v)),
        Some(v) => v.to_string(),
    }
}

/// The org unit `code` if it lies in the user's subtree: (id, code, name).
async fn org_in_scope(
    state: &AppState,
    user: &User,
    code: &str,
) -> Result<(i64, String, String), WebError> {
    panorama_store::org::unit_within(&state.store, code, &user.org_path)
        .await?
        .map(|o| (o.id, o.code, o.name))
        .ok_or(WebError::NotFound)
}

async fn indicator_of(state: &AppState, code: &str) -> Result<Indicator, WebError> {
    targets::indicators(&state.store)
        .await?
        .into_iter()
        .find(|i| i.code == code)
        .ok_or_else(|| WebError::BadRequest(format!("indicator: {code}")))
}

/// A target in the user's subtree, by id.
async fn target_in_scope(state: &AppState, user: &User, id: i64) -> Result<TargetRow, WebError> {
    let t = targets::get(&state.store, id)
        .await?
        .ok_or(WebError::NotFound)?;
    let path = panorama_store::org::path_of(&state.store, t.org_unit_id).await?;
    match path {
        Some(p) if p.starts_with(&user.org_path) => Ok(t),
        _ => Err(WebError::NotFound),
    }
}

/// What the page and `GET /api/targets` show.
#[derive(Debug, Deserialize)]
pub struct ViewQuery {
    period: Option<String>,
    indicator: Option<String>,
    org: Option<String>,
}

/// A node of the progress view with its forecast.
#[derive(Debug, Serialize)]
struct NodeView {
    #[serde(flatten)]
    node: Node,
    /// Where it will end (none before the nightly chain forecast it).
    forecast: Option<Outlook>,
}

struct View {
    period: Period,
    indicator: Indicator,
    org: (i64, String, String),
    target: Option<TargetRow>,
    progress: Option<(NodeView, Vec<NodeView>)>,
}

/// `node` with its forecast.
async fn with_outlook(
    state: &AppState,
    period: &str,
    ind: &Indicator,
    node: Node,
) -> Result<NodeView, WebError> {
    let forecast = forecast::outlook(
        &state.store,
        period,
        ind,
        node.child,
        node.actual,
        node.target,
    )
    .await?;
    Ok(NodeView { node, forecast })
}

async fn read(state: &AppState, user: &User, q: &ViewQuery, lang: Lang) -> Result<View, WebError> {
    let period = period_of(state, q.period.as_deref(), lang).await?;
    let indicator = indicator_of(
        state,
        q.indicator
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or("aum_growth"),
    )
    .await?;
    let org = org_in_scope(
        state,
        user,
        q.org
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or(&user.org_code),
    )
    .await?;
    let target = targets::target_of(&state.store, &period.code, &indicator.code, org.0).await?;
    let progress = match &target {
        Some(t) => {
            let (root, kids) = targets::progress(&state.store, t).await?;
            let root = with_outlook(state, &period.code, &indicator, root).await?;
            let mut views = Vec::with_capacity(kids.len());
            for k in kids {
                views.push(with_outlook(state, &period.code, &indicator, k).await?);
            }
            Some((root, views))
        }
        None => None,
    };
    Ok(View {
        period,
        indicator,
        org,
        target,
        progress,
    })
}

/// `GET /api/targets?period=&indicator=&org=`: a target with its progress
/// and its children's (target, actual, progress, rank).
pub async fn api_view(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ManageTargets>,
    Query(q): Query<ViewQuery>,
) -> Result<Response, WebError> {
    let user = &user;
    let v = read(&state, user, &q, ctx.lang).await?;
    let (root, children) = v.progress.unzip();
    Ok(Json(json!({
        "period": v.period.code, "from": v.period.from, "to": v.period.to,
        "indicator": v.indicator, "org": v.org.1, "target": v.target,
        "progress": root, "children": children.unwrap_or_default(),
    }))
    .into_response())
}

/// `GET /api/indicators`.
pub async fn api_indicators(
    State(state): State<AppState>,
    _: Require<perm::ManageTargets>,
) -> Result<Response, WebError> {
    Ok(Json(json!({"indicators": targets::indicators(&state.store).await?, "sources": targets::SOURCES})).into_response())
}

/// `POST /api/indicators`: adds an indicator (executives).
pub async fn api_add_indicator(
    State(state): State<AppState>,
    Require { user, .. }: Require<perm::ManageTargets>,
    _: ApiCsrf,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, WebError> {
    let user = &user;
    if user.role != crate::auth::Role::Executive {
        return Err(WebError::Forbidden);
    }
    let text = |k: &str| body[k].as_str().unwrap_or_default().trim().to_owned();
    let ind = Indicator {
        code: text("code"),
        name: text("name"),
        name_en: text("name_en"),
        source: text("source"),
        product_class: Some(text("product_class")).filter(|s| !s.is_empty()),
        unit: String::new(),
    };
    if ind.name.is_empty() || ind.name_en.is_empty() {
        return Err(WebError::BadRequest("name and name_en".into()));
    }
    panorama_ocrm::targets::add_indicator(&state.store, &ind, &user.username).await?;
    Ok((StatusCode::CREATED, Json(json!({"code": ind.code}))).into_response())
}

/// A target to set, from a form or JSON.
#[derive(Debug, Deserialize)]
pub struct SetInput {
    period: String,
    indicator: String,
    org: String,
    /// Yuan for money indicators, a whole number for counts.
    value: String,
}

async fn set(state: &AppState, ctx: &Ctx, user: &User, input: &SetInput) -> Result<i64, WebError> {
    let lang = ctx.lang;
    let period = period_of(state, Some(&input.period), lang).await?;
    let ind = indicator_of(state, input.indicator.trim()).await?;
    let org = org_in_scope(state, user, input.org.trim()).await?;
    let value = parse_value(&ind, &input.value, lang)?;
    Ok(panorama_ocrm::targets::set(
        &state.store,
        &period,
        &ind.code,
        &org.1,
        value,
        &user.username,
    )
    .await?)
}

/// `POST /api/targets`.
pub async fn api_set(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ManageTargets>,
    _: ApiCsrf,
    Json(input): Json<SetInput>,
) -> Result<Response, WebError> {
    let id = set(&state, &ctx, &user, &input).await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id}))).into_response())
}

/// The shares of a split: by hand (a value per child) or in proportion.
enum SplitInput {
    Manual(Vec<(Child, String)>),
    Proportional(Base),
}

async fn split(
    state: &AppState,
    ctx: &Ctx,
    user: &User,
    id: i64,
    input: SplitInput,
) -> Result<TargetRow, WebError> {
    let lang = ctx.lang;
    let target = target_in_scope(state, user, id).await?;
    let ind = indicator_of(state, &target.indicator).await?;
    match input {
        SplitInput::Manual(values) => {
            let mut shares = Vec::new();
            for (child, raw) in values {
                shares.push((child, parse_value(&ind, &raw, lang)?));
            }
            panorama_ocrm::targets::split(&state.store, &target, &shares, &user.username).await?;
        }
        SplitInput::Proportional(base) => {
            panorama_ocrm::targets::split_in_proportion(
                &state.store,
                &target,
                base,
                &user.username,
            )
            .await?;
        }
    }
    Ok(target)
}

fn base_of(raw: &str) -> Result<Base, WebError> {
    match raw {
        "customers" => Ok(Base::Customers),
        "aum" => Ok(Base::Aum),
        other => Err(WebError::BadRequest(format!("base: {other}"))),
    }
}

/// `POST /api/targets/{id}/split`: `{"method":"manual","shares":[{"kind":"org"|"rm","id":…,"value":"…"}]}`
/// or `{"method":"proportional","base":"customers"|"aum"}`.
pub async fn api_split(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ManageTargets>,
    _: ApiCsrf,
    Path(id): Path<i64>,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, WebError> {
    let input = match body["method"].as_str() {
        Some("proportional") => {
            SplitInput::Proportional(base_of(body["base"].as_str().unwrap_or(""))?)
        }
        Some("manual") => {
            let mut values = Vec::new();
            for s in body["shares"].as_array().into_iter().flatten() {
                let id = s["id"]
                    .as_i64()
                    .ok_or_else(|| WebError::BadRequest("shares: id".into()))?;
                let child = match s["kind"].as_str() {
                    Some("org") => Child::Org(id),
                    Some("rm") => Child::Rm(id),
                    _ => return Err(WebError::BadRequest("shares: kind is org or rm".into())),
                };
                let value = match &s["value"] {
                    serde_json::Value::String(v) => v.clone(),
                    serde_json::Value::Number(n) => n.to_string(),
                    _ => return Err(WebError::BadRequest("shares: value".into())),
                };
                values.push((child, value));
            }
            SplitInput::Manual(values)
        }
        _ => {
            return Err(WebError::BadRequest(
                "method is manual or proportional".into(),
            ));
        }
    };
    let target = split(&state, &ctx, &user, id, input).await?;
    let (root, children) = targets::progress(&state.store, &target).await?;
    Ok(Json(json!({"progress": root, "children": children})).into_response())
}

/// Body of a recomputation.
#[derive(Debug, Deserialize)]
pub struct ActualsInput {
    period: String,
    indicator: String,
}

/// `POST /api/targets/actuals`: recomputes every RM's actual from the data.
pub async fn api_actuals(
    State(state): State<AppState>,
    Require { ctx, .. }: Require<perm::ManageTargets>,
    _: ApiCsrf,
    Json(input): Json<ActualsInput>,
) -> Result<Response, WebError> {
    let period = period_of(&state, Some(&input.period), ctx.lang).await?;
    let ind = indicator_of(&state, input.indicator.trim()).await?;
    let rms = targets::refresh_actuals(&state.store, &period, &ind.code).await?;
    Ok(Json(json!({"rms": rms})).into_response())
}

/// `POST /targets`: the page's forms (set, split by hand or in proportion,
/// recompute), told apart by `action`.
pub async fn form(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ManageTargets>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let path = "/targets";
    let user = &user;
    let get = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    ctx.check_csrf(&get("csrf")).await.page(&ctx, path)?;
    let (period, indicator, org) = (get("period"), get("indicator"), get("org"));
    match get("action").as_str() {
        "set" => {
            set(
                &state,
                &ctx,
                user,
                &SetInput {
                    period: period.clone(),
                    indicator: indicator.clone(),
                    org: org.clone(),
                    value: get("value"),
                },
            )
            .await
            .page(&ctx, path)?;
        }
        "manual" | "proportional" => {
            let id: i64 = get("target")
                .parse()
                .map_err(|_| WebError::BadRequest("target".into()))
                .page(&ctx, path)?;
            let input = if get("action") == "manual" {
                let mut values = Vec::new();
                for (k, v) in &fields {
                    let child = if let Some(id) = k.strip_prefix("org_") {
                        id.parse().ok().map(Child::Org)
                    } else if let Some(id) = k.strip_prefix("rm_") {
                        id.parse().ok().map(Child::Rm)
                    } else {
                        None
                    };
                    if let Some(c) = child {
                        values.push((
                            c,
                            if v.trim().is_empty() {
                                "0".to_owned()
                            } else {
                                v.clone()
                            },
                        ));
                    }
                }
                SplitInput::Manual(values)
            } else {
                SplitInput::Proportional(base_of(&get("base")).page(&ctx, path)?)
            };
            split(&state, &ctx, user, id, input)
                .await
                .page(&ctx, path)?;
        }
        "actuals" => {
            let p = period_of(&state, Some(&period), ctx.lang)
                .await
                .page(&ctx, path)?;
            targets::refresh_actuals(&state.store, &p, indicator.trim())
                .await
                .page(&ctx, path)?;
        }
        other => {
            return Err(WebError::BadRequest(format!("action: {other}"))).page(&ctx, path);
        }
    }
    let _ = user;
    Ok(Redirect::to(&format!(
        "/targets?period={}&indicator={}&org={}",
        crate::ui::urlencode(&period),
        crate::ui::urlencode(&indicator),
        crate::ui::urlencode(&org)
    ))
    .into_response())
}

fn percent(p: Option<f64>) -> String {
    p.map_or_else(|| "—".to_owned(), |p| format!("{:.1}%", 100.0 * p))
}

/// Whether a node is forecast to end below its target.
fn misses(k: &NodeView) -> bool {
    matches!((k.node.target, &k.forecast), (Some(t), Some(o)) if o.forecast < t)
}

/// The forecast of the viewed target in a line: expected, range, chance,
/// its parts and how it is made.
fn outlook_line(
    ind: &Indicator,
    o: Option<&Outlook>,
    basis: Option<&panorama_store::forecasts::BasisRow>,
    lang: Lang,
) -> Markup {
    let bp =
        |v: Option<i64>| v.map_or_else(|| "—".to_owned(), |v| format!("{:.1}%", v as f64 / 100.0));
    html! {
        @match o {
            Some(o) => p id="target-forecast" {
                strong { (t::FORECAST.get(lang)) " " (show_value(ind, Some(o.forecast))) }
                " (" (t::FORECAST_RANGE.get(lang)) " " (show_value(ind, Some(o.low))) " – " (show_value(ind, Some(o.high))) ")"
                " · " (t::P_MEET.get(lang)) " " (percent(o.p_meet))
                @if o.attainment.is_some_and(|a| a < 1.0) { " " span.tag.warn { (t::FORECAST_MISS.get(lang)) } }
                br;
                span.muted {
                    (t::ACTUAL.get(lang)) " " (show_value(ind, Some(o.actual)))
                    " + " (if lang == Lang::Zh { "趋势" } else { "trend" }) " " (show_value(ind, Some(o.trend)))
                    " + " (if lang == Lang::Zh { "商机" } else { "pipeline" }) " " (show_value(ind, Some(o.pipeline)))
                    @if let Some(d) = o.as_of { " · " (t::FORECAST_AS_OF.get(lang)) " " (d) }
                    @if let Some(b) = basis {
                        " · " span id="forecast-basis" { (if b.basis == "period" { t::BASIS_PERIOD.get(lang) } else { t::BASIS_WINDOW.get(lang) }) }
                        @if b.quarters > 0 {
                            " (" (t::BASIS_CHOSEN.get(lang)) ": " (bp(b.window_wape_bp)) " / " (bp(b.period_wape_bp)) ")"
                        }
                    }
                    br;
                    (t::FORECAST_HOW.get(lang))
                }
            },
            None => p.muted id="target-forecast" { (t::NO_FORECAST.get(lang)) },
        }
    }
}

/// The targets in the reader's subtree forecast to miss this period, the
/// least likely to be met first.
async fn at_risk_section(
    state: &AppState,
    user: &User,
    period: &Period,
    lang: Lang,
) -> Result<Markup, WebError> {
    let misses = forecast::at_risk(&state.store, &period.code, &user.org_path).await?;
    Ok(html! {
        section id="at-risk" {
            h2 { (t::AT_RISK.get(lang)) " · " (period.code) }
            @if misses.is_empty() { p.muted { (t::AT_RISK_NONE.get(lang)) } } @else {
                table { thead { tr { th { (t::ORG.get(lang)) } th { (t::INDICATOR.get(lang)) } th.n { (t::TARGET_VALUE.get(lang)) }
                    th.n { (t::ACTUAL.get(lang)) } th.n { (t::FORECAST.get(lang)) } th.n { (t::P_MEET.get(lang)) } } }
                tbody { @for m in &misses { tr.miss {
                    td { a href={ "/targets?period=" (crate::ui::urlencode(&period.code)) "&indicator=" (m.indicator.code) "&org=" (crate::ui::urlencode(&m.org_code)) } { (m.org_name) } " " span.muted { (m.org_code) } }
                    td { (if lang == Lang::Zh { &m.indicator.name } else { &m.indicator.name_en }) }
                    td.n { (show_value(&m.indicator, Some(m.target))) }
                    td.n { (show_value(&m.indicator, Some(m.outlook.actual))) }
                    td.n { (show_value(&m.indicator, Some(m.outlook.forecast))) }
                    td.n { (percent(m.outlook.p_meet)) }
                } } } }
            }
        }
    })
}

/// The win rates by stage the forecasts use.
async fn win_rate_section(state: &AppState, lang: Lang) -> Result<Markup, WebError> {
    let (as_of, history) = panorama_store::forecasts::win_rates(&state.store).await?;
    Ok(html! {
        @if let Some(as_of) = as_of {
            section id="win-rates" {
                h2 { (t::WIN_RATES.get(lang)) }
                p.muted { (t::FORECAST_AS_OF.get(lang)) " " (as_of) }
                table { thead { tr { th { (t::STAGE.get(lang)) } th.n { (t::WON_OF_CLOSED.get(lang)) } th.n { (t::WIN_RATE.get(lang)) } } }
                tbody { @for h in &history { tr {
                    td { (crate::pipeline::stage_name(&h.stage).get(lang)) }
                    td.n { (h.won) " / " (h.closed) }
                    td.n { @if h.closed >= panorama_domain::forecast::MIN_CLOSED { (percent(Some(h.won as f64 / h.closed as f64))) }
                           @else { span.muted { (t::RATE_UNLEARNT.get(lang)) } } }
                } } } }
            }
        }
    })
}

/// `GET /targets?period=&indicator=&org=`.
pub async fn page(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ManageTargets>,
    Query(q): Query<ViewQuery>,
) -> Result<Response, PageError> {
    let path = "/targets";
    let user = &user;
    let lang = ctx.lang;
    let v = read(&state, user, &q, lang).await.page(&ctx, path)?;
    let indicators = targets::indicators(&state.store).await.page(&ctx, path)?;
    let orgs: Vec<(String, String)> =
        panorama_store::org::units_within(&state.store, &user.org_path)
            .await
            .page(&ctx, path)?;
    let csrf = ctx.csrf().await;
    let name = |i: &Indicator| {
        if lang == Lang::Zh {
            i.name.clone()
        } else {
            i.name_en.clone()
        }
    };
    let v_money = v.indicator.unit == "minor";
    let at_risk = at_risk_section(&state, user, &v.period, lang)
        .await
        .page(&ctx, path)?;
    let win_rates = win_rate_section(&state, lang).await.page(&ctx, path)?;
    let basis = panorama_store::forecasts::basis_of(&state.store, &v.indicator.code)
        .await
        .page(&ctx, path)?;
    let hidden = html! {
        input type="hidden" name="csrf" value=(csrf);
        input type="hidden" name="period" value=(v.period.code);
        input type="hidden" name="indicator" value=(v.indicator.code);
        input type="hidden" name="org" value=(v.org.1);
    };
    let body = html! {
        form method="get" action="/targets" {
            label { (t::PERIOD.get(lang)) " " input name="period" size="8" value=(v.period.code); } " "
            label { (t::INDICATOR.get(lang)) " " select name="indicator" {
                @for i in &indicators { option value=(i.code) selected[i.code == v.indicator.code] { (name(i)) } }
            } } " "
            label { (t::ORG.get(lang)) " " select name="org" {
                @for (code, n) in &orgs { option value=(code) selected[*code == v.org.1] { (n) " " (code) } }
            } } " "
            button type="submit" { (t::VIEW.get(lang)) }
        }
        p.muted { (v.period.from) " → " (v.period.to) " · " (v.org.2) }
        @match (&v.target, &v.progress) {
            (Some(target), Some((root, children))) => {
                section id="target" {
                    h2 { (name(&v.indicator)) " · " (t::TARGET_VALUE.get(lang)) " " span id="target-value" { (show_value(&v.indicator, Some(target.value))) }
                         " · " (t::ACTUAL.get(lang)) " " (show_value(&v.indicator, Some(root.node.actual)))
                         " · " (t::PROGRESS.get(lang)) " " (percent(root.node.progress)) }
                    (outlook_line(&v.indicator, root.forecast.as_ref(), basis.as_ref(), lang))
                    (crate::ui::chart("children-chart", "target-children", &format!(
                        "/api/targets?period={}&indicator={}&org={}",
                        crate::ui::urlencode(&v.period.code),
                        crate::ui::urlencode(&v.indicator.code),
                        crate::ui::urlencode(&v.org.1)
                    ), &[], &[]))
                    table id="children" {
                        thead { tr { th { (t::RANK.get(lang)) } th { (t::ORG.get(lang)) } th.n { (t::TARGET_VALUE.get(lang)) } th.n { (t::ACTUAL.get(lang)) } th.n { (t::PROGRESS.get(lang)) }
                            th.n { (t::FORECAST.get(lang)) } th.n { (t::P_MEET.get(lang)) } } }
                        tbody { @for k in children { @let n = &k.node; @let miss = misses(k); tr class=[miss.then_some("miss")] {
                            td { (n.rank.map_or_else(|| "—".to_owned(), |r| r.to_string())) }
                            td { @match n.child {
                                Child::Org(_) => a href={ "/targets?period=" (v.period.code) "&indicator=" (v.indicator.code) "&org=" (n.code) } { (n.name) " " span.muted { (n.code) } },
                                Child::Rm(_) => { (n.name) " " span.muted { (n.code) } },
                            } }
                            td.n { (show_value(&v.indicator, n.target)) }
                            td.n { (show_value(&v.indicator, Some(n.actual))) }
                            td.n { (percent(n.progress)) }
                            td.n { @match &k.forecast {
                                Some(o) => { (show_value(&v.indicator, Some(o.forecast))) br; span.muted { (show_value(&v.indicator, Some(o.low))) " – " (show_value(&v.indicator, Some(o.high))) } },
                                None => "—",
                            } }
                            td.n { (percent(k.forecast.and_then(|o| o.p_meet)))
                                @if miss { " " span.tag.warn { (t::FORECAST_MISS.get(lang)) } } }
                        } } }
                    }
                }
                @if !children.is_empty() {
                    div.grid {
                        section id="split-manual" {
                            h2 { (t::SPLIT_MANUAL.get(lang)) }
                            form method="post" action="/targets" {
                                (hidden)
                                input type="hidden" name="action" value="manual";
                                input type="hidden" name="target" value=(target.id);
                                table { tbody { @for n in children { tr {
                                    td { (n.node.name) }
                                    @let field = match n.node.child { Child::Org(id) => format!("org_{id}"), Child::Rm(id) => format!("rm_{id}") };
                                    @let current = n.node.target.map(|v| if v_money { Money::from_minor(v).to_string() } else { v.to_string() });
                                    td { input name=(field) id=(field) size="12" value=(current.unwrap_or_default()); }
                                } } } }
                                button type="submit" id="split-manual-submit" { (t::SAVE.get(lang)) }
                            }
                        }
                        section id="split-proportional" {
                            h2 { (t::SPLIT_PROPORTIONAL.get(lang)) }
                            form method="post" action="/targets" {
                                (hidden)
                                input type="hidden" name="action" value="proportional";
                                input type="hidden" name="target" value=(target.id);
                                select name="base" id="split-base" {
                                    option value="customers" { (t::BASE_CUSTOMERS.get(lang)) }
                                    option value="aum" { (t::BASE_AUM.get(lang)) }
                                } " "
                                button type="submit" id="split-proportional-submit" { (t::SAVE.get(lang)) }
                            }
                            form method="post" action="/targets" {
                                (hidden)
                                input type="hidden" name="action" value="actuals";
                                button type="submit" id="refresh-actuals" { (t::REFRESH_ACTUALS.get(lang)) }
                            }
                        }
                    }
                }
            }
            _ => {
                p.muted { (t::NO_TARGET.get(lang)) }
            }
        }
        (at_risk)
        (win_rates)
        @if v.target.as_ref().is_none_or(|t| t.parent_id.is_none()) {
            section id="set-target" {
                h2 { (t::SET_TARGET.get(lang)) }
                form method="post" action="/targets" {
                    (hidden)
                    input type="hidden" name="action" value="set";
                    input name="value" id="target-input" required size="14"
                        placeholder=(if v.indicator.unit == "minor" { "元 / yuan" } else { "#" });
                    " " button type="submit" id="set-target-submit" { (t::SET_TARGET.get(lang)) }
                }
            }
        }
    };
    Ok(layout(lang, Some(user), &csrf, t::TARGETS.get(lang), body).into_response())
}

/// The workbench's "my targets": an RM's allocations in the periods
/// containing the business day, with their actuals.
pub(crate) async fn mine(state: &AppState, user: &User, lang: Lang) -> Result<Markup, WebError> {
    let mut rows = Vec::new();
    for p in targets::periods_of(business_day(state).await?) {
        for (ind, target, actual) in targets::of_rm(&state.store, user.id, &p.code).await? {
            let o = forecast::outlook(
                &state.store,
                &p.code,
                &ind,
                Child::Rm(user.id),
                actual,
                Some(target),
            )
            .await?;
            rows.push((p.code.clone(), ind, target, actual, o));
        }
    }
    Ok(html! {
        section id="my-targets" {
            h2 { (t::MY_TARGETS.get(lang)) }
            @if rows.is_empty() { p.muted { (t::NONE.get(lang)) } }
            table { tbody { @for (period, ind, target, actual, o) in &rows { tr class=[o.is_some_and(|o| o.forecast < *target).then_some("miss")] {
                td { (period) } td { (if lang == Lang::Zh { &ind.name } else { &ind.name_en }) }
                td.n { (show_value(ind, Some(*actual))) " / " (show_value(ind, Some(*target))) }
                td.n { (if *target > 0 { format!("{:.0}%", 100.0 * *actual as f64 / *target as f64) } else { "—".to_owned() }) }
                td.n title=(t::FORECAST.get(lang)) { @if let Some(o) = o {
                    (t::FORECAST.get(lang)) " " (show_value(ind, Some(o.forecast))) " · " (percent(o.p_meet))
                } }
            } } } }
        }
    })
}

/// This feature's routes.
pub(crate) fn routes() -> axum::Router<crate::AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/targets", get(page).post(form))
        .route("/api/targets", get(api_view).post(api_set))
        .route("/api/targets/{id}/split", post(api_split))
        .route("/api/targets/actuals", post(api_actuals))
        .route(
            "/api/indicators",
            get(api_indicators).post(api_add_indicator),
        )
}
