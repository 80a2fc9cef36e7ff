//! Who is asking: the account a call is for, the caller's role in it, and their name for the
//! audit log. Every service call takes an [`Actor`] and checks the role itself, so the rule
//! "who may do what" is written once, whichever door (REST, dashboard, CLI) the call came in by.

use app::model::{CurrentUser, Role};

use crate::referral::error::ServiceError;

/// The caller of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The account every read and write of the call is scoped to.
    pub account_id: i64,
    /// The caller's role in that account.
    pub role: Role,
    pub principal: Principal,
}

/// Who the caller is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A dashboard user signed in with a session.
    User { id: i64, username: String },
    /// A REST API token, by its name.
    Token { name: String },
    /// The `tuijian` command line, run by whoever can reach the database.
    Cli,
    /// A follower acting on their own member code (asking for it, opening their page).
    Member { referrer_id: i64 },
}

impl Actor {
    /// A signed-in dashboard user, with the role they hold in their account.
    pub fn user(user: &CurrentUser) -> Self {
        Actor {
            account_id: user.account_id,
            role: user.role,
            principal: Principal::User {
                id: user.id,
                username: user.username.clone(),
            },
        }
    }

    /// A REST API token.
    pub fn token(account_id: i64, role: Role, name: &str) -> Self {
        Actor {
            account_id,
            role,
            principal: Principal::Token {
                name: name.to_owned(),
            },
        }
    }

    /// The command line: whoever can run it can reach the database, so it acts as admin.
    pub fn cli(account_id: i64) -> Self {
        Actor {
            account_id,
            role: Role::Admin,
            principal: Principal::Cli,
        }
    }

    /// A member making or renewing their own code: the staff role, for that one referrer.
    pub fn member(account_id: i64, referrer_id: i64) -> Self {
        Actor {
            account_id,
            role: Role::Staff,
            principal: Principal::Member { referrer_id },
        }
    }

    /// Refuses the call unless the caller's role includes `needed`.
    pub fn require(&self, needed: Role) -> Result<(), ServiceError> {
        if self.role.allows(needed) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(needed))
        }
    }

    /// The name written to the audit log: `user:<name>`, `token:<name>` or `cli`.
    pub fn audit_name(&self) -> String {
        match &self.principal {
            Principal::User { username, .. } => format!("user:{username}"),
            Principal::Token { name } => format!("token:{name}"),
            Principal::Cli => "cli".to_owned(),
            Principal::Member { .. } => "member".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_allows_its_own_and_lower_calls_only() {
        let staff = Actor::token(1, Role::Staff, "ci");
        assert!(staff.require(Role::Staff).is_ok());
        assert!(matches!(
            staff.require(Role::Manager),
            Err(ServiceError::Forbidden(Role::Manager))
        ));
        assert!(Actor::cli(1).require(Role::Admin).is_ok());
    }

    #[test]
    fn audit_names_say_which_door_the_call_came_in_by() {
        let user = CurrentUser {
            id: 7,
            account_id: 2,
            username: "li".into(),
            role: Role::Manager,
        };
        let actor = Actor::user(&user);
        assert_eq!(actor.account_id, 2);
        assert_eq!(actor.audit_name(), "user:li");
        assert_eq!(
            Actor::token(2, Role::Staff, "crm").audit_name(),
            "token:crm"
        );
        assert_eq!(Actor::cli(2).audit_name(), "cli");
        assert_eq!(Actor::member(2, 9).audit_name(), "member");
    }
}
