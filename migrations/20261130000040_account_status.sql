-- An account's status: staff can suspend a tenant, and an owner (or staff, on an emailed
-- request) can ask for its deletion. `tenant_is_active` is the one definition of "may use
-- the service", shared by the gate in core (`accounts::status`) and the webhook's store
-- statement, which re-checks it in the same statement (a web process's connection cache
-- may be a few seconds old).

alter table tenants
    add column suspended_at     timestamptz,
    add column suspended_reason text check (length(suspended_reason) <= 500);

-- One row per deletion request. No foreign key to users: `requested_by` names a user id
-- or a staff token id (`requested_by_kind` says which). Rows stay after the purge (they
-- hold ids and dates only) as the proof of when the promise was kept.
create table deletion_requests (
    tenant_id          uuid        not null references tenants (tenant_id) on delete cascade,
    request_id         uuid        not null unique,
    requested_at       timestamptz not null default now(),
    requested_by_kind  text        not null check (requested_by_kind in ('user', 'staff', 'system')),
    requested_by       text,
    -- Staff's note (e.g. which email asked); never set for an owner's own request.
    reason             text        check (length(reason) <= 500),
    purge_after        timestamptz not null,
    -- The confirmation email (outbox id); the purge waits for it to be handled.
    confirmation_email uuid,
    cancelled_at       timestamptz,
    cancelled_by       text,
    completed_at       timestamptz,
    primary key (tenant_id, request_id),
    check (purge_after <= requested_at + interval '30 days'),
    check (cancelled_at is null or completed_at is null)
);
-- At most one open (neither cancelled nor completed) request per tenant.
create unique index deletion_requests_open on deletion_requests (tenant_id)
    where cancelled_at is null and completed_at is null;
-- The daily sweep's scan.
create index deletion_requests_due on deletion_requests (purge_after)
    where cancelled_at is null and completed_at is null;

create function tenant_is_active(t uuid) returns boolean
    language sql stable
    as $$
        select exists (select 1 from tenants where tenant_id = t and suspended_at is null)
           and not exists (select 1 from deletion_requests where tenant_id = t and cancelled_at is null)
    $$;
