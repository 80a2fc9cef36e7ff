//! Staff work in the dashboard: restoring archived referrers, bulk actions on the referrer list
//! (per account, capped, audit-logged), and the admin's users (roles, disabling, password
//! resets, last sign-in) with the rules that keep an account administrable.

use app::model::{AccountInput, NewReferrer};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use tuijian::referral::actor::Actor;
use tuijian::referral::roles::Role;
use tuijian::referral::{accounts, referrers, tokens, users};

use crate::common::{TestApp, spawn_app};
use crate::skeleton::signed_in;

/// Posts a server function: a JSON body as JSON, anything else as a form.
async fn sfn(app: &TestApp, path: &str, cookie: &str, body: Value) -> (StatusCode, Value) {
    let req = app
        .client
        .post(app.url(&format!("/sfn/{path}")))
        .header("cookie", cookie);
    let req = match body {
        Value::String(form) => req
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form),
        json => req.json(&json),
    };
    let resp = req.send().await.expect("request");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn form(s: &str) -> Value {
    Value::String(s.to_owned())
}

async fn referrer(pool: &PgPool, account: i64, name: &str) -> i64 {
    referrers::create(
        pool,
        &Actor::cli(account),
        &NewReferrer {
            name: name.into(),
            ..NewReferrer::default()
        },
    )
    .await
    .expect("referrer")
    .id
}

async fn second_account(app: &TestApp) -> i64 {
    accounts::create(
        &app.state.pool,
        &app.state.accounts,
        &Actor::cli(1),
        &AccountInput {
            name: "第二个号".into(),
            token: Some("secondToken2026".into()),
            ..AccountInput::default()
        },
        tuijian::accounts::Mode::Sandbox,
    )
    .await
    .expect("second account")
    .id
}

