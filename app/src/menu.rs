//! The Official Account's custom menu as the dashboard edits it: up to 3 buttons, each a click
//! (WeChat sends an event with its key), a link (WeChat opens its URL) or a parent of up to 5
//! sub-buttons. The server checks WeChat's limits (names of 16 bytes on top, 60 below; keys of
//! 128 bytes; URLs of 1024 bytes) and names each problem by [`field_name`]; the editor's
//! operations are the plain functions here.

use serde::{Deserialize, Serialize};

/// Most top-level buttons.
pub const MAX_BUTTONS: usize = 3;
/// Most sub-buttons under one button.
pub const MAX_SUB_BUTTONS: usize = 5;
/// Longest names, in UTF-8 bytes (a Chinese character is 3): top-level and sub-buttons.
pub const MAX_NAME_BYTES: usize = 16;
pub const MAX_SUB_NAME_BYTES: usize = 60;

/// The ready items' names.
pub const CODE_ITEM_NAME: &str = "我的推广码";
pub const PAGE_ITEM_NAME: &str = "我的推广页";

/// What a button does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ButtonKind {
    /// A CLICK button: WeChat sends us an event with the key.
    #[default]
    Click,
    /// A VIEW button: WeChat opens the URL.
    View,
    /// Opens its sub-buttons.
    Parent,
    /// A type made elsewhere (mini program, scan, photo, …), shown but not edited here.
    Other,
}

impl ButtonKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ButtonKind::Click => "click",
            ButtonKind::View => "view",
            ButtonKind::Parent => "parent",
            ButtonKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            ButtonKind::Click,
            ButtonKind::View,
            ButtonKind::Parent,
            ButtonKind::Other,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One button. Only the fields of its kind count: `key` for a click, `url` for a link,
/// `sub_buttons` for a parent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuButton {
    pub name: String,
    pub kind: ButtonKind,
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub url: String,
    /// WeChat's type name of an [`ButtonKind::Other`] button (e.g. `miniprogram`).
    #[serde(default)]
    pub wechat_type: Option<String>,
    #[serde(default)]
    pub sub_buttons: Vec<MenuButton>,
}

impl MenuButton {
    pub fn click(name: &str, key: &str) -> Self {
        MenuButton {
            name: name.to_owned(),
            kind: ButtonKind::Click,
            key: key.to_owned(),
            ..MenuButton::default()
        }
    }

    pub fn view(name: &str, url: &str) -> Self {
        MenuButton {
            name: name.to_owned(),
            kind: ButtonKind::View,
            url: url.to_owned(),
            ..MenuButton::default()
        }
    }

    pub fn parent(name: &str, subs: Vec<MenuButton>) -> Self {
        MenuButton {
            name: name.to_owned(),
            kind: ButtonKind::Parent,
            sub_buttons: subs,
            ..MenuButton::default()
        }
    }

    /// Whether another sub-button fits.
    pub fn can_add_sub(&self) -> bool {
        self.kind == ButtonKind::Parent && self.sub_buttons.len() < MAX_SUB_BUTTONS
    }
}

/// A custom menu.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Menu {
    #[serde(default)]
    pub buttons: Vec<MenuButton>,
}

/// Where a button is: its top-level index and, for a sub-button, its index below that.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ButtonPath {
    pub top: usize,
    pub sub: Option<usize>,
}

impl ButtonPath {
    pub fn top(top: usize) -> Self {
        ButtonPath { top, sub: None }
    }

    pub fn sub(top: usize, sub: usize) -> Self {
        ButtonPath {
            top,
            sub: Some(sub),
        }
    }

    /// The longest name at this level, in bytes.
    pub fn name_limit(self) -> usize {
        if self.sub.is_some() {
            MAX_SUB_NAME_BYTES
        } else {
            MAX_NAME_BYTES
        }
    }
}

/// The name of a button's field in validation errors: `buttons[0].name`,
/// `buttons[1].sub_buttons[2].url`; `buttons` alone for the number of buttons.
pub fn field_name(path: Option<ButtonPath>, field: &str) -> String {
    match path {
        None => "buttons".to_owned(),
        Some(ButtonPath { top, sub: None }) => format!("buttons[{top}].{field}"),
        Some(ButtonPath {
            top,
            sub: Some(sub),
        }) => format!("buttons[{top}].sub_buttons[{sub}].{field}"),
    }
}

impl Menu {
    /// Whether another top-level button fits.
    pub fn can_add_button(&self) -> bool {
        self.buttons.len() < MAX_BUTTONS
    }

    pub fn button(&self, path: ButtonPath) -> Option<&MenuButton> {
        let top = self.buttons.get(path.top)?;
        match path.sub {
            None => Some(top),
            Some(s) => top.sub_buttons.get(s),
        }
    }

    pub fn button_mut(&mut self, path: ButtonPath) -> Option<&mut MenuButton> {
        let top = self.buttons.get_mut(path.top)?;
        match path.sub {
            None => Some(top),
            Some(s) => top.sub_buttons.get_mut(s),
        }
    }

    /// Adds an empty click button on top (false when 3 are there).
    pub fn add_button(&mut self) -> bool {
        self.push(MenuButton::default())
    }

    /// Adds `button` on top (false when 3 are there).
    pub fn push(&mut self, button: MenuButton) -> bool {
        if !self.can_add_button() {
            return false;
        }
        self.buttons.push(button);
        true
    }

    /// Adds an empty click sub-button under parent `top` (false when it is full or no parent).
    pub fn add_sub(&mut self, top: usize) -> bool {
        match self.buttons.get_mut(top) {
            Some(b) if b.can_add_sub() => {
                b.sub_buttons.push(MenuButton::default());
                true
            }
            _ => false,
        }
    }

