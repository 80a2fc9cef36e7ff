//! Campaign posters (任务宝): the member's QR code, a text line and a round avatar placeholder
//! drawn onto the campaign's background (or a default one), as a PNG.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ab_glyph::{Font, FontVec, GlyphId, PxScale, ScaleFont, point};
use app::campaigns::{
    DEFAULT_HEIGHT, DEFAULT_WIDTH, MAX_BACKGROUND_BYTES, MAX_BACKGROUND_SIDE, PosterLayout, Square,
    parse_color,
};
use image::imageops::{self, FilterType};
use image::{GrayImage, ImageFormat, ImageReader, Limits, Luma, Rgb, RgbImage};
use qrcode::QrCode;

/// The CJK font used when `POSTER_FONT` is not set (Debian package `fonts-wqy-microhei`).
pub const DEFAULT_FONT: &str = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc";
/// The smallest QR side accepted, in pixels: smaller codes do not scan reliably from a screen.
pub const MIN_QR_SIZE: u32 = 100;
/// The font sizes accepted for the text line, in pixels.
pub const FONT_SIZES: std::ops::RangeInclusive<u32> = 12..=160;

const BRAND_GREEN: [u8; 3] = [0x07, 0xc1, 0x60];
const WHITE: [u8; 3] = [255, 255, 255];
const AVATAR_COLORS: [[u8; 3]; 5] = [
    [0x8c, 0xc8, 0xa8],
    [0x9b, 0xb7, 0xe0],
    [0xe6, 0xa8, 0x8a],
    [0xc3, 0xa6, 0xe0],
    [0xe0, 0xc2, 0x7a],
];
const TITLE_TOP: u32 = 120;
const TITLE_SIZE: u32 = 64;
/// Kept free at each side when text is shrunk to fit.
const TEXT_MARGIN: f32 = 16.0;

/// Why a poster could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PosterError {
    #[error("背景不是 PNG 或 JPEG 图片 / not a PNG or JPEG image")]
    BadImage,
    #[error(
        "背景过大 / background too large: at most {MAX_BACKGROUND_SIDE} × {MAX_BACKGROUND_SIDE} px and {} MB",
        MAX_BACKGROUND_BYTES / 1024 / 1024
    )]
    TooLarge,
    /// Per-field problems: (field, bilingual message).
    #[error("poster layout refused: {0:?}")]
    Layout(Vec<(String, String)>),
    #[error("poster font: {0}")]
    Font(String),
    #[error("cannot render QR code: {0}")]
    Qr(String),
    #[error("cannot encode poster: {0}")]
    Encode(String),
}

/// What goes on one member's poster.
#[derive(Clone, Copy, Debug)]
pub struct PosterSpec<'a> {
    /// The uploaded background (PNG or JPEG), or `None` for the default one.
    pub background: Option<&'a [u8]>,
    pub layout: &'a PosterLayout,
    /// What the QR code holds (the member's referral URL).
    pub qr_content: &'a str,
    /// The text line, placeholders already filled.
    pub text: &'a str,
    /// The member's name; its first character goes on the avatar placeholder.
    pub member_name: &'a str,
    /// The campaign's name, drawn on the default background only.
    pub title: &'a str,
}

/// Composes the poster, as an RGB PNG.
pub fn compose(spec: &PosterSpec<'_>) -> Result<Vec<u8>, PosterError> {
    let (width, height) = match spec.background {
        Some(bytes) => background_size(bytes)?,
        None => (DEFAULT_WIDTH, DEFAULT_HEIGHT),
    };
    let color = validate(spec.layout, width, height).map_err(PosterError::Layout)?;
    let font = font()?;
    let mut canvas = match spec.background {
        Some(bytes) => decode_background(bytes)?,
        None => default_background(font, spec.title),
    };
    if let Some(avatar) = spec.layout.avatar {
        draw_avatar(&mut canvas, font, avatar, spec.member_name);
    }
    let line = &spec.layout.name;
    draw_text(
        &mut canvas,
        font,
        spec.text,
        (line.x, line.y),
        line.size,
        color,
    );
    paste_qr(&mut canvas, spec.qr_content, spec.layout.qr)?;
    let mut out = Cursor::new(Vec::new());
    canvas
        .write_to(&mut out, ImageFormat::Png)
        .map_err(|e| PosterError::Encode(e.to_string()))?;
    Ok(out.into_inner())
}

