//! Simplified Chinese first, English second. The choice lives in a `lang` cookie so the server
//! renders the same language the browser hydrates with.

use leptos::prelude::*;

/// A language the dashboard speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    /// Parses the cookie value; anything unknown falls back to Chinese.
    pub fn from_code(code: &str) -> Self {
        match code.trim() {
            "en" => Lang::En,
            _ => Lang::Zh,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The page's `lang` attribute (BCP 47).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn toggled(self) -> Self {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }
}

/// Finds the `lang` cookie in a `Cookie` header value.
pub fn lang_from_cookie_header(header: &str) -> Lang {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == "lang")
        .map(|(_, value)| Lang::from_code(value))
        .unwrap_or_default()
}

/// Puts the current language into context as an `RwSignal<Lang>`.
pub fn provide_lang() {
    provide_context(RwSignal::new(initial_lang()));
}

/// The language signal provided by [`provide_lang`]; in an island (hydrated on its own, without
/// the server's context) the cookie decides, as it did for the server.
pub fn use_lang() -> RwSignal<Lang> {
    use_context::<RwSignal<Lang>>().unwrap_or_else(|| RwSignal::new(initial_lang()))
}

/// A reactive text in both languages.
pub fn t(zh: &'static str, en: &'static str) -> impl Fn() -> &'static str + Copy + Send + Sync {
    let lang = use_lang();
    move || match lang.get() {
        Lang::Zh => zh,
        Lang::En => en,
    }
}

/// Remembers the language for a year and renders the page again in it.
pub fn set_lang(lang: Lang) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Ok(doc) = document().dyn_into::<web_sys::HtmlDocument>() {
            let cookie = format!(
                "lang={}; path=/; max-age=31536000; samesite=lax",
                lang.code()
            );
            let _ = doc.set_cookie(&cookie);
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = lang;
    crate::browser::reload();
}

/// The language the request asks for (its cookie), for the document's `lang` attribute.
pub fn request_lang() -> Lang {
    initial_lang()
}

#[cfg(feature = "ssr")]
fn initial_lang() -> Lang {
    use_context::<http::request::Parts>()
        .and_then(|parts| {
            parts
                .headers
                .get(http::header::COOKIE)
                .and_then(|v| v.to_str().ok())
                .map(lang_from_cookie_header)
        })
        .unwrap_or_default()
}

#[cfg(all(feature = "hydrate", not(feature = "ssr")))]
fn initial_lang() -> Lang {
    use wasm_bindgen::JsCast;
    document()
        .dyn_into::<web_sys::HtmlDocument>()
        .ok()
        .and_then(|doc| doc.cookie().ok())
        .map(|c| lang_from_cookie_header(&c))
        .unwrap_or_default()
}

#[cfg(not(any(feature = "ssr", feature = "hydrate")))]
fn initial_lang() -> Lang {
    Lang::Zh
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_header_selects_english_only_when_asked() {
        assert_eq!(lang_from_cookie_header("a=1; lang=en; b=2"), Lang::En);
        assert_eq!(lang_from_cookie_header("lang=zh"), Lang::Zh);
        assert_eq!(lang_from_cookie_header("lang=fr"), Lang::Zh);
        assert_eq!(lang_from_cookie_header(""), Lang::Zh);
        assert_eq!(lang_from_cookie_header("xlang=en"), Lang::Zh);
    }

    #[test]
    fn toggling_twice_returns_to_the_start() {
        assert_eq!(Lang::Zh.toggled(), Lang::En);
        assert_eq!(Lang::Zh.toggled().toggled(), Lang::Zh);
    }
}
