//! Fission campaigns as staff run them (managers, per account): create and change a campaign,
//! upload its poster background and coupon stock, stop it, read its board, confirm in-store
//! rewards and release rewards held for review. What happens when members join and friends
//! follow is [`crate::referral::fission`].

use app::campaigns::{
    Campaign, CampaignBoard, CampaignDay, CampaignInput, KEYWORD_MAX_CHARS, MAX_HOLDING_DAYS,
    MAX_MILESTONES, MemberCampaign, MemberReward, Milestone, MilestoneStanding, NAME_MAX_CHARS,
    NAME_PLACEHOLDER, REWARD_NAME_MAX_CHARS, Reward, RewardKind, TEXT_MAX_CHARS, TopInviter,
};
use app::model::{FieldError, Role};
use chrono::{NaiveDate, Utc};
use sqlx::PgPool;

use crate::db::campaign_credit as credit;
use crate::db::campaigns::{
    self as store, CampaignRow, CampaignWrite, MilestoneRow, MilestoneWrite, RewardRow,
};
use crate::referral::actor::Actor;
use crate::referral::error::ServiceError;
use crate::referral::period;

/// The most coupon codes one upload adds.
pub const MAX_COUPONS_PER_UPLOAD: usize = 20_000;
/// Members on the board's top list.
const TOP_ROWS: i64 = 20;
/// Rewards on the board.
const REWARD_ROWS: i64 = 100;

fn err(field: &str, message: &str) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

fn chars_between(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.chars().count())
}

fn clean(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

/// Writes the audit entry of a change to campaign `id`.
async fn audit(
    tx: &mut sqlx::PgConnection,
    actor: &Actor,
    action: &str,
    id: i64,
    detail: serde_json::Value,
) -> sqlx::Result<()> {
    crate::db::referrers::audit(
        tx,
        actor.account_id,
        &actor.audit_name(),
        action,
        id,
        detail,
    )
    .await
}

/// The input checked: what to write, or every field's error.
struct Checked<'a> {
    write: CampaignWrite<'a>,
    milestones: Vec<MilestoneWrite<'a>>,
}

fn date(raw: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").ok()
}

fn check<'a>(
    input: &'a CampaignInput,
    width: u32,
    height: u32,
) -> Result<Checked<'a>, ServiceError> {
    let mut errors = Vec::new();
    let name = input.name.trim();
    if !chars_between(name, 1, NAME_MAX_CHARS) || !clean(name) {
        errors.push(err(
            "name",
            "名称为 1–40 个字 / The name is 1–40 characters",
        ));
    }
    let keyword = input.keyword.trim();
    if !chars_between(keyword, 1, KEYWORD_MAX_CHARS) || !clean(keyword) {
        errors.push(err(
            "keyword",
            "关键词为 1–20 个字 / The keyword is 1–20 characters",
        ));
    }
    let menu_key = input
        .menu_key
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty());
    if menu_key.is_some_and(|k| k.len() > 128 || !clean(k)) {
        errors.push(err(
            "menu_key",
            "菜单 key 最多 128 字节 / The menu key is at most 128 bytes",
        ));
    }
    let (starts, ends) = (date(&input.starts_on), date(&input.ends_on));
    if starts.is_none() {
        errors.push(err(
            "starts_on",
            "请填写开始日期 YYYY-MM-DD / Enter the first day as YYYY-MM-DD",
        ));
    }
    if ends.is_none() {
        errors.push(err(
            "ends_on",
            "请填写结束日期 YYYY-MM-DD / Enter the last day as YYYY-MM-DD",
        ));
    }
    if let (Some(s), Some(e)) = (starts, ends)
        && (e < s || (e - s).num_days() > 366)
    {
        errors.push(err("ends_on", "结束日期须在开始日期之后，且不超过一年 / The last day is on or after the first, within a year"));
    }
    if !(0..=MAX_HOLDING_DAYS).contains(&input.holding_days) {
        errors.push(err(
            "holding_days",
            "保留期为 0–30 天 / The holding period is 0–30 days",
        ));
    }
    let text = input.poster_text.trim();
    if !chars_between(text, 1, TEXT_MAX_CHARS) || !clean(text) {
        errors.push(err(
            "poster_text",
            "海报文字为 1–40 个字 / The poster text is 1–40 characters",
        ));
    }
    if !text.contains(NAME_PLACEHOLDER) {
        errors.push(err(
            "poster_text",
            "海报文字须包含 {name} / The poster text must contain {name}",
        ));
    }
    if let Err(fields) = crate::poster::check_layout(&input.layout, width, height) {
        errors.extend(
            fields
                .into_iter()
                .map(|(field, message)| FieldError { field, message }),
        );
    }
    let milestones = check_milestones(input, &mut errors);
    if !errors.is_empty() {
        return Err(ServiceError::Validation(errors));
    }
    let (Some(s), Some(e)) = (starts, ends) else {
        return Err(ServiceError::Validation(errors));
    };
    Ok(Checked {
        write: CampaignWrite {
            name,
            keyword,
            menu_key,
            starts_at: period::start_of(s),
            ends_at: period::start_of(e + chrono::Duration::days(1)),
            holding_days: input.holding_days,
            end_when_out_of_stock: input.end_when_out_of_stock,
            poster_text: text,
            layout: &input.layout,
        },
        milestones,
    })
}

