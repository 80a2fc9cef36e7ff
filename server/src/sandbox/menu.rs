//! The simulated custom menu: `menu/create` checks WeChat's limits and answers WeChat's errcode
//! for the first breach (40016 button count, 40017 type, 40018 name size, 40019 key size,
//! 40054/40055 URL, …), `menu/get` answers `{"menu":{"button":[…]}}` or 46003, `menu/delete`
//! clears it. The menu is kept per simulated account in `sandbox_menu`; the sandbox panel
//! shows it as WeChat's bottom bar.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::Response;
use serde_json::{Value, json};

use crate::db::sandbox as store;
use crate::sandbox::api::{TokenQuery, check_token, err, ok, unavailable};
use crate::startup::AppState;
use crate::wechat::menu::{MENU_NOT_FOUND, Menu};

/// The simulated account's menu, if it has one (a stored body that no longer reads as a menu
/// counts as none).
pub async fn stored(pool: &sqlx::PgPool, account_id: i64) -> sqlx::Result<Option<Menu>> {
    Ok(store::menu(pool, account_id)
        .await?
        .and_then(|body| serde_json::from_value(body).ok()))
}

/// `POST /cgi-bin/menu/create`: replaces the menu, or refuses it as WeChat would.
pub async fn create(
    State(state): State<AppState>,
    Query(q): Query<TokenQuery>,
    body: Bytes,
) -> Response {
    let account_id = match check_token(&state, &q, "menu/create").await {
        Ok(account_id) => account_id,
        Err(e) => return *e,
    };
    let Ok(menu) = serde_json::from_slice::<Menu>(&body) else {
        return err(47001, "data format error");
    };
    if let Some(issue) = menu.issues().first() {
        return err(issue.errcode(), issue.errmsg());
    }
    let Ok(body) = serde_json::to_value(&menu) else {
        return unavailable();
    };
    match store::save_menu(&state.pool, account_id, &body).await {
        Ok(()) => ok(json!({})),
        Err(_) => unavailable(),
    }
}

/// `GET /cgi-bin/menu/get`: the menu with `sub_button: []` on every action button, as
/// WeChat sends it, or 46003 when there is none.
pub async fn get(State(state): State<AppState>, Query(q): Query<TokenQuery>) -> Response {
    let account_id = match check_token(&state, &q, "menu/get").await {
        Ok(account_id) => account_id,
        Err(e) => return *e,
    };
    match stored(&state.pool, account_id).await {
        Ok(Some(menu)) => {
            let buttons: Vec<Value> = menu.button.iter().map(as_got).collect();
            json_answer(json!({"menu": {"button": buttons}}))
        }
        Ok(None) => err(MENU_NOT_FOUND, "menu no exist"),
        Err(_) => unavailable(),
    }
}

/// `GET /cgi-bin/menu/delete`: clears the menu (ok even when there was none).
pub async fn delete(State(state): State<AppState>, Query(q): Query<TokenQuery>) -> Response {
    let account_id = match check_token(&state, &q, "menu/delete").await {
        Ok(account_id) => account_id,
        Err(e) => return *e,
    };
    match store::delete_menu(&state.pool, account_id).await {
        Ok(_) => ok(json!({})),
        Err(_) => unavailable(),
    }
}

/// A successful answer without `errcode` (menu/get has none).
fn json_answer(body: Value) -> Response {
    axum::response::IntoResponse::into_response(axum::Json(body))
}

/// A button as `menu/get` shows it.
fn as_got(button: &crate::wechat::menu::Button) -> Value {
    let mut value = serde_json::to_value(button).unwrap_or_default();
    let subs: Vec<Value> = button.sub_button.iter().map(as_got).collect();
    if let Some(map) = value.as_object_mut() {
        map.insert("sub_button".into(), Value::Array(subs));
    }
    value
}
