//! Fission campaigns at work (任务宝): a follower joins by keyword or menu click and gets a
//! poster with their own code; each friend who follows through it for the first time counts
//! (after the reply, in the follow-up job) and the member is told how many are left; at a
//! milestone the reward is handed out (a coupon from the stock, a link or a redemption code),
//! or waits for review when the abuse review has open flags on the member's friends. A friend
//! who unfollows within the holding period is taken back off the count (in the unfollow's own
//! transaction). Every notice is an outbox job ([`Job::CampaignNotice`]), so none is lost and
//! none is sent twice.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use crate::db::campaign_credit::{self as store, Eligible, Goal};
use crate::db::campaigns::{self as campaigns, CampaignRow};
use crate::db::members::Member;
use crate::referral::error::ServiceError;
use crate::referral::jobs::{self, Job};
use crate::referral::members::MemberContext;
use crate::referral::period;
use crate::wechat::client::TEMPORARY_MEDIA_SECONDS;
use crate::wechat::message::Inbound;

/// Cached poster media is reused while it has at least this long to live.
const MEDIA_MARGIN_SECS: i64 = 3600;

/// A campaign named by a follower's message or menu click.
#[derive(Debug, Clone)]
pub struct Trigger {
    pub campaign: CampaignRow,
}

/// The same campaign.
impl PartialEq for Trigger {
    fn eq(&self, other: &Self) -> bool {
        (self.campaign.account_id, self.campaign.id)
            == (other.campaign.account_id, other.campaign.id)
    }
}

impl Eq for Trigger {}

/// The campaign a text message or menu CLICK names, if any.
pub async fn triggered(
    conn: &mut PgConnection,
    account_id: i64,
    inbound: &Inbound,
) -> sqlx::Result<Option<Trigger>> {
    let (text, key) = match inbound {
        Inbound::Text { content, .. } => (Some(content.trim()), None),
        Inbound::Other {
            event: Some(event),
            event_key: Some(key),
            ..
        } if event.eq_ignore_ascii_case("click") => (None, Some(key.as_str())),
        _ => return Ok(None),
    };
    if text.is_some_and(str::is_empty) {
        return Ok(None);
    }
    let found = campaigns::by_trigger(conn, account_id, text, key).await?;
    Ok(found.map(|campaign| Trigger { campaign }))
}

/// Whether the campaign takes members at `now`; otherwise what the follower is told.
pub fn closed_reply(c: &CampaignRow, now: DateTime<Utc>) -> Option<String> {
    if now < c.starts_at {
        return Some(format!(
            "「{}」将于 {} 开始，敬请期待！",
            c.name,
            period::local_time(c.starts_at)
        ));
    }
    if c.ended_at.is_some() || now >= c.ends_at {
        return Some(format!("「{}」已结束，感谢您的关注！", c.name));
    }
    None
}

/// What the member is told after the poster (or with the link when the poster is late).
pub fn joined_text(c: &CampaignRow, first: Option<&Goal>, page_url: &str) -> String {
    let goal = first.map_or_else(String::new, |g| {
        format!(
            "邀请 {} 位好友扫码关注，即可获得「{}」。",
            g.goal, g.reward_name
        )
    });
    let last_day = period::local_date(c.ends_at - chrono::Duration::seconds(1));
    format!(
        "您已参加「{}」！把专属海报分享给好友，{goal}活动截止 {last_day}。\n查看助力进度：{page_url}",
        c.name
    )
}

/// The first milestone of a campaign (for the join text).
pub async fn first_goal(
    conn: &mut PgConnection,
    account_id: i64,
    campaign_id: i64,
    referrer_id: i64,
) -> sqlx::Result<Option<Goal>> {
    Ok(store::goals(conn, account_id, campaign_id, referrer_id)
        .await?
        .into_iter()
        .next())
}

/// Counts the credited follows `(account, referral)` for the campaigns their referrers take
/// part in; returns those that count for a campaign (their campaign notice replaces the
/// referrer's ordinary one). Safe to run again: a credit is recorded once, and its notices
/// and rewards in the same transaction.
pub async fn credit_all(
    pool: &PgPool,
    referrals: &[(i64, i64)],
) -> sqlx::Result<HashSet<(i64, i64)>> {
    let mut counted = HashSet::new();
    if referrals.is_empty() {
        return Ok(counted);
    }
    for (account_id, referral_id) in store::candidates(pool, referrals).await? {
        let mut tx = pool.begin().await?;
        let eligible = store::eligible(&mut tx, account_id, referral_id).await?;
        for e in &eligible {
            if store::insert_credit(&mut tx, account_id, referral_id, e).await? {
                count_friend(&mut tx, account_id, e).await?;
            }
        }
        tx.commit().await?;
        if !eligible.is_empty() {
            counted.insert((account_id, referral_id));
        }
    }
    Ok(counted)
}

