//! The poster's layout in the editor: the numbers (QR code, text line, avatar, in the
//! background's pixels) and a live preview drawn to scale over the background, which follows
//! the inputs as they are typed. The server composes the real poster (`poster-preview.png`).

use leptos::prelude::*;

use crate::campaigns::{NAME_PLACEHOLDER, PosterLayout, Square, TextLine, parse_color};
use crate::components::campaign_form::number;
use crate::components::form::TextField;
use crate::i18n::t;
use crate::model::AppError;

/// The preview's width in CSS pixels.
pub const PREVIEW_WIDTH: f64 = 300.0;
/// The sample member the preview (and the server's preview poster) names.
pub const SAMPLE_NAME: &str = "小王";
/// The side of the QR placeholder's grid, in modules (a version 1 code).
const MODULES: u32 = 21;

/// CSS pixels per background pixel.
pub fn scale(width: u32) -> f64 {
    PREVIEW_WIDTH / f64::from(width.max(1))
}

/// The preview box: the background's aspect ratio at [`PREVIEW_WIDTH`].
pub fn box_style(width: u32, height: u32) -> String {
    let s = scale(width);
    format!(
        "width: {PREVIEW_WIDTH:.0}px; height: {:.1}px;",
        f64::from(height) * s
    )
}

/// A square (QR code, avatar) placed at scale.
pub fn square_style(sq: Square, s: f64) -> String {
    let px = |v: u32| f64::from(v) * s;
    format!(
        "left: {:.1}px; top: {:.1}px; width: {:.1}px; height: {:.1}px;",
        px(sq.x),
        px(sq.y),
        px(sq.size),
        px(sq.size)
    )
}

/// The text line at scale: `x` is its centre (the CSS centres it), `y` its top. A colour that is
/// no `#rrggbb` is drawn in the default ink, as the server refuses it anyway.
pub fn text_style(line: &TextLine, s: f64) -> String {
    let color = if parse_color(&line.color).is_some() {
        line.color.as_str()
    } else {
        "#1f2328"
    };
    format!(
        "left: {:.1}px; top: {:.1}px; font-size: {:.1}px; color: {color};",
        f64::from(line.x) * s,
        f64::from(line.y) * s,
        f64::from(line.size) * s
    )
}

/// The poster's text as the sample member sees it.
pub fn sample_text(template: &str) -> String {
    template.replace(NAME_PLACEHOLDER, SAMPLE_NAME)
}

/// An SVG path of something that looks like a QR code: the three finder patterns and a fixed
/// scatter of modules (it encodes nothing).
pub fn qr_placeholder_path() -> String {
    let finder = |x: u32, y: u32| {
        let (inner, eye) = ((x + 1, y + 1), (x + 2, y + 2));
        format!(
            "M{x} {y}h7v7h-7zM{} {}v5h5v-5zM{} {}h3v3h-3z",
            inner.0, inner.1, eye.0, eye.1
        )
    };
    // The finders with their one-module margin: the top corners and the bottom left.
    let near = |v: u32| v < 8;
    let far = |v: u32| v >= MODULES - 8;
    let in_finder = |x: u32, y: u32| (near(x) || far(x)) && near(y) || near(x) && far(y);
    let mut path = finder(0, 0) + &finder(MODULES - 7, 0) + &finder(0, MODULES - 7);
    for y in 0..MODULES {
        for x in 0..MODULES {
            if !in_finder(x, y) && scatter(x, y) {
                path.push_str(&format!("M{x} {y}h1v1h-1z"));
            }
        }
    }
    path
}

/// Whether the placeholder's module at `(x, y)` is dark: a fixed hash, about two in five.
fn scatter(x: u32, y: u32) -> bool {
    let h = x.wrapping_mul(73_856_093) ^ y.wrapping_mul(19_349_663);
    (h.wrapping_mul(2_654_435_761) >> 16) % 5 < 2
}

