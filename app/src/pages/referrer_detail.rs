//! One referrer: details (edit, archive), QR codes (create, download, poster), referrals, stats.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::api::referrers::{
    archive_referrer, create_qrcode, get_referrer_detail, reset_member_name, update_referrer,
};
use crate::components::form::{ErrorBanner, Loading, Pager, TextField};
use crate::i18n::t;
use crate::model::{
    AppError, NewQrCode, QrCodeView, Referral, ReferrerDetail, ReferrerPatch, Stats,
};

/// The detail page of `/referrers/:id`.
#[component]
pub fn ReferrerDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let page = RwSignal::new(1i64);
    let version = RwSignal::new(0u32);
    let detail = Resource::new(
        move || (id(), page.get(), version.get()),
        |(id, page, _)| get_referrer_detail(id, page),
    );
    let reload = move || version.update(|v| *v += 1);
    view! {
        <Transition fallback=Loading>
            {move || {
                detail.get()
                    .map(|result| match result {
                        Ok(d) => view! { <Detail detail=d page=page reload=reload /> }.into_any(),
                        Err(e) => {
                            view! {
                                <p class="error" role="alert" data-testid="detail-error">{e.message}</p>
                                <a href="/referrers">{t("返回推荐人列表", "Back to referrers")}</a>
                            }
                                .into_any()
                        }
                    })
            }}
        </Transition>
    }
}

#[component]
fn Detail(
    detail: ReferrerDetail,
    page: RwSignal<i64>,
    reload: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let r = detail.referrer.clone();
    let id = r.id;
    let total = detail.referrals.total;
    view! {
        <h1 data-testid="referrer-name">
            {r.name.clone()}
            {r.archived.then(|| view! { <span class="tag muted">{t("已归档", "archived")}</span> })}
            {(r.kind == "member").then(|| view! { <span class="tag" data-testid="member-tag">{t("会员", "member")}</span> })}
        </h1>
        {(r.kind == "member").then(|| view! { <MemberNote id=id name_chosen=r.name_chosen reload=reload /> })}
        <StatsRow stats=detail.stats.clone() />
        <div class="columns">
            <EditForm detail=detail.clone() reload=reload />
            <NewCodeForm referrer_id=id archived=r.archived reload=reload />
        </div>
        <h2>{t("二维码", "QR codes")}</h2>
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
        <h2>{t("推荐的客户", "Referred followers")}</h2>
        <Referrals rows=detail.referrals.items />
        <Pager page=page total=Signal::derive(move || total) per_page=20 />
    }
}

