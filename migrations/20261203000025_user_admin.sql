-- Staff administration in the dashboard: when each user last signed in, and whether a user's
-- membership of an account is disabled.
--
-- Users are global (one login for every account a person works in) while roles are per
-- account, so disabling is per account too: an admin of one account can stop someone working
-- there without locking them out of accounts that admin does not run. A user whose every
-- membership is disabled cannot sign in at all. app_user.disabled_at (migration 6) stays the
-- deployment-wide switch.
alter table app_user add column last_sign_in_at timestamptz;
alter table account_role add column disabled_at timestamptz;
