//! A campaign's board, rendered on the server: the totals, each milestone's standing, the days,
//! the top inviters and the latest rewards; in-store rewards are redeemed and held ones released
//! from the rewards table (small islands with a confirmation).

use leptos::prelude::*;

use crate::api::campaigns::{redeem_reward, release_reward};
use crate::campaigns::{
    Campaign, CampaignBoard, CampaignDay, MilestoneStanding, Reward, RewardKind, TopInviter,
};
use crate::components::chart::{ChartSeries, SeriesChart};
use crate::components::confirm::ConfirmDialog;
use crate::components::form::ErrorBanner;
use crate::i18n::t;
use crate::time::zone_name;

/// A label in both languages.
type Label = (&'static str, &'static str);

/// "进行中", "未开始" or "已结束" (with why it ended early).
pub fn status_label(
    status: &str,
    reason: Option<&str>,
) -> impl Fn() -> String + Copy + Send + Sync + 'static + use<> {
    let status = match status {
        "running" => t("进行中", "Running"),
        "scheduled" => t("未开始", "Scheduled"),
        _ => t("已结束", "Ended"),
    };
    let reason = match reason {
        Some("out_of_stock") => Some(t("券码已发完", "coupons ran out")),
        Some("stopped") => Some(t("已手动结束", "stopped")),
        Some(_) => Some(t("提前结束", "ended early")),
        None => None,
    };
    move || match reason {
        Some(r) => format!("{}（{}）", status(), r()),
        None => status().to_owned(),
    }
}

/// The badge class of a status.
pub fn status_class(status: &str) -> &'static str {
    match status {
        "running" => "badge live",
        "scheduled" => "badge sandbox",
        _ => "badge muted",
    }
}

/// A reward kind's name.
pub fn kind_label(kind: RewardKind) -> impl Fn() -> &'static str + Copy + Send + Sync + 'static {
    match kind {
        RewardKind::Coupon => t("券码", "Coupon"),
        RewardKind::Link => t("链接", "Link"),
        RewardKind::Store => t("到店领取", "In store"),
    }
}

fn reward_status(status: &str) -> impl Fn() -> &'static str + Copy + Send + Sync + 'static {
    match status {
        "issued" => t("已发放", "Issued"),
        "held" => t("待审核", "Held for review"),
        "out_of_stock" => t("缺货", "Out of stock"),
        "redeemed" => t("已核销", "Redeemed"),
        _ => t("其他", "Other"),
    }
}

/// The whole board below the head.
#[component]
pub fn Board(board: CampaignBoard) -> impl IntoView {
    let id = board.campaign.id;
    view! {
        <dl class="stats-row" data-testid="board-totals">
            <div><dt>{t("参与人数", "Participants")}</dt><dd data-testid="board-participants">{board.participants}</dd></div>
            <div><dt>{t("有效助力", "Credited friends")}</dt><dd data-testid="board-credited">{board.credited}</dd></div>
            <div><dt>{t("保留期内取关", "Taken back")}</dt><dd data-testid="board-taken-back">{board.taken_back}</dd></div>
        </dl>
        <Standings campaign=board.campaign.clone() rows=board.milestones />
        <Days days=board.days />
        <Top rows=board.top />
        <section class="card" aria-labelledby="rewards-title">
            <h2 id="rewards-title">{t("最新奖励", "Latest rewards")}</h2>
            <p><a class="button" href=format!("/api/v1/campaigns/{id}/rewards.csv") download data-testid="rewards-csv">
                {t("导出全部奖励 CSV", "Export all rewards (CSV)")}
            </a></p>
            <Rewards rows=board.rewards />
        </section>
    }
}

