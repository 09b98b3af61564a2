-- The ops console's deliveries page: webhook events that need a person (unreadable,
-- Meta's webhook-level errors, events naming another number, all recorded as processed
-- when they arrive, and events the sweeper gave up on) until staff mark them handled or
-- reprocess them. Pruning after INBOUND_RETENTION_DAYS applies to them as to any event.
alter table inbound_events add column handled_at timestamptz;
-- The staff token that marked it handled.
alter table inbound_events add column handled_by text;
create index inbound_events_attention on inbound_events (received_at desc)
    where handled_at is null
      and ((dead_at is not null and processed_at is null) or kind in ('unprocessable', 'webhook_error', 'misfiled'));
-- Sends whose outcome is unknown, across tenants, newest first.
create index messages_uncertain on messages (created_at desc) where status = 'uncertain';
