//! Greeting rendering, shared by the server (replies) and the settings page (live preview), so
//! the preview is exactly what followers will see.

/// Shown for `{follower}` while we know no name (WeChat no longer returns nicknames).
pub const FOLLOWER_FALLBACK: &str = "朋友";
/// Shown for `{referrer}` when the referrer is unknown.
pub const REFERRER_FALLBACK: &str = "我们的伙伴";

/// Fills `{referrer}` and `{follower}` in one pass; unknown names use the fallbacks.
pub fn render(template: &str, referrer: Option<&str>, follower: Option<&str>) -> String {
    let referrer = referrer
        .filter(|s| !s.trim().is_empty())
        .unwrap_or(REFERRER_FALLBACK);
    let follower = follower
        .filter(|s| !s.trim().is_empty())
        .unwrap_or(FOLLOWER_FALLBACK);
    // One pass, so a name containing "{follower}" is not expanded again.
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        if let Some(after) = tail.strip_prefix("{referrer}") {
            out.push_str(referrer);
            rest = after;
        } else if let Some(after) = tail.strip_prefix("{follower}") {
            out.push_str(follower);
            rest = after;
        } else {
            out.push('{');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}
