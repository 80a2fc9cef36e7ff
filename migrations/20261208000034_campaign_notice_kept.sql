-- A campaign notice WeChat refused (the member's 48-hour window closed, …) is kept and sent
-- again once the member next interacts with the account, as referrer notices are.
alter table campaign_notice drop constraint campaign_notice_status_check,
    add constraint campaign_notice_status_check
        check (status in ('queued', 'sent', 'failed', 'kept')),
    add column kept_at timestamptz,
    add constraint campaign_notice_kept check ((status = 'kept') = (kept_at is not null));
create index campaign_notice_kept on campaign_notice (account_id, referrer_id) where status = 'kept';
