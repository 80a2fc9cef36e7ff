-- WeChat's customer-service window is 48 hours after a message the user sent, but only one
-- minute after a follow, a scan or a menu click: the simulated users keep both, and the kept
-- notices waiting for a job (`queued`) are found by their own index.
alter table sandbox_user add column last_message_at timestamptz;
create index notification_queued on notification (account_id) where status = 'queued';