fn check_milestones<'a>(
    input: &'a CampaignInput,
    errors: &mut Vec<FieldError>,
) -> Vec<MilestoneWrite<'a>> {
    let list = &input.milestones;
    if list.is_empty() || list.len() > MAX_MILESTONES {
        errors.push(err(
            "milestones",
            "请设置 1–5 个目标 / Set 1 to 5 milestones",
        ));
    }
    let mut out = Vec::new();
    let mut last = 0;
    for (i, m) in list.iter().enumerate() {
        let field = |f: &str| format!("milestones[{i}].{f}");
        if !(1..=10_000).contains(&m.goal) || m.goal <= last {
            errors.push(FieldError {
                field: field("goal"),
                message:
                    "目标人数为 1–10000，且逐个递增 / Goals are 1–10000, each above the one before"
                        .into(),
            });
        }
        last = m.goal.max(last);
        let name = m.reward_name.trim();
        if !chars_between(name, 1, REWARD_NAME_MAX_CHARS) || !clean(name) {
            errors.push(FieldError {
                field: field("reward_name"),
                message: "奖励名称为 1–40 个字 / The reward's name is 1–40 characters".into(),
            });
        }
        let link = m.link.as_deref().map(str::trim).filter(|l| !l.is_empty());
        let link_ok = link.is_some_and(|l| {
            l.len() <= 1024
                && reqwest::Url::parse(l).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
        });
        if m.reward_kind == RewardKind::Link && !link_ok {
            errors.push(FieldError {
                field: field("link"),
                message: "请填写 http(s) 链接 / Enter an http(s) link".into(),
            });
        }
        out.push(MilestoneWrite {
            goal: m.goal,
            reward_kind: m.reward_kind.as_str(),
            reward_name: name,
            link: if m.reward_kind == RewardKind::Link {
                link
            } else {
                None
            },
        });
    }
    out
}

/// The campaign as shown, with its milestones.
fn view(row: CampaignRow, milestones: &[MilestoneRow]) -> Campaign {
    let now = Utc::now();
    let status = if row.ended_at.is_some() || now >= row.ends_at {
        "ended"
    } else if now < row.starts_at {
        "scheduled"
    } else {
        "running"
    };
    Campaign {
        id: row.id,
        name: row.name,
        keyword: row.keyword,
        menu_key: row.menu_key,
        starts_on: period::local_date(row.starts_at).to_string(),
        ends_on: period::local_date(row.ends_at - chrono::Duration::seconds(1)).to_string(),
        holding_days: row.holding_days,
        milestones: milestones
            .iter()
            .filter(|m| m.campaign_id == row.id)
            .map(|m| Milestone {
                id: m.id,
                goal: m.goal,
                reward_kind: RewardKind::parse(&m.reward_kind).unwrap_or(RewardKind::Store),
                reward_name: m.reward_name.clone(),
                link: m.link.clone(),
                stock_total: m.stock_total,
                stock_left: m.stock_left,
            })
            .collect(),
        end_when_out_of_stock: row.end_when_out_of_stock,
        poster_text: row.poster_text,
        layout: row.layout.0,
        has_background: row.has_background,
        width: u32::try_from(row.width).unwrap_or(0),
        height: u32::try_from(row.height).unwrap_or(0),
        status: status.into(),
        ended_reason: row.ended_reason,
    }
}

