-- Pipeline guarantees: effectively-once sends, events that stand alone, deliveries that
-- are never lost or mis-filed.

-- A send with an unknown outcome is `uncertain` (messages.status is free text); it is
-- settled by Meta's status (matched by our id echoed as callback data) or sent once more.
alter table messages
    -- When the reconcile job sent an unconfirmed message once more (at most once).
    add column resent_at     timestamptz,
    -- What the inbox explains about how the send ended: confirmed_late | resent |
    -- unconfirmed | sent_twice.
    add column delivery_note text;

-- Statuses for a message we do not know (yet): sent from another tool, or reported before
-- our send stored Meta's id. Applied, then deleted, when a message gets this wamid.
create table parked_statuses (
    tenant_id    uuid        not null references tenants (tenant_id) on delete cascade,
    wamid        text        not null,
    status       text        not null,
    -- The parsed StatusUpdate, as handle_inbound read it.
    payload      jsonb       not null,
    event_id     uuid        not null,
    parked_at    timestamptz not null default now(),
    primary key (tenant_id, wamid, status)
);
create index parked_statuses_parked_at on parked_statuses (parked_at);

-- Webhook-level errors, change fields we do not handle and deliveries naming another
-- number are recorded (never processed).
alter table inbound_events drop constraint inbound_events_kind_check;
alter table inbound_events add constraint inbound_events_kind_check
    check (kind in ('message', 'status', 'unprocessable', 'ignored', 'webhook_error', 'misfiled'));

-- One event, one fate: each event's failures are counted on its row; the sweeper
-- re-enqueues events left unprocessed and, after a bounded number of sweeps, marks them
-- dead (kept, with their last error, for staff).
alter table inbound_events
    add column attempts     integer     not null default 0,
    add column attempted_at timestamptz,
    add column sweeps       integer     not null default 0,
    add column swept_at     timestamptz,
    add column dead_at      timestamptz;
drop index inbound_events_unprocessed;
create index inbound_events_stale on inbound_events (coalesce(swept_at, received_at))
    where processed_at is null and dead_at is null and kind in ('message', 'status');
