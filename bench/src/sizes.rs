//! Bundle sizes: raw and gzipped (level 6, as `gzip` and most servers use).

use std::io::Write;
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;

pub struct FileSize {
    pub name: String,
    pub raw: u64,
    pub gzip: u64,
}

/// The `.wasm` and `.js` files in `pkg`, by name.
pub fn bundle(pkg: &Path) -> anyhow::Result<Vec<FileSize>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(pkg)? {
        let path = entry?.path();
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        if !matches!(ext, "wasm" | "js" | "css") {
            continue;
        }
        let bytes = std::fs::read(&path)?;
        out.push(FileSize {
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            raw: bytes.len() as u64,
            gzip: gzip_len(&bytes)?,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

pub fn gzip_len(bytes: &[u8]) -> std::io::Result<u64> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::new(6));
    enc.write_all(bytes)?;
    Ok(enc.finish()?.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repetitive_bytes_gzip_small() {
        let data = vec![b'a'; 100_000];
        let n = gzip_len(&data).expect("gzip");
        assert!(n < 1_000, "{n}");
    }
}
