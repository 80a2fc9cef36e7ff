//! `/m/:token`: a member's personal page, mobile-first and in Chinese: their QR code large
//! enough to screenshot, how many friends followed through it, how many still follow, the
//! latest (masked) referrals, and the name friends see.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::member::{load_member_page, save_member_name};
use crate::campaigns::MemberCampaign;
use crate::components::call::{Call, effect};
use crate::components::form::TextField;
use crate::model::MemberPage;

#[component]
pub fn MemberPageView() -> impl IntoView {
    let params = use_params_map();
    let token = params.read_untracked().get("token").unwrap_or_default();
    let page = Resource::new(|| (), {
        let token = token.clone();
        move |_| load_member_page(token.clone())
    });
    view! {
        <Title text="我的推广码" />
        <section class="member" data-testid="member-page">
            <Suspense>
                {move || page.get().map(|result| match result {
                    Ok(p) => view! { <MemberBody page=p token=token.clone() /> }.into_any(),
                    Err(e) if e.code == "not_found" => view! {
                        <div class="member-card" data-testid="member-not-found">
                            <h1>"页面不存在"</h1>
                            <p>"链接无效或已失效。请在公众号里发送「推广码」重新获取您的个人页面。"</p>
                        </div>
                    }.into_any(),
                    Err(e) => view! {
                        <div class="member-card" role="alert" data-testid="member-error">
                            <h1>"暂时无法打开"</h1>
                            <p>{e.message}</p>
                            <p>"请稍后刷新页面重试。"</p>
                        </div>
                    }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn MemberBody(page: MemberPage, token: String) -> impl IntoView {
    let title = match &page.name {
        Some(n) => format!("{n} 的推广码"),
        None => "我的推广码".to_owned(),
    };
    let latest = page.latest.clone();
    view! {
        <div class="member-card">
            <p class="muted">{page.account_name.clone()}</p>
            <h1 data-testid="member-title" data-live="member-title">{title}</h1>
            {if page.archived {
                view! { <p class="error" role="alert" data-testid="member-archived">"您的推广码已停用。"</p> }.into_any()
            } else {
                match page.qr_svg.clone() {
                    Some(svg) => view! {
                        <div class="qr member-qr" data-testid="member-qr" inner_html=svg></div>
                        <p class="hint">"截图或长按保存，分享给朋友。朋友扫码关注后，就会记在您名下。"</p>
                        {page.code_expires_at.clone().map(|at| view! {
                            <p class="muted" data-testid="member-expiry">{format!("此二维码有效期至 {}（北京时间），到期前会自动换新。", crate::time::shown(&at))}</p>
                        })}
                    }.into_any(),
                    None => view! {
                        <p class="error" role="alert" data-testid="member-no-qr">"二维码暂时无法生成，请稍后刷新页面。"</p>
                    }.into_any(),
                }
            }}
        </div>
        <div class="member-stats">
            <div class="stat">
                <span class="stat-value" data-testid="member-total">{page.total}</span>
                <span class="stat-label">"位朋友通过您关注"</span>
            </div>
            <div class="stat">
                <span class="stat-value" data-testid="member-still">{page.still_following}</span>
                <span class="stat-label">"位仍在关注"</span>
            </div>
        </div>
        {page.campaigns.clone().into_iter().map(|c| view! { <MemberCampaignCard campaign=c /> }).collect_view()}
        <div class="member-card">
            <h2>"好友看到的称呼"</h2>
            <p class="muted">
                {if page.name.is_some() {
                    "朋友关注时会看到：您是「这个称呼」推荐的客户。"
                } else {
                    "还没有设置。设置后，朋友关注时会看到您的称呼；也可以在公众号里发送「我叫 您的名字」。"
                }}
            </p>
            <MemberNameForm token=token name=page.name.clone().unwrap_or_default() />
        </div>
        <div class="member-card">
            <h2>"最近关注的朋友"</h2>
            {if latest.is_empty() {
                view! { <p class="empty" data-testid="member-empty">"还没有朋友通过您的二维码关注。分享给朋友试试吧！"</p> }.into_any()
            } else {
                view! {
                    <ul class="member-list" data-testid="member-latest">
                        {latest.into_iter().map(|r| view! {
                            <li>
                                <span class="mono">{r.follower}</span>
                                <span class="muted">{crate::time::shown(&r.followed_at)}</span>
                                <span class=if r.still_following { "badge ok" } else { "badge" }>
                                    {if r.still_following { "关注中" } else { "已取消关注" }}
                                </span>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </div>
    }
}

/// A campaign the member takes part in: progress, rewards and the poster to download.
#[component]
fn MemberCampaignCard(campaign: MemberCampaign) -> impl IntoView {
    let progress = match (campaign.next_goal, campaign.left) {
        (Some(goal), Some(left)) => format!(
            "已有 {} 位好友助力，目标 {goal} 位，还差 {left} 位。",
            campaign.credited
        ),
        _ => format!("已有 {} 位好友助力，全部目标已达成！", campaign.credited),
    };
    let alt = format!("「{}」专属海报", campaign.name);
    view! {
        <div class="member-card" data-testid="member-campaign">
            <h2>{campaign.name.clone()}</h2>
            <p data-testid="member-campaign-progress">{progress}</p>
            <p class="muted">{format!("活动截止 {}（北京时间）", campaign.ends_on)}</p>
            {campaign.rewards.into_iter().map(|r| {
                let status = match r.status.as_str() {
                    "issued" => "已发放",
                    "redeemed" => "已领取",
                    "held" => "审核中",
                    _ => "已发完",
                };
                view! {
                    <p class="member-reward" data-testid="member-reward">
                        {format!("{} 位目标：{}（{status}）", r.goal, r.reward_name)}
                        {r.code.map(|c| view! { " " <span class="mono">{c}</span> })}
                        {r.link.map(|l| view! { " " <a href=l.clone()>"领取链接"</a> })}
                    </p>
                }
            }).collect_view()}
            <img class="member-poster" src=campaign.poster_url.clone() alt=alt data-testid="member-poster" />
            <p><a href=campaign.poster_url download="poster.png" data-testid="member-poster-download">"下载海报"</a></p>
        </div>
    }
}

/// The name friends see; saving refreshes the page's title.
#[island]
fn MemberNameForm(token: String, name: String) -> impl IntoView {
    let name = RwSignal::new(name);
    let save = Call::new(move |name: &String| {
        let (token, name) = (token.clone(), name.clone());
        async move { save_member_name(token, name).await }
    });
    let error = Signal::derive(move || save.value().get().and_then(Result::err));
    let saved = move || matches!(save.value().get(), Some(Ok(_)));
    effect(move || {
        if saved() {
            crate::browser::refresh();
        }
    });
    view! {
        <form on:submit=move |ev| {
            ev.prevent_default();
            save.dispatch(name.get_untracked());
        }>
            <TextField label="称呼（最多 20 个字）" field="name" value=name error=error />
            <button type="submit" data-testid="member-save" disabled=move || save.pending().get()>
                {move || if save.pending().get() { "保存中…" } else { "保存" }}
            </button>
            {move || saved().then(|| view! {
                <p class="ok" role="status" data-testid="member-saved">"已保存"</p>
            })}
            {move || error.get().is_some_and(|e| e.fields.is_empty()).then(|| view! {
                <p class="error" role="alert">{move || error.get().map(|e| e.message)}</p>
            })}
        </form>
    }
}
