//! Downloads: `/api/v1/stats.csv`, `/api/v1/stats/daily.csv`, `/api/v1/qrcodes.zip`, and the
//! CSV writing every CSV route shares (UTF-8 with a BOM so spreadsheet programs read Chinese,
//! CRLF records, formula guard on text cells only).

use std::borrow::Cow;

use app::model::Stats;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt};
use serde::Deserialize;

use crate::http::rest::ApiQuery;
use crate::http::rest::error::{ApiError, ErrorBody};
use crate::http::rest::reports::ReportParams;
use crate::referral::actor::Actor;
use crate::referral::error::ServiceError;
use crate::referral::{exports, reports};
use crate::startup::AppState;

/// One CSV cell: text, or a number written as it is (so `-3` stays a number a spreadsheet can
/// add up; only text can smuggle a formula).
#[derive(Clone, Copy, Debug)]
pub enum Cell<'a> {
    Text(&'a str),
    Int(i64),
}

/// Writes CSV records (RFC 4180 quoting by the csv crate, CRLF) into a buffer that is taken
/// out chunk by chunk.
pub struct CsvEncoder {
    writer: csv::Writer<Vec<u8>>,
}

impl Default for CsvEncoder {
    fn default() -> Self {
        CsvEncoder {
            writer: new_writer(),
        }
    }
}

fn new_writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new())
}

impl CsvEncoder {
    /// Appends one record.
    pub fn row(&mut self, cells: &[Cell<'_>]) {
        // Writing to a Vec cannot fail.
        for c in cells {
            let _ = match c {
                Cell::Text(t) => self.writer.write_field(guard(t).as_bytes()),
                Cell::Int(n) => self.writer.write_field(n.to_string()),
            };
        }
        // An empty record ends the one the fields above started.
        let _ = self.writer.write_record(None::<&[u8]>);
    }

    /// Appends a header record of plain names.
    pub fn header(&mut self, names: &[&str]) {
        let cells: Vec<Cell<'_>> = names.iter().map(|n| Cell::Text(n)).collect();
        self.row(&cells);
    }

    /// The bytes written since the last call (a chunk's worth: the writer is replaced).
    pub fn take(&mut self) -> Vec<u8> {
        let writer = std::mem::replace(&mut self.writer, new_writer());
        writer.into_inner().unwrap_or_default()
    }
}

/// A text cell a spreadsheet would run as a formula (or whose leading tab or CR could hide
/// one) gets a leading quote; see OWASP "CSV Injection".
fn guard(text: &str) -> Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// One record as a string (for tests and small tables).
pub fn csv_row(cells: &[Cell<'_>]) -> String {
    let mut enc = CsvEncoder::default();
    enc.row(cells);
    String::from_utf8(enc.take()).unwrap_or_default()
}

/// Rows taken from the stream per body chunk at most (rows already at hand are written
/// together, so a chunk is one database batch or less, never the whole export).
const CHUNK_ROWS: usize = 512;

/// A CSV download whose rows are written as the stream yields them: the memory held is one
/// chunk, whatever the export's size. An error ends the body abruptly (logged), so a client
/// sees a failed download rather than a silently short file.
pub fn csv_stream<T, S, F>(filename: &str, header: &[&str], rows: S, mut write: F) -> Response
where
    T: Send + 'static,
    S: Stream<Item = Result<T, ServiceError>> + Send + 'static,
    F: FnMut(&T, &mut CsvEncoder) + Send + 'static,
{
    let mut enc = CsvEncoder::default();
    enc.header(header);
    let mut head = "\u{feff}".as_bytes().to_vec();
    head.extend(enc.take());
    let body = rows.ready_chunks(CHUNK_ROWS).map(move |chunk| {
        for row in chunk {
            match row {
                Ok(r) => write(&r, &mut enc),
                Err(e) => {
                    tracing::error!(error = %e, "CSV export interrupted");
                    return Err(std::io::Error::other("export interrupted"));
                }
            }
        }
        Ok(Bytes::from(enc.take()))
    });
    let head =
        futures_util::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(head)) });
    download(
        "text/csv; charset=utf-8",
        filename,
        Body::from_stream(head.chain(body)),
    )
}

