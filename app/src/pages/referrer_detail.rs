//! One referrer: details (edit, archive), QR codes (create, download, poster), referrals, stats.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::api::referrers::{
    archive_referrer, binding_code, create_qrcode, get_referrer_detail, move_credit,
    reset_member_name, restore_referrer, update_referrer,
};
use crate::components::call::{Call, effect};
use crate::components::chart::DailyChart;
use crate::components::confirm::ConfirmDialog;
use crate::components::form::{ErrorBanner, Pager, TextField, page_param};
use crate::i18n::t;
use crate::model::{
    AppError, CodeKind, CreditMove, NewQrCode, QrCodeView, Referral, Referrer, ReferrerDetail,
    ReferrerKind, ReferrerPatch, Stats, WechatTagCount,
};
use crate::notice::NoticeAttempt;

/// The detail page of `/referrers/:id` (`?page=` pages the referrals).
#[component]
pub fn ReferrerDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = params
        .read_untracked()
        .get("id")
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(0);
    let page = page_param();
    let detail = Resource::new(|| (), move |_| get_referrer_detail(id, page));
    view! {
        <Suspense>
            {move || {
                detail.get()
                    .map(|result| match result {
                        Ok(d) => view! { <Detail detail=d /> }.into_any(),
                        Err(e) => {
                            view! {
                                <p class="error" role="alert" data-testid="detail-error">{e.message}</p>
                                <a href="/referrers">{t("返回推荐人列表", "Back to referrers")}</a>
                            }
                                .into_any()
                        }
                    })
            }}
        </Suspense>
    }
}

#[component]
fn Detail(detail: ReferrerDetail) -> impl IntoView {
    let r = detail.referrer.clone();
    let id = r.id;
    let referrals = detail.referrals;
    let movable: Vec<(i64, String)> = referrals
        .items
        .iter()
        .map(|x| (x.id, x.openid.clone()))
        .collect();
    let voidable: Vec<(i64, String, bool)> = referrals
        .items
        .iter()
        .map(|x| (x.id, x.openid.clone(), x.voided))
        .collect();
    let void_form = (detail.can_void && !voidable.is_empty())
        .then(|| view! { <VoidCredit referrals=voidable /> });
    let move_form = (!detail.move_targets.is_empty() && !movable.is_empty()).then(|| {
        view! { <MoveCredit referrals=movable targets=detail.move_targets.clone() /> }
    });
    view! {
        <div data-live="referrer-head">
            <h1 data-testid="referrer-name">
                {r.name.clone()}
                {r.archived.then(|| view! { <span class="tag muted">{t("已归档", "archived")}</span> })}
                {(r.kind == ReferrerKind::Member).then(|| view! { <span class="tag" data-testid="member-tag">{t("会员", "member")}</span> })}
            </h1>
        </div>
        {(r.kind == ReferrerKind::Member).then(|| view! { <MemberNote id=id name_chosen=r.name_chosen /> })}
        <div data-live="referrer-stats">
            <StatsRow stats=detail.stats.clone() />
            <section class="card" aria-labelledby="referrer-daily-title">
                <h2 id="referrer-daily-title">{t("本月每日趋势", "This month, day by day")}</h2>
                <DailyChart points=detail.stats.daily.clone() id="referrer-daily" />
            </section>
        </div>
        <div class="columns">
            <EditForm referrer=r.clone() />
            <NewCodeForm referrer_id=id archived=r.archived />
        </div>
        {(!r.archived).then(|| view! { <BindByScan referrer_id=id bound=r.openid.is_some() /> })}
        <h2>{t("二维码", "QR codes")}</h2>
        <div data-live="codes">
            {if detail.codes.is_empty() {
                view! { <p class="empty" data-testid="codes-empty">{t("还没有二维码。", "No QR codes yet.")}</p> }.into_any()
            } else {
                view! {
                    <div class="codes">
                        {detail.codes.into_iter().map(|c| view! { <CodeCard code=c referrer_id=id /> }).collect_view()}
                    </div>
                }
                    .into_any()
            }}
        </div>
        <h2>{t("推荐的客户", "Referred followers")}</h2>
        <div data-live="referrals">
            <Referrals rows=referrals.items />
            <Pager
                page=referrals.page
                total=referrals.total
                per_page=referrals.per_page
                href=move |p| format!("/referrers/{id}?page={p}")
            />
            <TagSummary counts=detail.wechat_tags />
        </div>
        {move_form}
        {void_form}
        <h2>{t("推荐归属调整", "Credit moves")}</h2>
        <div data-live="credit-moves">
            <CreditMoves rows=detail.credit_moves referrer_id=id />
        </div>
        <h2>{t("通知记录", "Notices")}</h2>
        <div data-live="notices">
            <Notices rows=detail.notices has_openid=r.openid.is_some() />
        </div>
    }
}

