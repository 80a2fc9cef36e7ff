-- Nothing is held open across a WeChat call: no transaction, no advisory lock. Work that must
-- happen once for every instance (fetching the access token, making a member's code) is
-- claimed with a short lease in one statement, done with nothing open, then recorded; a
-- crashed claimer's lease runs out by itself.

-- The token refresh: one instance holds the claim while it fetches, the others wait for the
-- token it stores. The row of an account that never had a token holds the claim of its first
-- fetch, hence token and expiry may be null (both or neither).
alter table access_token
    alter column token drop not null,
    alter column expires_at drop not null,
    add column refresh_claimed_until timestamptz,
    add constraint access_token_token_with_expiry check ((token is null) = (expires_at is null));

-- Making a member's code (qrcode/create): one request makes it, a concurrent one waits for it.
alter table referrer add column code_claimed_until timestamptz;
