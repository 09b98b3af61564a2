-- No writer sends a NOTIFY inside its transaction any more. Postgres takes a database-wide
-- lock when a transaction that notified commits, and holds it until the commit is flushed:
-- every notifying transaction of every process commits one at a time (a one-row insert:
-- about 17,000 commits a second at concurrency 32 on the development machine, 3,000 when
-- it also notifies), and almost every write of the message pipeline notified (every job pushed,
-- every message stored or updated).
--
-- New jobs: apalis' insert trigger goes; each process announces its jobs once they have
-- committed (mujibak-queue's `announce`).
drop trigger if exists notify_workers on apalis.jobs;

-- The live inbox: the triggers write the change to `inbox_news` in the writer's
-- transaction, and the web processes take the committed rows and announce them on the
-- `inbox` channel in batches (`web::live`). Unlogged: after a crash the pages re-read
-- everything when their stream reconnects.
create unlogged table inbox_news (
    tenant_id       uuid    not null,
    conversation_id uuid    not null,
    handoff         boolean not null default false
);

create or replace function inbox_notify_message() returns trigger language plpgsql as $$
begin
    insert into inbox_news (tenant_id, conversation_id) values (new.tenant_id, new.conversation_id);
    return null;
end $$;

create or replace function inbox_notify_conversation() returns trigger language plpgsql as $$
begin
    insert into inbox_news (tenant_id, conversation_id, handoff)
    values (new.tenant_id, new.conversation_id, new.needs_human and not old.needs_human);
    return null;
end $$;
