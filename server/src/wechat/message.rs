//! Inbound messages and events as typed values, and outbound passive replies, in WeChat's XML.
//! Parsed with quick-xml + serde; any DOCTYPE or ENTITY declaration is refused up front
//! (WeChat never sends one), so no entity is ever expanded.

use serde::Deserialize;

use super::crypto::MsgCrypt;
use super::signature::sign;

/// Passive replies longer than this are reported to be dropped by WeChat.
pub const MAX_REPLY_BYTES: usize = 2048;

/// Why a body could not be read as a WeChat message.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("DOCTYPE or ENTITY declarations are not accepted")]
    Hostile,
    #[error("body is not UTF-8")]
    NotUtf8,
    #[error("malformed XML: {0}")]
    Malformed(String),
    #[error("missing element {0}")]
    MissingField(&'static str),
}

/// Refuses bodies that are not UTF-8 or that declare a DOCTYPE or entities.
pub fn reject_hostile(body: &[u8]) -> Result<(), MessageError> {
    let text = std::str::from_utf8(body).map_err(|_| MessageError::NotUtf8)?;
    let lower = text.to_ascii_lowercase();
    if lower.contains("<!doctype") || lower.contains("<!entity") {
        return Err(MessageError::Hostile);
    }
    Ok(())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename = "xml")]
struct Raw {
    #[serde(rename = "ToUserName")]
    to_user: Option<String>,
    #[serde(rename = "FromUserName")]
    from_user: Option<String>,
    #[serde(rename = "CreateTime")]
    create_time: Option<String>,
    #[serde(rename = "MsgType")]
    msg_type: Option<String>,
    #[serde(rename = "Event")]
    event: Option<String>,
    #[serde(rename = "EventKey")]
    event_key: Option<String>,
    #[serde(rename = "Ticket")]
    ticket: Option<String>,
    #[serde(rename = "Content")]
    content: Option<String>,
    #[serde(rename = "MsgId")]
    msg_id: Option<String>,
    #[serde(rename = "Encrypt")]
    encrypt: Option<String>,
    #[serde(rename = "MsgSignature")]
    msg_signature: Option<String>,
    #[serde(rename = "TimeStamp")]
    timestamp: Option<String>,
    #[serde(rename = "Nonce")]
    nonce: Option<String>,
    #[serde(rename = "Image")]
    image: Option<RawImage>,
}

#[derive(Debug, Default, Deserialize)]
struct RawImage {
    #[serde(rename = "MediaId")]
    media_id: Option<String>,
}

fn parse_raw(xml: &str) -> Result<Raw, MessageError> {
    reject_hostile(xml.as_bytes())?;
    let forbidden = || MessageError::Malformed("character not allowed in XML".into());
    if !xml.chars().all(xml_char) {
        return Err(forbidden());
    }
    let raw =
        quick_xml::de::from_str::<Raw>(xml).map_err(|e| MessageError::Malformed(e.to_string()))?;
    // Character references (`&#1;`) can smuggle what the raw text may not hold.
    let fields = [
        &raw.to_user,
        &raw.from_user,
        &raw.create_time,
        &raw.msg_type,
        &raw.event,
        &raw.event_key,
        &raw.ticket,
        &raw.content,
        &raw.msg_id,
        &raw.encrypt,
        &raw.msg_signature,
        &raw.timestamp,
        &raw.nonce,
        &raw.image.as_ref().and_then(|i| i.media_id.clone()),
    ];
    if fields
        .iter()
        .any(|f| f.as_deref().is_some_and(|v| !v.chars().all(xml_char)))
    {
        return Err(forbidden());
    }
    Ok(raw)
}

/// Absent and empty are the same to us.
fn non_empty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// The body of a compatible- or safe-mode callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub to_user: Option<String>,
    pub encrypt: String,
}

pub fn parse_envelope(xml: &str) -> Result<Envelope, MessageError> {
    let raw = parse_raw(xml)?;
    Ok(Envelope {
        to_user: non_empty(raw.to_user),
        encrypt: non_empty(raw.encrypt).ok_or(MessageError::MissingField("Encrypt"))?,
    })
}