/// A friend was just credited to the member (whose row is locked): rewards for the
/// milestones now reached, or the progress notice.
async fn count_friend(tx: &mut PgConnection, account_id: i64, e: &Eligible) -> sqlx::Result<()> {
    let n = store::count(tx, account_id, e.campaign_id, e.referrer_id).await?;
    let goals = store::goals(tx, account_id, e.campaign_id, e.referrer_id).await?;
    let reached: Vec<&Goal> = goals
        .iter()
        .filter(|g| !g.rewarded && i64::from(g.goal) <= n)
        .collect();
    if reached.is_empty() {
        let text = progress(&e.name, n, &goals);
        return notify(
            tx,
            account_id,
            e.campaign_id,
            e.referrer_id,
            "progress",
            &text,
        )
        .await;
    }
    for goal in reached {
        reward(tx, account_id, e, goal, n).await?;
    }
    Ok(())
}

/// The progress notice: how many friends count and how many the next milestone needs.
fn progress(campaign: &str, n: i64, goals: &[Goal]) -> String {
    match goals.iter().find(|g| !g.rewarded && i64::from(g.goal) > n) {
        Some(next) => app::campaigns::progress_text(campaign, n, next.goal),
        None => format!("【{campaign}】又有好友为您助力，已累计 {n} 位，感谢您的分享！"),
    }
}

/// Hands out the reward of `goal` (reached with `n` friends) and tells the member.
async fn reward(
    tx: &mut PgConnection,
    account_id: i64,
    e: &Eligible,
    goal: &Goal,
    n: i64,
) -> sqlx::Result<()> {
    let (campaign, member) = (e.campaign_id, e.referrer_id);
    let reached = format!("【{}】已有 {n} 位好友助力，", e.name);
    if store::flagged(tx, account_id, campaign, member).await? {
        store::insert_reward(
            tx,
            account_id,
            campaign,
            goal.milestone_id,
            member,
            "held",
            None,
        )
        .await?;
        let text = format!(
            "{reached}达成目标！奖励「{}」正在审核中，审核通过后将发送给您。",
            goal.reward_name
        );
        return notify(tx, account_id, campaign, member, "held", &text).await;
    }
    let Some(reward_id) = store::insert_reward(
        tx,
        account_id,
        campaign,
        goal.milestone_id,
        member,
        "issued",
        None,
    )
    .await?
    else {
        return Ok(());
    };
    let (kind, text) = issue(tx, account_id, reward_id, goal).await?;
    if kind == "out_of_stock" && e.end_when_out_of_stock {
        store::end_out_of_stock(tx, account_id, campaign).await?;
    }
    notify(
        tx,
        account_id,
        campaign,
        member,
        kind,
        &format!("{reached}{text}"),
    )
    .await
}

/// Hands out a reward that was held for review (the caller locked it): `(campaign,
/// milestone, member)`.
pub async fn release(
    tx: &mut PgConnection,
    account_id: i64,
    (campaign, milestone, member): (i64, i64, i64),
    reward_id: i64,
) -> sqlx::Result<()> {
    store::lock_member(tx, account_id, campaign, member).await?;
    let (name, end_when_out_of_stock) = store::campaign_facts(tx, account_id, campaign).await?;
    let goals = store::goals(tx, account_id, campaign, member).await?;
    let Some(goal) = goals.iter().find(|g| g.milestone_id == milestone) else {
        return Ok(());
    };
    store::set_reward(tx, account_id, reward_id, "issued", None).await?;
    let (kind, text) = issue(tx, account_id, reward_id, goal).await?;
    if kind == "out_of_stock" && end_when_out_of_stock {
        store::end_out_of_stock(tx, account_id, campaign).await?;
    }
    let text = format!("【{name}】审核通过！{text}");
    notify(tx, account_id, campaign, member, kind, &text).await
}