/// For members: whether friends see their chosen name, and a reset to the neutral fallback.
#[component]
fn MemberNote(
    id: i64,
    name_chosen: bool,
    reload: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let reset = Action::new(move |_: &()| reset_member_name(id));
    Effect::new(move |_| {
        if matches!(reset.value().get(), Some(Ok(()))) {
            reload();
        }
    });
    view! {
        <p class="muted" data-testid="member-note">
            {if name_chosen {
                t("这位会员自己设置了好友看到的称呼。", "This member chose the name friends see.")
            } else {
                t("这位会员还没有设置称呼，好友看到的是中性称呼。", "This member has not chosen a name; friends see a neutral fallback.")
            }}
            " "
            <Show when=move || name_chosen>
                <button type="button" data-testid="reset-member-name" on:click=move |_| { reset.dispatch(()); }>
                    {t("重置称呼", "Reset name")}
                </button>
            </Show>
            {move || reset.value().get().and_then(Result::err).map(|e| view! { <span class="error" role="alert">{e.message}</span> })}
        </p>
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

#[component]
fn EditForm(
    detail: ReferrerDetail,
    reload: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let r = detail.referrer;
    let id = r.id;
    let archived = r.archived;
    let name = RwSignal::new(r.name);
    let phone = RwSignal::new(r.phone.unwrap_or_default());
    let note = RwSignal::new(r.note.unwrap_or_default());
    let openid = RwSignal::new(r.openid.unwrap_or_default());
    let tags = RwSignal::new(r.tags.join(", "));
    let save = Action::new(move |patch: &ReferrerPatch| {
        let patch = patch.clone();
        async move { update_referrer(id, patch).await }
    });
    let archive = Action::new(move |_: &()| archive_referrer(id));
    let error = Signal::derive(move || {
        save.value()
            .get()
            .and_then(Result::err)
            .or_else(|| archive.value().get().and_then(Result::err))
    });
    Effect::new(move |_| {
        if matches!(save.value().get(), Some(Ok(_))) || matches!(archive.value().get(), Some(Ok(_)))
        {
            reload();
        }
    });
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
            <ErrorBanner error=Signal::derive(move || error.get().filter(|e: &AppError| e.fields.is_empty())) />
            <div class="actions">
                <button type="submit" class="primary" data-testid="save-referrer" disabled=move || save.pending().get()>
                    {t("保存", "Save")}
                </button>
                <Show when=move || !archived>
                    <button type="button" class="danger" data-testid="archive-referrer" on:click=move |_| { archive.dispatch(()); }>
                        {t("归档", "Archive")}
                    </button>
                </Show>
            </div>
        </form>
    }
}

#[component]
fn NewCodeForm(
    referrer_id: i64,
    archived: bool,
    reload: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let kind = RwSignal::new("permanent".to_owned());
    let days = RwSignal::new("30".to_owned());
    let label = RwSignal::new(String::new());
    let create = Action::new(move |input: &NewQrCode| {
        let input = input.clone();
        async move { create_qrcode(referrer_id, input).await }
    });
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    Effect::new(move |_| {
        if let Some(Ok(_)) = create.value().get() {
            label.set(String::new());
            reload();
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let temporary = kind.get_untracked() == "temporary";
        let expire_seconds = temporary.then(|| {
            days.get_untracked()
                .trim()
                .parse::<f64>()
                .map(|d| (d * 86_400.0).round() as i64)
                .unwrap_or(0)
        });
        create.dispatch(NewQrCode {
            kind: kind.get_untracked(),
            expire_seconds,
            label: Some(label.get_untracked()).filter(|l| !l.trim().is_empty()),
        });
    };
    view! {
        <form class="card" on:submit=submit data-testid="new-code-form">
            <h2>{t("生成二维码", "New QR code")}</h2>
            <Show
                when=move || !archived
                fallback=|| view! { <p class="muted">{t("已归档的推荐人不能生成新二维码。", "Archived referrers get no new codes.")}</p> }
            >
                <div class="field">
                    <label for="f-kind">{t("类型", "Kind")}</label>
                    <select id="f-kind" data-testid="input-kind" on:change=move |ev| kind.set(event_target_value(&ev))>
                        <option value="permanent">{t("永久（适合印刷）", "Permanent (for print)")}</option>
                        <option value="temporary">{t("临时（最长 30 天）", "Temporary (up to 30 days)")}</option>
                    </select>
                </div>
                <Show when=move || kind.get() == "temporary">
                    <TextField label=t("有效天数", "Valid for (days)") field="expire_seconds" value=days error=error />
                </Show>
                <TextField label=t("标签（可选，如“门店海报”）", "Label (optional, e.g. “shop poster”)") field="label" value=label error=error />
                <ErrorBanner error=Signal::derive(move || error.get().filter(|e: &AppError| e.fields.is_empty())) />
                <button type="submit" class="primary" data-testid="create-code" disabled=move || create.pending().get()>
                    {move || if create.pending().get() { t("生成中…", "Creating…")() } else { t("生成", "Create")() }}
                </button>
            </Show>
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
                <span class="tag">{if c.kind == "permanent" { t("永久", "permanent")() } else { t("临时", "temporary")() }}</span>
            </p>
            {expiry.map(|e| view! { <p class="muted">{t("有效期至 ", "Valid until ")} {e}</p> })}
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
                        <th>{t("关注时间", "Followed")}</th>
                        <th>{t("状态", "Status")}</th>
                    </tr>
                </thead>
                <tbody>
                    {rows
                        .into_iter()
                        .map(|r| {
                            view! {
                                <tr>
                                    <td class="mono">{r.openid}</td>
                                    <td>{r.followed_at.replace('T', " ").replace('Z', " UTC")}</td>
                                    <td>{if r.still_following { t("关注中", "following")() } else { t("已取关", "unfollowed")() }}</td>
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