    /// Removes a button (a parent with its sub-buttons).
    pub fn remove(&mut self, path: ButtonPath) {
        match path.sub {
            None if path.top < self.buttons.len() => {
                self.buttons.remove(path.top);
            }
            Some(s) => {
                if let Some(b) = self.buttons.get_mut(path.top)
                    && s < b.sub_buttons.len()
                {
                    b.sub_buttons.remove(s);
                }
            }
            None => {}
        }
    }

    /// Changes a button's kind. A top-level button made a parent gets one empty sub-button to
    /// fill; sub-buttons cannot be parents (WeChat has two levels).
    pub fn set_kind(&mut self, path: ButtonPath, kind: ButtonKind) {
        if kind == ButtonKind::Parent && path.sub.is_some() {
            return;
        }
        if let Some(b) = self.button_mut(path) {
            b.kind = kind;
            if kind == ButtonKind::Parent && b.sub_buttons.is_empty() {
                b.sub_buttons.push(MenuButton::default());
            }
        }
    }

    /// Every button, top-level ones followed by their sub-buttons.
    pub fn all(&self) -> impl Iterator<Item = &MenuButton> {
        self.buttons
            .iter()
            .flat_map(|b| std::iter::once(b).chain(b.sub_buttons.iter()))
    }

    /// Whether a click button with `key` is on the menu.
    pub fn has_key(&self, key: &str) -> bool {
        self.all()
            .any(|b| b.kind == ButtonKind::Click && b.key == key)
    }

    /// Whether a link button to `url` is on the menu.
    pub fn has_url(&self, url: &str) -> bool {
        self.all()
            .any(|b| b.kind == ButtonKind::View && b.url == url)
    }

    /// The menu's structure (each top-level button's kind and its sub-buttons' kinds): the
    /// editor lays out its rows again only when this changes, so typing keeps the focus.
    pub fn shape(&self) -> Vec<(ButtonKind, Vec<ButtonKind>)> {
        self.buttons
            .iter()
            .map(|b| (b.kind, b.sub_buttons.iter().map(|s| s.kind).collect()))
            .collect()
    }
}

/// The ready items for the current account: the "my referral code" click (the key the
/// settings page configures) and the link to the member's own page through web authorization.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadyItems {
    pub code_key: String,
    pub page_url: String,
}

impl ReadyItems {
    /// 我的推广码: a click with the member menu key.
    pub fn code(&self) -> MenuButton {
        MenuButton::click(CODE_ITEM_NAME, &self.code_key)
    }

    /// 我的推广页: a link to the member page.
    pub fn page(&self) -> MenuButton {
        MenuButton::view(PAGE_ITEM_NAME, &self.page_url)
    }
}

/// What the menu page shows: the menu WeChat shows followers now, and what is needed to edit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuPage {
    /// The live menu (`menu/get`); None when the account has none.
    pub live: Option<Menu>,
    /// Why the live menu could not be read (WeChat's errcode and what to do), if it could not.
    pub live_error: Option<String>,
    pub ready: ReadyItems,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready() -> ReadyItems {
        ReadyItems {
            code_key: "MY_REFERRAL_CODE".into(),
            page_url: "https://t.example/m/a/1".into(),
        }
    }

    #[test]
    fn the_editor_keeps_to_three_buttons_of_five_sub_buttons() {
        let mut menu = Menu::default();
        assert!(menu.push(ready().code()) && menu.push(ready().page()));
        assert!(menu.has_key("MY_REFERRAL_CODE") && menu.has_url("https://t.example/m/a/1"));
        assert!(menu.add_button());
        assert!(!menu.add_button() && !menu.push(ready().code()));
        assert!(!menu.add_sub(2), "a click has no sub-buttons");
        menu.set_kind(ButtonPath::top(2), ButtonKind::Parent);
        assert_eq!(menu.buttons[2].sub_buttons.len(), 1);
        while menu.add_sub(2) {}
        assert_eq!(menu.buttons[2].sub_buttons.len(), MAX_SUB_BUTTONS);
        menu.set_kind(ButtonPath::sub(2, 0), ButtonKind::Parent);
        assert_eq!(menu.buttons[2].sub_buttons[0].kind, ButtonKind::Click);
        menu.remove(ButtonPath::sub(2, 4));
        menu.remove(ButtonPath::top(0));
        menu.remove(ButtonPath::top(9));
        menu.set_kind(ButtonPath::sub(1, 3), ButtonKind::View);
        assert_eq!(
            menu.shape(),
            [
                (ButtonKind::View, vec![]),
                (
                    ButtonKind::Parent,
                    vec![
                        ButtonKind::Click,
                        ButtonKind::Click,
                        ButtonKind::Click,
                        ButtonKind::View
                    ]
                )
            ]
        );
        assert!(!menu.has_key("MY_REFERRAL_CODE"));
    }

    #[test]
    fn field_names_point_at_one_input() {
        assert_eq!(field_name(None, "name"), "buttons");
        assert_eq!(
            field_name(Some(ButtonPath::top(0)), "name"),
            "buttons[0].name"
        );
        assert_eq!(
            field_name(Some(ButtonPath::sub(1, 2)), "url"),
            "buttons[1].sub_buttons[2].url"
        );
        assert_eq!(ButtonPath::top(0).name_limit(), 16);
        assert_eq!(ButtonPath::sub(0, 0).name_limit(), 60);
        assert_eq!(CODE_ITEM_NAME.len(), 15, "fits a top-level name");
    }
}