/// Fields every message and event has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The account's original id (`gh_…`).
    pub to_user: String,
    /// The sender's openid.
    pub from_user: String,
    /// Unix seconds.
    pub create_time: i64,
    pub msg_type: String,
}

/// A message or event from WeChat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// A follow; `scene` is the EventKey without its `qrscene_` prefix.
    Subscribe {
        header: Header,
        scene: Option<String>,
        ticket: Option<String>,
    },
    /// An existing follower scanned a parametric code; `scene` is the bare EventKey.
    Scan {
        header: Header,
        scene: String,
        ticket: Option<String>,
    },
    Unsubscribe {
        header: Header,
    },
    Text {
        header: Header,
        content: String,
        msg_id: String,
    },
    /// Anything else (menu clicks, images, locations…), kept so it can be acknowledged.
    Other {
        header: Header,
        event: Option<String>,
        event_key: Option<String>,
        msg_id: Option<String>,
    },
}

/// Separates the parts of a de-duplication key; it cannot occur in WeChat's values.
const SEP: char = '\u{1f}';

impl Inbound {
    pub fn header(&self) -> &Header {
        match self {
            Inbound::Subscribe { header, .. }
            | Inbound::Scan { header, .. }
            | Inbound::Unsubscribe { header }
            | Inbound::Text { header, .. }
            | Inbound::Other { header, .. } => header,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Inbound::Subscribe { .. } => "subscribe",
            Inbound::Scan { .. } => "scan",
            Inbound::Unsubscribe { .. } => "unsubscribe",
            Inbound::Text { .. } => "text",
            Inbound::Other { .. } => "other",
        }
    }

    /// Messages: FromUserName + MsgId. Events: FromUserName + CreateTime + Event + EventKey
    /// (MsgId collides across users; CreateTime alone merges distinct events).
    pub fn dedup_key(&self) -> String {
        let h = self.header();
        let event = |name: &str, key: Option<&str>| {
            format!(
                "e{SEP}{}{SEP}{}{SEP}{name}{SEP}{}",
                h.from_user,
                h.create_time,
                key.unwrap_or("")
            )
        };
        match self {
            Inbound::Text { msg_id, .. } => format!("m{SEP}{}{SEP}{msg_id}", h.from_user),
            Inbound::Subscribe { .. } => event("subscribe", self.raw_key().as_deref()),
            Inbound::Scan { scene, .. } => event("scan", Some(scene)),
            Inbound::Unsubscribe { .. } => event("unsubscribe", None),
            Inbound::Other {
                event: Some(name),
                event_key,
                ..
            } => event(&name.to_lowercase(), event_key.as_deref()),
            Inbound::Other {
                msg_id: Some(id), ..
            } => format!("m{SEP}{}{SEP}{id}", h.from_user),
            Inbound::Other { .. } => event(&h.msg_type.to_lowercase(), None),
        }
    }

    /// The EventKey as WeChat sent it (with its prefix), for keys.
    fn raw_key(&self) -> Option<String> {
        match self {
            Inbound::Subscribe {
                scene: Some(scene), ..
            } => Some(format!("qrscene_{scene}")),
            _ => None,
        }
    }
}