/// A small CSV download built at once.
fn csv_table(filename: &str, header: &[&str], rows: &[Vec<Cell<'_>>]) -> Response {
    let mut enc = CsvEncoder::default();
    enc.header(header);
    for r in rows {
        enc.row(r);
    }
    let mut body = "\u{feff}".as_bytes().to_vec();
    body.extend(enc.take());
    download("text/csv; charset=utf-8", filename, Body::from(body))
}

fn download(content_type: &'static str, filename: &str, body: Body) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// Column names of `/stats.csv`, in the order of [`funnel_cells`].
const FUNNEL_HEADER: [&str; 10] = [
    "from",
    "to",
    "scans",
    "unique_scanners",
    "new_follows",
    "unfollows",
    "net_follows",
    "still_following",
    "retained_7d",
    "retained_30d",
];

/// The funnel as one record; `from` and `to` are the first and last day of the series (China
/// Standard Time, inclusive).
fn funnel_cells(s: &Stats) -> Vec<Cell<'_>> {
    let first = s.daily.first().map_or("", |d| d.date.as_str());
    let last = s.daily.last().map_or("", |d| d.date.as_str());
    vec![
        Cell::Text(first),
        Cell::Text(last),
        Cell::Int(s.scans),
        Cell::Int(s.unique_scanners),
        Cell::Int(s.new_follows),
        Cell::Int(s.unfollows),
        Cell::Int(s.net_follows),
        Cell::Int(s.still_following),
        Cell::Int(s.retained_7d),
        Cell::Int(s.retained_30d),
    ]
}

/// The account's funnel for a period as CSV: a header and one record with the figures of
/// `GET /stats` (the same parameters; `metric`, `kind` and `limit` do not apply).
#[utoipa::path(get, path = "/stats.csv", tag = "reports", params(ReportParams),
    responses((status = 200, content_type = "text/csv", body = String,
               description = "from, to, scans, unique_scanners, new_follows, unfollows, \
                              net_follows, still_following, retained_7d, retained_30d"),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn export_stats(
    State(state): State<AppState>,
    actor: Actor,
    ApiQuery(p): ApiQuery<ReportParams>,
) -> Result<Response, ApiError> {
    let stats = reports::stats(&state.pool, &actor, &p.into()).await?;
    Ok(csv_table(
        "stats.csv",
        &FUNNEL_HEADER,
        &[funnel_cells(&stats)],
    ))
}

/// The account's daily series for a period as CSV: one record per day (China Standard Time),
/// days without activity included with zeros; `net_follows` is follows minus unfollows.
#[utoipa::path(get, path = "/stats/daily.csv", tag = "reports", params(ReportParams),
    responses((status = 200, content_type = "text/csv", body = String,
               description = "date, scans, follows, unfollows, net_follows"),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn export_daily(
    State(state): State<AppState>,
    actor: Actor,
    ApiQuery(p): ApiQuery<ReportParams>,
) -> Result<Response, ApiError> {
    let stats = reports::stats(&state.pool, &actor, &p.into()).await?;
    let rows: Vec<Vec<Cell<'_>>> = stats
        .daily
        .iter()
        .map(|d| {
            vec![
                Cell::Text(&d.date),
                Cell::Int(d.scans),
                Cell::Int(d.follows),
                Cell::Int(d.unfollows),
                Cell::Int(d.follows - d.unfollows),
            ]
        })
        .collect();
    Ok(csv_table(
        "stats-daily.csv",
        &["date", "scans", "follows", "unfollows", "net_follows"],
        &rows,
    ))
}

/// Which codes go into the ZIP, and as what.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ZipParams {
    /// Comma-separated QR code ids, 1 to 500 (e.g. `1,2,3`).
    ids: Option<String>,
    /// `png` (default, 512 px) or `svg`.
    format: Option<String>,
}

/// The images of the chosen codes as one ZIP; each entry is named by its referrer and code
/// (`张三-12.png`, characters file systems refuse replaced by `_`), in the order asked.
/// An id that is not a code of this account answers 404 and makes no ZIP.
#[utoipa::path(get, path = "/qrcodes.zip", tag = "qrcodes", params(ZipParams),
    responses((status = 200, content_type = "application/zip", body = Vec<u8>),
              (status = 404, body = ErrorBody,
               description = "an id is not a QR code of this account"),
              (status = 422, body = ErrorBody,
               description = "no ids, more than 500, an id that is not a number, or an unknown format")),
    security(("bearer" = [])))]
pub async fn export_qrcodes(
    State(state): State<AppState>,
    actor: Actor,
    ApiQuery(p): ApiQuery<ZipParams>,
) -> Result<Response, ApiError> {
    let zip = exports::code_images_zip(&state.pool, &actor, p.ids.as_deref(), p.format.as_deref())
        .await?;
    Ok(download("application/zip", "qrcodes.zip", Body::from(zip)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_defuses_text_formulas_only() {
        assert_eq!(
            csv_row(&[Cell::Text("a"), Cell::Text("b,c"), Cell::Text("\"q\"")]),
            "a,\"b,c\",\"\"\"q\"\"\"\r\n"
        );
        assert_eq!(
            csv_row(&[Cell::Text("=1+1"), Cell::Text("张三"), Cell::Text("-3")]),
            "'=1+1,张三,'-3\r\n"
        );
        assert_eq!(
            csv_row(&[Cell::Int(-3), Cell::Int(0), Cell::Text("@x")]),
            "-3,0,'@x\r\n"
        );
    }

    #[test]
    fn the_encoder_hands_out_what_was_written_since_last_time() {
        let mut enc = CsvEncoder::default();
        enc.header(&["a", "b"]);
        assert_eq!(enc.take(), b"a,b\r\n");
        enc.row(&[Cell::Int(1), Cell::Text("+x")]);
        enc.row(&[Cell::Int(-2), Cell::Text("y")]);
        assert_eq!(enc.take(), b"1,'+x\r\n-2,y\r\n");
        assert!(enc.take().is_empty());
    }
}
