//! The account's custom menu (admin): what WeChat shows followers now (`menu/get`), publishing
//! an edited menu (`menu/create`, after WeChat's limits are checked here with a message per
//! field) and clearing it (`menu/delete`). WeChat's refusals are shown with their errcode.

use app::menu::{ButtonKind, ButtonPath, Menu, MenuButton, MenuPage, ReadyItems, field_name};
use app::model::{FieldError, Role};
use serde_json::json;
use sqlx::PgPool;

use crate::accounts::Accounts;
use crate::referral::actor::Actor;
use crate::referral::error::ServiceError;
use crate::wechat::client::ApiError;
use crate::wechat::menu::{self as wx, ButtonType, Issue, Problem};

/// What the menu services need besides the caller.
pub struct MenuContext<'a> {
    pub pool: &'a PgPool,
    pub accounts: &'a Accounts,
    /// Where followers reach this server (`PUBLIC_URL`, else our own address).
    pub public_url: &'a str,
}

/// The live menu and the ready items (admin). Calls `menu/get` once.
pub async fn load(ctx: &MenuContext<'_>, actor: &Actor) -> Result<MenuPage, ServiceError> {
    actor.require(Role::Admin)?;
    let api = crate::referral::accounts::api(ctx.accounts, actor.account_id).await?;
    let (live, live_error) = match api.menu_get().await {
        Ok(menu) => (menu.as_ref().map(from_wechat), None),
        Err(e) => (None, Some(refusal_message(&e))),
    };
    Ok(MenuPage {
        live,
        live_error,
        ready: ready_items(ctx, actor.account_id).await?,
    })
}

/// Checks `menu` against WeChat's limits and publishes it (admin); answers what is live then.
/// A refused menu changes nothing.
pub async fn publish(
    ctx: &MenuContext<'_>,
    actor: &Actor,
    menu: &Menu,
) -> Result<MenuPage, ServiceError> {
    actor.require(Role::Admin)?;
    let wechat = validate(menu)?;
    let api = crate::referral::accounts::api(ctx.accounts, actor.account_id).await?;
    api.menu_create(&wechat).await.map_err(refusal)?;
    let detail = serde_json::to_value(&wechat).unwrap_or_default();
    crate::db::menu::record(
        ctx.pool,
        actor.account_id,
        &actor.audit_name(),
        "menu.publish",
        detail,
    )
    .await?;
    load(ctx, actor).await
}

/// Removes the menu from WeChat (admin).
pub async fn clear(ctx: &MenuContext<'_>, actor: &Actor) -> Result<MenuPage, ServiceError> {
    actor.require(Role::Admin)?;
    let api = crate::referral::accounts::api(ctx.accounts, actor.account_id).await?;
    api.menu_delete().await.map_err(refusal)?;
    crate::db::menu::record(
        ctx.pool,
        actor.account_id,
        &actor.audit_name(),
        "menu.delete",
        json!({}),
    )
    .await?;
    load(ctx, actor).await
}

/// The ready items of an account: its member menu key and its member page's web
/// authorization address (`/m/a/{account}`, which works for every account).
async fn ready_items(ctx: &MenuContext<'_>, account_id: i64) -> Result<ReadyItems, ServiceError> {
    let mut conn = ctx.pool.acquire().await?;
    let settings = crate::db::members::settings(&mut conn, account_id).await?;
    Ok(ReadyItems {
        code_key: settings.member_menu_key,
        page_url: format!("{}/m/a/{account_id}", ctx.public_url.trim_end_matches('/')),
    })
}

/// The menu as WeChat takes it, cleaned (names without control characters, every field
/// trimmed), or one message per field that breaks WeChat's limits.
pub fn validate(menu: &Menu) -> Result<wx::Menu, ServiceError> {
    let mut fields = Vec::new();
    for (i, b) in menu.buttons.iter().enumerate() {
        if b.kind == ButtonKind::Other {
            fields.push(other_kind(ButtonPath::top(i), b));
        }
        for (j, s) in b.sub_buttons.iter().enumerate() {
            if b.kind == ButtonKind::Parent && s.kind == ButtonKind::Other {
                fields.push(other_kind(ButtonPath::sub(i, j), s));
            }
        }
    }
    let wechat = wx::Menu {
        button: menu.buttons.iter().map(to_wechat).collect(),
    };
    fields.extend(wechat.issues().iter().map(issue_field));
    if fields.is_empty() {
        Ok(wechat)
    } else {
        Err(ServiceError::Validation(fields))
    }
}

fn clean(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .to_owned()
}

