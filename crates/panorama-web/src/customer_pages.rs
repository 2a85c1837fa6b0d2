//! The RM's customer pages, server-rendered: the customer list (filters,
//! sorting, paging), search and the screen-pop lookup, the 360° view (profile,
//! accounts, AUM trend, transactions, tiers, household, segments, contacts,
//! complaints, opportunities, alerts, scores, next best product) with its
//! audited unmasking and section preferences, contacts recorded from it and
//! tasks marked done. Charts are inline SVG; no front-end build.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use panorama_store::ocrm::{self, NewContact};
use serde::Deserialize;

use crate::AppState;
use crate::auth::{Permission, User};
use crate::context::{self, Ctx};
use crate::customers::{self, Customer360, ListItem};
use crate::error::WebError;
use crate::extract::{CsrfForm, HasCsrf, Require, TokenOnly, perm};
use crate::i18n::{self as t, Lang};
use crate::mask::Level;
use crate::ui::{OrPage, PageError, layout, urlencode, yuan};

fn tier_name(state: &AppState, lang: Lang, code: Option<&str>) -> String {
    let Some(code) = code else {
        return "—".to_owned();
    };
    state
        .config
        .tiers
        .iter()
        .find(|t| t.code == code)
        .map_or_else(
            || code.to_owned(),
            |t| match lang {
                Lang::Zh => t.zh.clone(),
                Lang::En => t.en.clone(),
            },
        )
}

pub(crate) fn customer_table(state: &AppState, lang: Lang, rows: &[ListItem]) -> Markup {
    html! {
        @if rows.is_empty() { p.muted { (t::NO_RESULTS.get(lang)) } } @else {
            table.customers {
                thead { tr {
                    th { (t::NAME.get(lang)) } th { (t::CUSTOMER_NO.get(lang)) } th { (t::TYPE.get(lang)) }
                    th { (t::MOBILE.get(lang)) } th { (t::BRANCH.get(lang)) } th { (t::TIER.get(lang)) }
                    th.n { (t::AUM.get(lang)) } th.n { (t::AUM_AVG.get(lang)) } th.n { (t::PROFIT.get(lang)) }
                } }
                tbody { @for r in rows { tr {
                    td { a href={ "/customers/" (r.id) } { (r.name) } }
                    td { (r.customer_no) }
                    td { (if r.party_type == "person" { t::PERSON.get(lang) } else { t::ORGANISATION.get(lang) }) }
                    td { (r.mobile.as_deref().unwrap_or("—")) }
                    td { (r.branch.as_deref().unwrap_or("—")) }
                    td { (tier_name(state, lang, r.tier.as_deref())) }
                    td.n { (yuan(r.aum_minor)) } td.n { (yuan(r.aum_avg_minor)) } td.n { (yuan(r.profit_minor)) }
                } } }
            }
        }
    }
}

