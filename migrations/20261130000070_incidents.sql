-- Breach notification (privacy policy; PDPL): staff record an incident, then notify the
-- users of the tenants it affected, one row per incident and user. The primary key of
-- incident_notifications is what makes a second "notify" send nothing twice: the fan-out
-- inserts with ON CONFLICT DO NOTHING and enqueues a `notify_breach` job only for the rows
-- it inserted, in the same transaction. Rows hold ids, states and SMTP reply classes only:
-- the address is looked up when the mail is sent, and no personal data is copied here.

create table incidents (
    incident_id       uuid        primary key,
    title             text        not null check (length(title) between 1 and 200),
    description_ar    text        not null check (length(description_ar) between 1 and 5000),
    description_en    text        not null check (length(description_en) between 1 and 5000),
    -- When Mujibak became aware of it: the regulator's 72 hours run from here.
    detected_at       timestamptz not null,
    -- The staff token that recorded it, and its name then.
    recorded_by       text        not null,
    recorded_by_name  text        not null,
    created_at        timestamptz not null default now(),
    -- Every tenant, or only those in incident_tenants.
    affects_all       boolean     not null,
    -- The first "notify affected users"; the in-app banner runs 30 days from it.
    notified_at       timestamptz
);

create table incident_tenants (
    incident_id  uuid not null references incidents (incident_id) on delete cascade,
    tenant_id    uuid not null references tenants (tenant_id) on delete cascade,
    primary key (incident_id, tenant_id)
);

create table incident_notifications (
    incident_id  uuid        not null references incidents (incident_id) on delete cascade,
    user_id      uuid        not null,
    tenant_id    uuid        not null,
    -- queued → sent; failed once the SMTP server refused it for good or attempts ran out;
    -- skipped when the tenant was purged (its users anonymised) before the mail went.
    status       text        not null default 'queued'
                             check (status in ('queued', 'sent', 'failed', 'skipped')),
    attempts     integer     not null default 0,
    -- The SMTP reply class and code only (never the server's text, which can quote the address).
    last_error   text        check (length(last_error) <= 500),
    queued_at    timestamptz not null default now(),
    sent_at      timestamptz,
    primary key (incident_id, user_id)
);
-- The banner's lookup: which notified incidents name a signed-in user's tenant.
create index incident_notifications_tenant on incident_notifications (tenant_id, incident_id);