async fn row(pool: &PgPool, actor: &Actor, id: i64) -> Result<CampaignRow, ServiceError> {
    store::get(pool, actor.account_id, id)
        .await?
        .ok_or(ServiceError::NotFound("campaign"))
}

/// A campaign of the caller's account (manager).
pub async fn get(pool: &PgPool, actor: &Actor, id: i64) -> Result<Campaign, ServiceError> {
    actor.require(Role::Manager)?;
    let row = row(pool, actor, id).await?;
    let milestones = store::milestones(pool, actor.account_id, &[id]).await?;
    Ok(view(row, &milestones))
}

/// The account's campaigns, newest first (manager).
pub async fn list(pool: &PgPool, actor: &Actor) -> Result<Vec<Campaign>, ServiceError> {
    actor.require(Role::Manager)?;
    let rows = store::list(pool, actor.account_id).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let milestones = store::milestones(pool, actor.account_id, &ids).await?;
    Ok(rows.into_iter().map(|r| view(r, &milestones)).collect())
}

/// Refuses a keyword the member code already answers to (it would never reach the campaign's
/// members) and one another campaign of the account uses at an overlapping time.
async fn check_keyword(
    pool: &PgPool,
    actor: &Actor,
    w: &CampaignWrite<'_>,
    except: Option<i64>,
) -> Result<(), ServiceError> {
    let mut conn = pool.acquire().await?;
    let settings = crate::db::members::settings(&mut conn, actor.account_id).await?;
    if settings
        .member_keywords
        .iter()
        .any(|k| k.trim().eq_ignore_ascii_case(w.keyword))
    {
        return Err(ServiceError::field(
            "keyword",
            "此关键词已用于获取个人推广码 / The member code already uses this keyword",
        ));
    }
    let clash = store::list(pool, actor.account_id)
        .await?
        .into_iter()
        .any(|c| {
            Some(c.id) != except
                && c.ended_at.is_none()
                && c.keyword.eq_ignore_ascii_case(w.keyword)
                && c.starts_at < w.ends_at
                && w.starts_at < c.ends_at
        });
    if clash {
        return Err(ServiceError::field(
            "keyword",
            "同一时段已有活动使用此关键词 / Another campaign uses this keyword at that time",
        ));
    }
    Ok(())
}

/// Creates a campaign (manager).
pub async fn create(
    pool: &PgPool,
    actor: &Actor,
    input: &CampaignInput,
) -> Result<Campaign, ServiceError> {
    actor.require(Role::Manager)?;
    let checked = check(
        input,
        app::campaigns::DEFAULT_WIDTH,
        app::campaigns::DEFAULT_HEIGHT,
    )?;
    check_keyword(pool, actor, &checked.write, None).await?;
    let mut tx = pool.begin().await?;
    let id = store::insert(
        &mut tx,
        actor.account_id,
        &checked.write,
        &actor.audit_name(),
    )
    .await?;
    store::replace_milestones(&mut tx, actor.account_id, id, &checked.milestones).await?;
    audit(
        &mut tx,
        actor,
        "campaign.create",
        id,
        serde_json::json!({"name": checked.write.name}),
    )
    .await?;
    tx.commit().await?;
    get(pool, actor, id).await
}

/// Changes a campaign (manager). Milestones change only until the first reward.
pub async fn update(
    pool: &PgPool,
    actor: &Actor,
    id: i64,
    input: &CampaignInput,
) -> Result<Campaign, ServiceError> {
    actor.require(Role::Manager)?;
    let current = row(pool, actor, id).await?;
    let (w, h) = (current.width as u32, current.height as u32);
    let checked = check(input, w, h)?;
    check_keyword(pool, actor, &checked.write, Some(id)).await?;
    let mut tx = pool.begin().await?;
    let rewarded = store::lock_rewarded(&mut tx, actor.account_id, id)
        .await?
        .ok_or(ServiceError::NotFound("campaign"))?;
    let current = view(
        current,
        &store::milestones(pool, actor.account_id, &[id]).await?,
    );
    let same_milestones = current.milestones.len() == input.milestones.len()
        && current
            .milestones
            .iter()
            .zip(&checked.milestones)
            .all(|(a, b)| {
                a.goal == b.goal
                    && a.reward_kind.as_str() == b.reward_kind
                    && a.reward_name == b.reward_name
                    && a.link.as_deref() == b.link
            });
    if rewarded && !same_milestones {
        return Err(ServiceError::Conflict {
            code: "campaign_rewarded",
            message:
                "已发放奖励的活动不能再修改目标 / Milestones cannot change once rewards are out"
                    .into(),
        });
    }
    store::update(&mut tx, actor.account_id, id, &checked.write).await?;
    if !same_milestones {
        store::replace_milestones(&mut tx, actor.account_id, id, &checked.milestones).await?;
    }
    audit(
        &mut tx,
        actor,
        "campaign.update",
        id,
        serde_json::json!({"name": checked.write.name}),
    )
    .await?;
    tx.commit().await?;
    get(pool, actor, id).await
}

