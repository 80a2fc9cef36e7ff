-- API tokens may expire: a token past its expiry authenticates nothing (like a revoked one).
alter table api_token add column expires_at timestamptz;