/// The size of an uploaded background, once its byte count, format and sides are checked.
pub fn background_size(bytes: &[u8]) -> Result<(u32, u32), PosterError> {
    if bytes.len() > MAX_BACKGROUND_BYTES {
        return Err(PosterError::TooLarge);
    }
    let (width, height) = reader(bytes)?
        .into_dimensions()
        .map_err(|_| PosterError::BadImage)?;
    if width > MAX_BACKGROUND_SIDE || height > MAX_BACKGROUND_SIDE {
        return Err(PosterError::TooLarge);
    }
    Ok((width, height))
}

/// Checks that every part of the layout lies on a `width` × `height` background; the errors
/// name the field (`layout.qr`, `layout.avatar`, `layout.name`, `layout.name.size`,
/// `layout.name.color`) with a bilingual message.
pub fn check_layout(
    layout: &PosterLayout,
    width: u32,
    height: u32,
) -> Result<(), Vec<(String, String)>> {
    validate(layout, width, height).map(|_| ())
}

/// Reads a font file (a TrueType collection's first face, or a plain TrueType font).
pub fn load_font(path: &Path) -> Result<FontVec, PosterError> {
    let hint = "安装 fonts-wqy-microhei 或设置 POSTER_FONT / install fonts-wqy-microhei or set POSTER_FONT";
    let bytes = std::fs::read(path)
        .map_err(|e| PosterError::Font(format!("cannot read {}: {e}; {hint}", path.display())))?;
    FontVec::try_from_vec_and_index(bytes, 0)
        .map_err(|e| PosterError::Font(format!("{} is not a font: {e}; {hint}", path.display())))
}

/// The process's font, loaded on first use; a failure is not cached, so installing the font
/// fixes a running server.
fn font() -> Result<&'static FontVec, PosterError> {
    static FONT: OnceLock<FontVec> = OnceLock::new();
    if let Some(font) = FONT.get() {
        return Ok(font);
    }
    let path =
        std::env::var_os("POSTER_FONT").map_or_else(|| PathBuf::from(DEFAULT_FONT), PathBuf::from);
    let loaded = load_font(&path)?;
    Ok(FONT.get_or_init(|| loaded))
}

/// The layout's problems, or the text colour.
fn validate(
    layout: &PosterLayout,
    width: u32,
    height: u32,
) -> Result<[u8; 3], Vec<(String, String)>> {
    let mut errors = Vec::new();
    let mut refuse = |field: &str, message: String| errors.push((field.to_owned(), message));
    let within = |zh: &str, en: &str| {
        format!(
            "{zh}须在 {width} × {height} 的背景内 / {en} must lie within the {width} × {height} background"
        )
    };
    if layout.qr.size < MIN_QR_SIZE {
        let m = MIN_QR_SIZE;
        refuse(
            "layout.qr",
            format!("二维码边长至少 {m} 像素 / the QR code must be at least {m} px"),
        );
    } else if !fits(layout.qr, width, height) {
        refuse("layout.qr", within("二维码", "the QR code"));
    }
    if let Some(avatar) = layout.avatar
        && (avatar.size == 0 || !fits(avatar, width, height))
    {
        refuse("layout.avatar", within("头像", "the avatar"));
    }
    let line = &layout.name;
    if line.x > width || line.y >= height {
        refuse("layout.name", within("文字起点", "the text's top"));
    }
    if !FONT_SIZES.contains(&line.size) {
        let (min, max) = (FONT_SIZES.start(), FONT_SIZES.end());
        refuse(
            "layout.name.size",
            format!("字号须为 {min}–{max} 像素 / the font size must be {min}–{max} px"),
        );
    }
    let color = parse_color(&line.color);
    if color.is_none() {
        refuse(
            "layout.name.color",
            "颜色须为 #rrggbb / the colour must be #rrggbb".to_owned(),
        );
    }
    match color {
        Some(color) if errors.is_empty() => Ok(color),
        _ => Err(errors),
    }
}

