//! What analysts, executives and branch managers read of ACRM's models: the
//! registry with each version's evaluation (AUC, KS, cumulative gains chart,
//! lift and calibration by decile). Pages and JSON; read-only. Campaigns
//! are in [`crate::campaigns`].

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;
use panorama_store::models::{self, ModelRow};
use serde::Serialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::WebError;
use crate::extract::{Require, perm};
use crate::i18n::{self as t, Lang};
use crate::ui::{OrPage, PageError, layout};

/// A registered version with its stored evaluation.
#[derive(Debug, Serialize)]
struct ModelView {
    #[serde(flatten)]
    row: ModelRow,
    report: Value,
}

async fn model_views(state: &AppState) -> Result<Vec<ModelView>, WebError> {
    Ok(models::list(&state.store)
        .await?
        .into_iter()
        .map(|row| {
            let report = row
                .metrics
                .as_deref()
                .and_then(|m| serde_json::from_str(m).ok())
                .unwrap_or(Value::Null);
            ModelView {
                row: ModelRow {
                    metrics: None,
                    ..row
                },
                report,
            }
        })
        .collect())
}

/// `GET /api/models`: every version with its evaluation.
pub async fn models_api(
    State(state): State<AppState>,
    _: Require<perm::ViewAnalytics>,
) -> Result<Response, WebError> {
    Ok(Json(json!({"models": model_views(&state).await?})).into_response())
}

/// `GET /models`: the registry and each version's evaluation.
pub async fn models_page(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ViewAnalytics>,
) -> Result<Response, PageError> {
    let user = &user;
    let views = model_views(&state).await.page(&ctx, "/models")?;
    let lang = ctx.lang;
    let csrf = ctx.csrf().await;
    let pct = |v: &Value| {
        v.as_f64()
            .map_or_else(|| "—".to_owned(), |v| format!("{:.1}%", 100.0 * v))
    };
    let num = |v: &Value| {
        v.as_f64()
            .map_or_else(|| "—".to_owned(), |v| format!("{v:.4}"))
    };
    let body = html! {
        section { table id="models" { thead { tr {
            th { "#" } th { (t::MODEL.get(lang)) } th { (t::VERSION.get(lang)) } th { (t::TARGET.get(lang)) }
            th { (t::STATUS.get(lang)) } th { (t::AS_OF.get(lang)) } th.n { (t::TEST_AUC.get(lang)) } th.n { "KS" }
            th { (t::TRAINED_BY.get(lang)) } th { (t::APPROVED_BY.get(lang)) }
        } } tbody { @for m in &views { tr {
            td { a href={ "#model-" (m.row.id) } { (m.row.id) } } td { (m.row.name) } td { (m.row.version) }
            td { (target_words(&m.row.kind, lang)) " · " (t::word(m.report["learner"].as_str().unwrap_or(""), lang)) }
            td { (t::word(&m.row.status, lang)) }
            td { (m.row.train_from.as_deref().unwrap_or("—")) " → " (m.row.train_to.as_deref().unwrap_or("—")) }
            td.n { (num(&m.report["test"]["auc"])) } td.n { (num(&m.report["test"]["ks"])) }
            td { (m.row.created_by) } td { (m.row.approved_by.as_deref().unwrap_or("—")) }
        } } } } }
        @for m in &views {
            section id={ "model-" (m.row.id) } {
                h2 { (m.row.name) " v" (m.row.version) " · " (target_words(&m.row.kind, lang)) }
                p.muted {
                    (t::word(m.report["test"]["kind"].as_str().unwrap_or(""), lang)) " · "
                    (m.report["test"]["rows"].as_u64().unwrap_or(0)) " / "
                    (m.report["test"]["positives"].as_u64().unwrap_or(0)) " · AUC " (num(&m.report["test"]["auc"]))
                    @if let Some(ratio) = m.report["truth"]["ratio"].as_f64() { " · truth ratio " (format!("{ratio:.3}")) }
                }
                @if let Some(v) = m.report["validation"].as_object() {
                    p.muted.validation {
                        (t::VALIDATION.get(lang)) ": "
                        (t::word(v.get("kind").and_then(Value::as_str).unwrap_or(""), lang)) " · "
                        (v.get("as_of").and_then(Value::as_str).unwrap_or("")) " · "
                        (v.get("rows").and_then(Value::as_u64).unwrap_or(0)) " / "
                        (v.get("positives").and_then(Value::as_u64).unwrap_or(0)) " · AUC "
                        (num(v.get("auc").unwrap_or(&Value::Null)))
                        @if let Some(chosen) = m.report["tuning"]["chosen"].as_str() { " · " (t::TUNED.get(lang)) ": " (chosen) }
                    }
                }
                div.grid {
                    div { h3 { (t::GAINS.get(lang)) } (crate::ui::chart(&format!("gains-{}", m.row.id), "gains", "/api/models", &[], &[("model", m.row.id.to_string())])) }
                    div { h3 { (t::CALIBRATION.get(lang)) } (crate::ui::chart(&format!("calibration-{}", m.row.id), "calibration", "/api/models", &[], &[("model", m.row.id.to_string())])) }
                    table { thead { tr {
                        th { (t::DECILE.get(lang)) } th.n { (t::MEMBERS.get(lang)) } th.n { (t::RESPONDERS.get(lang)) }
                        th.n { (t::SCORE.get(lang)) } th.n { (t::RATE.get(lang)) } th.n { (t::LIFT.get(lang)) } th.n { (t::GAINS.get(lang)) }
                    } } tbody { @for d in m.report["test"]["deciles"].as_array().into_iter().flatten() { tr {
                        td { (d["decile"]) } td.n { (d["customers"]) } td.n { (d["positives"]) }
                        td.n { (pct(&d["mean_score"])) } td.n { (pct(&d["rate"])) }
                        td.n { (d["lift"].as_f64().map_or_else(|| "—".to_owned(), |v| format!("{v:.2}"))) }
                        td.n { (pct(&d["cumulative_gain"])) }
                    } } } }
                }
                @if let Some(tree) = m.report["tree"].as_array().filter(|t| !t.is_empty()) {
                    h3 { (t::DECISION_TREE.get(lang)) }
                    pre.tree { @for line in tree { (line.as_str().unwrap_or("")) "\n" } }
                }
            }
        }
    };
    Ok(layout(lang, Some(user), &csrf, t::MODELS.get(lang), body).into_response())
}

/// This feature's routes.
pub(crate) fn routes() -> axum::Router<crate::AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/models", get(models_page))
        .route("/api/models", get(models_api))
}

/// What a model predicts, in words: `uptake:card` → 开通信用卡, `churn` →
/// 客户流失, `response:7` → 对营销活动 7 的响应 (the code itself otherwise).
fn target_words(kind: &str, lang: Lang) -> String {
    if kind == "churn" {
        return t::MODEL_CHURN.get(lang).to_owned();
    }
    if let Some(class) = kind.strip_prefix("uptake:") {
        return format!("{}{}", t::MODEL_UPTAKE.get(lang), t::word(class, lang));
    }
    if let Some(campaign) = kind.strip_prefix("response:") {
        return format!("{} {campaign}", t::MODEL_RESPONSE.get(lang));
    }
    kind.to_owned()
}
