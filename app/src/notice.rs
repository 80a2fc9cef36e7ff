//! A referrer's notice about a new follower: which template keys get which value, and the
//! values made to fit WeChat's rules for each kind of key. Shared by the server (which sends
//! it) and the settings page (which previews it with sample values).

use serde::{Deserialize, Serialize};

use crate::model::FieldError;

/// What a template key is filled with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeSource {
    /// The referrer's name.
    Referrer,
    /// The new follower (masked openid: WeChat gives no nicknames).
    Follower,
    /// When they followed (the account's time zone).
    Time,
    /// The referrer's referrals so far.
    Total,
}

impl NoticeSource {
    pub const ALL: [NoticeSource; 4] = [
        NoticeSource::Referrer,
        NoticeSource::Follower,
        NoticeSource::Time,
        NoticeSource::Total,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NoticeSource::Referrer => "referrer",
            NoticeSource::Follower => "follower",
            NoticeSource::Time => "time",
            NoticeSource::Total => "total",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// (Chinese, English) label.
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            NoticeSource::Referrer => ("推荐人姓名", "Referrer's name"),
            NoticeSource::Follower => ("新关注者", "New follower"),
            NoticeSource::Time => ("关注时间", "Follow time"),
            NoticeSource::Total => ("累计推荐数", "Referrals so far"),
        }
    }
}

/// One template key and its value's source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldMapping {
    /// The template's key, e.g. `thing1`, `time2`, `number3` (or `keyword1` in old templates).
    pub key: String,
    pub source: NoticeSource,
}

/// The mapping of the old `keyword1..3` templates (what notices used before mappings).
pub fn default_mapping() -> Vec<FieldMapping> {
    [
        ("keyword1", NoticeSource::Follower),
        ("keyword2", NoticeSource::Time),
        ("keyword3", NoticeSource::Total),
    ]
    .into_iter()
    .map(|(key, source)| FieldMapping {
        key: key.to_owned(),
        source,
    })
    .collect()
}

/// Most keys a template has.
pub const MAX_FIELDS: usize = 10;

/// The values of one notice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeValues {
    pub referrer: String,
    pub follower: String,
    /// `YYYY-MM-DD HH:MM` in the account's time zone.
    pub time: String,
    pub total: i64,
}

impl NoticeValues {
    /// What the settings page's preview shows.
    pub fn sample() -> Self {
        NoticeValues {
            referrer: "张三".into(),
            follower: "oSBX****x3kQ".into(),
            time: "2026-12-03 14:05".into(),
            total: 12,
        }
    }

    fn get(&self, source: NoticeSource) -> String {
        match source {
            NoticeSource::Referrer => self.referrer.clone(),
            NoticeSource::Follower => self.follower.clone(),
            NoticeSource::Time => self.time.clone(),
            NoticeSource::Total => self.total.to_string(),
        }
    }
}

/// The kind of a template key, by its name (`thing1` → `thing`).
fn key_kind(key: &str) -> &str {
    key.trim_end_matches(|c: char| c.is_ascii_digit())
}

/// Most characters WeChat takes for a key of this kind (new-style templates; `keyword` keys
/// of old templates take 200).
fn max_chars(kind: &str) -> usize {
    match kind {
        "thing" => 20,
        "name" => 10,
        "phrase" => 5,
        "character_string" | "number" | "amount" | "car_number" | "phone_number" => 32,
        _ => 200,
    }
}

/// Cuts `value` to `max` characters, marking the cut.
fn fit(value: &str, max: usize) -> String {
    if value.chars().count() <= max {
        return value.to_owned();
    }
    let mut cut: String = value.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// The template's `data`: each key with its value, fitted to the key's kind.
pub fn template_data(mapping: &[FieldMapping], values: &NoticeValues) -> Vec<(String, String)> {
    mapping
        .iter()
        .map(|m| {
            let value = values.get(m.source);
            (m.key.clone(), fit(&value, max_chars(key_kind(&m.key))))
        })
        .collect()
}

/// A mapping WeChat can take: 1 to [`MAX_FIELDS`] keys, each a lowercase name with a number
/// (`thing1`), none twice, and sources that fit the key's kind (a `number` or `amount` key
/// only takes the count; a `time` key only the time).
pub fn validate_mapping(mapping: &[FieldMapping]) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut err = |i: usize, message: &str| {
        errors.push(FieldError {
            field: format!("fields.{i}"),
            message: message.to_owned(),
        })
    };
    if mapping.is_empty() || mapping.len() > MAX_FIELDS {
        errors.push(FieldError {
            field: "fields".into(),
            message: format!("模板须有 1–{MAX_FIELDS} 个字段 / 1 to {MAX_FIELDS} fields"),
        });
        return Err(errors);
    }
    for (i, m) in mapping.iter().enumerate() {
        let kind = key_kind(&m.key);
        let well_formed = !kind.is_empty()
            && kind.len() < m.key.len()
            && m.key.len() <= 32
            && kind.chars().all(|c| c.is_ascii_lowercase() || c == '_');
        if !well_formed {
            err(
                i,
                "字段名如 thing1、time2（小写字母加数字）/ Keys look like thing1 or time2",
            );
            continue;
        }
        if mapping[..i].iter().any(|o| o.key == m.key) {
            err(i, "字段名重复 / This key is used twice");
            continue;
        }
        let fits = match kind {
            "number" | "amount" => m.source == NoticeSource::Total,
            "time" | "date" => m.source == NoticeSource::Time,
            _ => true,
        };
        if !fits {
            err(
                i,
                "该类型字段放不下这个值（number 只填数量，time 只填时间）/ This kind of key cannot take that value (number takes the count, time the time)",
            );
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// One attempt to tell a referrer, as the referrer's page lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeAttempt {
    pub at: String,
    /// `custom` (customer-service message) | `template`.
    pub channel: String,
    /// `sent` | `failed` | `pending` (kept until the referrer next interacts).
    pub status: String,
    pub errcode: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(key: &str, source: NoticeSource) -> FieldMapping {
        FieldMapping {
            key: key.into(),
            source,
        }
    }

    #[test]
    fn values_fit_the_kind_of_their_key() {
        let values = NoticeValues {
            referrer: "一位名字特别特别长的推荐人".into(),
            follower: "oSBX****x3kQ".into(),
            time: "2026-12-03 14:05".into(),
            total: 7,
        };
        let data = template_data(
            &[
                m("thing1", NoticeSource::Referrer),
                m("name2", NoticeSource::Referrer),
                m("time3", NoticeSource::Time),
                m("number4", NoticeSource::Total),
            ],
            &values,
        );
        assert_eq!(data[0], ("thing1".into(), values.referrer.clone()));
        assert_eq!(data[1].1.chars().count(), 10);
        assert!(data[1].1.ends_with('…'));
        assert_eq!(data[2].1, "2026-12-03 14:05");
        assert_eq!(data[3].1, "7");
    }

    #[test]
    fn mappings_are_checked_against_wechats_rules() {
        assert!(validate_mapping(&default_mapping()).is_ok());
        assert!(validate_mapping(&[]).is_err());
        let bad = validate_mapping(&[
            m("thing1", NoticeSource::Referrer),
            m("Thing2", NoticeSource::Referrer),
            m("thing1", NoticeSource::Follower),
            m("number3", NoticeSource::Referrer),
            m("time4", NoticeSource::Time),
            m("7", NoticeSource::Total),
        ])
        .expect_err("refused");
        let fields: Vec<&str> = bad.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["fields.1", "fields.2", "fields.3", "fields.5"]);
    }
}
