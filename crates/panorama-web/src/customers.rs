//! Customers as the RM sees them, shared by pages and the JSON API: the
//! list's query and its masked rows, search in the caller's scope (audited
//! with a masked key), and the customer 360° view assembled and masked for
//! the caller.

use panorama_store::ocrm::{self, Audit};
use serde::Serialize;

use crate::AppState;
use crate::auth::{Permission, User};
use crate::error::WebError;
use crate::i18n::{self as t, Lang};
use crate::mask::{self, Level};

use crate::context::{Ctx, given, within};

/// The customer list's query, as the page's form and the API send it:
/// every value text (numbers parsed here, with a clear error).
#[derive(Debug, Default, serde::Deserialize)]
pub struct CustomerQuery {
    page: Option<String>,
    per_page: Option<String>,
    tier: Option<String>,
    min_aum: Option<String>,
    name: Option<String>,
    sort: Option<String>,
    segment: Option<String>,
    model: Option<String>,
    min_score: Option<String>,
}

/// The last page a list pages to: far beyond any bank's customers, and far
/// from overflowing the offset it becomes.
pub const MAX_PAGE: i64 = 10_000_000;

impl CustomerQuery {
    /// The filter, or which value is not a number of its kind.
    pub fn filter(&self, lang: Lang) -> Result<ocrm::CustomerFilter, WebError> {
        let min_aum = given(&self.min_aum)
            .map(|s| {
                s.parse::<i64>()
                    .ok()
                    .filter(|v| (0..=i64::MAX / 100).contains(v))
                    .ok_or_else(|| WebError::BadRequest(format!("{}: {s}", t::MIN_AUM.get(lang))))
            })
            .transpose()?;
        let segment = given(&self.segment)
            .map(|s| {
                s.parse::<i64>()
                    .map_err(|_| WebError::BadRequest(format!("{}: {s}", t::SEGMENTS.get(lang))))
            })
            .transpose()?;
        let min_score = given(&self.min_score)
            .map(|s| {
                s.parse::<f64>()
                    .ok()
                    .filter(|v| (0.0..=1.0).contains(v))
                    .ok_or_else(|| WebError::BadRequest(format!("{}: {s}", t::MIN_SCORE.get(lang))))
            })
            .transpose()?;
        Ok(ocrm::CustomerFilter {
            tier: given(&self.tier).map(str::to_owned),
            min_aum,
            segment,
            name: self.name.clone(),
            sort: given(&self.sort).map(str::to_owned),
            model: given(&self.model).map(str::to_owned),
            min_score,
        })
    }

    /// The page (0 first), or an error if it is not a page number.
    pub fn page(&self) -> Result<i64, WebError> {
        Ok(given(&self.page)
            .map(|p| {
                p.parse::<i64>()
                    .ok()
                    .filter(|p| (0..=MAX_PAGE).contains(p))
                    .ok_or_else(|| WebError::BadRequest(format!("page: 0 to {MAX_PAGE}, not {p}")))
            })
            .transpose()?
            .unwrap_or(0))
    }

    /// Rows a page, if asked.
    pub fn per_page(&self) -> Result<Option<i64>, WebError> {
        given(&self.per_page)
            .map(|p| {
                p.parse::<i64>()
                    .map_err(|_| WebError::BadRequest(format!("per_page: a number, not {p}")))
            })
            .transpose()
    }

    /// The filters as the audit trail keeps them (the name prefix masked).
    pub fn described(&self) -> String {
        let mut parts = Vec::new();
        for (key, value) in [
            ("tier", &self.tier),
            ("min_aum", &self.min_aum),
            ("sort", &self.sort),
            ("segment", &self.segment),
            ("model", &self.model),
            ("min_score", &self.min_score),
            ("page", &self.page),
            ("per_page", &self.per_page),
        ] {
            if let Some(v) = given(value) {
                parts.push(format!("{key}={}", v.chars().take(40).collect::<String>()));
            }
        }
        if let Some(n) = given(&self.name) {
            parts.push(format!("name={}", mask::name(n, "", Level::Strict)));
        }
        parts.join("&")
    }
}

