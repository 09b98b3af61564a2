-- Every webhook Meta sends, understood: edits and deletions of messages, the business's
-- welcome, echoes from the WhatsApp Business app, account updates, marketing preferences.

-- A customer (or the business, from the phone app) edited or deleted a message. A deleted
-- message keeps its row (its place in the thread) and loses its content.
alter table messages
    add column edited_at   timestamptz,
    add column deleted_at  timestamptz,
    -- Where a human reply was written: null in Mujibak's inbox, 'business_app' on the phone.
    add column sent_from   text check (sent_from in ('business_app'));

alter table contacts
    -- The business's welcome was sent to this customer (once per customer).
    add column welcomed_at          timestamptz,
    -- The customer asked to stop marketing messages (user_preferences); null once resumed.
    add column marketing_opt_out_at timestamptz,
    -- When Meta last reported a marketing preference (orders stop/resume deliveries).
    add column marketing_pref_at    timestamptz;

alter table bot_settings
    add column welcome_message text not null default '';

-- The connection follows Meta's account updates.
alter table whatsapp_connections drop constraint whatsapp_connections_status_check;
alter table whatsapp_connections add constraint whatsapp_connections_status_check
    check (status in ('active', 'needs_reauth', 'disconnected', 'deleted', 'disabled', 'restricted', 'removed', 'offboarded'));

-- New kinds of inbound events: echoes, account updates and preferences are processed;
-- known informational fields are recorded (unknown ones stay `ignored`).
alter table inbound_events drop constraint inbound_events_kind_check;
alter table inbound_events add constraint inbound_events_kind_check
    check (kind in ('message', 'status', 'echo', 'account_update', 'user_preferences', 'recorded',
                    'unprocessable', 'ignored', 'webhook_error', 'misfiled'));
drop index inbound_events_stale;
create index inbound_events_stale on inbound_events (coalesce(swept_at, received_at))
    where processed_at is null and dead_at is null
      and kind in ('message', 'status', 'echo', 'account_update', 'user_preferences');

-- A deletion scrubs the webhook payloads that carried the message or one of its edits.
create index inbound_events_edits on inbound_events (tenant_id, (payload #>> '{raw,edit,original_message_id}'))
    where payload #>> '{raw,type}' = 'edit';