/// Credit an admin moved to or from this referrer.
#[component]
fn CreditMoves(rows: Vec<CreditMove>, referrer_id: i64) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="empty" data-testid="credit-moves-empty">{t("没有调整过。", "No credit was moved.")}</p> }
            .into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="credit-moves">
                <thead>
                    <tr>
                        <th scope="col">{t("时间（北京时间）", "Time (Beijing)")}</th>
                        <th scope="col">"openid"</th>
                        <th scope="col">{t("调整", "Move")}</th>
                        <th scope="col">{t("原因", "Reason")}</th>
                        <th scope="col">{t("操作者", "By")}</th>
                    </tr>
                </thead>
                <tbody>
                    {rows
                        .into_iter()
                        .map(|m| {
                            let direction = if m.to_referrer_id == referrer_id { "in" } else { "out" };
                            view! {
                                <tr data-testid="credit-move" data-direction=direction>
                                    <td>{m.at}</td>
                                    <td class="mono">{m.openid}</td>
                                    <td>
                                        <a href=format!("/referrers/{}", m.from_referrer_id)>{m.from_name}</a>
                                        " → "
                                        <a href=format!("/referrers/{}", m.to_referrer_id)>{m.to_name}</a>
                                    </td>
                                    <td>{m.reason}</td>
                                    <td>{m.actor}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

/// Admins: move a follower's credit (one of this page's referrals) to another referrer, with a
/// reason, after a confirmation; the page is read again after the move.
#[island]
fn MoveCredit(referrals: Vec<(i64, String)>, targets: Vec<(i64, String)>) -> impl IntoView {
    let referral = RwSignal::new(referrals.first().map(|r| r.0).unwrap_or_default());
    let target = RwSignal::new(targets.first().map(|t| t.0).unwrap_or_default());
    let reason = RwSignal::new(String::new());
    let confirm = RwSignal::new(false);
    let names = StoredValue::new(targets.clone());
    let openids = StoredValue::new(referrals.clone());
    let go = Call::new(move |(r, to, why): &(i64, i64, String)| {
        let (r, to, why) = (*r, *to, why.clone());
        async move { move_credit(r, to, why).await }
    });
    let error = Signal::derive(move || go.value().get().and_then(Result::err));
    effect(move || match go.value().get() {
        Some(Ok(_)) => {
            confirm.set(false);
            #[cfg(feature = "hydrate")]
            let _ = leptos::prelude::window().location().reload();
        }
        Some(Err(_)) => confirm.set(false),
        None => {}
    });
    let run = Callback::new(move |_: ()| {
        go.dispatch((
            referral.get_untracked(),
            target.get_untracked(),
            reason.get_untracked(),
        ));
    });
    let title = Signal::derive(move || {
        t("转移这位客户的推荐归属？", "Move this follower's credit?")().to_owned()
    });
    let message = Signal::derive(move || {
        let who = openids.with_value(|o| {
            o.iter()
                .find(|(id, _)| *id == referral.get())
                .map(|x| x.1.clone())
                .unwrap_or_default()
        });
        let to = names.with_value(|n| {
            n.iter()
                .find(|(id, _)| *id == target.get())
                .map(|x| x.1.clone())
                .unwrap_or_default()
        });
        format!(
            "{who} → {to}：{}",
            t(
                "排行榜和统计随之调整，记录保留在双方页面。",
                "leaderboards and stats follow; the move stays on both referrers' pages."
            )()
        )
    });
    let label = Signal::derive(move || t("转移", "Move")().to_owned());
    view! {
        <form
            class="card"
            data-testid="move-credit-form"
            aria-labelledby="move-credit-title"
            on:submit=move |ev| {
                ev.prevent_default();
                confirm.set(true);
            }
        >
            <h2 id="move-credit-title">{t("转移推荐归属（管理员）", "Move credit (admins)")}</h2>
            <div class="form-grid">
                <div class="field">
                    <label for="move-referral">{t("客户", "Follower")}</label>
                    <select id="move-referral" data-testid="move-referral" on:change=move |ev| referral.set(event_target_value(&ev).parse().unwrap_or_default())>
                        {referrals.into_iter().map(|(id, openid)| view! { <option value=id.to_string()>{openid}</option> }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="move-target">{t("转给", "To")}</label>
                    <select id="move-target" data-testid="move-target" on:change=move |ev| target.set(event_target_value(&ev).parse().unwrap_or_default())>
                        {targets.into_iter().map(|(id, name)| view! { <option value=id.to_string()>{name}</option> }).collect_view()}
                    </select>
                </div>
            </div>
            <TextField label=t("原因（必填，记入审计日志）", "Reason (required, kept in the audit log)") field="reason" value=reason error=error />
            <ErrorBanner error=Signal::derive(move || error.get().filter(|e: &AppError| e.fields.is_empty())) />
            <button type="submit" data-testid="move-credit" disabled=move || go.pending().get()>{t("转移…", "Move…")}</button>
            <ConfirmDialog
                open=confirm
                id="move-credit-confirm"
                title=title
                message=message
                confirm_label=label
                on_confirm=run
                busy=go.pending()
            />
        </form>
    }
}

/// Managers: remove a follower's credit (void the referral: it stays recorded and counts on no
/// leaderboard or stat) or restore a voided one, with a reason, after a confirmation; the page
/// is read again after.
#[island]
fn VoidCredit(referrals: Vec<(i64, String, bool)>) -> impl IntoView {
    let referral = RwSignal::new(referrals.first().map(|r| r.0).unwrap_or_default());
    let reason = RwSignal::new(String::new());
    let confirm = RwSignal::new(false);
    let rows = StoredValue::new(referrals.clone());
    let voided = move || {
        rows.with_value(|rows| {
            rows.iter()
                .any(|(id, _, voided)| *id == referral.get() && *voided)
        })
    };
    let go = Call::new(move |(r, restore, why): &(i64, bool, String)| {
        let (r, restore, why) = (*r, *restore, why.clone());
        async move {
            if restore {
                crate::api::review::restore_referral(r, why).await
            } else {
                crate::api::review::void_referral(r, why).await
            }
        }
    });
    let error = Signal::derive(move || go.value().get().and_then(Result::err));
    // The service names the field `reason`; this form's field is `void_reason` (the move form
    // beside it has a `reason`).
    let reason_error = Signal::derive(move || {
        error.get().map(|mut e| {
            for f in &mut e.fields {
                if f.field == "reason" {
                    f.field = "void_reason".into();
                }
            }
            e
        })
    });
    effect(move || match go.value().get() {
        Some(Ok(())) => {
            confirm.set(false);
            #[cfg(feature = "hydrate")]
            let _ = leptos::prelude::window().location().reload();
        }
        Some(Err(_)) => confirm.set(false),
        None => {}
    });
    let run = Callback::new(move |_: ()| {
        go.dispatch((referral.get_untracked(), voided(), reason.get_untracked()));
    });
    let title = Signal::derive(move || {
        if voided() {
            t("恢复这位客户的推荐？", "Restore this follower's credit?")().to_owned()
        } else {
            t("取消这位客户的推荐归属？", "Remove this follower's credit?")().to_owned()
        }
    });
    let message = Signal::derive(move || {
        if voided() {
            t(
                "恢复后重新计入排行榜和统计。",
                "It counts on leaderboards and stats again.",
            )()
            .to_owned()
        } else {
            t(
                "推荐记录保留，但不再计入任何排行榜和统计；可以恢复。",
                "The referral stays recorded but counts on no leaderboard or stat; it can be restored.",
            )()
            .to_owned()
        }
    });
    let label = Signal::derive(move || {
        if voided() {
            t("恢复", "Restore")().to_owned()
        } else {
            t("取消归属", "Remove credit")().to_owned()
        }
    });
    view! {
        <form
            class="card"
            data-testid="void-credit-form"
            aria-labelledby="void-credit-title"
            on:submit=move |ev| {
                ev.prevent_default();
                confirm.set(true);
            }
        >
            <h2 id="void-credit-title">{t("取消或恢复推荐归属", "Remove or restore credit")}</h2>
            <div class="field">
                <label for="void-referral">{t("客户", "Follower")}</label>
                <select id="void-referral" data-testid="void-referral" on:change=move |ev| referral.set(event_target_value(&ev).parse().unwrap_or_default())>
                    {referrals.into_iter().map(|(id, openid, voided)| {
                        let text = if voided { format!("{openid} ({})", t("已作废", "voided")()) } else { openid };
                        view! { <option value=id.to_string()>{text}</option> }
                    }).collect_view()}
                </select>
            </div>
            <TextField label=t("原因（必填，记入审计日志）", "Reason (required, kept in the audit log)") field="void_reason" value=reason error=reason_error />
            <ErrorBanner error=Signal::derive(move || error.get().filter(|e: &AppError| e.fields.is_empty())) />
            <button type="submit" data-testid="void-credit" disabled=move || go.pending().get()>
                {move || if voided() { t("恢复…", "Restore…")() } else { t("取消归属…", "Remove credit…")() }}
            </button>
            <ConfirmDialog
                open=confirm
                id="void-credit-confirm"
                title=title
                message=message
                confirm_label=label
                on_confirm=run
                busy=go.pending()
            />
        </form>
    }
}

/// Binding the referrer's WeChat identity: a one-time code (ten minutes) the referrer scans
/// with their own WeChat.
#[island]
fn BindByScan(referrer_id: i64, bound: bool) -> impl IntoView {
    let make = Call::new(move |_: &()| binding_code(referrer_id));
    let error = Signal::derive(move || make.value().get().and_then(Result::err));
    view! {
        <section class="card" data-testid="bind-by-scan">
            <h2>{t("绑定微信", "Bind WeChat")}</h2>
            <p class="muted">
                {if bound {
                    t("已绑定微信。重新绑定会换成扫码的微信。", "A WeChat identity is bound. Binding again replaces it with the scanner's.")
                } else {
                    t("绑定后，推荐人能收到新客户通知，扫自己的码也不会被算作推荐。", "Once bound, the referrer is told about new followers, and scanning their own code does not count as a referral.")
                }}
            </p>
            <button
                data-testid="bind-create"
                disabled=move || make.pending().get()
                on:click=move |_| { make.dispatch(()); }
            >
                {t("生成绑定二维码", "Make a binding code")}
            </button>
            <ErrorBanner error=error />
            {move || make.value().get().and_then(Result::ok).map(|code| view! {
                <div class="binding" data-testid="bind-code" data-url=code.url.clone() role="status">
                    <div class="qr" inner_html=code.svg.clone() role="img" aria-label=t("绑定二维码", "Binding QR code")></div>
                    <p>
                        {t("请推荐人用自己的微信扫码（10 分钟内有效，只能用一次），有效期至 ", "Have the referrer scan it with their own WeChat (valid for 10 minutes, once), until ")}
                        <strong data-testid="bind-expires">{crate::time::shown(&code.expires_at)}</strong>
                    </p>
                </div>
            })}
        </section>
    }
}

/// The latest attempts to tell the referrer about a new follower, and the notices still kept.
#[component]
fn Notices(rows: Vec<NoticeAttempt>, has_openid: bool) -> impl IntoView {
    if rows.is_empty() {
        let text = if has_openid {
            t("还没有发过通知。", "No notices yet.")
        } else {
            t(
                "未绑定微信，收不到通知。",
                "No WeChat identity bound: no notices can reach them.",
            )
        };
        return view! { <p class="empty" data-testid="notices-empty">{text}</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="notices-table">
                <thead>
                    <tr>
                        <th scope="col">{t("时间（北京时间）", "Time (Beijing)")}</th>
                        <th scope="col">{t("方式", "Channel")}</th>
                        <th scope="col">{t("结果", "Outcome")}</th>
                    </tr>
                </thead>
                <tbody>
                    {rows
                        .into_iter()
                        .map(|n| {
                            let channel = if n.channel == "template" { t("模板消息", "template message") } else { t("客服消息", "customer-service message") };
                            let outcome = match n.status.as_str() {
                                "sent" => t("已送达", "sent"),
                                "pending" => t("待补发（推荐人下次互动时）", "kept (sent when the referrer next interacts)"),
                                _ => t("失败", "failed"),
                            };
                            let errcode = n.errcode.map(|c| format!(" · errcode {c}"));
                            view! {
                                <tr data-testid="notice-row" data-status=n.status.clone() data-channel=n.channel.clone()>
                                    <td>{n.at}</td>
                                    <td>{channel}</td>
                                    <td>{outcome}{errcode}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
        .into_any()
}

/// For members: whether friends see their chosen name, and a reset to the neutral fallback.
#[component]
fn MemberNote(id: i64, name_chosen: bool) -> impl IntoView {
    view! {
        <p class="muted" data-testid="member-note">
            {if name_chosen {
                t("这位会员自己设置了好友看到的称呼。", "This member chose the name friends see.")
            } else {
                t("这位会员还没有设置称呼，好友看到的是中性称呼。", "This member has not chosen a name; friends see a neutral fallback.")
            }}
            " "
            {name_chosen.then(|| view! { <ResetMemberName id=id /> })}
        </p>
    }
}

/// Resets a member's chosen name; the page loads again to show the fallback.
#[island]
fn ResetMemberName(id: i64) -> impl IntoView {
    let reset = Call::new(move |_: &()| reset_member_name(id));
    effect(move || {
        if matches!(reset.value().get(), Some(Ok(()))) {
            crate::browser::reload();
        }
    });
    view! {
        <button type="button" data-testid="reset-member-name" on:click=move |_| { reset.dispatch(()); }>
            {t("重置称呼", "Reset name")}
        </button>
        {move || reset.value().get().and_then(Result::err).map(|e| view! { <span class="error" role="alert">{e.message}</span> })}
    }
}

#[component]
fn StatsRow(stats: Stats) -> impl IntoView {
    view! {
        <dl class="stats-row" data-testid="referrer-stats">
            <div><dt>{t("扫码", "Scans")}</dt><dd>{stats.scans}</dd></div>
            <div><dt>{t("新关注", "New follows")}</dt><dd data-testid="stat-follows">{stats.new_follows}</dd></div>
            <div><dt>{t("取关", "Unfollows")}</dt><dd>{stats.unfollows}</dd></div>
            <div><dt>{t("仍在关注", "Still following")}</dt><dd>{stats.still_following}</dd></div>
        </dl>
    }
}

/// Edits the details; saving refreshes the page's heading, archiving (after a confirmation) and
/// restoring load the page again.
#[island]
fn EditForm(referrer: Referrer) -> impl IntoView {
    let r = referrer;
    let id = r.id;
    let archived = r.archived;
    let name = RwSignal::new(r.name);
    let phone = RwSignal::new(r.phone.unwrap_or_default());
    let note = RwSignal::new(r.note.unwrap_or_default());
    let openid = RwSignal::new(r.openid.unwrap_or_default());
    let tags = RwSignal::new(r.tags.join(", "));
    let wechat_tag = RwSignal::new(r.wechat_tag.unwrap_or_default());
    let save = Call::new(move |patch: &ReferrerPatch| {
        let patch = patch.clone();
        async move { update_referrer(id, patch).await }
    });
    let archive = Call::new(move |_: &()| archive_referrer(id));
    let restore = Call::new(move |_: &()| restore_referrer(id));
    let confirm = RwSignal::new(false);
    let error = Signal::derive(move || {
        save.value()
            .get()
            .and_then(Result::err)
            .or_else(|| archive.value().get().and_then(Result::err))
            .or_else(|| restore.value().get().and_then(Result::err))
    });
    effect(move || {
        if matches!(save.value().get(), Some(Ok(_))) {
            crate::browser::refresh();
        }
    });
    effect(move || {
        if matches!(archive.value().get(), Some(Ok(_)))
            || matches!(restore.value().get(), Some(Ok(_)))
        {
            crate::browser::reload();
        }
    });
    let archive_now = Callback::new(move |_: ()| {
        confirm.set(false);
        archive.dispatch(());
    });
    let title = name.get_untracked();
    let lang = crate::i18n::use_lang();
    let title_text = t("归档推荐人？", "Archive this referrer?");
    let label_text = t("归档", "Archive");
    let confirm_title = Signal::derive(move || title_text().to_owned());
    let confirm_message = Signal::derive(move || match lang.get() {
        crate::i18n::Lang::Zh => format!(
            "归档后「{title}」不再出现在列表中，也不能生成新二维码；推荐记录和已有二维码保留，之后可以恢复。"
        ),
        crate::i18n::Lang::En => format!(
            "“{title}” will leave the list and get no new codes; referrals and existing codes stay, and the referrer can be restored later."
        ),
    });
    let confirm_label = Signal::derive(move || label_text().to_owned());
    let opt = |s: RwSignal<String>| Some(Some(s.get_untracked()).filter(|v| !v.trim().is_empty()));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        save.dispatch(ReferrerPatch {
            name: Some(name.get_untracked()),
            phone: opt(phone),
            note: opt(note),
            openid: opt(openid),
            tags: Some(
                tags.get_untracked()
                    .split([',', '，', '、'])
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect(),
            ),
            wechat_tag: opt(wechat_tag),
        });
    };
    view! {
        <form class="card" on:submit=submit data-testid="edit-referrer-form">
            <h2>{t("资料", "Details")}</h2>
            <TextField label=t("姓名", "Name") field="name" value=name error=error />
            <TextField label=t("电话", "Phone") field="phone" value=phone error=error />
            <TextField label=t("备注", "Note") field="note" value=note error=error />
            <TextField label=t("绑定 openid", "Bound openid") field="openid" value=openid error=error />
            <TextField label=t("标签", "Tags") field="tags" value=tags error=error />
            <TextField label=t("微信用户标签（给带来的粉丝打上；二维码可另设）", "WeChat user tag (put on the followers they bring; a code may set its own)") field="wechat_tag" value=wechat_tag error=error />
            <ErrorBanner error=Signal::derive(move || error.get().filter(|e: &AppError| e.fields.is_empty())) />
            <div class="actions">
                <button type="submit" class="primary" data-testid="save-referrer" disabled=move || save.pending().get()>
                    {t("保存", "Save")}
                </button>
                {move || matches!(save.value().get(), Some(Ok(_))).then(|| view! {
                    <span class="ok" data-testid="saved-ok">{t("已保存", "Saved")}</span>
                })}
                {archived.then(|| view! {
                    <button type="button" data-testid="restore-referrer" disabled=move || restore.pending().get()
                        on:click=move |_| { restore.dispatch(()); }>
                        {t("恢复", "Restore")}
                    </button>
                })}
                {(!archived).then(|| view! {
                    <button type="button" class="danger" data-testid="archive-referrer" on:click=move |_| confirm.set(true)>
                        {t("归档", "Archive")}
                    </button>
                })}
            </div>
            <ConfirmDialog
                open=confirm
                id="archive-confirm"
                title=confirm_title
                message=confirm_message
                confirm_label=confirm_label
                on_confirm=archive_now
                busy=archive.pending()
            />
        </form>
    }
}

/// Creates a QR code; the new code shows up in the list below at once.
#[island]
fn NewCodeForm(referrer_id: i64, archived: bool) -> impl IntoView {
    let kind = RwSignal::new(CodeKind::Permanent);
    let days = RwSignal::new("30".to_owned());
    let label = RwSignal::new(String::new());
    let wechat_tag = RwSignal::new(String::new());
    let scene_type = RwSignal::new("string".to_owned());
    let create = Call::new(move |input: &NewQrCode| {
        let input = input.clone();
        async move { create_qrcode(referrer_id, input).await }
    });
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    effect(move || {
        if let Some(Ok(_)) = create.value().get() {
            label.set(String::new());
            wechat_tag.set(String::new());
            crate::browser::refresh();
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let temporary = kind.get_untracked() == CodeKind::Temporary;
        let expire_seconds = temporary.then(|| {
            days.get_untracked()
                .trim()
                .parse::<f64>()
                .map(|d| (d * 86_400.0).round() as i64)
                .unwrap_or(0)
        });
        create.dispatch(NewQrCode {
            kind: kind.get_untracked().as_str().into(),
            expire_seconds,
            label: Some(label.get_untracked()).filter(|l| !l.trim().is_empty()),
            scene_type: Some(scene_type.get_untracked()),
            wechat_tag: Some(wechat_tag.get_untracked()).filter(|l| !l.trim().is_empty()),
        });
    };
    view! {
        <form class="card" on:submit=submit data-testid="new-code-form">
            <h2>{t("生成二维码", "New QR code")}</h2>
            {archived.then(|| view! { <p class="muted">{t("已归档的推荐人不能生成新二维码。", "Archived referrers get no new codes.")}</p> })}
            {(!archived).then(|| view! {
                <div class="field">
                    <label for="f-kind">{t("类型", "Kind")}</label>
                    <select id="f-kind" data-testid="input-kind" on:change=move |ev| kind.set(CodeKind::parse(&event_target_value(&ev)).unwrap_or(CodeKind::Permanent))>
                        <option value=CodeKind::Permanent.as_str()>{t("永久（适合印刷）", "Permanent (for print)")}</option>
                        <option value=CodeKind::Temporary.as_str()>{t("临时（最长 30 天）", "Temporary (up to 30 days)")}</option>
                    </select>
                </div>
                {move || (kind.get() == CodeKind::Temporary).then(|| view! {
                    <TextField label=t("有效天数", "Valid for (days)") field="expire_seconds" value=days error=error />
                })}
                <div class="field">
                    <label for="f-scene-type">{t("场景值", "Scene")}</label>
                    <select id="f-scene-type" data-testid="input-scene-type" on:change=move |ev| scene_type.set(event_target_value(&ev))>
                        <option value="string">{t("字符串（推荐）", "String (recommended)")}</option>
                        <option value="integer">{t("整数（兼容旧系统；永久码 1–100000）", "Integer (for older systems; permanent 1–100000)")}</option>
                    </select>
                </div>
                <TextField label=t("标签（可选，如“门店海报”）", "Label (optional, e.g. “shop poster”)") field="label" value=label error=error />
                <TextField label=t("微信用户标签（可选，代替推荐人的）", "WeChat user tag (optional, instead of the referrer's)") field="wechat_tag" key="code-wechat_tag" value=wechat_tag error=error />
                <ErrorBanner error=Signal::derive(move || error.get().filter(|e: &AppError| e.fields.is_empty())) />
                <button type="submit" class="primary" data-testid="create-code" disabled=move || create.pending().get()>
                    {move || if create.pending().get() { t("生成中…", "Creating…")() } else { t("生成", "Create")() }}
                </button>
            })}
        </form>
    }
}

#[component]
fn CodeCard(code: QrCodeView, referrer_id: i64) -> impl IntoView {
    let c = code.code;
    let png = format!("/api/v1/qrcodes/{}/image.png", c.id);
    let svg_href = format!("/api/v1/qrcodes/{}/image.svg", c.id);
    let poster = format!("/referrers/{referrer_id}/poster/{}", c.id);
    let expiry = c.expires_at.clone();
    view! {
        <article class="code card" data-testid="code-card">
            <div class="qr" inner_html=code.svg></div>
            <p>
                <strong>{c.label.clone().unwrap_or_else(|| c.scene.clone())}</strong>
                " "
                <span class="tag">{if c.kind == CodeKind::Permanent { t("永久", "permanent")() } else { t("临时", "temporary")() }}</span>
            </p>
            {c.wechat_tag.clone().map(|tag| view! {
                <p class="muted" data-testid="code-wechat-tag">{t("微信标签：", "WeChat tag: ")} {tag}</p>
            })}
            {expiry.map(|e| view! { <p class="muted">{t("有效期至 ", "Valid until ")} {crate::time::shown(&e)} " " {t("（北京时间）", "(Beijing time)")}</p> })}
            <p class="links">
                <a href=png download data-testid="download-png">"PNG"</a>
                " · "
                <a href=svg_href download data-testid="download-svg">"SVG"</a>
                " · "
                <a href=poster target="_blank" data-testid="poster-link">{t("打印海报", "Print poster")}</a>
            </p>
        </article>
    }
}

#[component]
fn Referrals(rows: Vec<Referral>) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="empty" data-testid="referrals-empty">{t("还没有推荐记录。", "No referrals yet.")}</p> }
            .into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="referrals-table">
                <thead>
                    <tr>
                        <th>"openid"</th>
                        <th>{t("关注时间（北京时间）", "Followed (Beijing time)")}</th>
                        <th>{t("状态", "Status")}</th>
                        <th>{t("微信标签", "WeChat tag")}</th>
                    </tr>
                </thead>
                <tbody>
                    {rows
                        .into_iter()
                        .map(|r| {
                            view! {
                                <tr data-testid="referral-row" data-voided=r.voided.to_string()>
                                    <td class="mono">{r.openid}</td>
                                    <td>{crate::time::shown(&r.followed_at)}</td>
                                    <td>
                                        {if r.still_following { t("关注中", "following")() } else { t("已取关", "unfollowed")() }}
                                        {r.voided.then(|| view! {
                                            " " <span class="tag warn" data-testid="referral-voided">{t("已作废，不计数", "voided: not counted")}</span>
                                            {r.void_reason.clone().map(|why| view! { <br /><span class="muted" data-testid="referral-void-reason">{why}</span> })}
                                        })}
                                    </td>
                                    <td data-testid="referral-wechat-tag" data-state=r.wechat_tag_state.clone().unwrap_or_default()>
                                        {r.wechat_tag.clone().map(|tag| {
                                            let state = r.wechat_tag_state.clone().unwrap_or_default();
                                            view! {
                                                {tag}
                                                " "
                                                <span class=tag_badge(&state)>{tag_state(&state)}</span>
                                                {r.wechat_tag_error.clone().map(|why| view! { <br /><span class="muted">{why}</span> })}
                                            }
                                        })}
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
        .into_any()
}

/// The badge class of a tag state.
fn tag_badge(state: &str) -> &'static str {
    match state {
        "done" => "tag ok",
        "failed" => "tag warn",
        _ => "tag muted",
    }
}

/// A tag state in words.
fn tag_state(state: &str) -> &'static str {
    match state {
        "done" => t("已打上", "tagged")(),
        "failed" => t("微信拒绝", "refused")(),
        _ => t("同步中", "syncing")(),
    }
}

/// How the WeChat tags of the referrer's credited followers stand: how many carry each tag,
/// are still being tagged, or were refused (with WeChat's latest reason).
#[component]
fn TagSummary(counts: Vec<WechatTagCount>) -> impl IntoView {
    (!counts.is_empty()).then(|| {
        view! {
            <section class="card" data-testid="wechat-tag-summary" aria-labelledby="wechat-tag-title">
                <h3 id="wechat-tag-title">{t("微信用户标签", "WeChat user tags")}</h3>
                <ul>
                    {counts.into_iter().map(|c| {
                        let state = c.state.clone();
                        view! {
                            <li data-testid="wechat-tag-count" data-state=state.clone()>
                                <strong>{c.tag}</strong>
                                " · "
                                <span class=tag_badge(&state)>{tag_state(&state)}</span>
                                " "
                                {c.followers}
                                {t(" 位", " followers")}
                                {c.last_error.map(|why| view! { <br /><span class="muted">{why}</span> })}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </section>
        }
    })
}