/// A customer in a list, masked for the caller.
#[derive(Debug, Clone, Serialize)]
pub struct ListItem {
    /// Id (the link to the 360° view).
    pub id: i64,
    /// Customer number.
    pub customer_no: String,
    /// `person` or `organisation`.
    pub party_type: String,
    /// Name, masked per role.
    pub name: String,
    /// Mobile, masked.
    pub mobile: Option<String>,
    /// Home branch.
    pub branch: Option<String>,
    /// Tier code.
    pub tier: Option<String>,
    /// AUM, fen.
    pub aum_minor: Option<i64>,
    /// Monthly average AUM, fen.
    pub aum_avg_minor: Option<i64>,
    /// Profit, fen.
    pub profit_minor: Option<i64>,
}

/// Masks list rows for `user`.
pub fn list_items(user: &User, rows: Vec<ocrm::CustomerListRow>) -> Vec<ListItem> {
    let level = Level::for_role(user.role);
    rows.into_iter()
        .map(|r| ListItem {
            name: mask::name(&r.name, &r.customer_no, level),
            mobile: r.mobile.as_deref().map(|m| mask::mobile(m, level)),
            id: r.id,
            customer_no: r.customer_no,
            party_type: r.party_type,
            branch: r.branch,
            tier: r.tier,
            aum_minor: r.aum_minor,
            aum_avg_minor: r.aum_avg_minor,
            profit_minor: r.profit_minor,
        })
        .collect()
}

/// The 360° view of a customer, masked for the caller.
#[derive(Debug, Clone, Serialize)]
pub struct Customer360 {
    /// The golden record, masked.
    pub profile: Profile,
    /// Latest features (tier, AUM, …).
    pub features: Option<ocrm::FeatureRow>,
    /// Accounts with their latest balances.
    pub accounts: Vec<ocrm::AccountRow>,
    /// Month-end balances by month and product class.
    pub trend: Vec<(String, String, i64)>,
    /// Transactions of the last 12 months by channel and direction.
    pub channels: Vec<(String, String, i64, i64)>,
    /// Latest transactions.
    pub recent: Vec<ocrm::TxnRow>,
    /// Tier changes.
    pub tiers: Vec<(String, String, Option<String>)>,
    /// Household members and relationships (names masked).
    pub related: Vec<ocrm::RelatedRow>,
    /// Segments.
    pub segments: Vec<(i64, String)>,
    /// Contacts.
    pub contacts: Vec<ocrm::ContactRow>,
    /// Open opportunities.
    pub opportunities: Vec<ocrm::OpportunityRow>,
    /// Contact preferences (the campaigns' contact policy).
    pub preferences: ocrm::ContactPrefs,
    /// The first account's opening day (the relationship anniversary).
    pub customer_since: Option<String>,
    /// Complaints, the unresolved first.
    pub complaints: Vec<panorama_store::complaints::ComplaintRow>,
    /// Alerts the batch raised, newest first.
    pub alerts: Vec<ocrm::AlertRow>,
    /// Latest scores of the approved models, with their top reasons.
    pub scores: Vec<ScoreView>,
    /// Offers of live campaigns the customer is a treated member of.
    pub offers: Vec<panorama_store::campaigns::LiveOffer>,
    /// The source records behind the golden record and how each was linked
    /// (the pair's waterfall: field, level, weight — no values).
    pub sources: Vec<panorama_store::ecif::SourceLink>,
    /// The customer's value from the last nightly run, with its parameters.
    pub value: Option<(
        panorama_store::values::ValueRow,
        panorama_store::values::ValueRun,
    )>,
    /// Whether PII is shown in clear (after an audited reason).
    pub unmasked: bool,
}

/// A model's score of the customer and why.
#[derive(Debug, Clone, Serialize)]
pub struct ScoreView {
    /// Model name.
    pub name: String,
    /// What it predicts (`uptake:card`, `churn`).
    pub kind: String,
    /// Version.
    pub version: i64,
    /// Scored as of.
    pub as_of: String,
    /// Probability.
    pub score: f64,
    /// The features that raise it most: (Chinese, English, log-odds weight).
    pub reasons: Vec<(String, String, f64)>,
}