/// Sets the poster's background (PNG or JPEG) after checking that the layout fits it
/// (manager).
pub async fn set_background(
    pool: &PgPool,
    actor: &Actor,
    id: i64,
    bytes: &[u8],
) -> Result<Campaign, ServiceError> {
    actor.require(Role::Manager)?;
    let current = row(pool, actor, id).await?;
    let (width, height) = crate::poster::background_size(bytes)
        .map_err(|e| ServiceError::field("background", e.to_string()))?;
    if let Err(fields) = crate::poster::check_layout(&current.layout.0, width, height) {
        let mut errors = vec![err(
            "background",
            "海报布局超出了新背景，请先调整布局 / The layout does not fit this background; adjust it first",
        )];
        errors.extend(
            fields
                .into_iter()
                .map(|(field, message)| FieldError { field, message }),
        );
        return Err(ServiceError::Validation(errors));
    }
    store::set_background(pool, actor.account_id, id, bytes, width, height).await?;
    get(pool, actor, id).await
}

/// The uploaded background (manager).
pub async fn background(pool: &PgPool, actor: &Actor, id: i64) -> Result<Vec<u8>, ServiceError> {
    actor.require(Role::Manager)?;
    store::background(pool, actor.account_id, id)
        .await?
        .ok_or(ServiceError::NotFound("background"))
}

/// A preview of the poster with a sample member (manager).
pub async fn preview(pool: &PgPool, actor: &Actor, id: i64) -> Result<Vec<u8>, ServiceError> {
    actor.require(Role::Manager)?;
    let row = row(pool, actor, id).await?;
    let background = if row.has_background {
        store::background(pool, actor.account_id, id).await?
    } else {
        None
    };
    let sample = "https://mp.weixin.qq.com/q/preview".to_owned();
    crate::referral::fission::compose(&row, background, sample, "小王".into()).await
}

/// Ends a campaign now (manager); members can no longer join and friends no longer count.
pub async fn stop(pool: &PgPool, actor: &Actor, id: i64) -> Result<Campaign, ServiceError> {
    actor.require(Role::Manager)?;
    let mut tx = pool.begin().await?;
    if !store::stop(&mut tx, actor.account_id, id).await? {
        row(pool, actor, id).await?;
        return Err(ServiceError::Conflict {
            code: "campaign_ended",
            message: "活动已结束 / The campaign has ended already".into(),
        });
    }
    audit(&mut tx, actor, "campaign.stop", id, serde_json::json!({})).await?;
    tx.commit().await?;
    get(pool, actor, id).await
}

/// The codes of a coupon CSV: the first column of each row, trimmed, a header row `code` (or
/// `券码`) skipped, blank rows skipped, each code once.
pub fn parse_coupons(csv_text: &str) -> Result<Vec<String>, ServiceError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(csv_text.as_bytes());
    let mut codes = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (line, record) in reader.records().enumerate() {
        let record = record.map_err(|e| {
            ServiceError::field("csv", format!("CSV 格式错误 / Malformed CSV: {e}"))
        })?;
        let code = record
            .get(0)
            .unwrap_or("")
            .trim()
            .trim_start_matches('\u{feff}');
        if code.is_empty()
            || (line == 0 && ["code", "券码", "coupon"].contains(&code.to_lowercase().as_str()))
        {
            continue;
        }
        if code.chars().count() > 64 || code.chars().any(char::is_control) {
            return Err(ServiceError::field(
                "csv",
                format!(
                    "第 {} 行的券码无效（最多 64 个字符）/ Row {}: a code is at most 64 characters",
                    line + 1,
                    line + 1
                ),
            ));
        }
        if seen.insert(code.to_owned()) {
            codes.push(code.to_owned());
        }
    }
    if codes.is_empty() {
        return Err(ServiceError::field(
            "csv",
            "没有券码 / The file has no codes",
        ));
    }
    if codes.len() > MAX_COUPONS_PER_UPLOAD {
        return Err(ServiceError::field(
            "csv",
            "一次最多上传 20000 个券码 / At most 20,000 codes per upload",
        ));
    }
    Ok(codes)
}