/// One button as WeChat takes it: only the fields of its kind.
fn to_wechat(b: &MenuButton) -> wx::Button {
    let name = clean(&b.name);
    match b.kind {
        ButtonKind::Click => wx::Button::click(&name, b.key.trim()),
        ButtonKind::View => wx::Button::view(&name, b.url.trim()),
        ButtonKind::Parent => {
            wx::Button::parent(&name, b.sub_buttons.iter().map(to_wechat).collect())
        }
        // Refused by `validate`; kept nameable so the other checks still run.
        ButtonKind::Other => wx::Button::click(&name, "other"),
    }
}

/// A menu read from WeChat as the dashboard shows it.
pub fn from_wechat(menu: &wx::Menu) -> Menu {
    Menu {
        buttons: menu.button.iter().map(button_from_wechat).collect(),
    }
}

fn button_from_wechat(b: &wx::Button) -> MenuButton {
    if !b.sub_button.is_empty() {
        return MenuButton::parent(
            &b.name,
            b.sub_button.iter().map(button_from_wechat).collect(),
        );
    }
    match b.kind {
        Some(ButtonType::Click) => MenuButton::click(&b.name, b.key.as_deref().unwrap_or_default()),
        Some(ButtonType::View) => MenuButton::view(&b.name, b.url.as_deref().unwrap_or_default()),
        other => MenuButton {
            name: b.name.clone(),
            kind: ButtonKind::Other,
            key: b.key.clone().unwrap_or_default(),
            url: b.url.clone().unwrap_or_default(),
            wechat_type: Some(
                other
                    .and_then(|t| serde_json::to_value(t).ok())
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_else(|| "unknown".to_owned()),
            ),
            sub_buttons: Vec::new(),
        },
    }
}

fn other_kind(path: ButtonPath, b: &MenuButton) -> FieldError {
    let kind = b.wechat_type.as_deref().unwrap_or("unknown");
    FieldError {
        field: field_name(Some(path), "kind"),
        message: format!(
            "此类按钮（{kind}）不能在这里编辑，请改为点击或链接，或删除 / This button type \
             ({kind}) cannot be edited here: make it a click or a link, or remove it"
        ),
    }
}

/// The field and message of a breach of WeChat's limits.
fn issue_field(issue: &Issue) -> FieldError {
    let path = issue.top.map(|top| ButtonPath {
        top,
        sub: issue.sub,
    });
    let (field, message) = match issue.problem {
        Problem::ButtonCount => (
            "",
            "菜单需有 1 到 3 个按钮 / A menu has 1 to 3 buttons".to_owned(),
        ),
        Problem::SubButtonCount => (
            "sub_buttons",
            "子菜单最多 5 个 / At most 5 sub-buttons".to_owned(),
        ),
        Problem::ButtonType | Problem::Missing => (
            "kind",
            "请选择点击、链接或子菜单（子菜单至少要有 1 个子按钮） / Choose click, link or \
             sub-menu (a sub-menu needs at least 1 sub-button)"
                .to_owned(),
        ),
        Problem::NameSize if issue.sub.is_some() => (
            "name",
            "名称为 1 到 60 个字节（最多 20 个汉字） / 1 to 60 bytes (20 Chinese characters)"
                .to_owned(),
        ),
        Problem::NameSize => (
            "name",
            "名称为 1 到 16 个字节（最多 5 个汉字） / 1 to 16 bytes (5 Chinese characters)"
                .to_owned(),
        ),
        Problem::KeySize => (
            "key",
            "key 为 1 到 128 个字节 / The key is 1 to 128 bytes".to_owned(),
        ),
        Problem::UrlSize => (
            "url",
            "链接为 1 到 1024 个字节 / The link is 1 to 1024 bytes".to_owned(),
        ),
        Problem::UrlDomain => (
            "url",
            "请填写以 http:// 或 https:// 开头的网址 / Give an http:// or https:// address"
                .to_owned(),
        ),
    };
    FieldError {
        field: field_name(path, field),
        message,
    }
}

/// A failed menu call as the service's error: WeChat's refusal with its errcode (shown), a
/// transport failure as a generic upstream error.
fn refusal(e: ApiError) -> ServiceError {
    match e {
        ApiError::Api { .. } => ServiceError::Conflict {
            code: "wechat_error",
            message: refusal_message(&e),
        },
        other => ServiceError::Upstream(other.to_string()),
    }
}