fn fits(square: Square, width: u32, height: u32) -> bool {
    u64::from(square.x) + u64::from(square.size) <= u64::from(width)
        && u64::from(square.y) + u64::from(square.size) <= u64::from(height)
}

fn reader(bytes: &[u8]) -> Result<ImageReader<Cursor<&[u8]>>, PosterError> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| PosterError::BadImage)?;
    match reader.format() {
        Some(ImageFormat::Png | ImageFormat::Jpeg) => Ok(reader),
        _ => Err(PosterError::BadImage),
    }
}

/// Decodes the background onto white (a transparent PNG would otherwise turn black in RGB).
fn decode_background(bytes: &[u8]) -> Result<RgbImage, PosterError> {
    let mut reader = reader(bytes)?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_BACKGROUND_SIDE);
    limits.max_image_height = Some(MAX_BACKGROUND_SIDE);
    reader.limits(limits);
    let rgba = reader
        .decode()
        .map_err(|_| PosterError::BadImage)?
        .into_rgba8();
    Ok(RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let alpha = f32::from(a) / 255.0;
        Rgb([r, g, b].map(|c| mix(255, c, alpha)))
    }))
}

/// A phone-sized poster: a brand-green band fading to white, with the title on the green.
fn default_background(font: &FontVec, title: &str) -> RgbImage {
    let mut canvas = RgbImage::from_fn(DEFAULT_WIDTH, DEFAULT_HEIGHT, |_, y| {
        let t = ((y as f32 - 240.0) / 400.0).clamp(0.0, 1.0);
        let fade = t * t * (3.0 - 2.0 * t);
        Rgb([0, 1, 2].map(|i| mix(BRAND_GREEN[i], WHITE[i], fade)))
    });
    let title = title.trim();
    if !title.is_empty() {
        // Drawn twice a pixel apart: the font has no bold face.
        for dx in [0, 1] {
            let at = (DEFAULT_WIDTH / 2 + dx, TITLE_TOP);
            draw_text(&mut canvas, font, title, at, TITLE_SIZE, WHITE);
        }
    }
    canvas
}

/// A filled circle in a soft colour chosen from the name, with its first character in white.
fn draw_avatar(canvas: &mut RgbImage, font: &FontVec, square: Square, name: &str) {
    let seed: u32 = name.chars().map(u32::from).fold(0, u32::wrapping_add);
    let color = AVATAR_COLORS[seed as usize % AVATAR_COLORS.len()];
    let radius = square.size as f32 / 2.0;
    let (cx, cy) = (square.x as f32 + radius, square.y as f32 + radius);
    for y in square.y..square.y + square.size {
        for x in square.x..square.x + square.size {
            let distance = (x as f32 + 0.5 - cx).hypot(y as f32 + 0.5 - cy);
            blend(canvas, x as i32, y as i32, color, radius - distance + 0.5);
        }
    }
    let Some(first) = name.trim().chars().next() else {
        return;
    };
    let first = first.to_uppercase().next().unwrap_or(first);
    let glyph = font
        .glyph_id(first)
        .with_scale(PxScale::from(square.size as f32 * 0.5));
    if let Some(outlined) = font.outline_glyph(glyph) {
        // Centred on its ink, not its advance box, so Latin and CJK letters both sit level.
        let bounds = outlined.px_bounds();
        let left = (cx - bounds.width() / 2.0).round() as i32;
        let top = (cy - bounds.height() / 2.0).round() as i32;
        outlined.draw(|gx, gy, coverage| {
            blend(canvas, left + gx as i32, top + gy as i32, WHITE, coverage);
        });
    }
}

/// One line of glyphs at a size: each glyph with its pen offset, and the advance width.
fn layout_line(font: &FontVec, text: &str, size: u32) -> (Vec<(GlyphId, f32)>, f32) {
    let scaled = font.as_scaled(PxScale::from(size as f32));
    let mut pen = 0.0;
    let mut previous = None;
    let mut glyphs = Vec::new();
    for c in text.chars().filter(|c| !c.is_control()) {
        let id = scaled.glyph_id(c);
        if let Some(previous) = previous {
            pen += scaled.kern(previous, id);
        }
        glyphs.push((id, pen));
        pen += scaled.h_advance(id);
        previous = Some(id);
    }
    (glyphs, pen)
}

