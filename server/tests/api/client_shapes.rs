//! The client's exact requests against a precise stand-in (wiremock): bodies, query strings,
//! errcode handling, and that no secret leaks into errors.

use secrecy::SecretString;
use serde_json::json;
use tuijian::wechat::client::{ApiError, Client, QrRequest, Scene, TemplateMessage};
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn stable_token_posts_the_documented_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/stable_token"))
        .and(body_json(json!({
            "grant_type": "client_credential",
            "appid": "wxAPP",
            "secret": "s3cr3t",
            "force_refresh": false
        })))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "TOK", "expires_in": 7200})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::new(&server.uri()).expect("client");
    let token = client
        .stable_token("wxAPP", &SecretString::from("s3cr3t"), false)
        .await
        .expect("token");
    assert_eq!(token.expires_in, 7200);
}

#[tokio::test]
async fn classic_token_uses_the_query_string() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/cgi-bin/token"))
        .and(query_param("grant_type", "client_credential"))
        .and(query_param("appid", "wxAPP"))
        .and(query_param("secret", "s3cr3t"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "T2", "expires_in": 7200})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::new(&server.uri()).expect("client");
    client
        .classic_token("wxAPP", &SecretString::from("s3cr3t"))
        .await
        .expect("token");
}

#[tokio::test]
async fn qrcode_create_sends_the_scene_wrapper_and_the_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/qrcode/create"))
        .and(query_param("access_token", "TOK"))
        .and(body_json(json!({
            "expire_seconds": 2592000,
            "action_name": "QR_STR_SCENE",
            "action_info": {"scene": {"scene_str": "ref_9"}}
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ticket": "gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9xL2taZ2Z3TVRtNzJXV1Brb3ZhYmJJAAIEZ23sUwMEmm3sUw==",
            "expire_seconds": 2592000,
            "url": "http://weixin.qq.com/q/kZgfwMTm72WWPkovabbI"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::new(&server.uri()).expect("client");
    let req = QrRequest::Temporary {
        scene: Scene::Str("ref_9".into()),
        expire_seconds: 2_592_000,
    };
    let ticket = client.create_qrcode("TOK", &req).await.expect("ticket");
    assert_eq!(ticket.url, "http://weixin.qq.com/q/kZgfwMTm72WWPkovabbI");
    assert_eq!(ticket.expire_seconds, Some(2_592_000));
}

#[tokio::test]
async fn errcode_on_http_200_is_an_error_and_secrets_stay_out_of_it() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/cgi-bin/user/info"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest rid: 1"}),
        ))
        .mount(&server)
        .await;
    let client = Client::new(&server.uri()).expect("client");
    let err = client
        .user_info("VERY_SECRET_TOKEN", "o1", false)
        .await
        .expect_err("errcode");
    assert_eq!(err.errcode(), Some(40001));
    assert!(err.is_token_invalid());
    assert!(!format!("{err} {err:?}").contains("VERY_SECRET_TOKEN"));
}

#[tokio::test]
async fn transport_errors_do_not_reveal_the_url_or_token() {
    // Nothing listens on port 9 of loopback.
    let client = Client::new("http://127.0.0.1:9").expect("client");
    let err = client
        .user_info("VERY_SECRET_TOKEN", "o1", true)
        .await
        .expect_err("no server");
    assert!(matches!(err, ApiError::Transport(_)));
    assert!(!format!("{err} {err:?}").contains("VERY_SECRET_TOKEN"));
}

#[tokio::test]
async fn template_and_custom_messages_have_the_documented_shapes() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/message/template/send"))
        .and(body_json(json!({
            "touser": "o1",
            "template_id": "TPL",
            "client_msg_id": "referral-1",
            "data": {"keyword1": {"value": "x"}}
        })))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"errcode": 0, "errmsg": "ok", "msgid": 200228332})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/message/custom/send"))
        .and(body_json(
            json!({"touser": "o1", "msgtype": "text", "text": {"content": "你好\n第二行"}}),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"errcode": 0, "errmsg": "ok"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::new(&server.uri()).expect("client");
    let msg = TemplateMessage {
        touser: "o1".into(),
        template_id: "TPL".into(),
        url: None,
        client_msg_id: Some("referral-1".into()),
        data: json!({"keyword1": {"value": "x"}}),
    };
    assert_eq!(
        client.send_template("T", &msg).await.expect("sent"),
        200228332
    );
    client
        .send_text("T", "o1", "你好\n第二行")
        .await
        .expect("sent");
}

#[tokio::test]
async fn batchget_and_user_get_shapes() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/user/info/batchget"))
        .and(body_json(json!({"user_list": [{"openid": "o1", "lang": "zh_CN"}]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"user_info_list": [
            {"subscribe": 1, "openid": "o1", "subscribe_scene": "ADD_SCENE_QR_CODE", "qr_scene_str": "ref_1"}
        ]})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/cgi-bin/user/get"))
        .and(query_param("next_openid", "o1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"total": 2, "count": 1, "data": {"openid": ["o2"]}, "next_openid": ""}),
        ))
        .mount(&server)
        .await;
    let client = Client::new(&server.uri()).expect("client");
    let infos = client
        .user_info_batch("T", &["o1".into()])
        .await
        .expect("batch");
    assert_eq!(infos[0].qr_scene_str.as_deref(), Some("ref_1"));
    let list = client.user_list("T", Some("o1")).await.expect("list");
    assert_eq!(list.next_openid, "");
    let too_many: Vec<String> = (0..101).map(|i| format!("o{i}")).collect();
    assert!(matches!(
        client.user_info_batch("T", &too_many).await,
        Err(ApiError::Invalid(_))
    ));
}
