//! A fission campaign's fields, shared by the create form and the editor: name, keyword, menu
//! key, first and last day, holding period, "end when out of stock", the poster's text and one
//! to five milestones. Each field shows the server's message for it.

use leptos::prelude::*;

use crate::campaigns::{
    Campaign, CampaignInput, DEFAULT_TEXT, MAX_MILESTONES, MilestoneInput, PosterLayout, RewardKind,
};
use crate::components::form::TextField;
use crate::i18n::t;
use crate::model::AppError;

/// The reward kinds as the select offers them.
const KINDS: [(RewardKind, &str, &str); 3] = [
    (RewardKind::Coupon, "券码", "Coupon code"),
    (RewardKind::Link, "链接", "Link"),
    (RewardKind::Store, "到店领取", "In store"),
];

/// A number typed into a field; what is no number becomes `fallback`, which the server refuses
/// with the field's own message.
pub fn number(raw: &str, fallback: i32) -> i32 {
    raw.trim().parse().unwrap_or(fallback)
}

/// What a new campaign starts from: one coupon milestone, the default poster.
pub fn blank_input(starts_on: String, ends_on: String) -> CampaignInput {
    CampaignInput {
        name: String::new(),
        keyword: String::new(),
        menu_key: None,
        starts_on,
        ends_on,
        holding_days: 3,
        milestones: vec![MilestoneInput {
            goal: 3,
            reward_kind: RewardKind::Coupon,
            reward_name: String::new(),
            link: None,
        }],
        end_when_out_of_stock: false,
        poster_text: DEFAULT_TEXT.to_owned(),
        layout: PosterLayout::default(),
    }
}

/// A saved campaign as the editor's input.
pub fn input_of(c: &Campaign) -> CampaignInput {
    CampaignInput {
        name: c.name.clone(),
        keyword: c.keyword.clone(),
        menu_key: c.menu_key.clone(),
        starts_on: c.starts_on.clone(),
        ends_on: c.ends_on.clone(),
        holding_days: c.holding_days,
        milestones: c
            .milestones
            .iter()
            .map(|m| MilestoneInput {
                goal: m.goal,
                reward_kind: m.reward_kind,
                reward_name: m.reward_name.clone(),
                link: m.link.clone(),
            })
            .collect(),
        end_when_out_of_stock: c.end_when_out_of_stock,
        poster_text: c.poster_text.clone(),
        layout: c.layout.clone(),
    }
}

/// One milestone row; `key` keeps a row's identity (and its inputs' ids) while rows come and go.
#[derive(Clone, Copy)]
pub struct MilestoneDraft {
    key: u32,
    goal: RwSignal<String>,
    kind: RwSignal<RewardKind>,
    reward_name: RwSignal<String>,
    link: RwSignal<String>,
}

impl MilestoneDraft {
    fn new(key: u32, m: &MilestoneInput) -> Self {
        MilestoneDraft {
            key,
            goal: RwSignal::new(m.goal.to_string()),
            kind: RwSignal::new(m.reward_kind),
            reward_name: RwSignal::new(m.reward_name.clone()),
            link: RwSignal::new(m.link.clone().unwrap_or_default()),
        }
    }

    fn input(&self) -> MilestoneInput {
        let kind = self.kind.get_untracked();
        let link = self.link.get_untracked();
        MilestoneInput {
            goal: number(&self.goal.get_untracked(), 0),
            reward_kind: kind,
            reward_name: self.reward_name.get_untracked(),
            link: (kind == RewardKind::Link && !link.trim().is_empty()).then_some(link),
        }
    }
}

/// The campaign's fields as signals (the layout is edited apart: see `campaign_poster`).
#[derive(Clone, Copy)]
pub struct CampaignDraft {
    name: RwSignal<String>,
    keyword: RwSignal<String>,
    menu_key: RwSignal<String>,
    starts_on: RwSignal<String>,
    ends_on: RwSignal<String>,
    holding_days: RwSignal<String>,
    end_when_out_of_stock: RwSignal<bool>,
    /// Also read by the poster preview.
    pub poster_text: RwSignal<String>,
    milestones: RwSignal<Vec<MilestoneDraft>>,
    next_key: StoredValue<u32>,
}

