//! QR images rendered locally from a code's `url` (the same content WeChat's own image holds).

use std::io::Cursor;

use image::Luma;
use qrcode::QrCode;
use qrcode::render::svg;

/// Why an image could not be made.
#[derive(Debug, thiserror::Error)]
#[error("cannot render QR code: {0}")]
pub struct QrError(String);

/// An SVG image with a quiet zone, scalable for print.
pub fn svg(content: &str) -> Result<String, QrError> {
    let code = QrCode::new(content.as_bytes()).map_err(|e| QrError(e.to_string()))?;
    Ok(code
        .render::<svg::Color>()
        .min_dimensions(256, 256)
        .quiet_zone(true)
        .build())
}

/// A PNG image about `size` pixels wide (never smaller than the code needs).
pub fn png(content: &str, size: u32) -> Result<Vec<u8>, QrError> {
    let code = QrCode::new(content.as_bytes()).map_err(|e| QrError(e.to_string()))?;
    let image = code
        .render::<Luma<u8>>()
        .min_dimensions(size, size)
        .quiet_zone(true)
        .build();
    let mut out = Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| QrError(e.to_string()))?;
    Ok(out.into_inner())
}
