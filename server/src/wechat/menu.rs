//! The custom menu (自定义菜单): `menu/create`, `menu/get`, `menu/delete`, the menu's JSON
//! shape and WeChat's limits on it: 1 to 3 buttons, a button with sub-buttons holds 1 to 5;
//! names of at most 16 bytes (top) or 60 bytes (sub), keys of at most 128 bytes and URLs of at
//! most 1024 bytes (UTF-8 bytes: a Chinese character is 3). The limits are checked before
//! sending, and each breach names the errcode WeChat answers for it.
//! <https://developers.weixin.qq.com/doc/offiaccount/Custom_Menus/Creating_Custom-Defined_Menu.html>

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::api::WechatApi;
use super::client::{ApiError, Client};

/// Most top-level buttons.
pub const MAX_BUTTONS: usize = 3;
/// Most sub-buttons under one button.
pub const MAX_SUB_BUTTONS: usize = 5;
/// Longest top-level name, in bytes.
pub const MAX_NAME_BYTES: usize = 16;
/// Longest sub-button name, in bytes.
pub const MAX_SUB_NAME_BYTES: usize = 60;
/// Longest CLICK (and other event) key, in bytes.
pub const MAX_KEY_BYTES: usize = 128;
/// Longest VIEW URL, in bytes.
pub const MAX_URL_BYTES: usize = 1024;
/// `menu/get` when the account has no menu.
pub const MENU_NOT_FOUND: i64 = 46003;

/// A custom menu, as `menu/create` takes it and `menu/get` returns it under `menu`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Menu {
    pub button: Vec<Button>,
}

/// One button: an action (`type` with its key, url or id) or, with `sub_button`, a parent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ButtonType>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Mini program buttons: the mini program and its page (`url` is the fallback).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagepath: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub article_id: Option<String>,
    /// `menu/get` sends `[]` on buttons without sub-buttons.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sub_button: Vec<Button>,
}

impl Button {
    /// A CLICK button: WeChat sends a CLICK event with `key`.
    pub fn click(name: &str, key: &str) -> Self {
        Button {
            kind: Some(ButtonType::Click),
            name: name.to_owned(),
            key: Some(key.to_owned()),
            ..Button::default()
        }
    }

    /// A VIEW button: WeChat opens `url` (and sends a VIEW event).
    pub fn view(name: &str, url: &str) -> Self {
        Button {
            kind: Some(ButtonType::View),
            name: name.to_owned(),
            url: Some(url.to_owned()),
            ..Button::default()
        }
    }

    /// A button that opens `subs`.
    pub fn parent(name: &str, subs: Vec<Button>) -> Self {
        Button {
            name: name.to_owned(),
            sub_button: subs,
            ..Button::default()
        }
    }
}

/// The button types WeChat documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ButtonType {
    Click,
    View,
    ScancodePush,
    ScancodeWaitmsg,
    PicSysphoto,
    PicPhotoOrAlbum,
    PicWeixin,
    LocationSelect,
    MediaId,
    ViewLimited,
    Miniprogram,
    ArticleId,
    ArticleViewLimited,
    /// A type this SDK does not know (refused by the checks).
    #[serde(other)]
    Unknown,
}

impl ButtonType {
    /// Types whose click WeChat reports as an event carrying the button's `key`.
    pub fn takes_key(self) -> bool {
        matches!(
            self,
            ButtonType::Click
                | ButtonType::ScancodePush
                | ButtonType::ScancodeWaitmsg
                | ButtonType::PicSysphoto
                | ButtonType::PicPhotoOrAlbum
                | ButtonType::PicWeixin
                | ButtonType::LocationSelect
        )
    }
}

