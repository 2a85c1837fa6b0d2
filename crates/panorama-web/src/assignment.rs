//! Assignment of customers to RMs (客户归属分配) for branch managers: the
//! RMs of their org units with their books, moves of listed customers or a
//! whole saved segment, a file of customer numbers and RMs (every line
//! lands or is rejected with its line number and reason), reclaiming to the
//! branch pool, and suggestions after tier changes. Each customer's history
//! is kept; every move is audited per customer.

use axum::Json;
use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use panorama_store::assign::{self, Transfer, TransferReport};
use panorama_store::ocrm;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::AppState;
use crate::auth::User;
use crate::context::Ctx;
use crate::error::WebError;
use crate::extract::{ApiCsrf, CsrfForm, HasCsrf, Require, perm};
use crate::i18n::{self as t, Lang};
use crate::mask::{self, Level};
use crate::ui::{OrPage, PageError, layout};

/// The tiers served by wealth RMs: the top three of the configuration
/// (核心, 成长, 白金 in the default one).
fn wealth_tiers(state: &AppState) -> Vec<&str> {
    state
        .config
        .tiers
        .iter()
        .take(3)
        .map(|t| t.code.as_str())
        .collect()
}

fn today() -> String {
    chrono::Local::now().date_naive().to_string()
}

/// Rejected lines listed on the page (the count says how many more).
const SHOWN_REJECTS: usize = 200;

/// A rejected line of an uploaded file.
#[derive(Debug, Clone, Serialize)]
pub struct Rejected {
    /// 1-based line number.
    pub line: usize,
    /// The line as given.
    pub text: String,
    /// Why.
    pub reason: String,
}

/// What a move request did.
#[derive(Debug, Default, Serialize)]
pub struct Outcome {
    /// Per receiving RM (username; empty for a reclaim).
    pub moves: Vec<(String, TransferReport)>,
    /// Lines of a file that were not applied.
    pub rejected: Vec<Rejected>,
}

/// The RM of `username` if it is an active RM in the user's org units.
async fn rm_of(state: &AppState, user: &User, username: &str, lang: Lang) -> Result<i64, WebError> {
    let found = ocrm::user_by_username(&state.store, username.trim()).await?;
    match found {
        Some(rm) if assign::rm_in_scope(&state.store, &user.scope(), rm.id).await? => Ok(rm.id),
        _ => Err(WebError::BadRequest(format!(
            "{}: {username}",
            t::TO_RM.get(lang)
        ))),
    }
}

async fn apply(
    state: &AppState,
    user: &User,
    customers: &[i64],
    to_rm: Option<i64>,
    reason: &str,
) -> Result<TransferReport, WebError> {
    Ok(assign::transfer(
        &state.store,
        &Transfer {
            customers,
            to_rm,
            reason,
            actor: &user.username,
            scope: &user.scope(),
            on: &today(),
        },
    )
    .await?)
}

/// Customer ids from a list of customer numbers or ids, one a line;
/// unknown ones are rejected with their line.
async fn customers_of_lines(
    state: &AppState,
    text: &str,
    rejected: &mut Vec<Rejected>,
) -> Result<Vec<i64>, WebError> {
    let lines: Vec<(usize, String)> = text
        .lines()
        .enumerate()
        .map(|(k, l)| (k + 1, l.trim().to_owned()))
        .filter(|(_, l)| !l.is_empty())
        .collect();
    let numbers: Vec<String> = lines.iter().map(|(_, l)| l.clone()).collect();
    let known = assign::ids_by_number(&state.store, &numbers).await?;
    let mut ids = Vec::new();
    for (line, text) in lines {
        match known
            .get(&text)
            .copied()
            .or_else(|| text.parse::<i64>().ok())
        {
            Some(id) => ids.push(id),
            None => rejected.push(Rejected {
                line,
                text,
                reason: "unknown customer number".into(),
            }),
        }
    }
    Ok(ids)
}

/// A move, from the form or JSON: customers listed (numbers or ids, one a
/// line) or a saved segment; to an RM (username) or, without one, reclaimed.
#[derive(Debug, Deserialize)]
pub struct MoveInput {
    #[serde(default)]
    customers: String,
    segment: Option<String>,
    rm: Option<String>,
    reason: Option<String>,
}

