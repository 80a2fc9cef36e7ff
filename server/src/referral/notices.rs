//! How a referrer is told about a new follower: WeChat delivers a customer-service message only
//! within 48 hours of the referrer's last interaction with the account, a template message at
//! any time (if the account has a template). So the channel that should work goes first and
//! the other is tried when it is refused; a notice neither could deliver is kept and sent once
//! the referrer next interacts (which opens the window again).

use chrono::{DateTime, Duration, Utc};

use crate::wechat::client::ApiError;

/// WeChat's customer-service window after a message the user sent.
pub const WINDOW: Duration = Duration::hours(48);
/// The window after a follow, a scan or a menu click.
pub const SHORT_WINDOW: Duration = Duration::minutes(1);

/// A way to reach a referrer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// A customer-service message (inside the window only).
    Custom,
    /// A template message (needs the account's template id).
    Template,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Custom => "custom",
            Channel::Template => "template",
        }
    }
}

/// Whether the window is open at `now`, after the user's last message and last follow, scan
/// or menu click (as far as the callbacks we stored tell: WeChat has the last word, answering
/// 45015 when it is closed).
pub fn window_open(
    last_message: Option<DateTime<Utc>>,
    last_action: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    last_message.is_some_and(|at| now - at < WINDOW)
        || last_action.is_some_and(|at| now - at < SHORT_WINDOW)
}

/// The channels to try, in order.
pub fn channels(window_open: bool, has_template: bool) -> Vec<Channel> {
    match (window_open, has_template) {
        (true, true) => vec![Channel::Custom, Channel::Template],
        (false, true) => vec![Channel::Template, Channel::Custom],
        // Without a template only the customer-service message is left; tried even when our
        // records say the window is closed (an interaction before we were connected counts).
        (_, false) => vec![Channel::Custom],
    }
}

/// What to do after a channel failed with `e`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterFailure {
    /// WeChat is busy or rate-limits: try the whole notice again later.
    RetryLater,
    /// This channel cannot deliver it (window closed, template refused, unfollowed…): the
    /// next channel, else keep the notice until the referrer interacts.
    NextChannel,
}

pub fn after_failure(e: &ApiError) -> AfterFailure {
    if e.is_transient() {
        AfterFailure::RetryLater
    } else {
        AfterFailure::NextChannel
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_opens_the_window_for_48_hours_a_click_for_a_minute() {
        let now = Utc::now();
        assert!(window_open(Some(now - Duration::hours(47)), None, now));
        assert!(!window_open(Some(now - Duration::hours(49)), None, now));
        assert!(window_open(None, Some(now - Duration::seconds(30)), now));
        assert!(!window_open(None, Some(now - Duration::minutes(5)), now));
        assert!(!window_open(None, None, now));
    }

    #[test]
    fn the_channel_that_should_work_goes_first() {
        assert_eq!(channels(true, true), [Channel::Custom, Channel::Template]);
        assert_eq!(channels(false, true), [Channel::Template, Channel::Custom]);
        assert_eq!(channels(false, false), [Channel::Custom]);
    }

    #[test]
    fn refusals_move_on_and_busy_retries() {
        let api = |errcode| ApiError::Api {
            errcode,
            errmsg: String::new(),
        };
        assert_eq!(after_failure(&api(45015)), AfterFailure::NextChannel);
        assert_eq!(after_failure(&api(40037)), AfterFailure::NextChannel);
        assert_eq!(after_failure(&api(43004)), AfterFailure::NextChannel);
        assert_eq!(after_failure(&api(-1)), AfterFailure::RetryLater);
        assert_eq!(
            after_failure(&ApiError::Transport("timeout".into())),
            AfterFailure::RetryLater
        );
    }
}
