//! One campaign (manager): its head and what the last upload did, the board, the editor with
//! the poster preview, the upload forms (poster background, coupon codes) and stopping it.
//! The uploads are plain forms that work without the WASM bundle: the server answers with a
//! redirect back here saying what happened (`?uploaded=…` or `?error=…`).

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::api::campaigns::{get_campaign_board, stop_campaign};
use crate::campaigns::{Campaign, CampaignBoard, MAX_BACKGROUND_SIDE, RewardKind};
use crate::components::campaign_board::{Board, status_class, status_label};
use crate::components::campaign_editor::CampaignEditor;
use crate::components::confirm::ConfirmDialog;
use crate::components::form::{ErrorBanner, Loading, query_param};
use crate::i18n::t;

/// What the upload the page came back from did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UploadNotice {
    Background,
    Coupons { added: u64, duplicates: u64 },
    Failed(String),
}

impl UploadNotice {
    /// Read from the query the upload handlers redirect with.
    pub fn parse(
        uploaded: Option<&str>,
        added: Option<&str>,
        duplicates: Option<&str>,
        error: Option<String>,
    ) -> Option<Self> {
        if let Some(message) = error {
            return Some(UploadNotice::Failed(message));
        }
        let n = |v: Option<&str>| v.and_then(|v| v.parse().ok()).unwrap_or(0);
        match uploaded? {
            "background" => Some(UploadNotice::Background),
            "coupons" => Some(UploadNotice::Coupons {
                added: n(added),
                duplicates: n(duplicates),
            }),
            _ => None,
        }
    }
}