async fn do_move(
    state: &AppState,
    user: &User,
    input: &MoveInput,
    lang: Lang,
) -> Result<Outcome, WebError> {
    let mut outcome = Outcome::default();
    let mut ids = customers_of_lines(state, &input.customers, &mut outcome.rejected).await?;
    if let Some(seg) = input
        .segment
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let seg: i64 = seg
            .parse()
            .map_err(|_| WebError::BadRequest(format!("segment: {seg}")))?;
        ids.extend(assign::segment_customers(&state.store, seg).await?);
    }
    if ids.is_empty() && outcome.rejected.is_empty() {
        return Err(WebError::BadRequest(
            t::CUSTOMER_NUMBERS.get(lang).to_owned(),
        ));
    }
    let rm_name = input.rm.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let to_rm = match rm_name {
        Some(name) => Some(rm_of(state, user, name, lang).await?),
        None => None,
    };
    if let Some(r) = &input.reason {
        crate::context::within("reason", r, 200)?;
    }
    let reason = input
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(if to_rm.is_some() {
            "branch manager's assignment"
        } else {
            "reclaimed to the branch pool"
        });
    let report = apply(state, user, &ids, to_rm, reason).await?;
    outcome
        .moves
        .push((rm_name.unwrap_or_default().to_owned(), report));
    Ok(outcome)
}

/// A file of `customer number,RM username` lines (a header line is
/// skipped); each RM's customers move together; bad lines are rejected.
async fn do_file(
    state: &AppState,
    user: &User,
    text: &str,
    lang: Lang,
) -> Result<Outcome, WebError> {
    let mut outcome = Outcome::default();
    // (RM username, RM id, the (line, customer number)s for them).
    type Lines = Vec<(usize, String)>;
    let mut by_rm: Vec<(String, i64, Lines)> = Vec::new();
    let mut numbers = Vec::new();
    for (k, raw) in text.lines().enumerate() {
        let line = k + 1;
        let l = raw.trim().trim_start_matches('\u{feff}');
        // Blank lines, `#` comments and a header line are not customers.
        if l.is_empty()
            || l.starts_with('#')
            || (line == 1 && l.to_lowercase().starts_with("customer"))
        {
            continue;
        }
        let mut cells = l.split(',').map(str::trim);
        let (Some(number), Some(rm), None) = (cells.next(), cells.next(), cells.next()) else {
            outcome.rejected.push(Rejected {
                line,
                text: raw.to_owned(),
                reason: "expected 2 fields: customer number,RM username".into(),
            });
            continue;
        };
        let rm_id = match by_rm.iter().find(|(n, _, _)| n == rm) {
            Some((_, id, _)) => *id,
            None => match rm_of(state, user, rm, lang).await {
                Ok(id) => {
                    by_rm.push((rm.to_owned(), id, Vec::new()));
                    id
                }
                Err(_) => {
                    outcome.rejected.push(Rejected {
                        line,
                        text: raw.to_owned(),
                        reason: format!("{rm} is not an active RM in your org units"),
                    });
                    continue;
                }
            },
        };
        numbers.push(number.to_owned());
        if let Some(group) = by_rm.iter_mut().find(|(_, id, _)| *id == rm_id) {
            group.2.push((line, number.to_owned()));
        }
    }
    let known = assign::ids_by_number(&state.store, &numbers).await?;
    for (name, rm, lines) in by_rm {
        let mut ids = Vec::new();
        let mut line_of = std::collections::HashMap::new();
        for (line, number) in lines {
            match known.get(&number) {
                Some(id) => {
                    ids.push(*id);
                    line_of.insert(*id, (line, number));
                }
                None => outcome.rejected.push(Rejected {
                    line,
                    text: number,
                    reason: "unknown customer number".into(),
                }),
            }
        }
        let report = apply(state, user, &ids, Some(rm), "assigned from a file").await?;
        for id in &report.refused {
            if let Some((line, number)) = line_of.get(id) {
                outcome.rejected.push(Rejected {
                    line: *line,
                    text: number.clone(),
                    reason: "customer not active or outside your org units".into(),
                });
            }
        }
        outcome.moves.push((name, report));
    }
    outcome.rejected.sort_by_key(|r| r.line);
    Ok(outcome)
}