impl CampaignDraft {
    pub fn new(input: &CampaignInput) -> Self {
        let draft = CampaignDraft {
            name: RwSignal::new(input.name.clone()),
            keyword: RwSignal::new(input.keyword.clone()),
            menu_key: RwSignal::new(input.menu_key.clone().unwrap_or_default()),
            starts_on: RwSignal::new(input.starts_on.clone()),
            ends_on: RwSignal::new(input.ends_on.clone()),
            holding_days: RwSignal::new(input.holding_days.to_string()),
            end_when_out_of_stock: RwSignal::new(input.end_when_out_of_stock),
            poster_text: RwSignal::new(input.poster_text.clone()),
            milestones: RwSignal::new(Vec::new()),
            next_key: StoredValue::new(0),
        };
        draft.set_milestones(&input.milestones);
        draft
    }

    /// What the fields say now, with `layout`.
    pub fn input(&self, layout: PosterLayout) -> CampaignInput {
        let menu_key = self.menu_key.get_untracked();
        CampaignInput {
            name: self.name.get_untracked(),
            keyword: self.keyword.get_untracked(),
            menu_key: (!menu_key.trim().is_empty()).then_some(menu_key),
            starts_on: self.starts_on.get_untracked(),
            ends_on: self.ends_on.get_untracked(),
            holding_days: number(&self.holding_days.get_untracked(), -1),
            milestones: self
                .milestones
                .with_untracked(|rows| rows.iter().map(MilestoneDraft::input).collect()),
            end_when_out_of_stock: self.end_when_out_of_stock.get_untracked(),
            poster_text: self.poster_text.get_untracked(),
            layout,
        }
    }

    /// Replaces the milestone rows (the editor's "put them back").
    pub fn set_milestones(&self, list: &[MilestoneInput]) {
        let rows = list.iter().map(|m| self.row(m)).collect();
        self.milestones.set(rows);
    }

    fn row(&self, m: &MilestoneInput) -> MilestoneDraft {
        let key = self.next_key.get_value();
        self.next_key.set_value(key + 1);
        MilestoneDraft::new(key, m)
    }

    fn add(&self) {
        // The next goal above the last one, the same kind of reward.
        let last = self
            .milestones
            .with_untracked(|r| r.last().map(MilestoneDraft::input));
        let m = MilestoneInput {
            goal: last.as_ref().map_or(3, |l| l.goal.max(0) + 3),
            reward_kind: last.map_or(RewardKind::Coupon, |l| l.reward_kind),
            reward_name: String::new(),
            link: None,
        };
        let row = self.row(&m);
        self.milestones.update(|r| r.push(row));
    }
}

/// The fields, laid out as a grid, then the milestone rows.
#[component]
pub fn CampaignFields(
    draft: CampaignDraft,
    #[prop(into)] error: Signal<Option<AppError>>,
) -> impl IntoView {
    view! {
        <div class="campaign-fields">
            <TextField label=t("活动名称", "Campaign name") field="name" value=draft.name error=error />
            <TextField label=t("参加关键词（粉丝发送即参加）", "Join keyword (a follower sends it to join)") field="keyword" value=draft.keyword error=error />
            <TextField label=t("菜单 key（可选，点击菜单参加）", "Menu key (optional: a menu click joins)") field="menu_key" value=draft.menu_key error=error />
            <TextField label=t("开始日期（北京时间）", "First day (Beijing time)") field="starts_on" value=draft.starts_on error=error input_type="date" />
            <TextField label=t("结束日期（含当天）", "Last day (included)") field="ends_on" value=draft.ends_on error=error input_type="date" />
            <TextField label=t("保留期（天，0–30）：期间取关的好友不计", "Holding period (days, 0–30): friends who unfollow within it stop counting") field="holding_days" value=draft.holding_days error=error input_type="number" />
            <TextField label=t("海报文字（{name} 为会员名字）", "Poster text ({name} is the member's name)") field="poster_text" value=draft.poster_text error=error />
        </div>
        <label class="inline">
            <input type="checkbox" data-testid="input-end-when-out-of-stock"
                prop:checked=move || draft.end_when_out_of_stock.get()
                on:change=move |ev| draft.end_when_out_of_stock.set(event_target_checked(&ev)) />
            {t("券码发完即结束活动", "End the campaign when a coupon stock runs out")}
        </label>
        <Milestones draft=draft error=error />
    }
}