/// What is wrong with a button (or with the menu, for [`Problem::ButtonCount`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// Not 1 to 3 buttons.
    ButtonCount,
    /// More than 5 sub-buttons.
    SubButtonCount,
    /// No type, an unknown type, or a sub-button with sub-buttons of its own.
    ButtonType,
    /// Empty, or longer than 16 (top) / 60 (sub) bytes.
    NameSize,
    /// Empty, or longer than 128 bytes.
    KeySize,
    /// Empty, or longer than 1024 bytes.
    UrlSize,
    /// Not an http(s) URL with a host.
    UrlDomain,
    /// A field the type needs is missing (a mini program's appid, a media or article id).
    Missing,
}

/// A breach of the menu's limits: which button (`top`, and `sub` within it) and what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Issue {
    pub top: Option<usize>,
    pub sub: Option<usize>,
    pub problem: Problem,
}

impl Issue {
    /// The errcode WeChat answers for this breach (sub-buttons have their own codes).
    pub fn errcode(&self) -> i64 {
        let sub = self.sub.is_some();
        match self.problem {
            Problem::ButtonCount => 40016,
            Problem::SubButtonCount => 40023,
            Problem::ButtonType if sub => 40024,
            Problem::ButtonType => 40017,
            Problem::NameSize if sub => 40025,
            Problem::NameSize => 40018,
            Problem::KeySize if sub => 40026,
            Problem::KeySize => 40019,
            Problem::UrlSize if sub => 40027,
            Problem::UrlSize => 40020,
            Problem::UrlDomain if sub => 40054,
            Problem::UrlDomain => 40055,
            Problem::Missing => 47001,
        }
    }

    /// WeChat's errmsg for [`Issue::errcode`].
    pub fn errmsg(&self) -> &'static str {
        match self.errcode() {
            40016 => "invalid button size",
            40017 => "invalid button type",
            40018 => "invalid button name size",
            40019 => "invalid button key size",
            40020 => "invalid button url size",
            40023 => "invalid sub button size",
            40024 => "invalid sub button type",
            40025 => "invalid sub button name size",
            40026 => "invalid sub button key size",
            40027 => "invalid sub button url size",
            40054 => "invalid sub button url domain",
            40055 => "invalid button url domain",
            _ => "data format error",
        }
    }
}

