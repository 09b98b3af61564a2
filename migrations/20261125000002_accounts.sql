-- Accounts: tenants (businesses), their users, server-side sessions, single-use tokens,
-- rate-limit counters and the email outbox. Tenant-owned tables lead with tenant_id so
-- the schema can later be distributed by tenant.

create table tenants (
    tenant_id      uuid        primary key,
    business_name  text        not null check (length(business_name) between 1 and 200),
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now()
);

create table users (
    tenant_id      uuid        not null references tenants (tenant_id) on delete cascade,
    user_id        uuid        not null unique,
    name           text        not null check (length(name) between 1 and 200),
    email          text        not null check (length(email) between 3 and 254),
    -- argon2id PHC string; never the password.
    password_hash  text        not null,
    role           text        not null check (role in ('owner', 'agent')),
    locale         text        not null check (locale in ('ar', 'en')),
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now(),
    primary key (tenant_id, user_id)
);
-- One account per email, whatever its case.
create unique index users_email_key on users (lower(email));

-- Server-side sessions. The cookie carries a random token; only its SHA-256 is stored, so
-- a database dump cannot be replayed as a cookie. Anonymous sessions (user_id null) carry
-- the CSRF token and flash messages of signed-out visitors; sign-in replaces them.
create table sessions (
    session_hash   bytea       primary key,
    tenant_id      uuid,
    user_id        uuid        references users (user_id) on delete cascade,
    csrf_token     text        not null,
    flash          jsonb,
    created_at     timestamptz not null default now(),
    last_seen_at   timestamptz not null default now(),
    expires_at     timestamptz not null,
    check ((tenant_id is null) = (user_id is null))
);
create index sessions_user_id on sessions (user_id);
create index sessions_expires_at on sessions (expires_at);

-- Single-use, expiring tokens sent by email (password reset, email change, invitation).
-- Only the SHA-256 of the token is stored.
create table user_tokens (
    token_hash     bytea       primary key,
    purpose        text        not null check (purpose in ('password_reset', 'email_change', 'invitation')),
    tenant_id      uuid        not null references tenants (tenant_id) on delete cascade,
    user_id        uuid        references users (user_id) on delete cascade,
    -- The new address (email_change) or the invitee's address (invitation).
    email          text,
    expires_at     timestamptz not null,
    used_at        timestamptz,
    created_at     timestamptz not null default now()
);
create index user_tokens_tenant on user_tokens (tenant_id, purpose);

-- Fixed-window counters, shared by every web replica.
create table rate_limits (
    bucket         text        primary key,
    window_start   timestamptz not null,
    hits           integer     not null
);

-- Email outbox: a row per email, sent by the send_email job. Bodies are cleared once sent
-- (they may hold single-use links).
create table emails (
    email_id       uuid        primary key,
    tenant_id      uuid        references tenants (tenant_id) on delete set null,
    kind           text        not null,
    to_address     text        not null,
    subject        text        not null,
    body_text      text,
    body_html      text,
    status         text        not null default 'queued' check (status in ('queued', 'sent', 'failed')),
    last_error     text,
    created_at     timestamptz not null default now(),
    sent_at        timestamptz
);
create index emails_tenant on emails (tenant_id, created_at);