/// The milestone rows, with add and remove.
#[component]
fn Milestones(draft: CampaignDraft, error: Signal<Option<AppError>>) -> impl IntoView {
    let rows = draft.milestones;
    let count = move || rows.with(Vec::len);
    let message = move || error.get().and_then(|e| e.field("milestones"));
    view! {
        <fieldset class="milestones" data-testid="milestones">
            <legend>{t("助力目标（邀请好友数与奖励，最多 5 个）", "Milestones (friends invited and the reward; up to 5)")}</legend>
            <For each=move || rows.get() key=|row| row.key let:row>
                <MilestoneRow row=row draft=draft error=error />
            </For>
            <Show when=move || message().is_some()>
                <p class="field-error" role="alert" data-testid="error-milestones">{message}</p>
            </Show>
            <button type="button" data-testid="milestone-add" disabled=move || { count() >= MAX_MILESTONES }
                on:click=move |_| draft.add()>
                {t("添加目标", "Add a milestone")}
            </button>
        </fieldset>
    }
}

#[component]
fn MilestoneRow(
    row: MilestoneDraft,
    draft: CampaignDraft,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let rows = draft.milestones;
    // Errors name rows by their place in the list, which changes as rows are removed.
    let index = move || rows.with(|r| r.iter().position(|d| d.key == row.key).unwrap_or(0));
    let message = move |part: &'static str| {
        Signal::derive(move || {
            let field = format!("milestones[{}].{part}", index());
            error.get().and_then(|e| e.field(&field))
        })
    };
    let key = row.key;
    let id = move |part: &str| format!("f-milestone-{key}-{part}");
    let remove_label = move || format!("{} {}", t("删除目标", "Remove milestone")(), index() + 1);
    let kind_id = id("kind");
    view! {
        <div class="milestone-row" data-testid="milestone-row">
            <RowInput label=t("好友数", "Friends") id=id("goal") testid="milestone-goal" value=row.goal message=message("goal") input_type="number" />
            <div class="field">
                <label for=kind_id.clone()>{t("奖励方式", "Reward kind")}</label>
                <select id=kind_id data-testid="milestone-kind"
                    prop:value=move || row.kind.get().as_str()
                    on:change=move |ev| {
                        if let Some(kind) = RewardKind::parse(&event_target_value(&ev)) {
                            row.kind.set(kind);
                        }
                    }>
                    {KINDS.into_iter().map(|(kind, zh, en)| view! {
                        <option value=kind.as_str() selected=row.kind.get_untracked() == kind>{t(zh, en)}</option>
                    }).collect_view()}
                </select>
            </div>
            <RowInput label=t("奖励名称", "Reward") id=id("reward-name") testid="milestone-reward-name" value=row.reward_name message=message("reward_name") input_type="text" />
            <Show when=move || row.kind.get() == RewardKind::Link>
                <RowInput label=t("领奖链接", "Reward link") id=id("link") testid="milestone-link" value=row.link message=message("link") input_type="url" />
            </Show>
            <button type="button" class="danger milestone-remove" data-testid="milestone-remove"
                aria-label=remove_label
                disabled=move || { rows.with(Vec::len) <= 1 }
                on:click=move |_| rows.update(|r| r.retain(|d| d.key != row.key))>
                {t("删除", "Remove")}
            </button>
        </div>
    }
}

/// A labelled input of a milestone row (ids made from the row's key).
#[component]
fn RowInput(
    #[prop(into)] label: Signal<&'static str>,
    id: String,
    testid: &'static str,
    value: RwSignal<String>,
    message: Signal<Option<String>>,
    input_type: &'static str,
) -> impl IntoView {
    view! {
        <div class="field" class:invalid=move || message.get().is_some()>
            <label for=id.clone()>{move || label.get()}</label>
            <input id=id type=input_type data-testid=testid
                aria-invalid=move || message.get().is_some().to_string()
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev)) />
            <Show when=move || message.get().is_some()>
                <p class="field-error" role="alert" data-testid=format!("error-{testid}")>{move || message.get()}</p>
            </Show>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_no_number_becomes_the_fallback() {
        assert_eq!(number(" 12 ", 0), 12);
        assert_eq!(number("", -1), -1);
        assert_eq!(number("3.5", 0), 0);
    }

    #[test]
    fn a_new_campaign_has_one_coupon_milestone_and_the_default_poster() {
        let input = blank_input("2026-12-01".into(), "2026-12-14".into());
        assert_eq!(input.milestones.len(), 1);
        assert_eq!(input.milestones[0].reward_kind, RewardKind::Coupon);
        assert_eq!(input.poster_text, DEFAULT_TEXT);
        assert_eq!(input.layout, PosterLayout::default());
        assert_eq!(input.holding_days, 3);
    }
}