/// The page of `/campaigns/:id`.
#[component]
pub fn CampaignDetailPage() -> impl IntoView {
    let id = use_params_map()
        .read_untracked()
        .get("id")
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(0);
    let board = Resource::new(|| (), move |_| get_campaign_board(id));
    let notice = UploadNotice::parse(
        query_param("uploaded").as_deref(),
        query_param("added").as_deref(),
        query_param("duplicates").as_deref(),
        query_param("error"),
    );
    view! {
        <p class="no-print"><a href="/campaigns" data-testid="campaigns-back">{t("← 全部活动", "← All campaigns")}</a></p>
        <Suspense fallback=|| view! { <Loading /> }>
            {move || board.get().map(|result| match result {
                Ok(b) => view! { <Detail board=b notice=notice.clone() /> }.into_any(),
                Err(e) if e.code == "not_found" => view! {
                    <h1>{t("找不到这个活动", "Campaign not found")}</h1>
                    <p class="empty" data-testid="campaign-not-found">{t("它可能属于另一个公众号，或地址有误。", "It may belong to another account, or the address is wrong.")}</p>
                }.into_any(),
                Err(e) if e.code == "forbidden" => view! {
                    <p class="error banner" role="alert" data-testid="campaign-forbidden">
                        {t("只有经理和管理员可以管理活动。", "Only managers and admins manage campaigns.")}
                    </p>
                }.into_any(),
                Err(e) => view! { <p class="error" role="alert" data-testid="campaign-error">{e.full_message()}</p> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn Detail(board: CampaignBoard, notice: Option<UploadNotice>) -> impl IntoView {
    let c = board.campaign.clone();
    let stop =
        (c.status != "ended").then(|| view! { <StopCampaign id=c.id name=c.name.clone() /> });
    view! {
        <div data-live="campaign-head"><Head c=c.clone() /></div>
        {stop}
        {notice.map(|n| view! { <Notice notice=n /> })}
        <Board board=board />
        <CampaignEditor campaign=c.clone() />
        <div data-live="campaign-uploads"><Uploads c=c /></div>
    }
}

#[component]
fn Head(c: Campaign) -> impl IntoView {
    let status = status_label(&c.status, c.ended_reason.as_deref());
    view! {
        <h1 data-testid="campaign-name">
            {c.name.clone()} " "
            <span class=status_class(&c.status) data-testid="campaign-status" data-status=c.status.clone()>{status}</span>
        </h1>
        <p class="muted" data-testid="campaign-facts">
            {t("关键词 ", "Keyword ")}<code>{c.keyword.clone()}</code>
            {c.menu_key.clone().map(|k| view! { " · " {t("菜单 key ", "menu key ")}<code>{k}</code> })}
            " · " {format!("{} – {}", c.starts_on, c.ends_on)} {t("（北京时间）", " (Beijing time)")}
            " · " {t("保留期 ", "holding ")} {c.holding_days} {t(" 天", " days")}
            {c.end_when_out_of_stock.then(|| view! { " · " {t("券码发完即结束", "ends when coupons run out")} })}
        </p>
    }
}

#[component]
fn Notice(notice: UploadNotice) -> impl IntoView {
    match notice {
        UploadNotice::Background => view! {
            <p class="banner notice-ok" role="status" data-testid="upload-status" data-uploaded="background">
                {t("海报背景已上传。", "The poster background was uploaded.")}
            </p>
        }.into_any(),
        UploadNotice::Coupons { added, duplicates } => view! {
            <p class="banner notice-ok" role="status" data-testid="upload-status" data-uploaded="coupons"
                data-added=added.to_string() data-duplicates=duplicates.to_string()>
                {move || format!("{}{added}{}{duplicates}{}", t("已添加 ", "Added ")(), t(" 个券码，跳过重复 ", " codes; skipped ")(), t(" 个。", " duplicates.")())}
            </p>
        }.into_any(),
        UploadNotice::Failed(message) => view! {
            <p class="error banner" role="alert" data-testid="upload-error">
                {t("上传失败：", "The upload failed: ")} {message}
            </p>
        }.into_any(),
    }
}

/// The two upload forms: the poster's background, a coupon milestone's codes.
#[component]
fn Uploads(c: Campaign) -> impl IntoView {
    let coupons: Vec<_> = c
        .milestones
        .iter()
        .filter(|m| m.reward_kind == RewardKind::Coupon)
        .cloned()
        .collect();
    let size = if c.has_background {
        format!("{} × {}", c.width, c.height)
    } else {
        String::new()
    };
    let coupon_form = if coupons.is_empty() {
        view! { <p class="muted" data-testid="coupons-none">{t("没有“券码”类型的目标，无需上传。", "No milestone hands out coupon codes: nothing to upload.")}</p> }.into_any()
    } else {
        view! {
            <form method="post" enctype="multipart/form-data" action=format!("/dashboard/campaigns/{}/coupons", c.id) data-testid="coupons-form">
                <div class="field">
                    <label for="f-coupons-milestone">{t("目标（剩余 / 总数）", "Milestone (left / total)")}</label>
                    <select id="f-coupons-milestone" name="milestone" data-testid="coupons-milestone">
                        {coupons.into_iter().map(|m| {
                            let (friends, left) = (t(" 位好友 · ", " friends · "), t("剩余 ", "left "));
                            let label = move || format!("{}{friends}{}（{}{} / {}）", m.goal, m.reward_name, left(), m.stock_left, m.stock_total, friends = friends());
                            view! { <option value=m.id.to_string()>{label}</option> }
                        }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="f-coupons-file">{t("券码 CSV（每行一个，可有表头 code）", "Codes CSV (one a row, optional header code)")}</label>
                    <input id="f-coupons-file" type="file" name="file" accept=".csv,text/csv" required data-testid="coupons-file" />
                </div>
                <button type="submit" data-testid="coupons-upload">{t("上传券码", "Upload codes")}</button>
            </form>
        }.into_any()
    };
    view! {
        <section class="card" aria-labelledby="uploads-title">
            <h2 id="uploads-title">{t("海报背景与券码", "Poster background and coupon codes")}</h2>
            <div class="columns">
                <form method="post" enctype="multipart/form-data" action=format!("/dashboard/campaigns/{}/background", c.id) data-testid="background-form">
                    <h3>{t("海报背景", "Poster background")}</h3>
                    <p class="muted" data-testid="background-current">
                        {if c.has_background { t("当前：已上传 ", "Now: uploaded, ") } else { t("当前：默认背景", "Now: the default background") }}
                        {size}
                    </p>
                    <div class="field">
                        <label for="f-background-file">{move || format!("{}{MAX_BACKGROUND_SIDE}{}", t("图片（PNG 或 JPEG，≤ 4 MB，每边 ≤ ", "Image (PNG or JPEG, ≤ 4 MB, ≤ ")(), t(" 像素）", " px a side)")())}</label>
                        <input id="f-background-file" type="file" name="file" accept="image/png,image/jpeg" required data-testid="background-file" />
                    </div>
                    <button type="submit" data-testid="background-upload">{t("上传背景", "Upload background")}</button>
                </form>
                <div>
                    <h3>{t("券码库存", "Coupon stock")}</h3>
                    {coupon_form}
                </div>
            </div>
        </section>
    }
}

/// Ends the campaign now, after a confirmation; the page is read again.
#[island]
fn StopCampaign(id: i64, name: String) -> impl IntoView {
    let asking = RwSignal::new(false);
    let stop = Action::new(move |_: &()| stop_campaign(id));
    Effect::new(move |_| {
        if let Some(Ok(_)) = stop.value().get() {
            asking.set(false);
            crate::browser::reload();
        }
    });
    let error = Signal::derive(move || stop.value().get().and_then(Result::err));
    let message = Signal::derive(move || {
        format!(
            "「{name}」{}",
            t(
                "结束后，粉丝不能再参加，新的助力不再计数；已发放的奖励不变。无法撤销。",
                " — nobody can join any more and new friends no longer count; rewards handed out stay. This cannot be undone.",
            )()
        )
    });
    view! {
        <div class="actions">
            <button type="button" class="danger" data-testid="campaign-stop" on:click=move |_| asking.set(true)>
                {t("结束活动", "Stop the campaign")}
            </button>
        </div>
        <ConfirmDialog
            open=asking
            id="campaign-stop-confirm"
            title=Signal::derive(move || t("现在结束活动？", "Stop the campaign now?")().to_owned())
            message=message
            confirm_label=Signal::derive(move || t("结束活动", "Stop the campaign")().to_owned())
            on_confirm=Callback::new(move |_| { stop.dispatch(()); })
            busy=stop.pending()
        >
            <ErrorBanner error=error />
        </ConfirmDialog>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_redirect_query_says_what_the_upload_did() {
        assert_eq!(
            UploadNotice::parse(Some("background"), None, None, None),
            Some(UploadNotice::Background)
        );
        assert_eq!(
            UploadNotice::parse(Some("coupons"), Some("2"), Some("1"), None),
            Some(UploadNotice::Coupons {
                added: 2,
                duplicates: 1
            })
        );
        assert_eq!(
            UploadNotice::parse(Some("coupons"), None, None, Some("bad".into())),
            Some(UploadNotice::Failed("bad".into()))
        );
        assert_eq!(UploadNotice::parse(None, None, None, None), None);
        assert_eq!(UploadNotice::parse(Some("other"), None, None, None), None);
    }
}