/// Parses a (decrypted) message or event.
pub fn parse_inbound(xml: &str) -> Result<Inbound, MessageError> {
    let raw = parse_raw(xml)?;
    let header = Header {
        to_user: non_empty(raw.to_user).ok_or(MessageError::MissingField("ToUserName"))?,
        from_user: non_empty(raw.from_user).ok_or(MessageError::MissingField("FromUserName"))?,
        create_time: non_empty(raw.create_time)
            .ok_or(MessageError::MissingField("CreateTime"))?
            .parse()
            .map_err(|_| MessageError::Malformed("CreateTime is not an integer".into()))?,
        msg_type: non_empty(raw.msg_type).ok_or(MessageError::MissingField("MsgType"))?,
    };
    let event_key = non_empty(raw.event_key);
    let ticket = non_empty(raw.ticket);
    let msg_id = non_empty(raw.msg_id);
    if msg_id.as_ref().is_some_and(|id| id.parse::<u64>().is_err()) {
        return Err(MessageError::Malformed(
            "MsgId is not a 64-bit integer".into(),
        ));
    }
    let msg_type = header.msg_type.to_ascii_lowercase();
    let event = non_empty(raw.event);
    Ok(
        match (
            msg_type.as_str(),
            event.as_deref().map(str::to_ascii_lowercase),
        ) {
            ("event", Some(e)) if e == "subscribe" => Inbound::Subscribe {
                scene: event_key
                    .as_deref()
                    .and_then(|k| k.strip_prefix("qrscene_"))
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
                ticket,
                header,
            },
            ("event", Some(e)) if e == "scan" && event_key.is_some() => Inbound::Scan {
                scene: event_key.unwrap_or_default(),
                ticket,
                header,
            },
            ("event", Some(e)) if e == "unsubscribe" => Inbound::Unsubscribe { header },
            ("text", _) => Inbound::Text {
                content: raw.content.unwrap_or_default(),
                msg_id: msg_id.ok_or(MessageError::MissingField("MsgId"))?,
                header,
            },
            _ => Inbound::Other {
                header,
                event,
                event_key,
                msg_id,
            },
        },
    )
}

/// Wraps text in CDATA, splitting any `]]>` so it cannot end the section early.
fn cdata(text: &str) -> String {
    format!("<![CDATA[{}]]>", text.replace("]]>", "]]]]><![CDATA[>"))
}

/// Whether XML 1.0 allows the character (control characters other than TAB, LF, CR do not).
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && !matches!(c, '\u{fffe}' | '\u{ffff}'))
}

/// Drops characters XML 1.0 forbids.
fn xml_clean(text: &str) -> String {
    text.chars().filter(|&c| xml_char(c)).collect()
}

/// A passive text reply (§5.1): ids swapped by the caller, content cleaned, and the whole
/// reply kept within [`MAX_REPLY_BYTES`] by cutting the content on a character boundary.
pub fn text_reply(to_user: &str, from_user: &str, create_time: i64, content: &str) -> String {
    let render = |content: &str| {
        format!(
            "<xml><ToUserName>{}</ToUserName><FromUserName>{}</FromUserName>\
             <CreateTime>{create_time}</CreateTime><MsgType><![CDATA[text]]></MsgType>\
             <Content>{}</Content></xml>",
            cdata(&xml_clean(to_user)),
            cdata(&xml_clean(from_user)),
            cdata(content)
        )
    };
    let content = xml_clean(content);
    let reply = render(&content);
    if reply.len() <= MAX_REPLY_BYTES {
        return reply;
    }
    // The longest prefix (on a character boundary) whose reply fits; escaping makes the
    // size non-linear in the content, so search rather than compute.
    let ends: Vec<usize> = content
        .char_indices()
        .map(|(i, _)| i)
        .chain([content.len()])
        .collect();
    let (mut lo, mut hi) = (0, ends.len() - 1);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if render(&content[..ends[mid]]).len() <= MAX_REPLY_BYTES {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    render(&content[..ends[lo]])
}

/// A passive image reply; `media_id` names an image uploaded as (temporary) media.
pub fn image_reply(to_user: &str, from_user: &str, create_time: i64, media_id: &str) -> String {
    format!(
        "<xml><ToUserName>{}</ToUserName><FromUserName>{}</FromUserName>\
         <CreateTime>{create_time}</CreateTime><MsgType><![CDATA[image]]></MsgType>\
         <Image><MediaId>{}</MediaId></Image></xml>",
        cdata(&xml_clean(to_user)),
        cdata(&xml_clean(from_user)),
        cdata(&xml_clean(media_id))
    )
}

/// The encrypted reply envelope (§2.5) around a plaintext reply.
pub fn encrypted_reply(
    crypt: &MsgCrypt,
    token: &str,
    reply_xml: &str,
    timestamp: &str,
    nonce: &str,
) -> String {
    let encrypt = crypt.encrypt(reply_xml);
    let signature = sign(&[token, timestamp, nonce, &encrypt]);
    format!(
        "<xml><Encrypt>{}</Encrypt><MsgSignature>{}</MsgSignature>\
         <TimeStamp>{}</TimeStamp><Nonce>{}</Nonce></xml>",
        cdata(&encrypt),
        cdata(&signature),
        xml_clean(timestamp),
        cdata(&xml_clean(nonce))
    )
}

/// The parts of an encrypted reply (used by the sandbox simulator and tests to read replies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedReply {
    pub encrypt: String,
    pub msg_signature: String,
    pub timestamp: String,
    pub nonce: String,
}