/// A table with a header row; `empty` is said instead when there are no rows.
fn table<V: IntoView + 'static>(
    testid: &'static str,
    heads: &[Label],
    rows: Vec<V>,
    empty: Label,
) -> AnyView {
    if rows.is_empty() {
        return view! { <p class="empty" data-testid=format!("{testid}-empty")>{t(empty.0, empty.1)}</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="table" data-testid=testid>
                <thead><tr>{heads.iter().map(|&(zh, en)| view! { <th scope="col">{t(zh, en)}</th> }).collect_view()}</tr></thead>
                <tbody>{rows.into_iter().collect_view()}</tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn Standings(campaign: Campaign, rows: Vec<MilestoneStanding>) -> impl IntoView {
    let coupon = move |id: i64| {
        campaign
            .milestones
            .iter()
            .find(|m| m.id == id)
            .is_some_and(|m| m.reward_kind == RewardKind::Coupon)
    };
    let rows: Vec<_> = rows
        .into_iter()
        .map(|m| {
            let remaining = if coupon(m.milestone_id) {
                m.remaining.to_string()
            } else {
                "—".to_owned()
            };
            view! {
                <tr data-testid="standing-row" data-goal=m.goal.to_string()>
                    <th scope="row">{m.goal}</th>
                    <td>{m.reward_name}</td>
                    <td data-testid="standing-reached">{m.reached}</td>
                    <td data-testid="standing-issued">{m.issued}</td>
                    <td>{m.held}</td>
                    <td>{m.out_of_stock}</td>
                    <td data-testid="standing-remaining">{remaining}</td>
                </tr>
            }
        })
        .collect();
    let heads: &[Label] = &[
        ("好友数", "Friends"),
        ("奖励", "Reward"),
        ("达成", "Reached"),
        ("已发放", "Issued"),
        ("待审核", "Held"),
        ("缺货", "Out of stock"),
        ("剩余券码", "Codes left"),
    ];
    view! {
        <section class="card" aria-labelledby="standings-title" data-live="campaign-standings">
            <h2 id="standings-title">{t("目标进度", "Milestones")}</h2>
            {table("standings", heads, rows, ("没有目标。", "No milestones."))}
        </section>
    }
}

#[component]
fn Days(days: Vec<CampaignDay>) -> impl IntoView {
    let of = |f: fn(&CampaignDay) -> i64| days.iter().map(f).collect::<Vec<_>>();
    let series = vec![
        ChartSeries {
            key: "joined",
            zh: "新参与",
            en: "Joined",
            values: of(|d| d.joined),
        },
        ChartSeries {
            key: "credited",
            zh: "助力",
            en: "Credited",
            values: of(|d| d.credited),
        },
        ChartSeries {
            key: "taken-back",
            zh: "取关扣除",
            en: "Taken back",
            values: of(|d| d.taken_back),
        },
        ChartSeries {
            key: "rewards",
            zh: "奖励",
            en: "Rewards",
            values: of(|d| d.rewards),
        },
    ];
    let dates = days.iter().map(|d| d.day.clone()).collect();
    view! {
        <section class="card" aria-labelledby="days-title">
            <h2 id="days-title">{t("每日数据", "Day by day")} <span class="muted">{move || format!("（{}）", zone_name()())}</span></h2>
            <SeriesChart dates series id="campaign" />
        </section>
    }
}

#[component]
fn Top(rows: Vec<TopInviter>) -> impl IntoView {
    let rows: Vec<_> = rows
        .into_iter()
        .enumerate()
        .map(|(i, r)| view! {
            <tr data-testid="top-row">
                <td class="rank">{i + 1}</td>
                <td><a href=format!("/referrers/{}", r.referrer_id) data-testid="top-link">{r.name}</a></td>
                <td data-testid="top-credited">{r.credited}</td>
                <td>{r.rewards}</td>
            </tr>
        })
        .collect();
    let heads: &[Label] = &[
        ("排名", "Rank"),
        ("会员", "Member"),
        ("有效助力", "Credited"),
        ("奖励", "Rewards"),
    ];
    view! {
        <section class="card" aria-labelledby="top-title">
            <h2 id="top-title">{t("邀请排行", "Top inviters")}</h2>
            {table("top-inviters", heads, rows, ("还没有人参加。", "Nobody has joined yet."))}
        </section>
    }
}

#[component]
fn Rewards(rows: Vec<Reward>) -> impl IntoView {
    let rows: Vec<_> = rows
        .into_iter()
        .map(|r| {
            let action = match (r.status.as_str(), r.reward_kind) {
                ("issued", RewardKind::Store) => Some(false),
                ("held", _) => Some(true),
                _ => None,
            };
            let member = r.member.clone();
            let (kind, friends) = (kind_label(r.reward_kind), t(" 位好友", " friends"));
            view! {
                <tr data-testid="reward-row" data-status=r.status.clone() data-id=r.id.to_string()>
                    <td><a href=format!("/referrers/{}", r.referrer_id)>{r.member}</a></td>
                    <td>{r.reward_name}<br /><span class="muted">{move || format!("{}{} · {}", r.goal, friends(), kind())}</span></td>
                    <td data-testid="reward-status">{reward_status(&r.status)}</td>
                    <td class="mono" data-testid="reward-code">{r.code.unwrap_or_else(|| "—".into())}</td>
                    <td>{r.created_at}{r.redeemed_at.map(|at| view! { <br /><span class="muted">{t("核销 ", "redeemed ")}{at}</span> })}</td>
                    <td>{action.map(|release| view! { <RewardAction id=r.id release=release member=member /> })}</td>
                </tr>
            }
        })
        .collect();
    let heads: &[Label] = &[
        ("会员", "Member"),
        ("奖励", "Reward"),
        ("状态", "Status"),
        ("券码 / 核销码", "Code"),
        ("时间（北京时间）", "Time (Beijing)"),
        ("操作", "Actions"),
    ];
    table("rewards", heads, rows, ("还没有奖励。", "No rewards yet."))
}

/// Redeems an in-store reward (核销) or releases a held one (审核通过发放), after a confirmation;
/// the page is read again when done.
#[island]
fn RewardAction(id: i64, release: bool, member: String) -> impl IntoView {
    let asking = RwSignal::new(false);
    let act = Action::new(move |_: &()| async move {
        if release {
            release_reward(id).await
        } else {
            redeem_reward(id).await
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = act.value().get() {
            asking.set(false);
            crate::browser::reload();
        }
    });
    let error = Signal::derive(move || act.value().get().and_then(Result::err));
    let (button, testid) = if release {
        (t("审核通过发放", "Release"), "reward-release")
    } else {
        (t("核销", "Redeem"), "reward-redeem")
    };
    let title = Signal::derive(move || {
        if release {
            t("审核通过并发放？", "Release this reward?")()
        } else {
            t("核销这份奖励？", "Redeem this reward?")()
        }
        .to_owned()
    });
    let message = Signal::derive(move || {
        let what = if release {
            t(
                "奖励将发给会员并通知对方。",
                "the reward goes to the member, who is told.",
            )()
        } else {
            t(
                "确认会员已到店领取，核销后不能撤销。",
                "confirm the member collected it in store; this cannot be undone.",
            )()
        };
        format!("{member} — {what}")
    });
    view! {
        <button type="button" data-testid=testid on:click=move |_| asking.set(true)>{button}</button>
        <ConfirmDialog
            open=asking
            id=if release { "reward-release-confirm" } else { "reward-redeem-confirm" }
            title=title
            message=message
            confirm_label=Signal::derive(move || button().to_owned())
            on_confirm=Callback::new(move |_| { act.dispatch(()); })
            busy=act.pending()
        >
            <ErrorBanner error=error />
        </ConfirmDialog>
    }
}