/// What the admin reads about a failed menu call: the errcode and what it means.
pub fn refusal_message(e: &ApiError) -> String {
    let ApiError::Api { errcode, errmsg } = e else {
        return "无法连接微信，请稍后重试 / WeChat could not be reached; please retry".to_owned();
    };
    let (zh, en) = match errcode {
        48001 => (
            "公众号没有菜单接口权限（未认证的订阅号不能用接口设置菜单）",
            "the account may not use the menu API (unverified subscription accounts cannot)",
        ),
        40164 | 61004 => (
            "本服务器的 IP 不在 IP 白名单中，见接入页",
            "this server's IP is not allowlisted; see the setup page",
        ),
        40054 | 40055 => ("菜单中有无效的网址", "a menu link's address is invalid"),
        40016..=40027 => ("菜单不符合微信的限制", "the menu breaks WeChat's limits"),
        45009 | 45011 => (
            "接口调用次数超限，请稍后再试",
            "API quota reached; try later",
        ),
        -1 => ("微信系统繁忙，请稍后再试", "WeChat is busy; try again"),
        _ => ("", ""),
    };
    // WeChat's errmsg ends with a request id (" rid: …"), of no use here.
    let errmsg = errmsg.split(" rid:").next().unwrap_or_default().trim();
    if zh.is_empty() {
        format!(
            "微信拒绝了请求（errcode {errcode}：{errmsg}） / WeChat refused (errcode {errcode}: {errmsg})"
        )
    } else {
        format!(
            "微信拒绝了请求（errcode {errcode}）：{zh} / WeChat refused (errcode {errcode}): {en}"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(menu: &Menu) -> Vec<String> {
        match validate(menu) {
            Err(ServiceError::Validation(f)) => f.into_iter().map(|f| f.field).collect(),
            Ok(_) => Vec::new(),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn a_menu_is_cleaned_and_only_its_kinds_fields_are_sent() {
        let mut code = MenuButton::click(" 我的推广码\n", " MY_REFERRAL_CODE ");
        code.url = "https://ignored.example".into();
        let menu = Menu {
            buttons: vec![
                code,
                MenuButton::parent(
                    "更多",
                    vec![MenuButton::view("我的推广页", " https://t.example/m/a/1 ")],
                ),
            ],
        };
        let sent = validate(&menu).expect("valid");
        assert_eq!(
            serde_json::to_value(&sent).expect("json"),
            json!({"button": [
                {"type": "click", "name": "我的推广码", "key": "MY_REFERRAL_CODE"},
                {"name": "更多", "sub_button": [
                    {"type": "view", "name": "我的推广页", "url": "https://t.example/m/a/1"}
                ]}
            ]})
        );
        assert_eq!(
            from_wechat(&sent).buttons[1].sub_buttons[0].name,
            "我的推广页"
        );
    }

    #[test]
    fn each_breach_is_reported_on_its_field() {
        assert_eq!(fields(&Menu::default()), ["buttons"]);
        let menu = Menu {
            buttons: vec![
                MenuButton::click("六个汉字名称", ""),
                MenuButton::parent(
                    "更多",
                    vec![
                        MenuButton::view("链接", "javascript:alert(1)"),
                        MenuButton {
                            name: "小程序".into(),
                            kind: ButtonKind::Other,
                            wechat_type: Some("miniprogram".into()),
                            ..MenuButton::default()
                        },
                    ],
                ),
                MenuButton::parent("空", Vec::new()),
                MenuButton::click("四", "k"),
            ],
        };
        assert_eq!(
            fields(&menu),
            [
                "buttons[1].sub_buttons[1].kind",
                "buttons",
                "buttons[0].name",
                "buttons[0].key",
                "buttons[1].sub_buttons[0].url",
                "buttons[2].kind",
            ]
        );
    }

    #[test]
    fn the_editor_and_the_sdk_agree_on_the_limits() {
        assert_eq!(app::menu::MAX_BUTTONS, wx::MAX_BUTTONS);
        assert_eq!(app::menu::MAX_SUB_BUTTONS, wx::MAX_SUB_BUTTONS);
        assert_eq!(app::menu::MAX_NAME_BYTES, wx::MAX_NAME_BYTES);
        assert_eq!(app::menu::MAX_SUB_NAME_BYTES, wx::MAX_SUB_NAME_BYTES);
    }

    #[test]
    fn refusals_name_the_errcode_without_the_request_id() {
        let e = ApiError::Api {
            errcode: 48001,
            errmsg: "api unauthorized rid: 6543-abc".into(),
        };
        let m = refusal_message(&e);
        assert!(m.contains("errcode 48001") && m.contains("未认证"), "{m}");
        let m = refusal_message(&ApiError::Api {
            errcode: 40999,
            errmsg: "something new rid: 1".into(),
        });
        assert!(
            m.contains("40999：something new") && !m.contains("rid"),
            "{m}"
        );
        assert!(matches!(
            refusal(ApiError::Transport("x".into())),
            ServiceError::Upstream(_)
        ));
    }
}
