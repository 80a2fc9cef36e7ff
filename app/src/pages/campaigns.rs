//! Fission campaigns (任务宝, manager): the list, each linking to its board and editor, and a
//! form to start one (the poster's layout starts as the default; the editor changes it).

use leptos::prelude::*;

use crate::api::campaigns::{create_campaign, list_campaigns};
use crate::campaigns::{Campaign, Milestone, PosterLayout};
use crate::components::campaign_board::{kind_label, status_class, status_label};
use crate::components::campaign_form::{CampaignDraft, CampaignFields, blank_input};
use crate::components::form::{ErrorBanner, Loading};
use crate::i18n::t;
use crate::model::AppError;

/// How long a new campaign runs unless changed: two weeks, today included.
#[cfg(feature = "ssr")]
const DEFAULT_DAYS: i64 = 14;

/// Today and the last day of a default campaign, Beijing dates (computed on the server: the
/// form is rendered there and its values cross to the browser).
fn default_days() -> (String, String) {
    #[cfg(feature = "ssr")]
    {
        let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
        let last = today + chrono::Duration::days(DEFAULT_DAYS - 1);
        (today.to_string(), last.to_string())
    }
    #[cfg(not(feature = "ssr"))]
    (String::new(), String::new())
}

/// The campaigns page.
#[component]
pub fn CampaignsPage() -> impl IntoView {
    let list = Resource::new(|| (), |_| list_campaigns());
    let (starts_on, ends_on) = default_days();
    view! {
        <h1>{t("裂变活动（任务宝）", "Fission campaigns")}</h1>
        <p class="lead">{t(
            "粉丝发送关键词参加活动，收到带自己专属二维码的海报；好友扫码关注即为其助力，达到目标人数自动发放奖励（券码、链接或到店领取）。",
            "A follower sends the keyword to join and gets a poster with their own QR code; each friend who follows through it counts, and a milestone's reward (a coupon code, a link or an in-store gift) is handed out when it is reached.",
        )}</p>
        <Suspense fallback=|| view! { <Loading /> }>
            {move || list.get().map(|result| match result {
                Ok(rows) => view! {
                    <NewCampaign starts_on=starts_on.clone() ends_on=ends_on.clone() />
                    <h2>{t("全部活动", "All campaigns")}</h2>
                    <CampaignList rows=rows />
                }.into_any(),
                Err(e) if e.code == "forbidden" => view! {
                    <p class="error banner" role="alert" data-testid="campaigns-forbidden">
                        {t("只有经理和管理员可以管理活动。", "Only managers and admins manage campaigns.")}
                    </p>
                }.into_any(),
                Err(e) => view! { <p class="error" role="alert" data-testid="campaigns-error">{e.full_message()}</p> }.into_any(),
            })}
        </Suspense>
    }
}

/// "3 位好友 → 10 元代金券（券码，剩 5/10）" for each milestone.
fn milestone_summary(m: &Milestone) -> impl IntoView + use<> {
    let kind = kind_label(m.reward_kind);
    let stock = (m.reward_kind == crate::campaigns::RewardKind::Coupon)
        .then(|| format!("{}/{}", m.stock_left, m.stock_total));
    let (goal, reward) = (m.goal, m.reward_name.clone());
    let friends = t(" 位好友", " friends");
    let left = t("，剩 ", ", left ");
    move || {
        let stock = stock
            .as_ref()
            .map(|s| format!("{}{s}", left()))
            .unwrap_or_default();
        format!("{goal}{} → {reward}（{}{stock}）", friends(), kind())
    }
}

#[component]
fn CampaignList(rows: Vec<Campaign>) -> impl IntoView {
    if rows.is_empty() {
        return view! {
            <p class="empty" data-testid="campaigns-empty">
                {t("还没有活动。用上面的表单创建第一个。", "No campaigns yet. Start the first with the form above.")}
            </p>
        }
        .into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="campaigns-table">
                <thead><tr>
                    <th scope="col">{t("活动", "Campaign")}</th>
                    <th scope="col">{t("关键词", "Keyword")}</th>
                    <th scope="col">{t("日期（北京时间）", "Dates (Beijing)")}</th>
                    <th scope="col">{t("状态", "Status")}</th>
                    <th scope="col">{t("目标与奖励", "Milestones")}</th>
                </tr></thead>
                <tbody>
                    {rows.into_iter().map(|c| view! { <Row c=c /> }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn Row(c: Campaign) -> impl IntoView {
    let status = status_label(&c.status, c.ended_reason.as_deref());
    view! {
        <tr data-testid="campaign-row" data-id=c.id.to_string() data-status=c.status.clone()>
            <th scope="row"><a href=format!("/campaigns/{}", c.id) data-testid="campaign-link">{c.name.clone()}</a></th>
            <td>
                <code>{c.keyword.clone()}</code>
                {c.menu_key.clone().map(|k| view! { <br /><span class="muted">{t("菜单 ", "menu ")}<code>{k}</code></span> })}
            </td>
            <td class="nowrap">{c.starts_on.clone()}<br />{format!("– {}", c.ends_on)}</td>
            <td><span class=status_class(&c.status) data-testid="campaign-status">{status}</span></td>
            <td>
                <ul class="plain">
                    {c.milestones.iter().map(|m| view! { <li>{milestone_summary(m)}</li> }).collect_view()}
                </ul>
            </td>
        </tr>
    }
}

/// Starting a campaign; on success its page opens.
#[island]
fn NewCampaign(starts_on: String, ends_on: String) -> impl IntoView {
    let draft = CampaignDraft::new(&blank_input(starts_on, ends_on));
    let create = Action::new(move |input: &crate::campaigns::CampaignInput| {
        let input = input.clone();
        async move { create_campaign(input).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(made)) = create.value().get() {
            crate::browser::go(&format!("/campaigns/{}", made.id));
        }
    });
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        create.dispatch(draft.input(PosterLayout::default()));
    };
    view! {
        <section class="card" aria-labelledby="campaign-new-title">
            <h2 id="campaign-new-title">{t("新建活动", "New campaign")}</h2>
            <form data-testid="campaign-form" novalidate on:submit=submit>
                <CampaignFields draft=draft error=error />
                <ErrorBanner error=Signal::derive(move || error.get().filter(|e: &AppError| e.fields.is_empty())) />
                <Show when=move || error.get().is_some_and(|e| !e.fields.is_empty())>
                    <p class="error" role="alert" data-testid="campaign-invalid">
                        {t("请修改标出的字段。", "Please correct the marked fields.")}
                    </p>
                </Show>
                <div class="actions">
                    <button type="submit" class="primary" data-testid="campaign-create" disabled=move || create.pending().get()>
                        {t("创建活动", "Create the campaign")}
                    </button>
                    <span class="muted">{t("海报使用默认背景与布局，创建后可在活动页修改。", "The poster starts with the default background and layout; change them on the campaign's page.")}</span>
                </div>
            </form>
        </section>
    }
}
