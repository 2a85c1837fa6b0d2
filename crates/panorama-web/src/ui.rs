//! What every page shares: the layout around a page's body (header, menu,
//! language switch, the one inline stylesheet), page errors (the login
//! redirect or an error page with its status), and small formatters.

use axum::response::{IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use panorama_domain::money::Money;

use crate::auth::{Permission, User};
use crate::context::Ctx;
use crate::error::WebError;
use crate::i18n::{self as t, Lang};

const STYLE: &str = "body{font-family:'Microsoft YaHei','WenQuanYi Micro Hei',sans-serif;margin:0;color:#222;background:#f5f6f8}\
header{background:#0b3d6e;color:#fff;padding:.5em 1em;display:flex;gap:1.2em;align-items:center;flex-wrap:wrap}\
header a{color:#fff;text-decoration:none}header .who{margin-left:auto}\
details.menu{position:relative}details.menu summary{cursor:pointer;list-style:none}details.menu summary::after{content:' ▾'}\
details.menu>div{position:absolute;top:1.9em;left:-.6em;z-index:10;display:flex;flex-direction:column;gap:.5em;min-width:8em;padding:.6em .8em;background:#0b3d6e;border-radius:0 0 6px 6px;box-shadow:0 3px 8px #0005}\
main{padding:1em 1.5em;max-width:1280px}section{background:#fff;border-radius:6px;padding:.8em 1em;margin-bottom:1em;box-shadow:0 1px 2px #0001}\
h1{font-size:1.4em}h2{font-size:1.1em;margin:.2em 0 .6em}table{border-collapse:collapse;width:100%}\
th,td{padding:.3em .5em;border-bottom:1px solid #e3e6ea;text-align:left;font-size:.92em}td.n,th.n{text-align:right}\
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,360px),1fr));gap:1em}.grid>section{min-width:0}\
.grid>#my-customers,.grid>.wide{grid-column:1/-1}.tag,td:first-child,table.customers td{white-space:nowrap}td:first-child a{white-space:normal}td a{display:inline-block;min-width:4em}svg{max-width:100%;height:auto}dl{display:grid;grid-template-columns:8em 1fr;margin:0}\
dt{color:#666}dd{margin:0 0 .3em}.err{color:#b00020}.ok{color:#0a7a2f}.tag{background:#e8eef6;border-radius:3px;padding:0 .4em;margin-right:.3em}.tag.warn{background:#fde8e6;color:#9a1c10}tr.miss td:first-child{border-left:3px solid #e6a700}.sev-critical td:first-child{border-left:3px solid #b00020}.sev-warning td:first-child{border-left:3px solid #e6a700}.live-new{background:#fff6d6}\
form.inline{display:inline}fieldset label{display:inline-block;margin:.2em 1.2em .2em 0}input,select,button{font:inherit;padding:.25em .4em}button{cursor:pointer}.muted{color:#777}\
table.waterfall{margin:.4em 0}table.waterfall caption{text-align:left;font-weight:600;padding:.2em 0}table.waterfall td:last-child{width:40%}\
.wbar{position:relative;display:block;height:.9em;background:linear-gradient(to right,transparent 49.8%,#999 49.8%,#999 50.2%,transparent 50.2%)}\
.wbar .w{position:absolute;top:0;height:100%;border-radius:2px}.wbar .for{background:#2e8b57}.wbar .against{background:#c0392b}tr.total td{border-top:2px solid #ccc}.chart{width:100%;height:300px}.chart.short{height:220px}\
@media (max-width:700px){main{padding:.5em}header{gap:.6em}section{padding:.6em}\
table,tbody,tr{display:block}thead{display:none}tr{padding:.3em 0;border-bottom:1px solid #e3e6ea}\
td,tbody th{display:inline-block;border:0;padding:.1em .4em}dl{grid-template-columns:6em 1fr}}";

/// A full page around `body`.
pub(crate) fn layout(
    lang: Lang,
    user: Option<&User>,
    csrf: &str,
    title: &str,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (t::APP.get(lang)) }
                style { (PreEscaped(STYLE)) }
                // Panorama's charts, drawn from the pages' JSON API with
                // Apache ECharts (vendored, no CDN), which charts.js loads
                // only on pages that have a chart.
                script src="/assets/charts.js" defer {}
                script src="/assets/menu.js" defer {}
                script src="/assets/live.js" defer {}
            }
            body {
                header {
                    strong { (t::APP.get(lang)) }
                    @if let Some(u) = user {
                        @if u.can(Permission::ViewCustomers) {
                            a href="/" { (t::WORKBENCH.get(lang)) }
                            a href="/customers" { (t::CUSTOMERS.get(lang)) }
                            // Posted, so names and numbers searched for stay out of URLs, proxy logs and history.
                            form.inline action="/search" method="post" {
                                input type="hidden" name="csrf" value=(csrf);
                                input type="search" name="q" id="q" maxlength="100" placeholder=(t::SEARCH_HINT.get(lang)) size="28";
                                " " button type="submit" { (t::SEARCH.get(lang)) }
                            }
                        }
                        @for (group, links) in menu(u) {
                            @if let [(href, text)] = links.as_slice() {
                                a href=(href) { (text.get(lang)) }
                            } @else if !links.is_empty() {
                                details.menu {
                                    summary { (group.get(lang)) }
                                    div { @for (href, text) in &links { a href=(href) { (text.get(lang)) } } }
                                }
                            }
                        }
                    }
                    span.who {
                        a href={ "/lang/" (if lang == Lang::Zh { "en" } else { "zh" }) } { (t::LANG_SWITCH.get(lang)) }
                        @if let Some(u) = user {
                            " · " (u.display_name) " (" (u.org_name) ") "
                            form.inline action="/logout" method="post" {
                                input type="hidden" name="csrf" value=(csrf);
                                button type="submit" id="logout" { (t::LOGOUT.get(lang)) }
                            }
                        }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    }
}

/// A page of the menu: who may open it, its address, its name.
type MenuPage = (Permission, &'static str, t::Text);

/// The menu past the workbench, the customer list and the search: the
/// pages a user's role may open, grouped by the work they serve (a group
/// of one page is a plain link, a larger one a drop-down).
fn menu(u: &User) -> Vec<(t::Text, Vec<(&'static str, t::Text)>)> {
    let pages: [(t::Text, &[MenuPage]); 5] = [
        (
            t::CUSTOMER_SERVICE,
            &[
                (Permission::ViewPipeline, "/opportunities", t::PIPELINE),
                (Permission::RecordContact, "/service", t::SERVICE_DESK),
                (Permission::Refer, "/referrals", t::REFERRALS),
                (Permission::HandleComplaints, "/complaints", t::COMPLAINTS),
            ],
        ),
        (
            t::MANAGEMENT,
            &[
                (Permission::ViewDashboards, "/dashboard", t::DASHBOARD),
                (Permission::ManageTargets, "/targets", t::TARGETS),
                (Permission::RegisterSales, "/sales", t::SALES),
                (Permission::ViewAppraisal, "/appraisal", t::APPRAISAL),
                (Permission::SetRules, "/appraisal/rules", t::RULES),
                (Permission::AssignCustomers, "/assignments", t::ASSIGNMENTS),
            ],
        ),
        (
            t::MARKETING,
            &[
                (Permission::DesignCampaigns, "/segments", t::SEGMENT_LIST),
                (Permission::ViewAnalytics, "/models", t::MODELS),
                (Permission::ViewAnalytics, "/campaigns", t::CAMPAIGNS),
            ],
        ),
        (
            t::DATA_GOVERNANCE,
            &[(Permission::ResolveIdentities, "/ecif", t::ECIF)],
        ),
        (
            t::SYSTEM,
            &[
                (Permission::ViewAudit, "/audit", t::AUDIT),
                (Permission::ManageUsers, "/users", t::USERS),
            ],
        ),
    ];
    pages
        .into_iter()
        .map(|(group, links)| {
            let mine = links
                .iter()
                .filter(|(p, _, _)| u.can(*p))
                .map(|(_, href, text)| (*href, *text))
                .collect();
            (group, mine)
        })
        .collect()
}

/// Page errors: login redirect, or a page with the status.
pub struct PageError {
    lang: Lang,
    error: WebError,
    path: String,
}

impl PageError {
    /// `error` shown as a page in `lang`; `path` is where a login returns to.
    pub fn new(lang: Lang, error: WebError, path: &str) -> PageError {
        PageError {
            lang,
            error,
            path: path.to_owned(),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let lang = self.lang;
        let status = self.error.status();
        let message = match &self.error {
            WebError::Unauthorized => {
                let next = urlencode(&self.path);
                return Redirect::to(&format!("/login?next={next}")).into_response();
            }
            WebError::NotFound => t::NOT_FOUND.get(lang).to_owned(),
            WebError::Forbidden => t::FORBIDDEN.get(lang).to_owned(),
            other => other.public_message(),
        };
        if status.is_server_error() {
            tracing::error!(error = ?self.error, "page failed");
        }
        let body =
            html! { section { p.err { (message) } p { a href="/" { (t::WORKBENCH.get(lang)) } } } };
        (
            status,
            layout(lang, None, "", &status.as_u16().to_string(), body),
        )
            .into_response()
    }
}

/// Percent-encodes `s` for a URL query (unreserved characters and `/` kept).
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub(crate) trait OrPage<T> {
    fn page(self, ctx: &Ctx, path: &str) -> Result<T, PageError>;
}

impl<T, E: Into<WebError>> OrPage<T> for Result<T, E> {
    fn page(self, ctx: &Ctx, path: &str) -> Result<T, PageError> {
        self.map_err(|e| PageError {
            lang: ctx.lang,
            error: e.into(),
            path: path.to_owned(),
        })
    }
}

pub(crate) fn yuan(minor: Option<i64>) -> String {
    minor.map_or_else(|| "—".to_owned(), |m| group(Money::from_minor(m)))
}

/// `1234567.80` → `1,234,567.80`.
pub(crate) fn group(m: Money) -> String {
    let s = m.to_string();
    let (sign, s) = s.strip_prefix('-').map_or(("", s.as_str()), |r| ("-", r));
    let (int, frac) = s.split_once('.').unwrap_or((s, "00"));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}.{frac}")
}

/// A chart `assets/charts.js` draws (kind `kind`) from the JSON at `src`,
/// with the labels the JSON does not carry (`labels`: code → word, in the
/// order the chart lists them) and further `data-` attributes (`extra`:
/// `model`, or `json`: the JSON itself, in `src`'s shape, where reading `src`
/// again would redo and re-audit what the page just did).
pub(crate) fn chart(
    id: &str,
    kind: &str,
    src: &str,
    labels: &[(String, String)],
    extra: &[(&str, String)],
) -> Markup {
    let labels: Vec<[&String; 2]> = labels.iter().map(|(k, v)| [k, v]).collect();
    let model = extra.iter().find(|(k, _)| *k == "model").map(|(_, v)| v);
    let json = extra.iter().find(|(k, _)| *k == "json").map(|(_, v)| v);
    html! {
        div.chart id=(id) role="img" aria-label=(kind) data-chart=(kind) data-src=(src)
            data-labels=(serde_json::to_string(&labels).unwrap_or_default()) data-model=[model] data-json=[json] {}
    }
}

/// A stored time as people read it: RFC 3339 (the store's `…Z`) in the
/// server's time zone, else the stored text; `YYYY-MM-DD HH:MM` either way.
pub(crate) fn when(ts: &str) -> String {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(ts) {
        return t
            .with_timezone(&chrono::Local)
            .format("%Y-%m-%d %H:%M")
            .to_string();
    }
    ts.get(..16).unwrap_or(ts).replacen('T', " ", 1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_read_as_date_and_minute() {
        assert_eq!(super::when("2026-12-08 10:33:12"), "2026-12-08 10:33");
        assert_eq!(super::when("2026-12-08T10:33"), "2026-12-08 10:33");
        assert_eq!(super::when("bad"), "bad");
        let utc = super::when("2026-12-08T10:33:12Z");
        assert_eq!(utc.len(), 16, "{utc}");
    }

    use super::*;

    #[test]
    fn money_is_grouped_by_thousands() {
        assert_eq!(group(Money::from_minor(123_456_789)), "1,234,567.89");
        assert_eq!(group(Money::from_minor(-100)), "-1.00");
        assert_eq!(group(Money::from_minor(99_999)), "999.99");
    }
}
