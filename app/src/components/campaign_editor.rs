//! The campaign editor (an island): every field of the campaign, the poster's layout with a
//! live preview, and save. After a save the page's live regions (the head, the milestones, the
//! upload forms) are read again.

use leptos::prelude::*;

use crate::api::campaigns::update_campaign;
use crate::campaigns::{Campaign, CampaignInput};
use crate::components::campaign_form::{CampaignDraft, CampaignFields, input_of};
use crate::components::campaign_poster::{LayoutDraft, LayoutFields, PosterPreview};
use crate::components::form::ErrorBanner;
use crate::i18n::t;
use crate::model::AppError;

#[island]
pub fn CampaignEditor(campaign: Campaign) -> impl IntoView {
    let id = campaign.id;
    let input = input_of(&campaign);
    let original = StoredValue::new(input.milestones.clone());
    let draft = CampaignDraft::new(&input);
    let layout = LayoutDraft::new(&campaign.layout);
    // Saves so far: a fresh address for the actual poster after each.
    let saves = RwSignal::new(0_u32);
    let save = Action::new(move |input: &CampaignInput| {
        let input = input.clone();
        async move { update_campaign(id, input).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            saves.update(|n| *n += 1);
            crate::browser::refresh();
        }
    });
    let error = Signal::derive(move || save.value().get().and_then(Result::err));
    let saved = move || !save.pending().get() && matches!(save.value().get(), Some(Ok(_)));
    let conflict = move || error.get().is_some_and(|e| e.code == "campaign_rewarded");
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        save.dispatch(draft.input(untrack(|| layout.current())));
    };
    let poster = move || {
        format!(
            "/api/v1/campaigns/{id}/poster-preview.png?v={}",
            saves.get()
        )
    };
    let background = campaign
        .has_background
        .then(|| format!("/api/v1/campaigns/{id}/background"));
    view! {
        <section class="card" aria-labelledby="editor-title">
            <h2 id="editor-title">{t("编辑活动与海报", "Edit the campaign and its poster")}</h2>
            <form class="campaign-editor" data-testid="campaign-editor" novalidate on:submit=submit>
                <div class="editor-fields">
                    <CampaignFields draft=draft error=error />
                    <h3>{t("海报布局", "Poster layout")}</h3>
                    <p class="muted">{move || format!(
                        "{} {} × {} {}",
                        t("坐标以背景图的像素计，背景为", "Positions are in the background's pixels; it is")(),
                        campaign.width,
                        campaign.height,
                        t("像素。", "pixels.")(),
                    )}</p>
                    <LayoutFields layout=layout error=error />
                </div>
                <div class="editor-preview">
                    <PosterPreview layout=layout text=draft.poster_text width=campaign.width height=campaign.height background=background />
                    <p>
                        <a href=poster target="_blank" rel="noopener" data-testid="poster-actual">
                            {t("查看实际海报", "Actual poster")}
                        </a>
                        <span class="muted">{t("（服务器以会员“小王”合成）", " (composed by the server for a member named 小王)")}</span>
                    </p>
                </div>
                <div class="editor-actions">
                    <ErrorBanner error=Signal::derive(move || error.get().filter(|e: &AppError| e.fields.is_empty())) />
                    <Show when=conflict>
                        <p class="hint" data-testid="editor-conflict">
                            {t("其他设置仍可修改：恢复原来的目标后再保存。", "The other settings can still change: put the milestones back, then save.")}
                            " "
                            <button type="button" class="link" data-testid="editor-restore-milestones"
                                on:click=move |_| original.with_value(|m| draft.set_milestones(m))>
                                {t("恢复原来的目标", "Put the milestones back")}
                            </button>
                        </p>
                    </Show>
                    <Show when=move || error.get().is_some_and(|e| !e.fields.is_empty())>
                        <p class="error" role="alert" data-testid="editor-invalid">
                            {t("请修改标出的字段。", "Please correct the marked fields.")}
                        </p>
                    </Show>
                    <div class="actions">
                        <button type="submit" class="primary" data-testid="editor-save" disabled=move || save.pending().get()>
                            {t("保存", "Save")}
                        </button>
                        <Show when=saved>
                            <span class="ok" role="status" data-testid="editor-saved">{t("已保存", "Saved")}</span>
                        </Show>
                    </div>
                </div>
            </form>
        </section>
    }
}