/// Whether `url` is an http(s) URL with a host.
fn is_web_url(url: &str) -> bool {
    reqwest::Url::parse(url)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

fn filled(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

impl Menu {
    /// Every breach of WeChat's limits, in button order (empty: WeChat should accept it).
    pub fn issues(&self) -> Vec<Issue> {
        let mut found = Vec::new();
        if self.button.is_empty() || self.button.len() > MAX_BUTTONS {
            found.push(Issue {
                top: None,
                sub: None,
                problem: Problem::ButtonCount,
            });
        }
        for (i, b) in self.button.iter().enumerate() {
            let mut push = |sub, problem| {
                found.push(Issue {
                    top: Some(i),
                    sub,
                    problem,
                })
            };
            if b.name.is_empty() || b.name.len() > MAX_NAME_BYTES {
                push(None, Problem::NameSize);
            }
            if b.sub_button.is_empty() {
                action_problems(b, |p| push(None, p));
                continue;
            }
            if b.sub_button.len() > MAX_SUB_BUTTONS {
                push(None, Problem::SubButtonCount);
            }
            for (j, s) in b.sub_button.iter().enumerate() {
                if s.name.is_empty() || s.name.len() > MAX_SUB_NAME_BYTES {
                    push(Some(j), Problem::NameSize);
                }
                if !s.sub_button.is_empty() {
                    push(Some(j), Problem::ButtonType);
                    continue;
                }
                action_problems(s, |p| push(Some(j), p));
            }
        }
        found
    }

    /// The button (top-level or sub) whose CLICK-like key is `key`, if any.
    pub fn find_key(&self, key: &str) -> Option<&Button> {
        self.button
            .iter()
            .flat_map(|b| std::iter::once(b).chain(b.sub_button.iter()))
            .find(|b| b.kind.is_some_and(ButtonType::takes_key) && b.key.as_deref() == Some(key))
    }
}

/// What is wrong with an action button's type and the fields it needs.
fn action_problems(b: &Button, mut report: impl FnMut(Problem)) {
    let Some(kind) = b.kind.filter(|k| *k != ButtonType::Unknown) else {
        return report(Problem::ButtonType);
    };
    if kind.takes_key() {
        let key = b.key.as_deref().unwrap_or_default();
        if key.is_empty() || key.len() > MAX_KEY_BYTES {
            report(Problem::KeySize);
        }
        return;
    }
    match kind {
        ButtonType::View | ButtonType::Miniprogram => {
            let url = b.url.as_deref().unwrap_or_default();
            if url.is_empty() || url.len() > MAX_URL_BYTES {
                report(Problem::UrlSize);
            } else if !is_web_url(url) {
                report(Problem::UrlDomain);
            }
            if kind == ButtonType::Miniprogram
                && (filled(&b.appid).is_none() || filled(&b.pagepath).is_none())
            {
                report(Problem::Missing);
            }
        }
        ButtonType::MediaId | ButtonType::ViewLimited if filled(&b.media_id).is_none() => {
            report(Problem::Missing)
        }
        ButtonType::ArticleId | ButtonType::ArticleViewLimited
            if filled(&b.article_id).is_none() =>
        {
            report(Problem::Missing)
        }
        _ => {}
    }
}

impl Client {
    /// `POST /cgi-bin/menu/create`: replaces the account's menu (checked against the limits
    /// first: a breach is [`ApiError::Invalid`] naming WeChat's errcode, and nothing is sent).
    #[tracing::instrument(skip_all, err)]
    pub async fn create_menu(&self, token: &str, menu: &Menu) -> Result<(), ApiError> {
        if let Some(issue) = menu.issues().first() {
            return Err(ApiError::Invalid(format!(
                "{} ({})",
                issue.errmsg(),
                issue.errcode()
            )));
        }
        let body = serde_json::to_value(menu).map_err(|e| ApiError::Invalid(e.to_string()))?;
        let _: Value = self
            .send(self.post("/cgi-bin/menu/create", token, &body))
            .await?;
        Ok(())
    }

    /// `GET /cgi-bin/menu/get`: the menu followers see, or None when there is none (46003).
    #[tracing::instrument(skip_all, err)]
    pub async fn get_menu(&self, token: &str) -> Result<Option<Menu>, ApiError> {
        #[derive(Deserialize)]
        struct Raw {
            menu: Menu,
        }
        match self.send::<Raw>(self.get("/cgi-bin/menu/get", token)).await {
            Ok(raw) => Ok(Some(raw.menu)),
            Err(e) if e.errcode() == Some(MENU_NOT_FOUND) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET /cgi-bin/menu/delete`: removes the menu (and any conditional menus).
    #[tracing::instrument(skip_all, err)]
    pub async fn delete_menu(&self, token: &str) -> Result<(), ApiError> {
        let _: Value = self.send(self.get("/cgi-bin/menu/delete", token)).await?;
        Ok(())
    }
}

impl WechatApi {
    pub async fn menu_create(&self, menu: &Menu) -> Result<(), ApiError> {
        self.with_token(|c, t| async move { c.create_menu(&t, menu).await })
            .await
    }

    pub async fn menu_get(&self) -> Result<Option<Menu>, ApiError> {
        self.with_token(|c, t| async move { c.get_menu(&t).await })
            .await
    }

    pub async fn menu_delete(&self) -> Result<(), ApiError> {
        self.with_token(|c, t| async move { c.delete_menu(&t).await })
            .await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn problems(menu: &Menu) -> Vec<(Option<usize>, Option<usize>, i64)> {
        menu.issues()
            .iter()
            .map(|i| (i.top, i.sub, i.errcode()))
            .collect()
    }

    #[test]
    fn the_documented_example_reads_and_writes_the_same_shape() {
        // menu/get's answer: `sub_button: []` on buttons without sub-buttons.
        let got = json!({"button": [
            {"type": "click", "name": "今日歌曲", "key": "V1001_TODAY_MUSIC", "sub_button": []},
            {"name": "菜单", "sub_button": [
                {"type": "view", "name": "搜索", "url": "http://www.soso.com/", "sub_button": []},
                {"type": "click", "name": "赞一下我们", "key": "V1001_GOOD", "sub_button": []}
            ]}
        ]});
        let menu: Menu = serde_json::from_value(got).expect("reads");
        let expected = Menu {
            button: vec![
                Button::click("今日歌曲", "V1001_TODAY_MUSIC"),
                Button::parent(
                    "菜单",
                    vec![
                        Button::view("搜索", "http://www.soso.com/"),
                        Button::click("赞一下我们", "V1001_GOOD"),
                    ],
                ),
            ],
        };
        assert_eq!(menu, expected);
        assert!(menu.issues().is_empty());
        assert_eq!(
            serde_json::to_value(&menu).expect("writes")["button"][1],
            json!({"name": "菜单", "sub_button": [
                {"type": "view", "name": "搜索", "url": "http://www.soso.com/"},
                {"type": "click", "name": "赞一下我们", "key": "V1001_GOOD"}
            ]})
        );
        assert_eq!(
            menu.find_key("V1001_GOOD").map(|b| b.name.as_str()),
            Some("赞一下我们")
        );
        assert!(menu.find_key("nope").is_none());
    }

    #[test]
    fn limits_are_in_bytes_and_each_breach_names_its_errcode() {
        let ok = Menu {
            button: vec![
                // 5 Chinese characters are 15 bytes; 20 are 60.
                Button::click("我的推广码", &"K".repeat(128)),
                Button::parent(
                    "更多",
                    (0..5)
                        .map(|_| Button::view(&"页".repeat(20), "https://a.example/x"))
                        .collect(),
                ),
                Button::view("链接", &format!("https://a.example/{}", "p".repeat(1004))),
            ],
        };
        assert_eq!(problems(&ok), []);
        let bad = Menu {
            button: vec![
                Button::click("我的推广码呀", ""),
                Button::parent(
                    "更多",
                    vec![
                        Button::view(&"页".repeat(21), "ftp://a.example"),
                        Button::click("k", &"K".repeat(129)),
                        Button::view("u", &format!("https://a.example/{}", "p".repeat(1010))),
                        Button::parent("深", vec![Button::click("x", "y")]),
                        Button {
                            name: "无类型".into(),
                            ..Button::default()
                        },
                        Button::click("第六个", "k6"),
                    ],
                ),
                Button {
                    kind: Some(ButtonType::Unknown),
                    name: String::new(),
                    ..Button::default()
                },
                Button::view("四", "not a url"),
            ],
        };
        assert_eq!(
            problems(&bad),
            [
                (None, None, 40016),
                (Some(0), None, 40018),
                (Some(0), None, 40019),
                (Some(1), None, 40023),
                (Some(1), Some(0), 40025),
                (Some(1), Some(0), 40054),
                (Some(1), Some(1), 40026),
                (Some(1), Some(2), 40027),
                (Some(1), Some(3), 40024),
                (Some(1), Some(4), 40024),
                (Some(2), None, 40018),
                (Some(2), None, 40017),
                (Some(3), None, 40055),
            ]
        );
        assert_eq!(problems(&Menu::default()), [(None, None, 40016)]);
    }

    #[test]
    fn unknown_types_read_and_are_refused() {
        let menu: Menu = serde_json::from_value(json!({"button": [
            {"type": "teleport", "name": "x", "key": "k"}
        ]}))
        .expect("reads");
        assert_eq!(menu.button[0].kind, Some(ButtonType::Unknown));
        assert_eq!(problems(&menu), [(Some(0), None, 40017)]);
    }
}
