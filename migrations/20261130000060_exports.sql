-- Data exports (the privacy policy's "access or export your data"): one row per export an
-- owner asked for, and its ZIP in chunks of bytes. Chunks live in Postgres because web and
-- worker dynos share no disk; a ZIP is kept 7 days after it is ready, then its chunks are
-- deleted and the row stays as the record that it was made and fetched.
create table exports (
    tenant_id      uuid        not null references tenants (tenant_id) on delete cascade,
    export_id      uuid        not null unique,
    requested_by   uuid        not null,
    requested_at   timestamptz not null default now(),
    status         text        not null default 'queued'
                   check (status in ('queued', 'building', 'ready', 'failed', 'expired')),
    -- Progress while building: rows written out of rows counted at the start.
    rows_done      bigint      not null default 0,
    rows_total     bigint      not null default 0,
    bytes          bigint,
    ready_at       timestamptz,
    expires_at     timestamptz,
    downloads      integer     not null default 0,
    -- An error kind, never row content.
    error          text        check (length(error) <= 500),
    primary key (tenant_id, export_id),
    check ((status = 'ready') = (ready_at is not null and expires_at is not null) or status = 'expired')
);
-- At most one export in the making per tenant.
create unique index exports_open on exports (tenant_id) where status in ('queued', 'building');
-- The expiry sweep's scan.
create index exports_expiring on exports (expires_at) where status = 'ready';

create table export_chunks (
    export_id      uuid        not null references exports (export_id) on delete cascade,
    seq            integer     not null,
    data           bytea       not null,
    primary key (export_id, seq)
);
-- Chunks are written once and read whole: keep them out of compression attempts and
-- let TOAST store them out of line.
alter table export_chunks alter column data set storage external;