pub fn parse_encrypted_reply(xml: &str) -> Result<EncryptedReply, MessageError> {
    let raw = parse_raw(xml)?;
    Ok(EncryptedReply {
        encrypt: non_empty(raw.encrypt).ok_or(MessageError::MissingField("Encrypt"))?,
        msg_signature: non_empty(raw.msg_signature)
            .ok_or(MessageError::MissingField("MsgSignature"))?,
        timestamp: non_empty(raw.timestamp).ok_or(MessageError::MissingField("TimeStamp"))?,
        nonce: non_empty(raw.nonce).ok_or(MessageError::MissingField("Nonce"))?,
    })
}

/// The content of a plaintext text reply, if it is one.
pub fn reply_text(xml: &str) -> Option<String> {
    let raw = parse_raw(xml).ok()?;
    (raw.msg_type.as_deref() == Some("text")).then(|| raw.content.unwrap_or_default())
}

/// The media id of a plaintext image reply, if it is one.
pub fn reply_media_id(xml: &str) -> Option<String> {
    let raw = parse_raw(xml).ok()?;
    if raw.msg_type.as_deref() != Some("image") {
        return None;
    }
    non_empty(raw.image.and_then(|i| i.media_id))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn image_reply_round_trips_and_is_not_text() {
        let xml = image_reply("oUser", "gh_acc", 1_700_000_000, "MEDIA_1]]>x");
        assert!(xml.contains("<MsgType><![CDATA[image]]></MsgType>"));
        assert_eq!(reply_media_id(&xml).as_deref(), Some("MEDIA_1]]>x"));
        assert_eq!(reply_text(&xml), None);
        let text = text_reply("oUser", "gh_acc", 1, "hi");
        assert_eq!(reply_media_id(&text), None);
    }

    fn event(event: &str, key: Option<&str>) -> String {
        let key = key
            .map(|k| format!("<EventKey><![CDATA[{k}]]></EventKey>"))
            .unwrap_or_default();
        format!(
            "<xml><ToUserName><![CDATA[toUser]]></ToUserName>\
             <FromUserName><![CDATA[FromUser]]></FromUserName><CreateTime>123456789</CreateTime>\
             <MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event>{key}\
             <Ticket><![CDATA[TICKET]]></Ticket></xml>"
        )
    }

    #[test]
    fn subscribe_with_a_scene() {
        let m = parse_inbound(&event("subscribe", Some("qrscene_123123"))).expect("parses");
        match &m {
            Inbound::Subscribe {
                scene,
                ticket,
                header,
            } => {
                assert_eq!(scene.as_deref(), Some("123123"));
                assert_eq!(ticket.as_deref(), Some("TICKET"));
                assert_eq!(header.from_user, "FromUser");
                assert_eq!(header.create_time, 123456789);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(m.kind(), "subscribe");
    }

    #[test]
    fn subscribe_without_a_scene_absent_or_empty_alike() {
        for key in [None, Some(""), Some("scanbarcode|x"), Some("qrscene_")] {
            match parse_inbound(&event("subscribe", key)).expect("parses") {
                Inbound::Subscribe { scene: None, .. } => {}
                other => panic!("{key:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn event_names_are_case_insensitive() {
        assert_eq!(
            parse_inbound(&event("SCAN", Some("ref_1")))
                .expect("p")
                .kind(),
            "scan"
        );
        assert_eq!(
            parse_inbound(&event("scan", Some("ref_1")))
                .expect("p")
                .kind(),
            "scan"
        );
        assert_eq!(
            parse_inbound(&event("Subscribe", None)).expect("p").kind(),
            "subscribe"
        );
        assert_eq!(
            parse_inbound(&event("UNSUBSCRIBE", Some("")))
                .expect("p")
                .kind(),
            "unsubscribe"
        );
        match parse_inbound(&event("SCAN", Some("ref_1"))).expect("p") {
            Inbound::Scan { scene, .. } => assert_eq!(scene, "ref_1"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn text_message_keeps_a_64_bit_msg_id() {
        let xml = "<xml><ToUserName><![CDATA[toUser]]></ToUserName>\
            <FromUserName><![CDATA[fromUser]]></FromUserName><CreateTime>1348831860</CreateTime>\
            <MsgType><![CDATA[text]]></MsgType><Content><![CDATA[this is a test]]></Content>\
            <MsgId>6054768590064713728</MsgId><MsgDataId>1</MsgDataId></xml>";
        match parse_inbound(xml).expect("parses") {
            Inbound::Text {
                content, msg_id, ..
            } => {
                assert_eq!(content, "this is a test");
                assert_eq!(msg_id, "6054768590064713728");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unknown_kinds_are_other() {
        let click = parse_inbound(&event("CLICK", Some("MENU_KEY"))).expect("click");
        assert_eq!(click.kind(), "other");
        let image = "<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName>\
            <CreateTime>1</CreateTime><MsgType>image</MsgType><PicUrl>u</PicUrl>\
            <MediaId>m</MediaId><MsgId>42</MsgId></xml>";
        match parse_inbound(image).expect("image") {
            Inbound::Other { msg_id, event, .. } => {
                assert_eq!(msg_id.as_deref(), Some("42"));
                assert_eq!(event, None);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn dedup_keys_separate_what_must_be_separate() {
        let a = parse_inbound(&event("subscribe", Some("qrscene_1"))).expect("a");
        let b = parse_inbound(&event("subscribe", Some("qrscene_2"))).expect("b");
        let c = parse_inbound(&event("SCAN", Some("1"))).expect("c");
        let d = parse_inbound(&event("subscribe", None)).expect("d");
        let keys = [a.dedup_key(), b.dedup_key(), c.dedup_key(), d.dedup_key()];
        for (i, x) in keys.iter().enumerate() {
            for y in &keys[i + 1..] {
                assert_ne!(x, y);
            }
        }
        assert_eq!(
            a.dedup_key(),
            parse_inbound(&event("subscribe", Some("qrscene_1")))
                .expect("a")
                .dedup_key()
        );
        let text = |from: &str| {
            format!(
                "<xml><ToUserName>t</ToUserName><FromUserName>{from}</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>x</Content><MsgId>7</MsgId></xml>"
            )
        };
        assert_ne!(
            parse_inbound(&text("u1")).expect("1").dedup_key(),
            parse_inbound(&text("u2")).expect("2").dedup_key(),
            "the same MsgId from two users is two messages"
        );
    }

    #[test]
    fn missing_or_bad_header_fields_are_errors() {
        let no_from = "<xml><ToUserName>a</ToUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>";
        assert_eq!(
            parse_inbound(no_from),
            Err(MessageError::MissingField("FromUserName"))
        );
        let bad_time = "<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>x</CreateTime><MsgType>event</MsgType></xml>";
        assert!(matches!(
            parse_inbound(bad_time),
            Err(MessageError::Malformed(_))
        ));
        let text_no_id = "<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>";
        assert_eq!(
            parse_inbound(text_no_id),
            Err(MessageError::MissingField("MsgId"))
        );
        assert!(matches!(
            parse_inbound("<xml><a>"),
            Err(MessageError::Malformed(_))
        ));
        assert!(parse_inbound("").is_err());
    }

    #[test]
    fn doctype_and_entities_are_refused() {
        let xxe = "<?xml version=\"1.0\"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><xml><FromUserName>&xxe;</FromUserName></xml>";
        let laughs =
            "<!doctype lolz [<!entity lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]><xml>&lol2;</xml>";
        assert_eq!(parse_inbound(xxe), Err(MessageError::Hostile));
        assert_eq!(parse_inbound(laughs), Err(MessageError::Hostile));
        assert_eq!(parse_envelope(xxe), Err(MessageError::Hostile));
        assert_eq!(reject_hostile(&[0xff, 0xfe]), Err(MessageError::NotUtf8));
        // An undeclared entity reference is malformed, never expanded.
        let undeclared = "<xml><ToUserName>a</ToUserName><FromUserName>&xxe;</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><MsgId>1</MsgId></xml>";
        assert!(matches!(
            parse_inbound(undeclared),
            Err(MessageError::Malformed(_))
        ));
    }

    #[test]
    fn characters_xml_forbids_are_malformed_raw_or_escaped() {
        let xml = |from: &str| {
            format!(
                "<xml><ToUserName>gh</ToUserName><FromUserName>{from}</FromUserName>\
                 <CreateTime>1</CreateTime><MsgType>event</MsgType><Event>subscribe</Event></xml>"
            )
        };
        assert!(parse_inbound(&xml("o1")).is_ok());
        for from in ["o\u{0}1", "o\u{1}1", "o&#0;1", "o&#x1;1", "o\u{ffff}"] {
            assert!(
                matches!(parse_inbound(&xml(from)), Err(MessageError::Malformed(_))),
                "{from:?} was accepted"
            );
        }
    }

    #[test]
    fn text_reply_survives_cdata_terminators_and_control_characters() {
        let reply = text_reply("o_user", "gh_acct", 1700000000, "a]]>b\u{1}c\n😀");
        assert_eq!(reply_text(&reply).as_deref(), Some("a]]>bc\n😀"));
        assert!(reply.starts_with("<xml><ToUserName><![CDATA[o_user]]></ToUserName>"));
        assert!(reply.contains("<FromUserName><![CDATA[gh_acct]]></FromUserName>"));
    }

    #[test]
    fn text_reply_stays_within_2048_bytes() {
        for content in ["欢".repeat(1000), "]]>".repeat(700), "a".repeat(5000)] {
            let reply = text_reply("o", "gh", 1, &content);
            assert!(reply.len() <= MAX_REPLY_BYTES, "{} bytes", reply.len());
            let text = reply_text(&reply).expect("still valid XML");
            assert!(content.starts_with(&text) && !text.is_empty());
        }
    }

    #[test]
    fn encrypted_reply_round_trips() {
        let crypt =
            MsgCrypt::new("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wxapp").expect("key");
        let xml = text_reply("o", "gh", 1, "你好");
        let env = encrypted_reply(&crypt, "tok", &xml, "1411525903", "461056294");
        let parsed = parse_encrypted_reply(&env).expect("envelope");
        assert_eq!(parsed.timestamp, "1411525903");
        assert_eq!(
            parsed.msg_signature,
            sign(&["tok", "1411525903", "461056294", &parsed.encrypt])
        );
        assert_eq!(crypt.decrypt(&parsed.encrypt).expect("decrypts"), xml);
    }

    proptest! {
        #[test]
        fn parsers_never_panic_on_arbitrary_text(s in "\\PC{0,400}") {
            let _ = parse_inbound(&s);
            let _ = parse_envelope(&s);
            let _ = parse_encrypted_reply(&s);
        }

        #[test]
        fn parsers_never_panic_on_xml_like_text(s in "<xml>(<[A-Za-z]{1,12}>[^<]{0,20}</[A-Za-z]{1,12}>){0,8}</xml>") {
            let _ = parse_inbound(&s);
        }

        #[test]
        fn reject_hostile_never_panics_on_bytes(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = reject_hostile(&b);
        }

        #[test]
        fn any_reply_content_round_trips_within_the_limit(content in "\\PC{0,800}") {
            let reply = text_reply("o", "gh", 1, &content);
            prop_assert!(reply.len() <= MAX_REPLY_BYTES);
            prop_assert!(reply_text(&reply).is_some());
        }
    }
}
