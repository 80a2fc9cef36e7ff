-- When WeChat last checked an account's callback URL (the 提交 button of 服务器配置 sends a
-- signed GET) and whether its signature held: the setup page and `tuijian doctor` tell a URL
-- WeChat verified from one it never tried, or tried with another Token.
alter table account add column url_verified_at timestamptz,
    add column url_check_failed_at timestamptz;
