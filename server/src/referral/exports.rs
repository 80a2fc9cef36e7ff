//! Code images for print: the images of chosen QR codes as one ZIP, and the list of codes to
//! choose from. (The CSV exports are in [`crate::referral::reports`].)

use std::io::{Cursor, Write};

use app::model::CodeEntry;
use sqlx::PgPool;

use crate::db::qrcodes::{self as store, NamedCodeRow};
use crate::referral::actor::Actor;
use crate::referral::error::ServiceError;
use crate::referral::roles::Role;
use crate::referral::views::rfc3339;

/// Most codes in one ZIP (and listed to choose from).
pub const MAX_ZIP_CODES: usize = 500;
/// Width of the PNG images in a ZIP.
const ZIP_PNG_SIZE: u32 = crate::referral::qrcodes::DEFAULT_PNG_SIZE;
/// Characters of a referrer's name kept in an entry name.
const MAX_NAME_CHARS: usize = 40;

/// The image format of a ZIP's entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageFormat {
    Png,
    Svg,
}

impl ImageFormat {
    /// `png` (also when absent) or `svg`.
    pub fn parse(s: Option<&str>) -> Result<Self, ServiceError> {
        match s.map(str::trim) {
            None | Some("") | Some("png") => Ok(ImageFormat::Png),
            Some("svg") => Ok(ImageFormat::Svg),
            Some(_) => Err(ServiceError::field(
                "format",
                "格式须为 png 或 svg / format must be png or svg",
            )),
        }
    }

    fn extension(self) -> &'static str {
        match self {
            ImageFormat::Png => "png",
            ImageFormat::Svg => "svg",
        }
    }
}

/// Parses `1,2,3`: 1 to [`MAX_ZIP_CODES`] positive ids, repeats dropped, order kept.
pub fn parse_ids(raw: Option<&str>) -> Result<Vec<i64>, ServiceError> {
    let mut ids: Vec<i64> = Vec::new();
    for part in raw.unwrap_or("").split(',').map(str::trim) {
        if part.is_empty() {
            continue;
        }
        let id = part
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| {
                ServiceError::field(
                    "ids",
                    format!("二维码编号须为正整数 / ids must be positive integers, got {part:?}"),
                )
            })?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.is_empty() {
        return Err(ServiceError::field(
            "ids",
            "请至少选择一个二维码 / Choose at least one QR code",
        ));
    }
    if ids.len() > MAX_ZIP_CODES {
        return Err(ServiceError::field(
            "ids",
            format!("一次最多 {MAX_ZIP_CODES} 个二维码 / At most {MAX_ZIP_CODES} codes at once"),
        ));
    }
    Ok(ids)
}

/// An entry's file name: the referrer's name (characters that Windows, macOS or Linux refuse
/// in a file name, and control characters, become `_`; leading and trailing dots and spaces
/// go) and the code's id, which makes it unique: `张三-12.png`.
pub fn entry_name(referrer: &str, code_id: i64, format: ImageFormat) -> String {
    let cleaned: String = referrer
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                '_'
            } else {
                c
            }
        })
        .take(MAX_NAME_CHARS)
        .collect();
    let name = cleaned.trim_matches(|c: char| c == '.' || c.is_whitespace());
    let name = if name.is_empty() { "referrer" } else { name };
    format!("{name}-{code_id}.{}", format.extension())
}

/// The images of the codes `ids` (comma-separated) as one ZIP, entries in the order asked
/// (staff). An id that is not a code of the caller's account is "not found" (as for one
/// code's image), so nothing about other accounts shows.
pub async fn code_images_zip(
    pool: &PgPool,
    actor: &Actor,
    ids: Option<&str>,
    format: Option<&str>,
) -> Result<Vec<u8>, ServiceError> {
    actor.require(Role::Staff)?;
    let ids = parse_ids(ids)?;
    let format = ImageFormat::parse(format)?;
    let mut rows = store::named(pool, actor.account_id, &ids).await?;
    if rows.len() != ids.len() {
        return Err(ServiceError::NotFound("QR code"));
    }
    rows.sort_by_key(|r| ids.iter().position(|id| *id == r.id));
    // Rendering hundreds of images is CPU work: keep it off the async workers.
    tokio::task::spawn_blocking(move || zip_images(&rows, format))
        .await
        .map_err(|e| ServiceError::Internal(format!("ZIP task: {e}")))?
}