/// `POST /api/assignments`: moves customers (JSON `customers` as text lines
/// or ids, `segment`, `rm`, `reason`); without `rm` they are reclaimed.
pub async fn api_move(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::AssignCustomers>,
    _: ApiCsrf,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, WebError> {
    let user = &user;
    let customers = match &body["customers"] {
        serde_json::Value::Array(a) => a
            .iter()
            .map(|v| {
                v.as_i64()
                    .map_or_else(|| v.as_str().unwrap_or("").to_owned(), |i| i.to_string())
            })
            .collect::<Vec<_>>()
            .join("\n"),
        serde_json::Value::String(s) => s.clone(),
        _ => String::new(),
    };
    let text = |k: &str| crate::context::json_text(&body, k);
    let input = MoveInput {
        customers,
        segment: text("segment"),
        rm: text("rm"),
        reason: text("reason"),
    };
    let outcome = do_move(&state, user, &input, ctx.lang).await?;
    Ok(Json(outcome).into_response())
}

/// `GET /api/assignments`: the RMs of the caller's org units with their
/// books, and the suggestions after tier changes.
pub async fn api_overview(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::AssignCustomers>,
) -> Result<Response, WebError> {
    let user = &user;
    let scope = user.scope();
    let rms = assign::rms(&state.store, &scope).await?;
    let level = Level::for_role(user.role);
    let suggestions: Vec<_> = assign::suggestions(&state.store, &scope, &wealth_tiers(&state), 200)
        .await?
        .into_iter()
        .map(|s| assign::Suggestion {
            name: mask::name(&s.name, &s.customer_no, level),
            ..s
        })
        .collect();
    crate::context::audit_list(&state, &ctx, "assignment.list", "", suggestions.len()).await?;
    Ok(Json(json!({"rms": rms, "suggestions": suggestions})).into_response())
}

/// `GET /api/customers/{id}/assignments`: a customer's assignment history.
pub async fn api_history(
    State(state): State<AppState>,
    Require { user, .. }: Require<perm::ViewCustomers>,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let user = &user;
    if ocrm::customer_in_scope(&state.store, &user.scope(), id)
        .await?
        .is_none()
    {
        return Err(WebError::NotFound);
    }
    Ok(Json(json!({"assignments": assign::history(&state.store, id).await?})).into_response())
}

/// The move form.
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

/// `POST /assignments`: the page's move and reclaim forms.
pub async fn form_move(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::AssignCustomers>,
    CsrfForm(f): CsrfForm<MoveForm>,
) -> Result<Response, PageError> {
    let path = "/assignments";
    let user = &user;
    let outcome = do_move(&state, user, &f.input, ctx.lang)
        .await
        .page(&ctx, path)?;
    render(&state, &ctx, user, Some(&outcome)).await
}

/// `POST /assignments/upload`: a CSV file (multipart field `file`).
pub async fn form_upload(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::AssignCustomers>,
    mut multipart: Multipart,
) -> Result<Response, PageError> {
    let path = "/assignments";
    let user = &user;
    let mut csrf = String::new();
    let mut file = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| WebError::BadRequest(e.to_string()))
        .page(&ctx, path)?
    {
        match field.name() {
            Some("csrf") => {
                csrf = field
                    .text()
                    .await
                    .map_err(|e| WebError::BadRequest(e.to_string()))
                    .page(&ctx, path)?;
            }
            Some("file") => {
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| WebError::BadRequest(e.to_string()))
                    .page(&ctx, path)?;
                file = Some(bytes);
            }
            _ => {}
        }
    }
    ctx.check_csrf(&csrf).await.page(&ctx, path)?;
    let bytes = file
        .ok_or_else(|| WebError::BadRequest(t::UPLOAD_HINT.get(ctx.lang).to_owned()))
        .page(&ctx, path)?;
    // UTF-8, or GB18030 as Chinese spreadsheets save CSV.
    let text = match std::str::from_utf8(&bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => encoding_rs::GB18030.decode(&bytes).0.into_owned(),
    };
    let outcome = do_file(&state, user, &text, ctx.lang)
        .await
        .page(&ctx, path)?;
    render(&state, &ctx, user, Some(&outcome)).await
}

/// `GET /assignments`.
pub async fn page(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::AssignCustomers>,
) -> Result<Response, PageError> {
    let user = &user;
    render(&state, &ctx, user, None).await
}

fn outcome_view(o: &Outcome, lang: Lang) -> Markup {
    html! {
        section id="outcome" {
            table { tbody { @for (rm, r) in &o.moves { tr {
                td { (if rm.is_empty() { t::RECLAIM.get(lang) } else { rm.as_str() }) }
                td { (t::MOVED.get(lang)) " " span.moved { (r.moved) } }
                td { (t::UNCHANGED.get(lang)) " " (r.unchanged) }
                td { (t::REFUSED.get(lang)) " " (r.refused.len()) }
            } } } }
            @if !o.rejected.is_empty() {
                h3 { (t::REJECTED_LINES.get(lang)) " (" (o.rejected.len()) ")" }
                table id="rejected" { tbody { @for r in o.rejected.iter().take(SHOWN_REJECTS) { tr {
                    td { (t::LINE.get(lang)) " " (r.line) } td { (r.text) } td.err { (r.reason) }
                } } } }
                @if o.rejected.len() > SHOWN_REJECTS { p.muted { "… +" (o.rejected.len() - SHOWN_REJECTS) } }
            }
        }
    }
}