/// Adds coupon codes (CSV) to a milestone's stock (manager): `(added, already there)`.
pub async fn add_coupons(
    pool: &PgPool,
    actor: &Actor,
    campaign_id: i64,
    milestone_id: i64,
    csv_text: &str,
) -> Result<(u64, u64), ServiceError> {
    actor.require(Role::Manager)?;
    let campaign = get(pool, actor, campaign_id).await?;
    let milestone = campaign
        .milestones
        .iter()
        .find(|m| m.id == milestone_id)
        .ok_or(ServiceError::NotFound("milestone"))?;
    if milestone.reward_kind != RewardKind::Coupon {
        return Err(ServiceError::field(
            "milestone",
            "此目标的奖励不是券码 / This milestone's reward is not a coupon",
        ));
    }
    let codes = parse_coupons(csv_text)?;
    let mut tx = pool.begin().await?;
    let added = store::add_coupons(&mut tx, actor.account_id, milestone_id, &codes).await?;
    audit(
        &mut tx,
        actor,
        "campaign.coupons",
        campaign_id,
        serde_json::json!({"milestone": milestone_id, "added": added}),
    )
    .await?;
    tx.commit().await?;
    Ok((added, codes.len() as u64 - added))
}

fn reward_view(r: RewardRow) -> Reward {
    Reward {
        id: r.id,
        referrer_id: r.referrer_id,
        member: r.member,
        goal: r.goal,
        reward_name: r.reward_name,
        reward_kind: RewardKind::parse(&r.reward_kind).unwrap_or(RewardKind::Store),
        status: r.status,
        code: r.code,
        created_at: period::local_time(r.created_at),
        redeemed_at: r.redeemed_at.map(period::local_time),
    }
}

/// The campaign board (manager).
pub async fn board(pool: &PgPool, actor: &Actor, id: i64) -> Result<CampaignBoard, ServiceError> {
    let campaign = get(pool, actor, id).await?;
    let account = actor.account_id;
    let (participants, credited, taken_back) = store::totals(pool, account, id).await?;
    let standings = store::standings(pool, account, id).await?;
    let milestones = campaign
        .milestones
        .iter()
        .map(|m| {
            let s = standings
                .iter()
                .find(|s| s.0 == m.id)
                .copied()
                .unwrap_or((m.id, 0, 0, 0, 0));
            MilestoneStanding {
                milestone_id: m.id,
                goal: m.goal,
                reward_name: m.reward_name.clone(),
                reached: s.1,
                issued: s.2,
                held: s.3,
                out_of_stock: s.4,
                remaining: m.stock_left,
            }
        })
        .collect();
    let first = NaiveDate::parse_from_str(&campaign.starts_on, "%Y-%m-%d").ok();
    let last = NaiveDate::parse_from_str(&campaign.ends_on, "%Y-%m-%d").ok();
    let days = day_series(
        &store::days(pool, account, id).await?,
        first,
        last.map(|l| l.min(period::local_date(Utc::now()))),
    );
    let top = store::top(pool, account, id, TOP_ROWS)
        .await?
        .into_iter()
        .map(|(referrer_id, name, credited, rewards)| TopInviter {
            referrer_id,
            name,
            credited,
            rewards,
        })
        .collect();
    let rewards = store::rewards(pool, account, id, Some(REWARD_ROWS))
        .await?
        .into_iter()
        .map(reward_view)
        .collect();
    Ok(CampaignBoard {
        campaign,
        participants,
        credited,
        taken_back,
        milestones,
        days,
        top,
        rewards,
    })
}

