-- Payment through Moyasar. Each invoice of ours gets one hosted Moyasar invoice (its
-- payment link), recorded on the invoice's mutable state; the issued invoice itself
-- stays untouched. Webhook events are kept by Moyasar's event id, so a redelivered
-- event is processed once. A business whose invoice stays unpaid too long has its bot
-- paused (`billing_hold_since`) until it pays; staff suspension is a different thing.

alter table invoice_states
    add column moyasar_id  text unique,
    add column pay_url     text,
    -- The Moyasar payment that paid it.
    add column payment_id  text,
    -- Why staff must look (a paid Moyasar invoice whose amount or currency differs).
    add column flagged     text,
    add column flagged_at  timestamptz,
    add column reminded_at timestamptz,
    -- The last time Moyasar was asked about it (webhook, callback or reconciliation).
    add column checked_at  timestamptz;

-- The reconciliation's scan: open invoices.
create index invoice_states_open on invoice_states (invoice_id) where status = 'open';

create table moyasar_events (
    event_id     text        primary key,
    kind         text        not null,
    -- The payment (or invoice) the event is about; re-fetched, never trusted.
    object_id    text        not null,
    live         boolean     not null,
    received_at  timestamptz not null default now(),
    processed_at timestamptz
);

alter table tenants add column billing_hold_since timestamptz;
