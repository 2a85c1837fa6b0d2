//! User administration (admins only): create users with an initial
//! password, change their name, role and org unit, disable or re-enable
//! them, reset passwords. A disabled user's next request is refused (the
//! session's user is read from the store each time) and a reset password
//! ends their sessions (the session is bound to the password hash). Every
//! change is audited; an admin cannot lock themselves out.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use panorama_store::StoreError;
use panorama_store::ocrm::{self, NewUser, ROLES, UserChange};
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::auth::{Permission, hash_password};
use crate::context::Ctx;
use crate::error::WebError;
use crate::extract::{ApiCsrf, CsrfForm, HasCsrf, Require, perm};
use crate::i18n::{self as t, Lang};
use crate::ui::{OrPage, PageError, layout};

fn blank(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A store refusal (unknown role or org unit) is the caller's mistake.
fn invalid(e: StoreError) -> WebError {
    match e {
        StoreError::Invalid(m) => WebError::BadRequest(m),
        e => e.into(),
    }
}

fn check_password(password: &str, username: &str, lang: Lang) -> Result<(), WebError> {
    if password.chars().count() < 10 || password.eq_ignore_ascii_case(username) {
        return Err(WebError::BadRequest(t::WEAK_PASSWORD.get(lang).to_owned()));
    }
    Ok(())
}

/// A new user, from a form or JSON.
#[derive(Debug, Deserialize)]
pub struct NewUserInput {
    username: String,
    display_name: String,
    role: String,
    org_code: String,
    password: String,
}

async fn create(state: &AppState, ctx: &Ctx, input: &NewUserInput) -> Result<i64, WebError> {
    let admin = ctx.require(Permission::ManageUsers)?;
    let lang = ctx.lang;
    let username = input.username.trim();
    let valid = (3..=32).contains(&username.len())
        && username
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if !valid {
        return Err(WebError::BadRequest(t::BAD_USERNAME.get(lang).to_owned()));
    }
    let display = input.display_name.trim();
    if display.is_empty() || display.chars().count() > 64 {
        return Err(WebError::BadRequest(t::DISPLAY_NAME.get(lang).to_owned()));
    }
    check_password(&input.password, username, lang)?;
    if ocrm::user_by_username(&state.store, username)
        .await?
        .is_some()
    {
        return Err(WebError::Conflict(t::USER_EXISTS.get(lang).to_owned()));
    }
    let password = input.password.clone();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))??;
    ocrm::save_user(
        &state.store,
        &NewUser {
            username,
            display_name: display,
            role: input.role.trim(),
            org_code: input.org_code.trim(),
            password_hash: &hash,
        },
        &admin.username,
    )
    .await
    .map_err(invalid)
}

/// Changes to a user, from a form or JSON; blank fields are left as they are.
#[derive(Debug, Default, Deserialize)]
pub struct UserUpdate {
    display_name: Option<String>,
    role: Option<String>,
    org_code: Option<String>,
    /// `true`/`false` in JSON; a form sends `1` or `0`.
    active: Option<String>,
    password: Option<String>,
    portfolio: Option<String>,
    /// The staff number (员工号) source systems record.
    staff_no: Option<String>,
}

async fn update(state: &AppState, ctx: &Ctx, id: i64, input: &UserUpdate) -> Result<(), WebError> {
    let admin = ctx.require(Permission::ManageUsers)?;
    let lang = ctx.lang;
    let Some(target) = ocrm::user_by_id(&state.store, id).await? else {
        return Err(WebError::NotFound);
    };
    let active = match blank(&input.active) {
        None => None,
        Some("1" | "true" | "on") => Some(true),
        Some("0" | "false" | "off") => Some(false),
        Some(other) => return Err(WebError::BadRequest(format!("active: {other}"))),
    };
    let role = blank(&input.role);
    if target.id == admin.id && (active == Some(false) || role.is_some_and(|r| r != "admin")) {
        return Err(WebError::Conflict(t::SELF_LOCKOUT.get(lang).to_owned()));
    }
    let hash = match blank(&input.password) {
        Some(p) => {
            check_password(p, &target.username, lang)?;
            let p = p.to_owned();
            Some(
                tokio::task::spawn_blocking(move || hash_password(&p))
                    .await
                    .map_err(|e| WebError::Internal(e.to_string()))??,
            )
        }
        None => None,
    };
    ocrm::update_user(
        &state.store,
        id,
        &UserChange {
            display_name: blank(&input.display_name),
            role,
            org_code: blank(&input.org_code),
            active,
            password_hash: hash.as_deref(),
            portfolio: blank(&input.portfolio),
            staff_no: blank(&input.staff_no),
        },
        &admin.username,
    )
    .await
    .map_err(invalid)?;
    Ok(())
}

/// `GET /api/users`: every user (never a password hash).
pub async fn api_list(
    State(state): State<AppState>,
    _: Require<perm::ManageUsers>,
) -> Result<Response, WebError> {
    let users: Vec<_> = ocrm::users(&state.store)
        .await?
        .into_iter()
        .map(|u| {
            json!({"id": u.id, "username": u.username, "display_name": u.display_name, "role": u.role,
                   "org_code": u.org_code, "org_name": u.org_name, "portfolio": u.portfolio, "staff_no": u.staff_no, "active": u.active == 1})
        })
        .collect();
    Ok(Json(json!({"users": users, "roles": ROLES})).into_response())
}

/// `POST /api/users`: creates a user (`X-CSRF-Token`).
pub async fn api_create(
    State(state): State<AppState>,
    Require { ctx, .. }: Require<perm::ManageUsers>,
    _: ApiCsrf,
    Json(input): Json<NewUserInput>,
) -> Result<Response, WebError> {
    let id = create(&state, &ctx, &input).await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id}))).into_response())
}

