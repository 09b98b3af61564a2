-- A team's tools in the inbox: who replied (the agent's name instead of "Team"), who a
-- conversation is assigned to, and internal notes that never reach the customer. A
-- removed member's replies and notes stay, without their name.
alter table messages add column author_user_id uuid references users (user_id) on delete set null;
alter table conversations add column assigned_to uuid references users (user_id) on delete set null;
create index conversations_assigned on conversations (tenant_id, assigned_to) where assigned_to is not null;

create table notes (
    tenant_id       uuid        not null references tenants (tenant_id) on delete cascade,
    note_id         uuid        primary key,
    conversation_id uuid        not null references conversations (conversation_id) on delete cascade,
    author_user_id  uuid        references users (user_id) on delete set null,
    body            text        not null check (length(body) between 1 and 4000),
    created_at      timestamptz not null default now()
);
create index notes_thread on notes (tenant_id, conversation_id, created_at);

-- A note, and an assignment, are news for the open pages too.
create trigger inbox_notify after insert on notes
    for each row execute function inbox_notify_message();
drop trigger inbox_notify on conversations;
create trigger inbox_notify after update on conversations
    for each row
    when ((old.bot_paused, old.needs_human, old.unanswered, old.notice, old.last_message_at, old.contact_id,
           old.assigned_to)
          is distinct from
          (new.bot_paused, new.needs_human, new.unanswered, new.notice, new.last_message_at, new.contact_id,
           new.assigned_to))
    execute function inbox_notify_conversation();