/// Renders each code's image (from its URL, as `/qrcodes/{id}/image.png|svg` do) into a ZIP
/// held in memory (at most [`MAX_ZIP_CODES`] images of a few KiB each). PNGs are stored as
/// they are (already compressed); SVGs are deflated.
fn zip_images(rows: &[NamedCodeRow], format: ImageFormat) -> Result<Vec<u8>, ServiceError> {
    use zip::write::SimpleFileOptions;
    let internal = |e: &dyn std::fmt::Display| ServiceError::Internal(format!("ZIP: {e}"));
    let method = match format {
        ImageFormat::Png => zip::CompressionMethod::Stored,
        ImageFormat::Svg => zip::CompressionMethod::Deflated,
    };
    let options = SimpleFileOptions::default().compression_method(method);
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for row in rows {
        let image = match format {
            ImageFormat::Png => crate::qr::png(&row.url, ZIP_PNG_SIZE),
            ImageFormat::Svg => crate::qr::svg(&row.url).map(String::into_bytes),
        }
        .map_err(|e| internal(&e))?;
        zip.start_file(entry_name(&row.referrer_name, row.id, format), options)
            .map_err(|e| internal(&e))?;
        zip.write_all(&image).map_err(|e| internal(&e))?;
    }
    Ok(zip.finish().map_err(|e| internal(&e))?.into_inner())
}

/// The account's newest codes with their referrers' names, to choose from (staff; at most
/// [`MAX_ZIP_CODES`]).
pub async fn codes(pool: &PgPool, actor: &Actor) -> Result<Vec<CodeEntry>, ServiceError> {
    actor.require(Role::Staff)?;
    let rows = store::newest_named(pool, actor.account_id, MAX_ZIP_CODES as i64).await?;
    Ok(rows
        .into_iter()
        .map(|r| CodeEntry {
            id: r.id,
            referrer_id: r.referrer_id,
            referrer_name: r.referrer_name,
            label: r.label,
            kind: r.kind,
            created_at: rfc3339(r.created_at),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(e: ServiceError) -> Vec<String> {
        match e {
            ServiceError::Validation(v) => v.into_iter().map(|f| f.field).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn ids_are_parsed_deduplicated_and_bounded() {
        assert_eq!(parse_ids(Some("3, 1,3,,2")).expect("ids"), [3, 1, 2]);
        for bad in [
            None,
            Some(""),
            Some(" , "),
            Some("1,x"),
            Some("0"),
            Some("-4"),
        ] {
            assert_eq!(fields(parse_ids(bad).expect_err("bad")), ["ids"], "{bad:?}");
        }
        let many: Vec<String> = (1..=501).map(|i| i.to_string()).collect();
        assert!(parse_ids(Some(&many[..500].join(","))).is_ok());
        assert_eq!(
            fields(parse_ids(Some(&many.join(","))).expect_err("too many")),
            ["ids"]
        );
    }

    #[test]
    fn formats_are_png_by_default_or_svg() {
        assert_eq!(ImageFormat::parse(None).expect("png"), ImageFormat::Png);
        assert_eq!(
            ImageFormat::parse(Some("svg")).expect("svg"),
            ImageFormat::Svg
        );
        assert_eq!(
            fields(ImageFormat::parse(Some("gif")).expect_err("gif")),
            ["format"]
        );
    }

    #[test]
    fn entry_names_are_safe_for_file_systems() {
        let png = ImageFormat::Png;
        assert_eq!(entry_name("张三", 12, png), "张三-12.png");
        assert_eq!(
            entry_name("a/b\\c:d*e?f\"g<h>i|j", 1, png),
            "a_b_c_d_e_f_g_h_i_j-1.png"
        );
        assert_eq!(entry_name("..", 2, ImageFormat::Svg), "referrer-2.svg");
        assert_eq!(entry_name(" 李四\n ", 3, png), "李四_-3.png");
        assert_eq!(
            entry_name("../../etc/passwd", 4, png),
            "_.._etc_passwd-4.png"
        );
        let long = "长".repeat(100);
        assert_eq!(
            entry_name(&long, 5, png).chars().count(),
            40 + "-5.png".len()
        );
    }
}