/// `GET /customers`: my customers (or my branch's), filtered and sorted.
pub async fn customer_list(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ViewCustomers>,
    Query(q): Query<customers::CustomerQuery>,
) -> Result<Response, PageError> {
    let path = "/customers";
    let user = &user;
    let lang = ctx.lang;
    let filter = q.filter(lang).page(&ctx, path)?;
    let (min_aum, segment, min_score) = (filter.min_aum, filter.segment, filter.min_score);
    let page_no = q.page().page(&ctx, path)?;
    let segments = panorama_store::acrm::segments(&state.store)
        .await
        .page(&ctx, path)?;
    let models = panorama_store::models::approved(&state.store)
        .await
        .page(&ctx, path)?;
    let per_page = 50;
    let (rows, total) = ocrm::customers(&state.store, &user.scope(), &filter, page_no, per_page)
        .await
        .page(&ctx, path)?;
    context::audit_list(&state, &ctx, "customer.list", &q.described(), rows.len())
        .await
        .page(&ctx, path)?;
    let rows = customers::list_items(user, rows);
    let page = page_no;
    let link = |p: i64| {
        format!(
            "/customers?page={p}&tier={}&min_aum={}&name={}&sort={}&segment={}&model={}&min_score={}",
            urlencode(filter.tier.as_deref().unwrap_or("")),
            min_aum.map(|a| a.to_string()).unwrap_or_default(),
            urlencode(filter.name.as_deref().unwrap_or("")),
            urlencode(filter.sort.as_deref().unwrap_or("")),
            segment.map(|s| s.to_string()).unwrap_or_default(),
            urlencode(filter.model.as_deref().unwrap_or("")),
            min_score.map(|s| s.to_string()).unwrap_or_default(),
        )
    };
    let csrf = ctx.csrf().await;
    let body = html! {
        section {
            form method="get" action="/customers" {
                label { (t::TIER.get(lang)) " " select name="tier" {
                    option value="" { (t::ALL.get(lang)) }
                    @for tier in &state.config.tiers {
                        option value=(tier.code) selected[filter.tier.as_deref() == Some(tier.code.as_str())] {
                            (if lang == Lang::Zh { &tier.zh } else { &tier.en })
                        }
                    }
                } } " "
                label { (t::MIN_AUM.get(lang)) " " input name="min_aum" size="10" value=(min_aum.map(|a| a.to_string()).unwrap_or_default()); } " "
                label { (t::NAME.get(lang)) " " input name="name" size="8" value=(filter.name.as_deref().unwrap_or("")); } " "
                label { (t::SEGMENTS.get(lang)) " " select name="segment" {
                    option value="" { (t::ALL.get(lang)) }
                    @for g in &segments { option value=(g.id) selected[segment == Some(g.id)] { (g.name) } }
                } } " "
                label { (t::MODEL.get(lang)) " " select name="model" {
                    option value="" { "—" }
                    @for m in &models { option value=(m.name) selected[filter.model.as_deref() == Some(m.name.as_str())] { (m.name) " v" (m.version) } }
                } } " "
                label { (t::MIN_SCORE.get(lang)) " " input name="min_score" size="4" placeholder="0.30" value=(min_score.map(|s| s.to_string()).unwrap_or_default()); } " "
                label { (t::SORT.get(lang)) " " select name="sort" {
                    @for s in ocrm::SORTS { option value=(s) selected[filter.sort.as_deref() == Some(*s)] { (s) } }
                } } " "
                button type="submit" { (t::FILTER.get(lang)) }
            }
        }
        section {
            p { (t::TOTAL.get(lang)) " " span id="total" { (total) } }
            (customer_table(&state, lang, &rows))
            p {
                @if page > 0 { a href=(link(page - 1)) { (t::PREV.get(lang)) } " " }
                @if (page + 1) * per_page < total { a href=(link(page + 1)) { (t::NEXT.get(lang)) } }
            }
        }
    };
    Ok(layout(lang, Some(user), &csrf, t::CUSTOMERS.get(lang), body).into_response())
}

/// Query of the search page.
#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

/// `GET /search?q=…` (for links and tools; the page's own form posts).
pub async fn search(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<SearchQuery>,
) -> Result<Response, PageError> {
    search_page(&state, &ctx, &q.q).await
}

/// The search form.
#[derive(Debug, Deserialize)]
pub struct SearchForm {
    csrf: String,
    #[serde(default)]
    q: String,
}

impl HasCsrf for SearchForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /search`: the header's search, the term in the body.
pub async fn search_form(
    State(state): State<AppState>,
    Require { ctx, .. }: Require<perm::ViewCustomers>,
    CsrfForm(f): CsrfForm<SearchForm>,
) -> Result<Response, PageError> {
    search_page(&state, &ctx, &f.q).await
}

async fn search_page(state: &AppState, ctx: &Ctx, q: &str) -> Result<Response, PageError> {
    let user = ctx
        .require(Permission::ViewCustomers)
        .page(ctx, "/search")?;
    let found = customers::search(state, ctx, q, 50)
        .await
        .page(ctx, "/search")?;
    let csrf = ctx.csrf().await;
    let lang = ctx.lang;
    let body = html! { section id="results" { (customer_table(state, lang, &found)) } };
    Ok(layout(lang, Some(user), &csrf, t::SEARCH.get(lang), body).into_response())
}

/// Query of the screen pop.
#[derive(Debug, Deserialize)]
pub struct LookupQuery {
    #[serde(default)]
    phone: String,
}

/// `GET /customers/lookup?phone=…`: the screen pop — straight to the 360°
/// view when exactly one customer in scope has that number.
pub async fn lookup(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ViewCustomers>,
    Query(q): Query<LookupQuery>,
) -> Result<Response, PageError> {
    let path = "/customers/lookup";
    let user = &user;
    let found = customers::search(&state, &ctx, &q.phone, 20)
        .await
        .page(&ctx, path)?;
    if let [one] = found.as_slice() {
        return Ok(Redirect::to(&format!("/customers/{}", one.id)).into_response());
    }
    let csrf = ctx.csrf().await;
    let lang = ctx.lang;
    let body = html! { section id="results" { (customer_table(&state, lang, &found)) } };
    Ok(layout(lang, Some(user), &csrf, t::SEARCH.get(lang), body).into_response())
}

/// `GET /customers/{id}`: the 360° view.
pub async fn customer_360(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let path = format!("/customers/{id}");
    let user = ctx.user().page(&ctx, &path)?.clone();
    let view = customers::customer_360(&state, &ctx, id, Level::for_role(user.role), None)
        .await
        .page(&ctx, &path)?;
    render_360(&state, &ctx, &user, &view).await
}

/// The unmask form.
#[derive(Debug, Deserialize)]
pub struct UnmaskForm {
    csrf: String,
    reason: String,
}

impl HasCsrf for UnmaskForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /customers/{id}/unmask`: the view in clear, after a stated reason
/// (audited as `customer.unmask`).
pub async fn unmask(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::Unmask>,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<UnmaskForm>,
) -> Result<Response, PageError> {
    let path = format!("/customers/{id}");
    let reason = f.reason.trim();
    context::within("reason", reason, 200).page(&ctx, &path)?;
    if reason.chars().count() < 2 {
        return Err(WebError::BadRequest(
            t::UNMASK_REASON.get(ctx.lang).to_owned(),
        ))
        .page(&ctx, &path);
    }
    let view = customers::customer_360(&state, &ctx, id, Level::Clear, Some(reason))
        .await
        .page(&ctx, &path)?;
    render_360(&state, &ctx, &user, &view).await
}

