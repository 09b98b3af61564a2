-- A conversation is read in the order its messages reached Mujibak (`seq`, from one
-- sequence, assigned as each row is stored), never by Meta's timestamp (`created_at`,
-- whole seconds, kept for display): two messages a customer sends within one second keep
-- their order in the thread and in what the model reads. Existing rows are numbered by
-- arrival (`received_at`), then Meta's time.
create sequence if not exists messages_seq as bigint;
alter table messages add column if not exists seq bigint;
update messages m set seq = o.n
  from (select tenant_id, message_id,
               row_number() over (order by received_at, created_at, message_id) as n
          from messages) o
 where o.tenant_id = m.tenant_id and o.message_id = m.message_id;
select setval('messages_seq', coalesce((select max(seq) from messages), 0) + 1, false);
alter table messages alter column seq set default nextval('messages_seq'),
                     alter column seq set not null;
alter sequence messages_seq owned by messages.seq;
create index if not exists messages_thread_arrival on messages (tenant_id, conversation_id, seq);
