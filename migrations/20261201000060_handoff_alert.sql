-- The team is emailed when a customer asks for a person and nobody has opened the
-- conversation `handoff_email_minutes` later (0: never). The email waits in the outbox
-- with `unless_opened` set to the conversation; the send job skips it (status `skipped`)
-- when someone opened the conversation meanwhile or it no longer needs a person.
alter table bot_settings
    add column handoff_email_minutes integer not null default 5
        check (handoff_email_minutes between 0 and 1440);
alter table emails add column unless_opened uuid;
alter table emails drop constraint emails_status_check;
alter table emails add constraint emails_status_check check (status in ('queued', 'sent', 'failed', 'skipped'));