/// The layout's numbers as signals (text, so a field being typed into may be empty).
#[derive(Clone, Copy)]
pub struct LayoutDraft {
    qr: [RwSignal<String>; 3],
    name: [RwSignal<String>; 3],
    color: RwSignal<String>,
    avatar_on: RwSignal<bool>,
    avatar: [RwSignal<String>; 3],
}

fn square_signals(sq: Square) -> [RwSignal<String>; 3] {
    [sq.x, sq.y, sq.size].map(|v| RwSignal::new(v.to_string()))
}

impl LayoutDraft {
    pub fn new(layout: &PosterLayout) -> Self {
        let avatar = layout
            .avatar
            .unwrap_or(PosterLayout::default().avatar.unwrap_or(Square {
                x: 0,
                y: 0,
                size: 120,
            }));
        let n = &layout.name;
        LayoutDraft {
            qr: square_signals(layout.qr),
            name: [n.x, n.y, n.size].map(|v| RwSignal::new(v.to_string())),
            color: RwSignal::new(n.color.clone()),
            avatar_on: RwSignal::new(layout.avatar.is_some()),
            avatar: square_signals(avatar),
        }
    }

    /// The layout the fields describe (read tracked: the preview follows it). What is no number
    /// counts as 0.
    pub fn current(&self) -> PosterLayout {
        let num = |s: RwSignal<String>| u32::try_from(number(&s.get(), 0)).unwrap_or(0);
        let square = |[x, y, size]: [RwSignal<String>; 3]| Square {
            x: num(x),
            y: num(y),
            size: num(size),
        };
        PosterLayout {
            qr: square(self.qr),
            name: TextLine {
                x: num(self.name[0]),
                y: num(self.name[1]),
                size: num(self.name[2]),
                color: self.color.get(),
            },
            avatar: self.avatar_on.get().then(|| square(self.avatar)),
        }
    }
}

/// The layout's inputs, grouped (QR code, text, avatar), each group with its error.
#[component]
pub fn LayoutFields(
    layout: LayoutDraft,
    #[prop(into)] error: Signal<Option<AppError>>,
) -> impl IntoView {
    let message = move |field: &'static str| move || error.get().and_then(|e| e.field(field));
    let group_error = move |field: &'static str, testid: &'static str| {
        view! {
            <Show when=move || message(field)().is_some()>
                <p class="field-error" role="alert" data-testid=testid>{message(field)}</p>
            </Show>
        }
    };
    let [qx, qy, qs] = layout.qr;
    let [nx, ny, ns] = layout.name;
    let [ax, ay, asz] = layout.avatar;
    view! {
        <div class="layout-fields">
            <fieldset class="layout-group">
                <legend>{t("二维码（像素）", "QR code (pixels)")}</legend>
                <TextField label=t("左边距 x", "Left x") field="layout.qr.x" key="layout-qr-x" value=qx error=error input_type="number" />
                <TextField label=t("上边距 y", "Top y") field="layout.qr.y" key="layout-qr-y" value=qy error=error input_type="number" />
                <TextField label=t("边长", "Size") field="layout.qr.size" key="layout-qr-size" value=qs error=error input_type="number" />
                {group_error("layout.qr", "error-layout-qr")}
            </fieldset>
            <fieldset class="layout-group">
                <legend>{t("文字（像素）", "Text (pixels)")}</legend>
                <TextField label=t("中心 x", "Centre x") field="layout.name.x" key="layout-name-x" value=nx error=error input_type="number" />
                <TextField label=t("顶部 y", "Top y") field="layout.name.y" key="layout-name-y" value=ny error=error input_type="number" />
                <TextField label=t("字号", "Font size") field="layout.name.size" key="layout-name-size" value=ns error=error input_type="number" />
                <TextField label=t("颜色", "Colour") field="layout.name.color" key="layout-name-color" value=layout.color error=error input_type="color" />
                {group_error("layout.name", "error-layout-name")}
            </fieldset>
            <fieldset class="layout-group">
                <legend>{t("头像（像素）", "Avatar (pixels)")}</legend>
                <label class="inline">
                    <input type="checkbox" data-testid="input-layout-avatar-on"
                        prop:checked=move || layout.avatar_on.get()
                        on:change=move |ev| layout.avatar_on.set(event_target_checked(&ev)) />
                    {t("显示头像", "Show the avatar")}
                </label>
                <Show when=move || layout.avatar_on.get()>
                    <TextField label=t("左边距 x", "Left x") field="layout.avatar.x" key="layout-avatar-x" value=ax error=error input_type="number" />
                    <TextField label=t("上边距 y", "Top y") field="layout.avatar.y" key="layout-avatar-y" value=ay error=error input_type="number" />
                    <TextField label=t("直径", "Diameter") field="layout.avatar.size" key="layout-avatar-size" value=asz error=error input_type="number" />
                </Show>
                {group_error("layout.avatar", "error-layout-avatar")}
            </fieldset>
        </div>
    }
}

