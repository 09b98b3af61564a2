-- An email is claimed ('sending') before the SMTP call and marked 'sent' after it, so a
-- second run of its job (another worker took the job over, or the first died after the
-- call) can never send it again: one that finds it 'sending' marks it 'uncertain' (it may
-- have gone out; the ops console shows it) instead of sending.
alter table emails drop constraint emails_status_check;
alter table emails add constraint emails_status_check
    check (status in ('queued', 'sending', 'sent', 'failed', 'skipped', 'uncertain'));