async fn render(
    state: &AppState,
    ctx: &Ctx,
    user: &User,
    outcome: Option<&Outcome>,
) -> Result<Response, PageError> {
    let path = "/assignments";
    let lang = ctx.lang;
    let scope = user.scope();
    let rms = assign::rms(&state.store, &scope).await.page(ctx, path)?;
    let suggestions = assign::suggestions(&state.store, &scope, &wealth_tiers(state), 100)
        .await
        .page(ctx, path)?;
    let segments = panorama_store::acrm::segments(&state.store)
        .await
        .page(ctx, path)?;
    let level = Level::for_role(user.role);
    let csrf = ctx.csrf().await;
    let name_of = |id: Option<i64>| {
        id.and_then(|id| rms.iter().find(|r| r.id == id))
            .map_or_else(|| "—".to_owned(), |r| r.username.clone())
    };
    let rm_options = html! { @for r in &rms { option value=(r.username) { (r.username) " " (r.display_name) } } };
    let body = html! {
        @if let Some(o) = outcome { (outcome_view(o, lang)) }
        div.grid {
            section id="move" {
                h2 { (t::MOVE_CUSTOMERS.get(lang)) }
                form method="post" action="/assignments" {
                    input type="hidden" name="csrf" value=(csrf);
                    label { (t::CUSTOMER_NUMBERS.get(lang)) br; textarea name="customers" id="move-customers" rows="4" cols="28" {} } br;
                    label { (t::OR_SEGMENT.get(lang)) " " select name="segment" {
                        option value="" { "—" }
                        @for g in &segments { option value=(g.id) { (g.name) " (" (g.member_count.unwrap_or(0)) ")" } }
                    } } br;
                    label { (t::TO_RM.get(lang)) " " select name="rm" id="move-rm" { (rm_options) } } " "
                    input name="reason" placeholder=(t::REASON.get(lang)) size="16"; " "
                    button type="submit" id="move-submit" { (t::MOVE.get(lang)) }
                }
            }
            section id="upload" {
                h2 { (t::UPLOAD.get(lang)) }
                p.muted { (t::UPLOAD_HINT.get(lang)) }
                form method="post" action="/assignments/upload" enctype="multipart/form-data" {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="file" name="file" id="upload-file" accept=".csv,text/csv"; " "
                    button type="submit" id="upload-submit" { (t::SAVE.get(lang)) }
                }
                h2 { (t::RECLAIM.get(lang)) }
                form method="post" action="/assignments" {
                    input type="hidden" name="csrf" value=(csrf);
                    textarea name="customers" rows="2" cols="28" placeholder=(t::CUSTOMER_NUMBERS.get(lang)) {} br;
                    button type="submit" id="reclaim-submit" { (t::RECLAIM.get(lang)) }
                }
            }
        }
        section id="rm-books" {
            h2 { (t::RM_BOOKS.get(lang)) }
            table { thead { tr { th { (t::USERNAME.get(lang)) } th { (t::DISPLAY_NAME.get(lang)) } th { (t::ORG.get(lang)) } th { (t::PORTFOLIO.get(lang)) } th.n { (t::CUSTOMERS.get(lang)) } } }
            tbody { @for r in &rms { tr {
                td { (r.username) } td { (r.display_name) } td { (r.org_code) } td { (r.portfolio) } td.n { (r.customers) }
            } } } }
        }
        section id="suggestions" {
            h2 { (t::SUGGESTIONS.get(lang)) " (" (suggestions.len()) ")" }
            @if suggestions.is_empty() { p.muted { (t::NONE.get(lang)) } }
            table { tbody { @for s in &suggestions { tr {
                td { a href={ "/customers/" (s.customer_id) } { (mask::name(&s.name, &s.customer_no, level)) } }
                td { (s.previous_tier) " → " (s.tier) } td { (s.as_of) }
                td { (name_of(s.from_rm)) " → " (name_of(Some(s.to_rm))) }
                td { form.inline method="post" action="/assignments" {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="customers" value=(s.customer_id);
                    input type="hidden" name="rm" value=(name_of(Some(s.to_rm)));
                    input type="hidden" name="reason" value={ "tier " (s.previous_tier) " → " (s.tier) };
                    button type="submit" { (t::ACCEPT.get(lang)) }
                } }
            } } } }
        }
    };
    Ok(layout(lang, Some(user), &csrf, t::ASSIGNMENTS.get(lang), body).into_response())
}

/// This feature's routes.
pub(crate) fn routes() -> axum::Router<crate::AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/assignments", get(page).post(form_move))
        .route("/api/assignments", get(api_overview).post(api_move))
        .route("/api/customers/{id}/assignments", get(api_history))
}
