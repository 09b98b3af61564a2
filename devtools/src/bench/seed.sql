-- The scale scenario's rows for tenant $1: $2 customers with a conversation each, $3
-- messages spread over them (alternating customer and bot), and $4 finished job rows;
-- numbered from $5 + 1 (a second seeding continues the first).
with contacts_in as (
    insert into contacts (tenant_id, contact_id, connection_id, wa_id, name)
    select $1, gen_random_uuid(), '00000000-0000-0000-0000-000000000000'::uuid,
           '9665' || lpad(i::text, 8, '0'), 'Customer ' || i
      from generate_series($5 + 1, $5 + $2) i
    returning contact_id),
conv as (
    insert into conversations (tenant_id, conversation_id, connection_id, contact_id, last_inbound_at, last_message_at)
    select $1, gen_random_uuid(), '00000000-0000-0000-0000-000000000000'::uuid, contact_id,
           now() - random() * interval '20 hours', now() - random() * interval '20 hours'
      from contacts_in
    returning conversation_id),
numbered as (select conversation_id, row_number() over () as n from conv),
msgs as (
    insert into messages (tenant_id, message_id, conversation_id, direction, author, wamid, kind, body, status, created_at)
    select $1, gen_random_uuid(), nb.conversation_id,
           case when i % 2 = 0 then 'in' else 'out' end,
           case when i % 2 = 0 then 'customer' else 'bot' end,
           'wamid.SEED.' || ($5 + i), 'text', 'Seeded message ' || i || ' — مرحبا، متى تفتحون اليوم؟',
           case when i % 2 = 0 then 'received' else 'read' end,
           now() - make_interval(secs => ($3 - i)::float8 / 10)
      from generate_series(1, $3) i join numbered nb on nb.n = 1 + (i % $2)
    returning 1),
jobs as (
    insert into apalis.jobs (id, job_type, job, status, attempts, max_attempts, run_at, lock_at, done_at, last_result)
    select 'SEED' || lpad(($5 + i)::text, 22, '0'), 'handle_inbound', '\x7b7d'::bytea, 'Done', 1, 8,
           now() - interval '1 hour', now() - interval '1 hour', now() - interval '1 hour', '{"Ok": null}'
      from generate_series(1, $4) i
    returning 1)
select (select count(*) from msgs), (select count(*) from jobs)
