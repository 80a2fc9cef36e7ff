//! Callbacks as WeChat signs them and replies as WeChat checks them, from the server's own
//! `wechat` module (signatures, AES safe mode, reply parsing).

use tuijian::wechat::crypto::MsgCrypt;
use tuijian::wechat::message::{self, parse_encrypted_reply};
use tuijian::wechat::signature::{sign, verify_msg_signature};

/// The sandbox's AppID: callbacks are encrypted for it, both servers decrypt with it.
pub const APPID: &str = tuijian::config::SANDBOX_APPID;
/// The callback Token shared by the load generator and both servers.
pub const TOKEN: &str = "bench-token";
/// The EncodingAESKey used in safe mode (43 characters).
pub const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

/// Plaintext or safe mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Plain,
    Safe,
}

impl Mode {
    pub fn label(self) -> &'static str {
        match self {
            Mode::Plain => "plaintext",
            Mode::Safe => "safe mode",
        }
    }
}

/// A signed callback ready to post: the query string and the body.
pub struct Signed {
    pub query: String,
    pub body: String,
}

/// The `subscribe` event of `openid` following through the code with `scene`.
pub fn subscribe_xml(openid: &str, create_time: i64, scene: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName>\
         <FromUserName><![CDATA[{openid}]]></FromUserName>\
         <CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>\
         <Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[qrscene_{scene}]]></EventKey>\
         <Ticket><![CDATA[TICKET_{scene}]]></Ticket></xml>"
    )
}

/// Signs `xml` (and encrypts it in safe mode) as WeChat does.
pub fn sign_callback(xml: &str, crypt: Option<&MsgCrypt>, timestamp: &str, nonce: &str) -> Signed {
    let signature = sign(&[TOKEN, timestamp, nonce]);
    let base = format!("signature={signature}&timestamp={timestamp}&nonce={nonce}&openid=x");
    match crypt {
        None => Signed {
            query: base,
            body: xml.to_owned(),
        },
        Some(crypt) => {
            let encrypt = crypt.encrypt(xml);
            let msg_signature = sign(&[TOKEN, timestamp, nonce, &encrypt]);
            Signed {
                query: format!("{base}&encrypt_type=aes&msg_signature={msg_signature}"),
                body: format!(
                    "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName>\
                     <Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
                ),
            }
        }
    }
}

/// Checks a reply as WeChat would (signature and decryption in safe mode) and that the greeting
/// names `referrer`; returns why not.
pub fn verify_reply(body: &str, crypt: Option<&MsgCrypt>, referrer: &str) -> Result<(), String> {
    let xml = match crypt {
        None => body.to_owned(),
        Some(crypt) => {
            let reply = parse_encrypted_reply(body).map_err(|e| format!("envelope: {e}"))?;
            verify_msg_signature(
                TOKEN,
                Some(&reply.timestamp),
                Some(&reply.nonce),
                &reply.encrypt,
                Some(&reply.msg_signature),
            )
            .map_err(|e| format!("reply signature: {e}"))?;
            crypt
                .decrypt(&reply.encrypt)
                .map_err(|e| format!("reply decryption: {e}"))?
        }
    };
    let text = message::reply_text(&xml).ok_or("not a text reply")?;
    if text.contains(referrer) {
        Ok(())
    } else {
        Err(format!("greeting {text:?} does not name {referrer:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_mode_replies_built_by_the_server_module_verify() {
        let crypt = MsgCrypt::new(AES_KEY, APPID).expect("valid key");
        let reply = message::text_reply("o1", "gh_bench", 1, "欢迎！您是推荐人00042推荐的客户。");
        let body = message::encrypted_reply(&crypt, TOKEN, &reply, "2", "n");
        assert_eq!(verify_reply(&body, Some(&crypt), "推荐人00042"), Ok(()));
        assert!(verify_reply(&body, Some(&crypt), "推荐人00043").is_err());
        assert_eq!(verify_reply(&reply, None, "推荐人00042"), Ok(()));
        let signed = sign_callback("<xml/>", Some(&crypt), "3", "n");
        assert!(signed.query.contains("encrypt_type=aes"));
        let envelope = message::parse_envelope(&signed.body).expect("envelope");
        assert_eq!(
            crypt.decrypt(&envelope.encrypt).expect("decrypts"),
            "<xml/>"
        );
    }
}