async fn render_360(
    state: &AppState,
    ctx: &Ctx,
    user: &User,
    v: &Customer360,
) -> Result<Response, PageError> {
    let lang = ctx.lang;
    let csrf = ctx.csrf().await;
    let p = &v.profile;
    let dash = "—";
    let f = v.features.as_ref();
    let products = if user.can(Permission::RecordContact) {
        panorama_store::pipeline::products(&state.store)
            .await
            .page(ctx, &format!("/customers/{}", p.id))?
    } else {
        Vec::new()
    };
    let body = html! {
        div.grid {
            section id="basic" {
                h2 { (t::BASIC.get(lang)) }
                dl {
                    dt { (t::NAME.get(lang)) } dd id="name" { (p.name) }
                    dt { (t::CUSTOMER_NO.get(lang)) } dd { (p.customer_no) }
                    dt { (t::TYPE.get(lang)) } dd { (if p.party_type == "person" { t::PERSON.get(lang) } else { t::ORGANISATION.get(lang) }) }
                    @if p.party_type == "person" {
                        dt { (t::GENDER.get(lang)) } dd { (p.gender.as_deref().map_or(dash, |g| t::word(g, lang))) }
                        dt { (t::RESIDENT_ID.get(lang)) } dd id="id-no" { (p.id_no.as_deref().unwrap_or(dash)) }
                    } @else {
                        dt { (t::CREDIT_CODE.get(lang)) } dd { (p.credit_code.as_deref().unwrap_or(dash)) }
                        dt { (t::INDUSTRY.get(lang)) } dd { (p.industry.as_deref().unwrap_or(dash)) }
                    }
                    dt { (t::BRANCH.get(lang)) } dd { (p.branch_name.as_deref().unwrap_or(dash)) " " span.muted { (p.branch.as_deref().unwrap_or("")) } }
                    dt { (t::SINCE.get(lang)) } dd { (p.created_at.get(..10).unwrap_or(&p.created_at)) }
                }
            }
            section id="contact-info" {
                h2 { (t::CONTACT_INFO.get(lang)) }
                dl {
                    dt { (t::MOBILE.get(lang)) } dd id="mobile" { (p.mobile.as_deref().unwrap_or(dash)) }
                    dt { (t::EMAIL.get(lang)) } dd { (p.email.as_deref().unwrap_or(dash)) }
                    dt { (t::ADDRESS.get(lang)) } dd { (p.address.as_deref().unwrap_or(dash)) }
                }
                @if user.can(Permission::Unmask) && !v.unmasked {
                    form method="post" action={ "/customers/" (p.id) "/unmask" } {
                        input type="hidden" name="csrf" value=(csrf);
                        input name="reason" required placeholder=(t::UNMASK_REASON.get(lang)) size="18";
                        " " button type="submit" { (t::UNMASK.get(lang)) }
                    }
                }
            }
            section id="special" {
                h2 { (t::SPECIAL.get(lang)) }
                @let prefs = &v.preferences;
                @let preferred = v.channels.iter().fold(std::collections::BTreeMap::<&str, i64>::new(), |mut m, c| {
                    *m.entry(c.0.as_str()).or_default() += c.2;
                    m
                }).into_iter().max_by_key(|(_, n)| *n).map(|(c, _)| c);
                dl {
                    dt { (t::BIRTH_DATE.get(lang)) } dd { (p.birth_date.as_deref().unwrap_or(dash)) }
                    dt { (t::CUSTOMER_SINCE.get(lang)) } dd id="customer-since" { (v.customer_since.as_deref().unwrap_or(dash)) }
                    dt { (t::PREFERRED_CHANNEL.get(lang)) } dd { (preferred.map_or(dash, |c| t::word(c, lang))) }
                    dt { (t::CONTACT_PREFS.get(lang)) } dd id="preferences" {
                        @if prefs.opt_out_all { span.tag.err { (t::OPT_OUT_ALL.get(lang)) } }
                        @if prefs.opt_out_phone { span.tag { (t::OPT_OUT_PHONE.get(lang)) } }
                        @if prefs.opt_out_sms { span.tag { (t::OPT_OUT_SMS.get(lang)) } }
                        @if prefs.opt_out_email { span.tag { (t::OPT_OUT_EMAIL.get(lang)) } }
                        @if prefs.dnd_rest_days { span.tag { (t::DND_REST_DAYS.get(lang)) } }
                        @if *prefs == ocrm::ContactPrefs::default() { (t::NO_RESTRICTIONS.get(lang)) }
                    }
                    dt { (t::SEGMENTS.get(lang)) } dd { @for (_, s) in &v.segments { span.tag { (s) } } @if v.segments.is_empty() { (dash) } }
                }
                @if user.can(Permission::RecordContact) {
                    details {
                        summary { (t::CHANGE_PREFS.get(lang)) }
                        form id="preferences-form" method="post" action={ "/customers/" (p.id) "/preferences" } {
                            input type="hidden" name="csrf" value=(csrf);
                            @for (name, label, on) in [
                                ("opt_out_all", t::OPT_OUT_ALL, prefs.opt_out_all),
                                ("opt_out_phone", t::OPT_OUT_PHONE, prefs.opt_out_phone),
                                ("opt_out_sms", t::OPT_OUT_SMS, prefs.opt_out_sms),
                                ("opt_out_email", t::OPT_OUT_EMAIL, prefs.opt_out_email),
                                ("dnd_rest_days", t::DND_REST_DAYS, prefs.dnd_rest_days),
                            ] {
                                label { input type="checkbox" name=(name) id={ "pref-" (name) } checked[on]; " " (label.get(lang)) } br;
                            }
                            button type="submit" id="save-preferences" { (t::SAVE.get(lang)) }
                        }
                    }
                }
            }
            section id="financial" {
                h2 { (t::FINANCIAL.get(lang)) }
                dl {
                    dt { (t::TIER.get(lang)) } dd id="tier" { (tier_name(state, lang, f.and_then(|f| f.tier.as_deref()))) }
                    dt { (t::AUM.get(lang)) } dd { (yuan(f.map(|f| f.aum_minor))) }
                    dt { (t::AUM_AVG.get(lang)) } dd { (yuan(f.map(|f| f.aum_avg_minor))) }
                    dt { "贷款 Loans" } dd { (yuan(f.map(|f| f.loan_minor))) }
                    dt { (t::PROFIT.get(lang)) } dd { (yuan(f.and_then(|f| f.profit_minor))) }
                    @if let Some((value, run)) = &v.value {
                        dt { (t::CLV.get(lang)) }
                        dd id="clv" {
                            (yuan(Some(value.clv_minor)))
                            " · " (t::VALUE_RANK.get(lang)) " " (top_share(value.rank_bp, lang))
                            br;
                            span.muted { (value_basis(value, run, lang)) }
                        }
                    }
                    dt { (t::AS_OF.get(lang)) } dd { (f.map_or(dash, |f| f.as_of.as_str())) }
                }
            }
        }
        @if !v.offers.is_empty() {
            section id="live-offers" {
                h2 { (t::LIVE_OFFERS.get(lang)) }
                table { tbody { @for o in &v.offers { tr {
                    td { a href={ "/campaigns/" (o.campaign_id) } { (o.name) } " · " (o.arm) }
                    td { (o.product_code.as_deref().unwrap_or(dash)) }
                    td { (o.script.as_deref().unwrap_or("")) }
                    td.muted { (o.channel.as_deref().unwrap_or(dash)) @if let Some(d) = &o.ends_on { " · " (t::ENDS.get(lang)) " " (d) } }
                } } } }
            }
        }
        @if !v.scores.is_empty() {
            section id="scores" {
                h2 { (t::MODEL_SCORES.get(lang)) }
                @if let Some(best) = v.scores.iter().filter(|m| m.kind.starts_with("uptake:")).max_by(|a, b| a.score.total_cmp(&b.score)) {
                    p id="next-best" {
                        strong { (t::NEXT_BEST.get(lang)) ": " }
                        (best.kind.trim_start_matches("uptake:")) " (" (format!("{:.1}%", 100.0 * best.score)) ")"
                    }
                }
                table { thead { tr {
                    th { (t::MODEL.get(lang)) } th.n { (t::SCORE.get(lang)) } th { (t::TOP_REASONS.get(lang)) } th { (t::AS_OF.get(lang)) }
                } }
                tbody { @for m in &v.scores { tr {
                    td {
                        (if m.kind == "churn" { t::CHURN_RISK.get(lang) } else { t::UPTAKE.get(lang) })
                        @if let Some(class) = m.kind.strip_prefix("uptake:") { " · " (class) }
                        span.muted { " (" (m.name) " v" (m.version) ")" }
                    }
                    td.n { (format!("{:.1}%", 100.0 * m.score)) }
                    td { @for (zh, en, _) in &m.reasons { span.tag { (if lang == Lang::Zh { zh } else { en }) } " " } }
                    td { (m.as_of) }
                } } }
                }
            }
        }
        section id="trend" { h2 { (t::TREND.get(lang)) }
            @if v.trend.is_empty() { p.muted { "—" } } @else {
                (crate::ui::chart("trend-chart", "aum-trend", &format!("/api/customers/{}", p.id), &class_words(&v.trend, lang),
                    &[("json", serde_json::json!({ "trend": &v.trend }).to_string())]))
            }
        }
        section id="accounts" {
            h2 { (t::ACCOUNTS.get(lang)) " (" (v.accounts.len()) ")" }
            table { thead { tr {
                th { (t::PRODUCT.get(lang)) } th { (t::ACCOUNT_NO.get(lang)) } th { (t::OPENED.get(lang)) }
                th { (t::MATURES.get(lang)) } th { (t::STATUS.get(lang)) } th.n { (t::BALANCE.get(lang)) }
            } }
            tbody { @for a in &v.accounts { tr {
                td { (if lang == Lang::Zh { a.product_name.as_deref() } else { a.product_name_en.as_deref() }.unwrap_or(&a.product_code)) }
                td { (a.account_no) }
                td { (a.opened_on) } td { (a.matures_on.as_deref().unwrap_or(dash)) }
                td { (match a.status.as_str() { "active" => t::ACTIVE.get(lang), "dormant" => t::DORMANT.get(lang), _ => t::CLOSED.get(lang) }) }
                td.n { (yuan(a.balance_minor)) }
            } } } }
        }
        div.grid {
            section id="channels" {
                h2 { (t::TRANSACTIONS.get(lang)) }
                table { thead { tr { th { (t::CHANNEL.get(lang)) } th { "" } th.n { (t::COUNT.get(lang)) } th.n { (t::AMOUNT.get(lang)) } } }
                tbody { @for (channel, dir, n, amount) in &v.channels { tr {
                    td { (t::word(channel, lang)) } td { (if dir == "C" { t::CREDIT.get(lang) } else { t::DEBIT.get(lang) }) }
                    td.n { (n) } td.n { (yuan(Some(*amount))) }
                } } } }
            }
            section id="family" {
                h2 { (t::FAMILY.get(lang)) }
                @if user.can(Permission::Refer) { (crate::referrals::form(p.id, &v.related, &csrf, lang)) }
                @if v.related.is_empty() { p.muted { (t::NONE.get(lang)) } }
                table { tbody { @for r in &v.related { tr {
                    td { a href={ "/customers/" (r.customer_id) } { (r.name) } } td { (t::word(&r.kind, lang)) } td.muted { (t::word(&r.source, lang)) }
                } } } }
            }
            section id="tier-history" {
                h2 { (t::TIER_HISTORY.get(lang)) }
                table { tbody { @for (as_of, tier, previous) in v.tiers.iter().take(24) { tr {
                    td { (as_of) } td { (tier_name(state, lang, previous.as_deref())) " → " (tier_name(state, lang, Some(tier))) }
                } } } }
            }
        }
        section id="sources" {
            h2 { (t::WHY_ONE_CUSTOMER.get(lang)) " (" (v.sources.len()) ")" }
            table { thead { tr { th { (t::SOURCE_RECORD.get(lang)) } th { (t::LINK_RULE.get(lang)) } th.n { (t::PROBABILITY.get(lang)) } th { (t::LINKED_TO.get(lang)) } } }
                tbody { @for s in &v.sources {
                    @let ev: serde_json::Value = s.evidence.as_deref().and_then(|e| serde_json::from_str(e).ok()).unwrap_or_default();
                    @let to = ev["linked_to"].as_i64().and_then(|r| v.sources.iter().find(|x| x.record_id == r));
                    tr { td { (s.system) " " span.muted { (s.source_key) } } td { (s.rule) } td.n { (format!("{:.4}", s.score)) }
                        td { @if let Some(to) = to { (to.system) " " span.muted { (to.source_key) } } } }
                    @if ev["waterfall"].is_object() {
                        tr.why { td colspan="4" { (crate::steward_pages::waterfall(&ev["waterfall"], lang)) } }
                    }
                } }
            }
        }
        section id="recent" {
            h2 { (t::RECENT_TXNS.get(lang)) }
            table { tbody { @for x in &v.recent { tr {
                td { (crate::ui::when(&x.booked_at)) } td { (x.account_no) } td { (t::word(&x.channel, lang)) }
                td { (if x.direction == "C" { t::CREDIT.get(lang) } else { t::DEBIT.get(lang) }) }
                td.n { (yuan(Some(x.amount_minor))) } td.muted { (x.counterparty_name.as_deref().unwrap_or("")) }
            } } } }
        }
        div.grid {
            section id="contacts" {
                h2 { (t::CONTACTS.get(lang)) }
                @if user.can(Permission::RecordContact) {
                    form id="contact-form" method="post" action={ "/customers/" (p.id) "/contacts" } {
                        input type="hidden" name="csrf" value=(csrf);
                        select name="channel" {
                            option value="phone" { (t::PHONE_CALL.get(lang)) }
                            option value="visit" { (t::VISIT.get(lang)) }
                            option value="branch" { (t::AT_BRANCH.get(lang)) }
                            @for c in &ocrm::CONTACT_CHANNELS[3..] { option value=(c) { (t::word(c, lang)) } }
                        } " "
                        input name="outcome" id="outcome" required placeholder=(t::OUTCOME.get(lang)) size="14"; " "
                        input name="notes" id="notes" placeholder=(t::NOTES.get(lang)) size="20"; " "
                        label { (t::FOLLOW_UP.get(lang)) " " input type="date" name="follow_up_on"; } " "
                        button type="submit" id="save-contact" { (t::RECORD_CONTACT.get(lang)) }
                    }
                }
                table { tbody id="contact-list" { @for k in &v.contacts { tr {
                    td { (crate::ui::when(&k.at)) } td { (t::word(&k.channel, lang)) } td { (k.outcome) }
                    td { (k.notes.as_deref().unwrap_or("")) } td.muted { (k.by.as_deref().unwrap_or("")) }
                } } } }
            }
            section id="customer-alerts" {
                h2 { (t::ALERTS.get(lang)) }
                (alert_table(&v.alerts, lang, false))
            }
            section id="customer-complaints" {
                h2 { (t::COMPLAINTS.get(lang)) }
                @if user.can(Permission::HandleComplaints) { (crate::complaints::new_form(p.id, &csrf, lang)) }
                @if v.complaints.is_empty() { p.muted { (t::NONE.get(lang)) } }
                (crate::complaints::table(&v.complaints, lang))
            }
            section id="opportunities" {
                h2 { (t::OPPORTUNITIES.get(lang)) }
                @if !products.is_empty() {
                    form id="opportunity-form" method="post" action={ "/customers/" (p.id) "/opportunities" } {
                        input type="hidden" name="csrf" value=(csrf);
                        select name="product_code" id="opportunity-product" { @for (code, zh, en) in &products {
                            option value=(code) { (if lang == Lang::Zh { zh } else { en }) }
                        } } " "
                        input name="amount" id="opportunity-amount" placeholder=(t::EXPECTED_AMOUNT.get(lang)) size="12"; " "
                        label { (t::EXPECTED_CLOSE.get(lang)) " " input type="date" name="expected_close"; } " "
                        button type="submit" id="save-opportunity" { (t::NEW_OPPORTUNITY.get(lang)) }
                    }
                }
                @if v.opportunities.is_empty() { p.muted { (t::NONE.get(lang)) } }
                table { tbody id="opportunity-list" { @for o in &v.opportunities { tr {
                    td { (o.product_code.as_deref().unwrap_or(dash)) } td { (crate::pipeline::stage_name(&o.stage).get(lang)) }
                    td.n { (yuan(o.amount_minor)) } td { (o.expected_close.as_deref().unwrap_or(dash)) }
                } } } }
            }
        }
    };
    Ok(layout(lang, Some(user), &csrf, &p.name, body).into_response())
}