async fn archived(pool: &PgPool, id: i64) -> bool {
    sqlx::query_scalar("select archived_at is not null from referrer where id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("referrer")
}

async fn audit_actions(pool: &PgPool, target: i64) -> Vec<String> {
    sqlx::query_scalar(
        "select action from audit_log where target = $1 and action like 'referrer.%' order by id",
    )
    .bind(target.to_string())
    .fetch_all(pool)
    .await
    .expect("audit")
}

fn ids(v: &Value) -> Vec<i64> {
    v.as_array()
        .expect("ids")
        .iter()
        .map(|x| x.as_i64().expect("id"))
        .collect()
}

#[sqlx::test(migrations = "../migrations")]
async fn an_archived_referrer_is_restored_through_rest_and_the_dashboard(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let id = referrer(&pool, 1, "张三").await;
    referrers::archive(&pool, &Actor::cli(1), id)
        .await
        .expect("archive");
    let token = tokens::mint(&pool, 1, "crm", Role::Staff)
        .await
        .expect("token");
    let resp = app
        .client
        .post(app.url(&format!("/api/v1/referrers/{id}/restore")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("restore");
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["archived"], false);
    assert!(!archived(&pool, id).await);
    assert_eq!(
        audit_actions(&pool, id).await,
        ["referrer.create", "referrer.archive", "referrer.restore"]
    );
    // Restoring a referrer that is not archived changes and logs nothing.
    let again = app
        .client
        .post(app.url(&format!("/api/v1/referrers/{id}/restore")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("restore again");
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(audit_actions(&pool, id).await.len(), 3);

    // The dashboard's door, and another account's referrer is not found from this one.
    referrers::archive(&pool, &Actor::cli(1), id)
        .await
        .expect("archive again");
    let staff = signed_in(&pool, Role::Staff).await;
    let (status, body) = sfn(&app, "referrers/restore", &staff, form(&format!("id={id}"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["archived"], false);
    let other = second_account(&app).await;
    let foreign = referrer(&pool, other, "别人的").await;
    referrers::archive(&pool, &Actor::cli(other), foreign)
        .await
        .expect("archive");
    let (status, _) = sfn(
        &app,
        "referrers/restore",
        &staff,
        form(&format!("id={foreign}")),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let resp = app
        .client
        .post(app.url(&format!("/api/v1/referrers/{foreign}/restore")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("restore");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(archived(&pool, foreign).await, "untouched");
}

#[sqlx::test(migrations = "../migrations")]
async fn bulk_actions_change_only_the_callers_referrers_and_log_each(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let (a, b) = (
        referrer(&pool, 1, "甲").await,
        referrer(&pool, 1, "乙").await,
    );
    let other = second_account(&app).await;
    let foreign = referrer(&pool, other, "丙").await;
    let manager = signed_in(&pool, Role::Manager).await;

    let (status, out) = sfn(
        &app,
        "referrers/bulk-archive",
        &manager,
        json!({"ids": [a, b, foreign, b]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(ids(&out["done"]), [a, b]);
    assert_eq!(ids(&out["missing"]), [foreign]);
    assert!(archived(&pool, a).await && archived(&pool, b).await);
    assert!(
        !archived(&pool, foreign).await,
        "another account's referrer"
    );
    assert_eq!(
        audit_actions(&pool, a).await,
        ["referrer.create", "referrer.archive"]
    );
    assert_eq!(audit_actions(&pool, foreign).await, ["referrer.create"]);

    // Archiving again changes nothing and logs nothing.
    let (_, out) = sfn(
        &app,
        "referrers/bulk-archive",
        &manager,
        json!({"ids": [a]}),
    )
    .await;
    assert_eq!(
        (ids(&out["done"]), ids(&out["unchanged"])),
        (vec![], vec![a])
    );
    assert_eq!(audit_actions(&pool, a).await.len(), 2);

    let (_, out) = sfn(
        &app,
        "referrers/bulk-restore",
        &manager,
        json!({"ids": [a]}),
    )
    .await;
    assert_eq!(ids(&out["done"]), [a]);
    assert!(!archived(&pool, a).await && archived(&pool, b).await);

    // A tag is checked like any referrer tag; a bad one changes nothing.
    let (status, err) = sfn(
        &app,
        "referrers/bulk-tag",
        &manager,
        json!({"ids": [a, b], "tag": "签".repeat(21)}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["fields"][0]["field"], "tag");
    let (status, out) = sfn(
        &app,
        "referrers/bulk-tag",
        &manager,
        json!({"ids": [a, b, foreign], "tag": " 金牌 "}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(
        (ids(&out["done"]), ids(&out["missing"])),
        (vec![a, b], vec![foreign])
    );
    let tags: Vec<Vec<String>> =
        sqlx::query_scalar("select tags from referrer where id = any($1) order by id")
            .bind(vec![a, b, foreign])
            .fetch_all(&pool)
            .await
            .expect("tags");
    assert_eq!(tags, [vec!["金牌"], vec!["金牌"], vec![]]);
    assert_eq!(
        audit_actions(&pool, b).await,
        ["referrer.create", "referrer.archive", "referrer.tag"]
    );

    // Codes: one each through the code service; the archived one is refused by name.
    let (status, out) = sfn(
        &app,
        "referrers/bulk-codes",
        &manager,
        json!({"ids": [a, b, foreign], "input": {"kind": "permanent"}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(ids(&out["done"]), [a]);
    assert_eq!(out["failed"][0]["id"], b);
    assert_eq!(out["failed"][0]["name"], "乙");
    assert_eq!(ids(&out["missing"]), [foreign]);
    let codes: Vec<i64> = sqlx::query_scalar("select referrer_id from qr_code order by id")
        .fetch_all(&pool)
        .await
        .expect("codes");
    assert_eq!(codes, [a]);
}

#[sqlx::test(migrations = "../migrations")]
async fn bulk_actions_need_a_manager_and_take_at_most_200_referrers(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let a = referrer(&pool, 1, "甲").await;
    let staff = signed_in(&pool, Role::Staff).await;
    for (path, body) in [
        ("referrers/bulk-archive", json!({"ids": [a]})),
        ("referrers/bulk-tag", json!({"ids": [a], "tag": "x"})),
        (
            "referrers/bulk-codes",
            json!({"ids": [a], "input": {"kind": "permanent"}}),
        ),
    ] {
        let (status, err) = sfn(&app, path, &staff, body).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("forbidden"))
        );
    }
    let manager = signed_in(&pool, Role::Manager).await;
    let mut many: Vec<i64> = (1_000_000..1_000_200).collect();
    many.push(a);
    for (path, body) in [
        ("referrers/bulk-archive", json!({"ids": many})),
        ("referrers/bulk-archive", json!({"ids": []})),
        ("referrers/bulk-tag", json!({"ids": many, "tag": "x"})),
    ] {
        let (status, err) = sfn(&app, path, &manager, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {err}");
        assert_eq!(err["fields"][0]["field"], "ids");
    }
    assert!(!archived(&pool, a).await);
    let tagged: Vec<String> = sqlx::query_scalar("select unnest(tags) from referrer")
        .fetch_all(&pool)
        .await
        .expect("tags");
    assert!(tagged.is_empty());
    // Exactly the cap is fine.
    many.remove(0);
    let (status, out) = sfn(
        &app,
        "referrers/bulk-archive",
        &manager,
        json!({"ids": many}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(ids(&out["done"]), [a]);
}

/// The id of a user by name.
async fn user_id(pool: &PgPool, name: &str) -> i64 {
    sqlx::query_scalar("select id from app_user where username = $1")
        .bind(name)
        .fetch_one(pool)
        .await
        .expect("user")
}

/// Signs in through the login server function: the session cookie, or the error.
async fn login(app: &TestApp, name: &str, password: &str) -> Result<String, Value> {
    let resp = app
        .client
        .post(app.url("/sfn/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("username={name}&password={password}"))
        .send()
        .await
        .expect("login");
    let cookie = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .map(str::to_owned);
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    cookie.filter(|c| c != "tj_session=").ok_or(body)
}

async fn is_live(app: &TestApp, cookie: &str) -> bool {
    let (status, _) = sfn(
        app,
        "referrers/list",
        cookie,
        form("query[page]=1&query[archived]=false"),
    )
    .await;
    status == StatusCode::OK
}

#[sqlx::test(migrations = "../migrations")]
async fn only_admins_manage_users_and_see_sign_ins(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let admin = signed_in(&pool, Role::Admin).await;
    for role in [Role::Manager, Role::Staff] {
        let cookie = signed_in(&pool, role).await;
        let (status, _) = sfn(&app, "users/list", &cookie, form("")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role}");
        let (status, _) = sfn(
            &app,
            "users/role",
            &cookie,
            form(&format!(
                "user_id={}&role=Admin",
                user_id(&pool, &format!("user-{role}")).await
            )),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role} promoting themselves");
    }
    users::create_user(&pool, 1, "newbie", "password-123", Role::Staff)
        .await
        .expect("user");
    let (status, list) = sfn(&app, "users/list", &admin, form("")).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let row = |name: &str| {
        list.as_array()
            .expect("list")
            .iter()
            .find(|u| u["username"] == name)
            .cloned()
            .expect("listed")
    };
    assert_eq!(row("user-admin")["is_self"], true);
    assert!(
        row("user-admin")["last_sign_in_at"].is_string(),
        "signed in"
    );
    assert_eq!(
        row("newbie")["last_sign_in_at"],
        Value::Null,
        "never signed in"
    );
    assert_eq!(row("newbie")["active"], true);
    login(&app, "newbie", "password-123").await.expect("login");
    let (_, list) = sfn(&app, "users/list", &admin, form("")).await;
    let newbie = list
        .as_array()
        .expect("list")
        .iter()
        .find(|u| u["username"] == "newbie")
        .cloned()
        .expect("listed");
    assert!(newbie["last_sign_in_at"].is_string(), "{newbie}");
    let recorded: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("select last_sign_in_at from app_user where username = 'newbie'")
            .fetch_one(&pool)
            .await
            .expect("row");
    assert!(recorded.is_some_and(|t| (chrono::Utc::now() - t).num_seconds() < 60));
}

#[sqlx::test(migrations = "../migrations")]
async fn nobody_demotes_or_disables_themselves_and_an_admin_always_remains(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let admin = signed_in(&pool, Role::Admin).await;
    let me = user_id(&pool, "user-admin").await;
    for body in [
        format!("user_id={me}&role=Manager"),
        format!("user_id={me}&active=false"),
    ] {
        let path = if body.contains("role") {
            "users/role"
        } else {
            "users/active"
        };
        let (status, err) = sfn(&app, path, &admin, form(&body)).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (StatusCode::CONFLICT, Some("self_change")),
            "{body}"
        );
    }
    let (status, err) = sfn(
        &app,
        "users/password",
        &admin,
        form(&format!("user_id={me}&password=another-pass-1")),
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::CONFLICT, Some("self_change"))
    );

    // A second admin may demote the first; then the second is the last and stays.
    let other = users::create_user(&pool, 1, "second", "password-123", Role::Admin)
        .await
        .expect("second admin");
    let (status, out) = sfn(
        &app,
        "users/role",
        &admin,
        form(&format!("user_id={other}&role=Staff")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["role"], "Staff");
    let cli = Actor::cli(1);
    for result in [
        users::set_role(&pool, &cli, me, Role::Manager).await,
        users::set_active(&pool, &cli, me, false).await,
    ] {
        assert!(
            matches!(
                result,
                Err(tuijian::referral::error::ServiceError::Conflict {
                    code: "last_admin",
                    ..
                })
            ),
            "{result:?}"
        );
    }
    let role: String = sqlx::query_scalar("select role from account_role where user_id = $1")
        .bind(me)
        .fetch_one(&pool)
        .await
        .expect("role");
    assert_eq!(role, "admin");
    assert!(is_live(&app, &admin).await);
    let actions: Vec<String> =
        sqlx::query_scalar("select action from audit_log where action like 'user.%' order by id")
            .fetch_all(&pool)
            .await
            .expect("audit");
    assert_eq!(actions, ["user.role"]);

    // A user of another account only is not found from this one.
    let account = second_account(&app).await;
    let stranger = users::create_user(&pool, account, "stranger", "password-123", Role::Staff)
        .await
        .expect("stranger");
    let (status, _) = sfn(
        &app,
        "users/active",
        &admin,
        form(&format!("user_id={stranger}&active=false")),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_disabled_user_is_signed_out_at_once_and_cannot_sign_in(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let admin = signed_in(&pool, Role::Admin).await;
    let li = users::create_user(&pool, 1, "li", "password-123", Role::Staff)
        .await
        .expect("user");
    let session = login(&app, "li", "password-123").await.expect("login");
    assert!(is_live(&app, &session).await);

    let (status, out) = sfn(
        &app,
        "users/active",
        &admin,
        form(&format!("user_id={li}&active=false")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["active"], false);
    assert!(!is_live(&app, &session).await, "the open session died");
    let (_, me) = sfn(&app, "me", &session, form("")).await;
    assert_eq!(me, Value::Null);
    let err = login(&app, "li", "password-123")
        .await
        .expect_err("refused");
    assert_eq!(err["code"], "user_disabled");
    // A wrong password still says only that.
    let err = login(&app, "li", "wrong-password")
        .await
        .expect_err("refused");
    assert_eq!(err["code"], "invalid_login");

    let (status, out) = sfn(
        &app,
        "users/active",
        &admin,
        form(&format!("user_id={li}&active=true")),
    )
    .await;
    assert_eq!(
        (status, out["active"].as_bool()),
        (StatusCode::OK, Some(true))
    );
    let session = login(&app, "li", "password-123")
        .await
        .expect("login again");
    assert!(is_live(&app, &session).await);
    let actions: Vec<String> =
        sqlx::query_scalar("select action from audit_log where target = $1 order by id")
            .bind(li.to_string())
            .fetch_all(&pool)
            .await
            .expect("audit");
    assert_eq!(actions, ["user.disable", "user.enable"]);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_password_reset_is_validated_and_ends_the_users_sessions(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let admin = signed_in(&pool, Role::Admin).await;
    let li = users::create_user(&pool, 1, "li", "password-123", Role::Manager)
        .await
        .expect("user");
    let session = login(&app, "li", "password-123").await.expect("login");

    let (status, err) = sfn(
        &app,
        "users/password",
        &admin,
        form(&format!("user_id={li}&password=short")),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["fields"][0]["field"], "password");
    assert!(
        is_live(&app, &session).await,
        "a refused reset changes nothing"
    );

    let (status, out) = sfn(
        &app,
        "users/password",
        &admin,
        form(&format!("user_id={li}&password=brand-new-pass")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert!(!is_live(&app, &session).await, "the session ended");
    assert!(login(&app, "li", "password-123").await.is_err());
    let session = login(&app, "li", "brand-new-pass")
        .await
        .expect("new password");
    assert!(is_live(&app, &session).await);
    let detail: Value = sqlx::query_scalar(
        "select detail from audit_log where action = 'user.password_reset' and target = $1",
    )
    .bind(li.to_string())
    .fetch_one(&pool)
    .await
    .expect("audit");
    assert!(!detail.to_string().contains("brand-new-pass"), "{detail}");

    // Someone who also works in an account this admin does not run keeps their password.
    let account = second_account(&app).await;
    users::create_user(&pool, account, "li", "brand-new-pass", Role::Staff)
        .await
        .expect("role in the second account");
    let (status, err) = sfn(
        &app,
        "users/password",
        &admin,
        form(&format!("user_id={li}&password=taken-over-1")),
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::CONFLICT, Some("user_elsewhere"))
    );
    assert!(login(&app, "li", "brand-new-pass").await.is_ok());
}

/// Adding a user who already works in the account is refused (the users table changes roles
/// and passwords, under the self and last-admin rules): it cannot demote the admin or reset
/// their password behind those rules.
#[sqlx::test(migrations = "../migrations")]
async fn adding_an_existing_user_of_the_account_changes_nothing(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let admin = signed_in(&pool, Role::Admin).await;
    let (status, err) = sfn(
        &app,
        "settings/add-user",
        &admin,
        form("username=user-admin&password=another-pass-1&role=Staff"),
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::CONFLICT, Some("user_exists")),
        "{err}"
    );
    let roles = users::roles_of(&pool, user_id(&pool, "user-admin").await)
        .await
        .expect("roles");
    assert_eq!(roles, [(1, Role::Admin)], "still the admin");
    assert!(is_live(&app, &admin).await, "still signed in");
    // A new username is still added.
    let (status, _) = sfn(
        &app,
        "settings/add-user",
        &admin,
        form("username=newcomer&password=long-enough-1&role=Staff"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(login(&app, "newcomer", "long-enough-1").await.is_ok());
}

/// A user disabled in one of their accounts is no longer offered it in the account switcher.
#[sqlx::test(migrations = "../migrations")]
async fn the_switcher_leaves_out_accounts_where_the_user_is_disabled(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let second = second_account(&app).await;
    let li = users::create_user(&pool, 1, "li", "password-123", Role::Staff)
        .await
        .expect("user");
    users::create_user(&pool, second, "li", "password-123", Role::Staff)
        .await
        .expect("second role");
    let me = app::model::CurrentUser {
        id: li,
        account_id: 1,
        username: "li".into(),
        role: Role::Staff,
    };
    let offered = |pool: PgPool, me: app::model::CurrentUser| async move {
        accounts::choices(&pool, &me)
            .await
            .expect("choices")
            .into_iter()
            .map(|c| c.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(offered(pool.clone(), me.clone()).await, [1, second]);
    sqlx::query(
        "update account_role set disabled_at = now() where account_id = $1 and user_id = $2",
    )
    .bind(second)
    .bind(li)
    .execute(&pool)
    .await
    .expect("disable");
    assert_eq!(offered(pool.clone(), me).await, [1]);
}