/// The largest size up to `size` (and at least the smallest accepted) at which `text` fits
/// `max_width`.
fn fitted_size(font: &FontVec, text: &str, size: u32, max_width: f32) -> u32 {
    let min = *FONT_SIZES.start();
    let (_, width) = layout_line(font, text, size);
    if width <= max_width {
        return size;
    }
    let mut size = ((size as f32 * max_width / width) as u32).clamp(min, size);
    while size > min && layout_line(font, text, size).1 > max_width {
        size -= 1;
    }
    size
}

/// Draws `text` centred on `centre_x` with its top at `top`, shrunk to fit the canvas.
fn draw_text(
    canvas: &mut RgbImage,
    font: &FontVec,
    text: &str,
    (centre_x, top): (u32, u32),
    size: u32,
    color: [u8; 3],
) {
    let canvas_width = canvas.width() as f32;
    let size = fitted_size(font, text, size, canvas_width - 2.0 * TEXT_MARGIN);
    let (glyphs, width) = layout_line(font, text, size);
    // Shifted back inside rather than cut off when centred too close to an edge.
    let room = canvas_width - TEXT_MARGIN - width;
    let left = if room >= TEXT_MARGIN {
        (centre_x as f32 - width / 2.0).clamp(TEXT_MARGIN, room)
    } else {
        0.0
    };
    let scale = PxScale::from(size as f32);
    let baseline = top as f32 + font.as_scaled(scale).ascent();
    for (id, offset) in glyphs {
        // A character the font lacks (glyph 0, the "missing" box) keeps its space but no ink.
        if id.0 == 0 {
            continue;
        }
        let glyph = id.with_scale_and_position(scale, point(left + offset, baseline));
        if let Some(outlined) = font.outline_glyph(glyph) {
            let bounds = outlined.px_bounds();
            outlined.draw(|gx, gy, coverage| {
                let (x, y) = (
                    bounds.min.x as i32 + gx as i32,
                    bounds.min.y as i32 + gy as i32,
                );
                blend(canvas, x, y, color, coverage);
            });
        }
    }
}

/// Pastes the code onto a white `square` (the quiet zone lets it scan on any background).
fn paste_qr(canvas: &mut RgbImage, content: &str, square: Square) -> Result<(), PosterError> {
    let code = QrCode::new(content.as_bytes()).map_err(|e| PosterError::Qr(e.to_string()))?;
    let size = square.size;
    // Whole-pixel modules, centred, keep every module the same width; nearest-neighbour
    // shrinking is only the fallback for a code too dense for one pixel per module.
    let mut rendered = code
        .render::<Luma<u8>>()
        .max_dimensions(size, size)
        .quiet_zone(true)
        .build();
    if rendered.width() > size || rendered.height() > size {
        rendered = imageops::resize(&rendered, size, size, FilterType::Nearest);
    }
    let mut white = GrayImage::from_pixel(size, size, Luma([255]));
    let offset = |side: u32| i64::from((size - side) / 2);
    imageops::replace(
        &mut white,
        &rendered,
        offset(rendered.width()),
        offset(rendered.height()),
    );
    for (x, y, Luma([l])) in white.enumerate_pixels() {
        let (x, y) = ((square.x + x) as i32, (square.y + y) as i32);
        blend(canvas, x, y, [*l; 3], 1.0);
    }
    Ok(())
}

/// Mixes `color` over the pixel at (`x`, `y`) by `alpha`; pixels off the canvas are skipped.
fn blend(canvas: &mut RgbImage, x: i32, y: i32, color: [u8; 3], alpha: f32) {
    let (Ok(x), Ok(y)) = (u32::try_from(x), u32::try_from(y)) else {
        return;
    };
    if alpha <= 0.0 || x >= canvas.width() || y >= canvas.height() {
        return;
    }
    let pixel = canvas.get_pixel_mut(x, y);
    pixel.0 = [0, 1, 2].map(|i| mix(pixel.0[i], color[i], alpha));
}