/// `POST /api/users/{id}`: changes a user (`X-CSRF-Token`).
pub async fn api_update(
    State(state): State<AppState>,
    Require { ctx, .. }: Require<perm::ManageUsers>,
    _: ApiCsrf,
    Path(id): Path<i64>,
    Json(input): Json<serde_json::Value>,
) -> Result<Response, WebError> {
    let text = |k: &str| crate::context::json_text(&input, k);
    let change = UserUpdate {
        display_name: text("display_name"),
        role: text("role"),
        org_code: text("org_code"),
        active: text("active"),
        password: text("password"),
        portfolio: text("portfolio"),
        staff_no: text("staff_no"),
    };
    update(&state, &ctx, id, &change).await?;
    Ok(Json(json!({"id": id})).into_response())
}

/// The create form.
#[derive(Debug, Deserialize)]
pub struct CreateForm {
    csrf: String,
    #[serde(flatten)]
    input: NewUserInput,
}

impl HasCsrf for CreateForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /users`.
pub async fn form_create(
    State(state): State<AppState>,
    Require { ctx, .. }: Require<perm::ManageUsers>,
    CsrfForm(f): CsrfForm<CreateForm>,
) -> Result<Response, PageError> {
    create(&state, &ctx, &f.input).await.page(&ctx, "/users")?;
    Ok(Redirect::to("/users").into_response())
}

/// The update form.
#[derive(Debug, Deserialize)]
pub struct UpdateForm {
    csrf: String,
    #[serde(flatten)]
    input: UserUpdate,
}

impl HasCsrf for UpdateForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /users/{id}`.
pub async fn form_update(
    State(state): State<AppState>,
    Require { ctx, .. }: Require<perm::ManageUsers>,
    Path(id): Path<i64>,
    CsrfForm(f): CsrfForm<UpdateForm>,
) -> Result<Response, PageError> {
    update(&state, &ctx, id, &f.input)
        .await
        .page(&ctx, "/users")?;
    Ok(Redirect::to("/users").into_response())
}

/// `GET /users`: the users, each with a form to change them, and a form for
/// a new one.
pub async fn page(
    State(state): State<AppState>,
    Require { ctx, user, .. }: Require<perm::ManageUsers>,
) -> Result<Response, PageError> {
    let user = &user;
    let users = ocrm::users(&state.store).await.page(&ctx, "/users")?;
    let orgs = ocrm::org_units(&state.store).await.page(&ctx, "/users")?;
    let lang = ctx.lang;
    let csrf = ctx.csrf().await;
    let org_options = |selected: &str| {
        html! { @for (code, name, _) in &orgs {
            option value=(code) selected[code == selected] { (name) " " (code) }
        } }
    };
    let role_options = |selected: &str| {
        html! { @for r in ROLES { option value=(r) selected[*r == selected] { (r) } } }
    };
    let body = html! {
        section id="new-user" {
            h2 { (t::NEW_USER.get(lang)) }
            form method="post" action="/users" {
                input type="hidden" name="csrf" value=(csrf);
                input name="username" id="new-username" required placeholder=(t::USERNAME.get(lang)) size="12"; " "
                input name="display_name" required placeholder=(t::DISPLAY_NAME.get(lang)) size="10"; " "
                select name="role" { (role_options("rm")) } " "
                select name="org_code" { (org_options("")) } " "
                input type="password" name="password" required minlength="10" placeholder=(t::INITIAL_PASSWORD.get(lang)) size="14"; " "
                button type="submit" id="create-user" { (t::SAVE.get(lang)) }
            }
        }
        section { table id="users" { thead { tr {
            th { (t::USERNAME.get(lang)) } th { (t::DISPLAY_NAME.get(lang)) } th { (t::ROLE.get(lang)) }
            th { (t::ORG.get(lang)) } th { (t::PORTFOLIO.get(lang)) } th { (t::STAFF_NO.get(lang)) } th { (t::STATUS.get(lang)) } th { (t::NEW_PASSWORD.get(lang)) } th {}
        } } tbody { @for u in &users {
            @let form = format!("user-{}", u.id);
            tr id={ "row-" (u.id) } {
                td { (u.username) }
                td { input form=(form) name="display_name" value=(u.display_name) size="10"; }
                td { select form=(form) name="role" { (role_options(&u.role)) } }
                td { select form=(form) name="org_code" { (org_options(&u.org_code)) } }
                td { select form=(form) name="portfolio" {
                    @for p in panorama_store::assign::PORTFOLIOS { option value=(p) selected[u.portfolio == *p] { (p) } }
                } }
                td { input form=(form) name="staff_no" value=(u.staff_no.as_deref().unwrap_or("")) size="8"; }
                td { select form=(form) name="active" {
                    option value="1" selected[u.active == 1] { (t::ENABLED.get(lang)) }
                    option value="0" selected[u.active != 1] { (t::DISABLED.get(lang)) }
                } }
                td { input form=(form) type="password" name="password" size="12" autocomplete="new-password"; }
                td { form.inline id=(form) method="post" action={ "/users/" (u.id) } {
                    input type="hidden" name="csrf" value=(csrf);
                    button type="submit" { (t::UPDATE.get(lang)) }
                } }
            }
        } } } }
    };
    Ok(layout(lang, Some(user), &csrf, t::USERS.get(lang), body).into_response())
}

/// This feature's routes.
pub(crate) fn routes() -> axum::Router<crate::AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/users", get(page).post(form_create))
        .route("/users/{id}", post(form_update))
        .route("/api/users", get(api_list).post(api_create))
        .route("/api/users/{id}", post(api_update))
}