/// The alerts of the last week of batches for the customers in the user's
/// scope (an RM's: those on their task list).
pub(crate) async fn recent_alerts(
    state: &AppState,
    user: &User,
) -> Result<Vec<ocrm::AlertRow>, panorama_store::StoreError> {
    let Some(latest) = ocrm::latest_alert_date(&state.store).await? else {
        return Ok(Vec::new());
    };
    let since = chrono::NaiveDate::parse_from_str(&latest, "%Y-%m-%d")
        .map(|d| (d - chrono::Days::new(7)).to_string())
        .unwrap_or(latest);
    match user.scope() {
        ocrm::Scope::Assigned(rm) => ocrm::alerts_of_owner(&state.store, rm, &since, 50).await,
        scope => ocrm::alerts(&state.store, &scope, &since, 50).await,
    }
}

/// An alert rule's name.
pub(crate) fn rule_name(rule: &str, lang: Lang) -> &'static str {
    match rule {
        "birthday" => t::RULE_BIRTHDAY,
        "contact_birthday" => t::RULE_CONTACT_BIRTHDAY,
        "maturity" => t::RULE_MATURITY,
        "balance_change" => t::RULE_BALANCE_CHANGE,
        "dormant" => t::RULE_DORMANT,
        "tier_change" => t::RULE_TIER_CHANGE,
        "aum_decline" => t::RULE_AUM_DECLINE,
        "large_debit" => t::RULE_LARGE_DEBIT,
        "outbound_transfer" => t::RULE_OUTBOUND_TRANSFER,
        "maturity_outflow" => t::RULE_MATURITY_OUTFLOW,
        "large_credit" => t::RULE_LARGE_CREDIT,
        "dormant_wake" => t::RULE_DORMANT_WAKE,
        "new_channel" => t::RULE_NEW_CHANNEL,
        _ => t::ALERTS,
    }
    .get(lang)
}

