//! Roles and what they may do (shared with the dashboard: `app::model::Role`).

pub use app::model::Role;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_roles_include_lower_ones() {
        assert!(Role::Admin.allows(Role::Manager));
        assert!(Role::Manager.allows(Role::Staff));
        assert!(!Role::Staff.allows(Role::Manager));
        assert!(!Role::Manager.allows(Role::Admin));
        for r in [Role::Staff, Role::Manager, Role::Admin] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