/// One entry per day from `first` to `last` (the campaign's days so far), the days without
/// activity as zeros; activity outside those days (a late unfollow) gets its own entries.
fn day_series(
    active: &[(NaiveDate, i64, i64, i64, i64)],
    first: Option<NaiveDate>,
    last: Option<NaiveDate>,
) -> Vec<CampaignDay> {
    let mut days: Vec<NaiveDate> = match (first, last) {
        (Some(f), Some(l)) if f <= l => f.iter_days().take_while(|d| *d <= l).collect(),
        _ => Vec::new(),
    };
    days.extend(active.iter().map(|a| a.0));
    days.sort_unstable();
    days.dedup();
    days.into_iter()
        .map(|day| {
            let (joined, credited, taken_back, rewards) = active
                .iter()
                .find(|a| a.0 == day)
                .map_or((0, 0, 0, 0), |a| (a.1, a.2, a.3, a.4));
            CampaignDay {
                day: day.to_string(),
                joined,
                credited,
                taken_back,
                rewards,
            }
        })
        .collect()
}

/// Every reward of a campaign, for the CSV export (manager).
pub async fn all_rewards(
    pool: &PgPool,
    actor: &Actor,
    id: i64,
) -> Result<Vec<Reward>, ServiceError> {
    get(pool, actor, id).await?;
    let rows = store::rewards(pool, actor.account_id, id, None).await?;
    Ok(rows.into_iter().map(reward_view).collect())
}

/// Staff confirm that an in-store reward was collected (staff).
pub async fn redeem(pool: &PgPool, actor: &Actor, reward_id: i64) -> Result<Reward, ServiceError> {
    actor.require(Role::Staff)?;
    let mut tx = pool.begin().await?;
    let (campaign_id, _, _, status) = credit::lock_reward(&mut tx, actor.account_id, reward_id)
        .await?
        .ok_or(ServiceError::NotFound("reward"))?;
    let kind = store::reward(pool, actor.account_id, reward_id)
        .await?
        .map(|r| r.reward_kind)
        .unwrap_or_default();
    if kind != "store" || status != "issued" {
        return Err(ServiceError::Conflict {
            code: "not_redeemable",
            message:
                "只有已发放的到店奖励可以核销 / Only an issued in-store reward can be redeemed"
                    .into(),
        });
    }
    credit::redeem(&mut tx, actor.account_id, reward_id, &actor.audit_name()).await?;
    audit(
        &mut tx,
        actor,
        "campaign.redeem",
        campaign_id,
        serde_json::json!({"reward": reward_id}),
    )
    .await?;
    tx.commit().await?;
    store::reward(pool, actor.account_id, reward_id)
        .await?
        .map(reward_view)
        .ok_or(ServiceError::NotFound("reward"))
}

/// Releases a reward held for review (manager): it is handed out now, and the member told.
pub async fn release(pool: &PgPool, actor: &Actor, reward_id: i64) -> Result<Reward, ServiceError> {
    actor.require(Role::Manager)?;
    let mut tx = pool.begin().await?;
    let (campaign_id, milestone_id, referrer_id, status) =
        credit::lock_reward(&mut tx, actor.account_id, reward_id)
            .await?
            .ok_or(ServiceError::NotFound("reward"))?;
    if status != "held" {
        return Err(ServiceError::Conflict {
            code: "not_held",
            message: "此奖励没有在等待审核 / This reward is not waiting for review".into(),
        });
    }
    crate::referral::fission::release(
        &mut tx,
        actor.account_id,
        (campaign_id, milestone_id, referrer_id),
        reward_id,
    )
    .await?;
    audit(
        &mut tx,
        actor,
        "campaign.release",
        campaign_id,
        serde_json::json!({"reward": reward_id}),
    )
    .await?;
    tx.commit().await?;
    store::reward(pool, actor.account_id, reward_id)
        .await?
        .map(reward_view)
        .ok_or(ServiceError::NotFound("reward"))
}

