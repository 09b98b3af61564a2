-- Outside business hours a customer gets the away message once per closed period (not
-- once per message), and the business chooses whether the AI keeps answering meanwhile.
alter table bot_settings
    add column away_mode text not null default 'notice_only'
        check (away_mode in ('notice_only', 'notice_and_ai'));
-- When the conversation's customer last got the away message.
alter table conversations add column away_noticed_at timestamptz;