/// Gives an issued (or released) reward its code; returns the notice's kind and its text.
async fn issue(
    tx: &mut PgConnection,
    account_id: i64,
    reward_id: i64,
    goal: &Goal,
) -> sqlx::Result<(&'static str, String)> {
    let name = &goal.reward_name;
    match goal.reward_kind.as_str() {
        "coupon" => match store::take_coupon(tx, account_id, goal.milestone_id, reward_id).await? {
            Some(code) => {
                store::set_reward(tx, account_id, reward_id, "issued", Some(&code)).await?;
                Ok(("reward", format!("恭喜获得「{name}」！券码：{code}")))
            }
            None => {
                store::set_reward(tx, account_id, reward_id, "out_of_stock", None).await?;
                Ok((
                    "out_of_stock",
                    format!("达成目标！很抱歉，「{name}」已全部发完（out of stock）。"),
                ))
            }
        },
        "link" => {
            let link = goal.link.clone().unwrap_or_default();
            Ok(("reward", format!("恭喜获得「{name}」！领取链接：{link}")))
        }
        _ => {
            let code = redemption_code();
            store::set_reward(tx, account_id, reward_id, "issued", Some(&code)).await?;
            Ok((
                "reward",
                format!("恭喜获得「{name}」！兑换码：{code}，请到店出示领取。"),
            ))
        }
    }
}

/// An in-store redemption code: 10 characters without look-alikes (0/O, 1/I/L).
pub fn redemption_code() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    let mut rng = rand::rng();
    (0..10)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// Records a notice to the member and queues its sending.
async fn notify(
    tx: &mut PgConnection,
    account_id: i64,
    campaign_id: i64,
    referrer_id: i64,
    kind: &str,
    text: &str,
) -> sqlx::Result<()> {
    let id = store::insert_notice(tx, account_id, campaign_id, referrer_id, kind, text).await?;
    let job = Job::CampaignNotice(jobs::CampaignNotice { notice_id: id });
    jobs::enqueue(tx, account_id, &job).await?;
    Ok(())
}

/// The follower `openid` unfollowed at `at` (inside the unfollow's transaction): the credits
/// still in their holding period are taken back and the members told.
pub async fn take_back(
    tx: &mut PgConnection,
    account_id: i64,
    openid: &str,
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    let members = store::held_members(tx, account_id, openid, at).await?;
    if members.is_empty() {
        return Ok(());
    }
    for &(campaign_id, referrer_id) in &members {
        store::lock_member(tx, account_id, campaign_id, referrer_id).await?;
    }
    for t in store::take_back(tx, account_id, openid, at).await? {
        let n = store::count(tx, account_id, t.campaign_id, t.referrer_id).await?;
        let goals = store::goals(tx, account_id, t.campaign_id, t.referrer_id).await?;
        let left = goals
            .iter()
            .find(|g| !g.rewarded && i64::from(g.goal) > n)
            .map_or_else(String::new, |g| {
                format!("，还差 {} 位", i64::from(g.goal) - n)
            });
        let text = format!(
            "【{}】有 1 位好友在保留期内取消了关注，助力数减为 {n} 位{left}。",
            t.name
        );
        notify(
            tx,
            account_id,
            t.campaign_id,
            t.referrer_id,
            "taken_back",
            &text,
        )
        .await?;
    }
    Ok(())
}

impl MemberContext {
    /// The member's poster for the campaign as PNG, made when the cached one is stale (the
    /// code, the name or the campaign's look changed): `(png, cache key)`.
    pub async fn poster(
        &self,
        account_id: i64,
        campaign_id: i64,
        member: &Member,
    ) -> Result<(Vec<u8>, String), ServiceError> {
        let campaign = campaigns::get(&self.pool, account_id, campaign_id)
            .await?
            .ok_or(ServiceError::NotFound("campaign"))?;
        let code = self.code(account_id, member.referrer_id).await?;
        let name = shown_name(member);
        let key = format!("v{}:c{}:{name}", campaign.poster_version, code.id);
        let cache =
            campaigns::poster_cache(&self.pool, account_id, campaign_id, member.referrer_id)
                .await?
                .ok_or(ServiceError::NotFound("campaign member"))?;
        if let (Some(png), Some(k)) = (cache.poster, cache.poster_key)
            && k == key
        {
            return Ok((png, key));
        }
        let background = if campaign.has_background {
            campaigns::background(&self.pool, account_id, campaign_id).await?
        } else {
            None
        };
        let png = compose(&campaign, background, code.url.clone(), name).await?;
        campaigns::set_poster(
            &self.pool,
            account_id,
            campaign_id,
            member.referrer_id,
            &png,
            &key,
        )
        .await?;
        Ok((png, key))
    }