/// `over` laid on `under` with opacity `alpha` (clamped to 0..=1).
fn mix(under: u8, over: u8, alpha: f32) -> u8 {
    let alpha = alpha.clamp(0.0, 1.0);
    (f32::from(over) * alpha + f32::from(under) * (1.0 - alpha)).round() as u8
}

#[cfg(test)]
mod tests {
    use app::campaigns::TextLine;
    use image::GenericImageView;

    use super::*;

    const URL: &str = "https://tuijian.example.com/r/ABCD1234";

    fn spec<'a>(
        layout: &'a PosterLayout,
        background: Option<&'a [u8]>,
        text: &'a str,
    ) -> PosterSpec<'a> {
        PosterSpec {
            background,
            layout,
            qr_content: URL,
            text,
            member_name: "小王",
            title: "春季助力",
        }
    }

    fn decode_qr(png: &[u8]) -> String {
        let image = image::load_from_memory(png).expect("a PNG").to_luma8();
        let mut prepared = rqrr::PreparedImage::prepare(image);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1, "one QR code on the poster");
        grids[0].decode().expect("decodes").1
    }

    fn png_background(width: u32, height: u32, color: [u8; 3]) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        RgbImage::from_pixel(width, height, Rgb(color))
            .write_to(&mut out, ImageFormat::Png)
            .expect("encodes");
        out.into_inner()
    }

    #[test]
    fn a_poster_on_the_default_background_scans_to_the_member_url() {
        let png =
            compose(&spec(&PosterLayout::default(), None, "小王 邀请你扫码关注")).expect("poster");
        let image = image::load_from_memory(&png).expect("a PNG");
        assert_eq!(image.dimensions(), (DEFAULT_WIDTH, DEFAULT_HEIGHT));
        assert_eq!(decode_qr(&png), URL);
        let image = image.to_rgb8();
        assert_eq!(
            image.get_pixel(0, 0).0,
            BRAND_GREEN,
            "the band starts green"
        );
        let Square { x, y, size } = PosterLayout::default().qr;
        for (cx, cy) in [(x, y), (x + size - 1, y + size - 1)] {
            assert_eq!(
                image.get_pixel(cx, cy).0,
                WHITE,
                "the QR square is white to its edge"
            );
        }
    }

    #[test]
    fn a_poster_on_an_uploaded_background_scans_and_shows_the_text() {
        let blue = [0x10, 0x20, 0x50];
        let background = png_background(900, 1600, blue);
        let layout = PosterLayout {
            qr: Square {
                x: 520,
                y: 1180,
                size: 300,
            },
            name: TextLine {
                x: 450,
                y: 300,
                size: 56,
                color: "#ffcc00".into(),
            },
            avatar: Some(Square {
                x: 390,
                y: 120,
                size: 120,
            }),
        };
        let text = "小王邀请你扫码关注一起领好礼";
        let png = compose(&spec(&layout, Some(&background), text)).expect("poster");
        assert_eq!(decode_qr(&png), URL);
        let image = image::load_from_memory(&png).expect("a PNG").to_rgb8();
        assert_eq!(image.dimensions(), (900, 1600));
        let inked = (430..470).flat_map(|x| (300..356).map(move |y| (x, y)));
        let changed = inked
            .filter(|&(x, y)| image.get_pixel(x, y).0 != blue)
            .count();
        assert!(
            changed > 50,
            "only {changed} pixels of text at the line's centre"
        );
    }

    #[test]
    fn jpeg_backgrounds_are_accepted() {
        let mut jpeg = Cursor::new(Vec::new());
        RgbImage::from_pixel(800, 1200, Rgb([200, 80, 40]))
            .write_to(&mut jpeg, ImageFormat::Jpeg)
            .expect("encodes");
        assert_eq!(
            background_size(jpeg.get_ref()).expect("a JPEG"),
            (800, 1200)
        );
    }

    #[test]
    fn layouts_off_the_background_are_refused_by_field() {
        let default = PosterLayout::default();
        let with = |f: fn(&mut PosterLayout)| {
            let mut layout = default.clone();
            f(&mut layout);
            layout
        };
        let cases = [
            (with(|l| l.qr.x = 600), "layout.qr"),
            (with(|l| l.qr.size = 80), "layout.qr"),
            (
                with(|l| {
                    l.avatar = Some(Square {
                        x: 700,
                        y: 0,
                        size: 120,
                    })
                }),
                "layout.avatar",
            ),
            (with(|l| l.name.y = DEFAULT_HEIGHT), "layout.name"),
            (with(|l| l.name.size = 8), "layout.name.size"),
            (with(|l| l.name.size = 200), "layout.name.size"),
            (with(|l| l.name.color = "red".into()), "layout.name.color"),
        ];
        for (layout, field) in cases {
            let errors = check_layout(&layout, DEFAULT_WIDTH, DEFAULT_HEIGHT).expect_err(field);
            assert_eq!(
                errors.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(),
                [field]
            );
            assert!(errors[0].1.contains(" / "), "bilingual: {}", errors[0].1);
        }
        assert_eq!(
            check_layout(&default, DEFAULT_WIDTH, DEFAULT_HEIGHT),
            Ok(())
        );
    }

    #[test]
    fn a_qr_code_off_the_background_is_refused_before_drawing() {
        let layout = PosterLayout {
            qr: Square {
                x: 600,
                y: 820,
                size: 320,
            },
            ..PosterLayout::default()
        };
        match compose(&spec(&layout, None, "小王")) {
            Err(PosterError::Layout(errors)) => assert_eq!(errors[0].0, "layout.qr"),
            other => panic!("expected a layout error, got {other:?}"),
        }
    }

    #[test]
    fn backgrounds_that_are_not_small_images_are_refused() {
        let huge = png_background(MAX_BACKGROUND_SIDE + 1, 10, [0, 0, 0]);
        let too_long = vec![0; MAX_BACKGROUND_BYTES + 1];
        let cases: [(&[u8], &str); 4] = [
            (b"not an image at all", "BadImage"),
            (b"GIF89a\x01\x00\x01\x00", "BadImage"),
            (&huge, "TooLarge"),
            (&too_long, "TooLarge"),
        ];
        let layout = PosterLayout::default();
        for (bytes, expected) in cases {
            let error = compose(&spec(&layout, Some(bytes), "小王")).expect_err(expected);
            assert_eq!(format!("{error:?}"), expected);
            assert_eq!(
                format!("{:?}", background_size(bytes).expect_err(expected)),
                expected
            );
        }
        assert!(
            PosterError::BadImage
                .to_string()
                .contains("not a PNG or JPEG image")
        );
    }

    #[test]
    fn text_too_wide_shrinks_to_fit_the_background() {
        let font = font().expect("font installed");
        let text = "很".repeat(40);
        let size = fitted_size(font, &text, 160, 718.0);
        assert!(
            size < 160 && layout_line(font, &text, size).1 <= 718.0,
            "size {size}"
        );
        let layout = PosterLayout {
            name: TextLine {
                x: 20,
                y: 40,
                size: 160,
                color: "#000000".into(),
            },
            ..PosterLayout::default()
        };
        let png = compose(&spec(&layout, None, &text)).expect("poster");
        assert_eq!(decode_qr(&png), URL);
    }

    #[test]
    fn characters_the_font_lacks_are_skipped() {
        let layout = PosterLayout::default();
        let png = compose(&spec(&layout, None, "\u{10FFFD}小王\u{E000}")).expect("poster");
        assert_eq!(decode_qr(&png), URL);
    }

    #[test]
    fn a_missing_font_file_names_the_path_and_the_package() {
        match load_font(Path::new("/nonexistent/poster-font.ttc")) {
            Err(PosterError::Font(message)) => {
                assert!(
                    message.contains("/nonexistent/poster-font.ttc"),
                    "{message}"
                );
                assert!(message.contains("fonts-wqy-microhei"), "{message}");
            }
            other => panic!("expected a font error, got {:?}", other.map(|_| "a font")),
        }
    }
}