/// The poster drawn to scale: the background (the uploaded image, else a gradient like the
/// default one), the QR placeholder, the avatar and the text with the sample name.
#[component]
pub fn PosterPreview(
    layout: LayoutDraft,
    text: RwSignal<String>,
    width: u32,
    height: u32,
    /// The uploaded background's address, if there is one.
    background: Option<String>,
) -> impl IntoView {
    let s = scale(width);
    let current = Memo::new(move |_| layout.current());
    let label = move || {
        format!(
            "{}{}",
            t("海报预览：", "Poster preview: ")(),
            sample_text(&text.get())
        )
    };
    let back = match background {
        Some(src) => {
            view! { <img class="preview-bg" src=src alt="" data-testid="preview-background" /> }
                .into_any()
        }
        None => {
            view! { <div class="preview-bg preview-default" data-testid="preview-default"></div> }
                .into_any()
        }
    };
    view! {
        <div class="poster-preview" role="img" aria-label=label style=box_style(width, height) data-testid="poster-preview">
            {back}
            <div class="preview-layer" aria-hidden="true">
                <div class="preview-qr" data-testid="preview-qr" style=move || square_style(current.get().qr, s)>
                    <svg viewBox=format!("0 0 {MODULES} {MODULES}") shape-rendering="crispEdges" fill-rule="evenodd">
                        <path d=qr_placeholder_path() />
                    </svg>
                </div>
                {move || current.get().avatar.map(|a| view! {
                    <div class="preview-avatar" data-testid="preview-avatar" style=square_style(a, s)>
                        <span style=format!("font-size: {:.1}px;", f64::from(a.size) * s * 0.45)>"小"</span>
                    </div>
                })}
                <div class="preview-text" data-testid="preview-text" style=move || text_style(&current.get().name, s)>
                    {move || sample_text(&text.get())}
                </div>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_background_is_drawn_at_two_fifths() {
        let s = scale(750);
        assert!((s - 0.4).abs() < 1e-9);
        assert_eq!(box_style(750, 1334), "width: 300px; height: 533.6px;");
        let qr = PosterLayout::default().qr;
        assert_eq!(
            square_style(qr, s),
            "left: 86.0px; top: 328.0px; width: 128.0px; height: 128.0px;"
        );
    }

    #[test]
    fn the_text_is_placed_by_its_centre_in_its_colour() {
        let mut line = PosterLayout::default().name;
        assert_eq!(
            text_style(&line, 0.4),
            "left: 150.0px; top: 280.0px; font-size: 16.0px; color: #1f2328;"
        );
        line.color = "red".into();
        assert!(text_style(&line, 0.4).ends_with("color: #1f2328;"));
        assert_eq!(sample_text("{name} 邀请你扫码关注"), "小王 邀请你扫码关注");
    }

    #[test]
    fn the_placeholder_has_three_finders_and_some_modules() {
        let path = qr_placeholder_path();
        assert!(path.starts_with("M0 0h7v7h-7z"));
        assert!(path.contains("M14 0h7v7h-7z") && path.contains("M0 14h7v7h-7z"));
        assert_eq!(path.matches("h1v1h-1z").count(), 106);
    }
}