/// Alerts as a table; `link` adds a link to each customer.
pub(crate) fn alert_table(alerts: &[ocrm::AlertRow], lang: Lang, link: bool) -> Markup {
    html! {
        @if alerts.is_empty() { p.muted { (t::NO_ALERTS.get(lang)) } }
        table { tbody { @for a in alerts { tr class={ "sev-" (a.severity) } {
            td { (a.as_of) }
            td { span class={ "tag " (a.rule) } { (rule_name(&a.rule, lang)) } }
            td {
                @let text = match (lang, &a.message_en) {
                    (Lang::En, Some(en)) => en.as_str(),
                    _ => a.message.as_str(),
                };
                @if link { a href={ "/customers/" (a.customer_id) } { (text) } } @else { (text) }
            }
            td { (a.due_on.as_deref().unwrap_or("")) }
        } } } }
    }
}

/// The words of the product classes in a balance trend, for its chart.
fn class_words(trend: &[(String, String, i64)], lang: Lang) -> Vec<(String, String)> {
    let mut classes: Vec<&str> = trend.iter().map(|(_, c, _)| c.as_str()).collect();
    classes.sort_unstable();
    classes.dedup();
    classes
        .into_iter()
        .map(|c| (c.to_owned(), t::word(c, lang).to_owned()))
        .collect()
}

