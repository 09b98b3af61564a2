-- Issue 8 (security hardening): proven email addresses, two more kinds of emailed link,
-- and WhatsApp connections that hold their number only once Meta accepted their token.

-- When the account proved it reads its address (a verification, reset or email-change
-- link used). Owners who signed up before this are unproven until they use one; an agent
-- joined through a link mailed to their address, which proved it.
alter table users add column email_verified_at timestamptz;
update users set email_verified_at = created_at where role = 'agent';

-- Invitations still open were sent by owners who have not proven their address (none had,
-- before this): they are voided, so no member joins through an account whose owner may
-- not be who they claim. Owners invite again once they confirm their address.
update user_tokens set used_at = now()
 where purpose = 'invitation' and used_at is null;

-- email_verification: proves the address after sign-up. email_revert: mailed to the old
-- address after an email change, to take the account back.
alter table user_tokens drop constraint user_tokens_purpose_check;
alter table user_tokens add constraint user_tokens_purpose_check check (purpose in
    ('password_reset', 'email_change', 'invitation', 'email_verification', 'email_revert'));
-- Voiding a user's open links (a password or email change) finds them by user.
create index user_tokens_open_by_user on user_tokens (tenant_id, user_id) where used_at is null;

-- When Meta last accepted the connection's token for its number (null: connected before
-- the check existed, never verified). Only a verified live connection holds its number.
alter table whatsapp_connections add column verified_at timestamptz;
drop index whatsapp_connections_live_number;
create unique index whatsapp_connections_live_number on whatsapp_connections (phone_number_id)
    where unlinked_at is null and verified_at is not null;