/// A stored score with its reasons put in words from the model's feature list.
fn score_view(s: panorama_store::models::CustomerScore) -> ScoreView {
    let features: Vec<serde_json::Value> = serde_json::from_str(&s.features).unwrap_or_default();
    let meaning = |column: &str| {
        features
            .iter()
            .find(|f| f["name"] == column)
            .map(|f| {
                let text = |k: &str| f[k].as_str().unwrap_or(column).to_owned();
                (text("zh"), text("en"))
            })
            .unwrap_or_else(|| (column.to_owned(), column.to_owned()))
    };
    let reasons: Vec<(String, f64)> = s
        .reasons
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok())
        .unwrap_or_default();
    ScoreView {
        reasons: reasons
            .into_iter()
            .map(|(column, weight)| {
                let (zh, en) = meaning(&column);
                (zh, en, weight)
            })
            .collect(),
        name: s.name,
        kind: s.kind,
        version: s.version,
        as_of: s.as_of,
        score: s.score,
    }
}

/// The golden record's fields, masked per level.
#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    /// Id.
    pub id: i64,
    /// Customer number.
    pub customer_no: String,
    /// `person` or `organisation`.
    pub party_type: String,
    /// Name.
    pub name: String,
    /// Gender.
    pub gender: Option<String>,
    /// Birth date.
    pub birth_date: Option<String>,
    /// Resident id.
    pub id_no: Option<String>,
    /// Credit code (not personal data: shown).
    pub credit_code: Option<String>,
    /// Mobile.
    pub mobile: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Address.
    pub address: Option<String>,
    /// Industry.
    pub industry: Option<String>,
    /// Home branch code.
    pub branch: Option<String>,
    /// Home branch name.
    pub branch_name: Option<String>,
    /// Golden record created.
    pub created_at: String,
}