    /// The media id of the member's poster, uploaded when not cached.
    pub async fn poster_media(
        &self,
        account_id: i64,
        campaign_id: i64,
        referrer_id: i64,
    ) -> Result<String, ServiceError> {
        let member = crate::db::members::by_referrer(&self.pool, account_id, referrer_id)
            .await?
            .ok_or(ServiceError::NotFound("member"))?;
        let (png, key) = self.poster(account_id, campaign_id, &member).await?;
        let cache = campaigns::poster_cache(&self.pool, account_id, campaign_id, referrer_id)
            .await?
            .ok_or(ServiceError::NotFound("campaign member"))?;
        let margin = Utc::now() + chrono::Duration::seconds(MEDIA_MARGIN_SECS);
        if let (Some(id), Some(until), Some(k)) =
            (cache.media_id, cache.media_expires_at, cache.poster_key)
            && until > margin
            && k == key
        {
            return Ok(id);
        }
        let media = crate::referral::accounts::api(&self.accounts, account_id)
            .await?
            .upload_image("poster.png", &png)
            .await
            .map_err(|e| ServiceError::Upstream(e.to_string()))?;
        let until = Utc::now() + chrono::Duration::seconds(TEMPORARY_MEDIA_SECONDS);
        campaigns::set_poster_media(
            &self.pool,
            account_id,
            campaign_id,
            referrer_id,
            &key,
            &media.media_id,
            until,
        )
        .await?;
        Ok(media.media_id)
    }

    /// The text that goes with a campaign poster (the member's page link).
    pub async fn joined_text(
        &self,
        account_id: i64,
        campaign_id: i64,
        member: &Member,
    ) -> Result<String, ServiceError> {
        let campaign = campaigns::get(&self.pool, account_id, campaign_id)
            .await?
            .ok_or(ServiceError::NotFound("campaign"))?;
        let mut conn = self.pool.acquire().await?;
        let first = first_goal(&mut conn, account_id, campaign_id, member.referrer_id).await?;
        let url = crate::referral::members::page_url(&self.public_url, &member.token);
        Ok(joined_text(&campaign, first.as_ref(), &url))
    }
}

/// The name a poster shows: the member's chosen one, else the neutral fallback.
fn shown_name(member: &Member) -> String {
    if member.name_chosen {
        member.name.clone()
    } else {
        crate::referral::greeting::REFERRER_FALLBACK.to_owned()
    }
}

/// Composes a poster off the async threads (it is CPU work).
pub async fn compose(
    campaign: &CampaignRow,
    background: Option<Vec<u8>>,
    qr_content: String,
    name: String,
) -> Result<Vec<u8>, ServiceError> {
    let layout = campaign.layout.0.clone();
    let title = campaign.name.clone();
    let text = campaign
        .poster_text
        .replace(app::campaigns::NAME_PLACEHOLDER, &name);
    tokio::task::spawn_blocking(move || {
        crate::poster::compose(&crate::poster::PosterSpec {
            background: background.as_deref(),
            layout: &layout,
            qr_content: &qr_content,
            text: &text,
            member_name: &name,
            title: &title,
        })
    })
    .await
    .map_err(|e| ServiceError::Internal(e.to_string()))?
    .map_err(|e| ServiceError::Internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn goal(goal: i32, rewarded: bool) -> Goal {
        Goal {
            milestone_id: i64::from(goal),
            goal,
            reward_kind: "coupon".into(),
            reward_name: "券".into(),
            link: None,
            rewarded,
        }
    }

    #[test]
    fn progress_names_the_next_goal_or_thanks_when_all_are_reached() {
        let goals = [goal(3, false), goal(5, false)];
        assert_eq!(
            progress("春季", 2, &goals),
            "【春季】已有 2 位好友助力，还差 1 位即可领取奖励！"
        );
        let done = [goal(3, true)];
        assert!(progress("春季", 4, &done).contains("已累计 4 位"));
    }

    #[test]
    fn redemption_codes_avoid_look_alikes() {
        let code = redemption_code();
        assert_eq!(code.len(), 10);
        assert!(!code.contains(['0', 'O', '1', 'I', 'L']), "{code}");
        assert_ne!(code, redemption_code());
    }
}
