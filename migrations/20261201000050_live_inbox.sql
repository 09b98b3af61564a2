-- The live inbox. `read_at`: when someone of the team last opened the conversation;
-- unread are the customer messages received after it (`received_at`: when the message
-- reached us, which for a delivery Meta retried late is long after its `created_at`).
-- What came before this migration counts as read. Every change an inbox shows is announced on the `inbox` channel
-- as "<tenant> <conversation>" (plus " handoff" when a conversation starts needing a
-- person), so each web process can push it to the business's open pages. The payload
-- carries ids only: no message text, no phone number.
alter table conversations add column read_at timestamptz;
update conversations set read_at = now();
create index messages_unread on messages (tenant_id, conversation_id, received_at) where direction = 'in';

create function inbox_notify_message() returns trigger language plpgsql as $$
begin
    perform pg_notify('inbox', new.tenant_id::text || ' ' || new.conversation_id::text);
    return null;
end $$;

create function inbox_notify_conversation() returns trigger language plpgsql as $$
begin
    perform pg_notify('inbox', new.tenant_id::text || ' ' || new.conversation_id::text
        || case when new.needs_human and not old.needs_human then ' handoff' else '' end);
    return null;
end $$;

create trigger inbox_notify after insert or update on messages
    for each row execute function inbox_notify_message();

-- Opening a conversation (read_at) is not news: announcing it would make every open page
-- re-read the thread that just marked it read.
create trigger inbox_notify after update on conversations
    for each row
    when ((old.bot_paused, old.needs_human, old.unanswered, old.notice, old.last_message_at, old.contact_id)
          is distinct from
          (new.bot_paused, new.needs_human, new.unanswered, new.notice, new.last_message_at, new.contact_id))
    execute function inbox_notify_conversation();