/// The contact form.
#[derive(Debug, Deserialize)]
pub struct ContactForm {
    csrf: String,
    channel: String,
    outcome: String,
    notes: Option<String>,
    follow_up_on: Option<String>,
}

impl HasCsrf for ContactForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /customers/{id}/preferences`: the customer's contact preferences
/// as they stated them (checkboxes; unchecked means allowed); audited.
pub async fn set_preferences(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::RecordContact>,
    Path(id): Path<i64>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let path = format!("/customers/{id}");
    let user = &user;
    let csrf = fields
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    ctx.check_csrf(csrf).await.page(&ctx, &path)?;
    if ocrm::customer_in_scope(&state.store, &user.scope(), id)
        .await
        .page(&ctx, &path)?
        .is_none()
    {
        return Err(WebError::NotFound).page(&ctx, &path);
    }
    let on = |name: &str| fields.iter().any(|(k, _)| k == name);
    let prefs = ocrm::ContactPrefs {
        opt_out_all: on("opt_out_all"),
        opt_out_sms: on("opt_out_sms"),
        opt_out_email: on("opt_out_email"),
        opt_out_phone: on("opt_out_phone"),
        dnd_rest_days: on("dnd_rest_days"),
    };
    ocrm::set_preferences(&state.store, id, &prefs, &user.username)
        .await
        .page(&ctx, &path)?;
    Ok(Redirect::to(&format!("{path}#special")).into_response())
}

/// `POST /customers/{id}/contacts`: records a call or visit (a follow-up date
/// becomes a task).
pub async fn record_contact(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::RecordContact>,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<ContactForm>,
) -> Result<Response, PageError> {
    let path = format!("/customers/{id}");
    let user = &user;
    if ocrm::customer_in_scope(&state.store, &user.scope(), id)
        .await
        .page(&ctx, &path)?
        .is_none()
    {
        return Err(WebError::NotFound).page(&ctx, &path);
    }
    let outcome = f.outcome.trim();
    if let Some(notes) = &f.notes {
        context::within("notes", notes, 2000).page(&ctx, &path)?;
    }
    if outcome.is_empty() || outcome.chars().count() > 200 {
        return Err(WebError::BadRequest(t::OUTCOME.get(ctx.lang).to_owned())).page(&ctx, &path);
    }
    let follow = f
        .follow_up_on
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if let Some(d) = follow
        && chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err()
    {
        return Err(WebError::BadRequest(format!(
            "{}: {d}",
            t::FOLLOW_UP.get(ctx.lang)
        )))
        .page(&ctx, &path);
    }
    let contact = ocrm::record_contact(
        &state.store,
        &NewContact {
            customer_id: id,
            user_id: user.id,
            channel: &f.channel,
            outcome,
            notes: f.notes.as_deref().map(str::trim).filter(|s| !s.is_empty()),
            follow_up_on: follow,
        },
    )
    .await
    .page(&ctx, &path)?;
    ctx.audit(
        &state,
        ocrm::Audit {
            action: "contact.record",
            customer_id: Some(id),
            object_type: Some("contact"),
            object_id: Some(&contact.to_string()),
            ..ocrm::Audit::default()
        },
    )
    .await
    .page(&ctx, &path)?;
    Ok(Redirect::to(&format!("{path}#contacts")).into_response())
}

/// `POST /tasks/{id}/done`.
pub async fn task_done(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ViewCustomers>,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<TokenOnly>,
) -> Result<Response, PageError> {
    let user = &user;
    if !ocrm::complete_task(&state.store, user.id, id)
        .await
        .page(&ctx, "/")?
    {
        return Err(WebError::NotFound).page(&ctx, "/");
    }
    Ok(Redirect::to("/#tasks").into_response())
}

/// This feature's routes.
pub(crate) fn routes() -> axum::Router<crate::AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/customers", get(customer_list))
        .route("/customers/lookup", get(lookup))
        .route("/customers/{id}", get(customer_360))
        .route("/customers/{id}/contacts", post(record_contact))
        .route("/customers/{id}/unmask", post(unmask))
        .route("/customers/{id}/preferences", post(set_preferences))
        .route("/search", get(search).post(search_form))
        .route("/tasks/{id}/done", post(task_done))
}

/// "top 12 %": the share of customers worth at least as much.
pub(crate) fn top_share(rank_bp: i64, lang: Lang) -> String {
    let top = (10_000 - rank_bp).max(1) as f64 / 100.0;
    let top = if top < 1.0 {
        format!("{top:.2}")
    } else {
        format!("{top:.0}")
    };
    match lang {
        Lang::Zh => format!("{}{top}%", t::TOP.get(lang)),
        Lang::En => format!("{} {top}%", t::TOP.get(lang)),
    }
}

/// How a value was reached: the horizon, the retention and the discount.
pub(crate) fn value_basis(
    v: &panorama_store::values::ValueRow,
    run: &panorama_store::values::ValueRun,
    lang: Lang,
) -> String {
    format!(
        "{} {} · {} {:.0}% · {} {:.0}% · {}",
        run.horizon_years,
        t::YEARS_MARGIN.get(lang),
        t::RETAINED.get(lang),
        v.retention_bp as f64 / 100.0,
        t::DISCOUNTED.get(lang),
        run.discount_bp as f64 / 100.0,
        run.as_of
    )
}
