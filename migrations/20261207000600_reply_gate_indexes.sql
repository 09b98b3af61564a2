-- What every reply job asks first (`db::conversations::for_reply`), made cheap:
--
-- "Is a message of this customer, delivered in the last seconds, still waiting to be
-- stored?" walked every unprocessed event of the business through `inbound_events_stale`
-- (in the pipeline bench, 7,400-8,900 buffer reads and 10 ms per reply: half of Postgres'
-- time). These indexes hold only the unprocessed customer messages, keyed by sender, so
-- the answer is one probe for each of the customer's two ids. The query and the indexes
-- say "unprocessed" as `coalesce(processed_at, dead_at) is null`, which the planner cannot
-- match to `inbound_events_stale`'s predicate: a plan cached while the table was small
-- chose that index and kept walking it.
create index inbound_events_unstored_by_wa_id
    on inbound_events (tenant_id, (payload ->> 'wa_id'), received_at)
    where coalesce(processed_at, dead_at) is null and kind = 'message';
create index inbound_events_unstored_by_bsuid
    on inbound_events (tenant_id, (payload ->> 'bsuid'), received_at)
    where coalesce(processed_at, dead_at) is null and kind = 'message';

-- "May the account use the service?" was a SQL function Postgres cannot inline (its body
-- has subqueries), so every statement calling it planned it again: in the webhook, the
-- reply and the send. PL/pgSQL keeps its query's plan for the session. Same rule.
create or replace function tenant_is_active(t uuid) returns boolean
    language plpgsql stable
    as $$
begin
    return exists (select 1 from tenants where tenant_id = t and suspended_at is null)
       and not exists (select 1 from deletion_requests where tenant_id = t and cancelled_at is null);
end $$;
