//! The server functions' answers: JSON, as `server_fn`'s own `Json`, read in the browser as
//! text (`serde_json::from_str`) the way Leptos reads island props. `server_fn`'s `Json` reads
//! bytes (`from_slice`), and serde_json's decoder is generic over its input, so a type that is
//! both an answer and an island prop was decoded by two copies of its decoder in the WASM
//! bundle (BENCHMARKS.md, "Bundle"). The bytes on the wire are the same.

use server_fn::codec::Post;
use server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};

/// JSON both ways, decoded from text.
pub struct JsonText;

/// The `output` codec of the server functions: a POST answered with [`JsonText`].
pub type JsonAnswer = Post<JsonText>;

impl ContentType for JsonText {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for JsonText {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: serde::Serialize> Encodes<T> for JsonText {
    type Error = serde_json::Error;

    fn encode(value: &T) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(value).map(Bytes::from)
    }
}

impl<T: serde::de::DeserializeOwned> Decodes<T> for JsonText {
    type Error = String;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        let text = std::str::from_utf8(&bytes).map_err(|e| e.to_string())?;
        serde_json::from_str(text).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AppError;

    #[test]
    fn answers_are_the_json_of_server_fns_codec() {
        let e = AppError::new("not_found", "no such referrer");
        let ours = <JsonText as Encodes<AppError>>::encode(&e).expect("encodes");
        let theirs =
            <server_fn::codec::JsonEncoding as Encodes<AppError>>::encode(&e).expect("encodes");
        assert_eq!(ours, theirs);
        let back: AppError = <JsonText as Decodes<AppError>>::decode(ours).expect("decodes");
        assert_eq!(back.code, "not_found");
    }

    #[test]
    fn text_that_is_no_json_is_refused() {
        let r = <JsonText as Decodes<AppError>>::decode(Bytes::from_static(b"\xff{"));
        assert!(r.is_err());
    }
}