/// Loads the 360° view of customer `id` if it is in the user's scope
/// (otherwise `NotFound`), masks it at `level`, and audits the view.
pub async fn customer_360(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    level: Level,
    reason: Option<&str>,
) -> Result<Customer360, WebError> {
    let user = ctx.require(Permission::ViewCustomers)?;
    let store = &state.store;
    let Some(c) = ocrm::customer_in_scope(store, &user.scope(), id).await? else {
        ctx.audit(
            state,
            Audit {
                action: "customer.view",
                object_type: Some("customer"),
                object_id: Some(&id.to_string()),
                outcome: "denied",
                detail: Some("not found or out of scope"),
                ..Audit::default()
            },
        )
        .await?;
        return Err(WebError::NotFound);
    };
    let since = (chrono::Utc::now() - chrono::Duration::days(365))
        .format("%Y-%m-%d")
        .to_string();
    let features = ocrm::features_of(store, id).await?;
    let since = features
        .as_ref()
        .and_then(|f| chrono::NaiveDate::parse_from_str(&f.as_of, "%Y-%m-%d").ok())
        .and_then(|d| d.checked_sub_months(chrono::Months::new(12)))
        .map_or(since, |d| d.format("%Y-%m-%d").to_string());
    let mut related = ocrm::related_of(store, id).await?;
    for r in &mut related {
        r.name = mask::name(&r.name, &format!("#{}", r.customer_id), level);
    }
    let pseudonym = c.customer_no.clone();
    let view = Customer360 {
        profile: Profile {
            id: c.id,
            name: mask::name(&c.name, &c.customer_no, level),
            customer_no: c.customer_no,
            party_type: c.party_type,
            gender: c.gender,
            birth_date: c.birth_date.as_deref().map(|d| mask::birth_date(d, level)),
            id_no: c.id_no.as_deref().map(|v| mask::resident_id(v, level)),
            credit_code: c.credit_code,
            mobile: c.mobile.as_deref().map(|v| mask::mobile(v, level)),
            email: c.email.as_deref().map(|v| mask::email(v, level)),
            address: c.address.as_deref().map(|v| mask::address(v, level)),
            industry: c.industry,
            branch: c.branch,
            branch_name: c.branch_name,
            created_at: c.created_at,
        },
        features: features.map(|f| ocrm::FeatureRow {
            features: mask::features(&f.features, level),
            ..f
        }),
        // Card and account numbers six and four, counterparties by the
        // level's rule for names: the clear view is the audited unmask.
        accounts: ocrm::accounts_of(store, id)
            .await?
            .into_iter()
            .map(|a| ocrm::AccountRow {
                account_no: mask::account_no(&a.account_no, level),
                ..a
            })
            .collect(),
        trend: ocrm::balance_trend(store, id).await?,
        channels: ocrm::transactions_by_channel(store, id, &since).await?,
        recent: ocrm::recent_transactions(store, id, 20)
            .await?
            .into_iter()
            .map(|x| ocrm::TxnRow {
                account_no: mask::account_no(&x.account_no, level),
                counterparty_name: x
                    .counterparty_name
                    .as_deref()
                    .map(|n| mask::counterparty(n, level)),
                ..x
            })
            .collect(),
        tiers: ocrm::tier_history_of(store, id).await?,
        related,
        segments: ocrm::segments_of(store, id).await?,
        contacts: ocrm::contacts_of(store, id, 50).await?,
        opportunities: ocrm::opportunities(store, Some(id), None)
            .await?
            .into_iter()
            .map(|o| ocrm::OpportunityRow {
                customer_name: mask::name(&o.customer_name, &pseudonym, level),
                ..o
            })
            .collect(),
        preferences: ocrm::preferences_of(store, id).await?,
        customer_since: ocrm::first_opened_on(store, id).await?,
        // The customer's own name, masked like the profile's.
        complaints: panorama_store::complaints::list(store, &ocrm::Scope::All, None, Some(id), 20)
            .await?
            .into_iter()
            .map(|k| panorama_store::complaints::ComplaintRow {
                customer_name: mask::name(&k.customer_name, &k.customer_no, level),
                ..k
            })
            .collect(),
        alerts: ocrm::alerts_of(store, id, 20).await?,
        offers: panorama_store::campaigns::live_offers(store, id).await?,
        scores: panorama_store::models::customer_scores(store, id)
            .await?
            .into_iter()
            .map(score_view)
            .collect(),
        sources: panorama_store::ecif::source_links(store, id).await?,
        value: match (
            panorama_store::values::of(store, id).await?,
            panorama_store::values::run(store).await?,
        ) {
            (Some(v), Some(r)) => Some((v, r)),
            _ => None,
        },
        unmasked: level == Level::Clear,
    };
    ctx.audit(
        state,
        Audit {
            action: if level == Level::Clear {
                "customer.unmask"
            } else {
                "customer.view"
            },
            customer_id: Some(id),
            object_type: Some("customer"),
            object_id: Some(&id.to_string()),
            reason,
            ..Audit::default()
        },
    )
    .await?;
    Ok(view)
}

/// Runs a search in the user's scope, audited with the kind of key and a
/// masked value (the trail itself holds no clear PII).
pub async fn search(
    state: &AppState,
    ctx: &Ctx,
    q: &str,
    limit: i64,
) -> Result<Vec<ListItem>, WebError> {
    let user = ctx.require(Permission::ViewCustomers)?;
    within("q", q, 100)?;
    let Some(key) = ocrm::SearchKey::parse(q) else {
        return Ok(Vec::new());
    };
    let rows = ocrm::search(&state.store, &user.scope(), &key, limit).await?;
    let (kind, shown) = match &key {
        ocrm::SearchKey::Mobile(m) => ("mobile", mask::mobile(m, Level::Masked)),
        ocrm::SearchKey::ResidentId(v) => ("resident_id", mask::resident_id(v, Level::Masked)),
        ocrm::SearchKey::CreditCode(v) => ("credit_code", v.clone()),
        ocrm::SearchKey::Number(v) => ("number", mask::mobile(v, Level::Masked)),
        ocrm::SearchKey::Name(v) => ("name", mask::name(v, "", Level::Strict)),
    };
    ctx.audit(
        state,
        Audit {
            action: "search",
            object_type: Some(kind),
            detail: Some(&format!("{shown} -> {} found", rows.len())),
            ..Audit::default()
        },
    )
    .await?;
    Ok(list_items(user, rows))
}