/// The campaigns a member takes part in, for their page.
pub async fn of_member(
    pool: &PgPool,
    account_id: i64,
    referrer_id: i64,
    token: &str,
) -> Result<Vec<MemberCampaign>, ServiceError> {
    let mut out = Vec::new();
    for (c, credited) in store::of_member(pool, account_id, referrer_id).await? {
        let goals = {
            let mut conn = pool.acquire().await?;
            credit::goals(&mut conn, account_id, c.id, referrer_id).await?
        };
        let next = goals
            .iter()
            .find(|g| i64::from(g.goal) > credited && !g.rewarded);
        let rewards = store::member_rewards(pool, account_id, c.id, referrer_id)
            .await?
            .into_iter()
            .map(|r| MemberReward {
                goal: r.goal,
                reward_name: r.reward_name,
                status: r.status,
                code: r.code,
                link: r.link,
            })
            .collect();
        out.push(MemberCampaign {
            campaign_id: c.id,
            name: c.name,
            ends_on: period::local_date(c.ends_at - chrono::Duration::seconds(1)).to_string(),
            credited,
            next_goal: next.map(|g| g.goal),
            left: next.map(|g| i64::from(g.goal) - credited),
            poster_url: format!("/m/{token}/campaigns/{}/poster.png", c.id),
            rewards,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::campaigns::MilestoneInput;

    fn input() -> CampaignInput {
        CampaignInput {
            name: "春季助力".into(),
            keyword: "助力".into(),
            menu_key: None,
            starts_on: "2026-12-01".into(),
            ends_on: "2026-12-31".into(),
            holding_days: 3,
            milestones: vec![MilestoneInput {
                goal: 3,
                reward_kind: RewardKind::Coupon,
                reward_name: "10 元券".into(),
                link: None,
            }],
            end_when_out_of_stock: false,
            poster_text: app::campaigns::DEFAULT_TEXT.into(),
            layout: Default::default(),
        }
    }

    fn fields(e: ServiceError) -> Vec<String> {
        match e {
            ServiceError::Validation(f) => f.into_iter().map(|f| f.field).collect(),
            other => panic!("not a validation error: {other}"),
        }
    }

    #[test]
    fn a_campaign_runs_whole_beijing_days() {
        let input = input();
        let c = check(&input, 750, 1334).expect("valid");
        assert_eq!(c.write.starts_at.to_rfc3339(), "2026-11-30T16:00:00+00:00");
        assert_eq!(c.write.ends_at.to_rfc3339(), "2026-12-31T16:00:00+00:00");
    }

    #[test]
    fn bad_input_names_each_field() {
        let mut bad = input();
        bad.name = " ".into();
        bad.ends_on = "2026-11-01".into();
        bad.holding_days = 31;
        bad.poster_text = "扫码关注".into();
        bad.milestones.push(MilestoneInput {
            goal: 2,
            reward_kind: RewardKind::Link,
            reward_name: "链接".into(),
            link: Some("javascript:alert(1)".into()),
        });
        let got = fields(check(&bad, 750, 1334).err().expect("refused"));
        for f in [
            "name",
            "ends_on",
            "holding_days",
            "poster_text",
            "milestones[1].goal",
            "milestones[1].link",
        ] {
            assert!(got.iter().any(|g| g == f), "{f} in {got:?}");
        }
        let mut none = input();
        none.milestones.clear();
        assert!(
            fields(check(&none, 750, 1334).err().expect("refused")).contains(&"milestones".into())
        );
    }

    #[test]
    fn the_days_run_from_the_first_to_today_with_zeros_between() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
        let series = day_series(
            &[(d("2026-12-02"), 1, 2, 0, 1), (d("2026-12-06"), 0, 0, 1, 0)],
            Some(d("2026-12-01")),
            Some(d("2026-12-04")),
        );
        let days: Vec<(&str, i64, i64)> = series
            .iter()
            .map(|c| (c.day.as_str(), c.credited, c.taken_back))
            .collect();
        assert_eq!(
            days,
            [
                ("2026-12-01", 0, 0),
                ("2026-12-02", 2, 0),
                ("2026-12-03", 0, 0),
                ("2026-12-04", 0, 0),
                ("2026-12-06", 0, 1)
            ]
        );
        assert!(day_series(&[], Some(d("2026-12-05")), Some(d("2026-12-04"))).is_empty());
    }

    #[test]
    fn coupon_csv_skips_the_header_blanks_and_repeats() {
        let codes = parse_coupons("code\nA1\n\n A2 ,x\nA1\n").expect("codes");
        assert_eq!(codes, ["A1", "A2"]);
        assert!(parse_coupons("code\n").is_err());
        assert!(parse_coupons(&"X".repeat(65)).is_err());
    }
}
