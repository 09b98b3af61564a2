-- Which plan each business held, and from when: a month's invoice bills the highest plan
-- held in that month, so moving to a cheaper plan the night before the run saves nothing.
-- Every change of tenants.plan_id writes a row (the triggers below, so no writer can
-- forget). A cheaper plan waits for the month's end: it is kept in next_plan_id with
-- next_plan_at (the start of the next Riyadh month), and the invoice run applies it; the
-- history then says it started at next_plan_at, however late the run came.
create table plan_history (
    tenant_id  uuid        not null references tenants (tenant_id) on delete cascade,
    seq        bigint      generated always as identity,
    plan_id    text        not null references plans (plan_id),
    started_at timestamptz not null,
    primary key (tenant_id, seq)
);
insert into plan_history (tenant_id, plan_id, started_at)
    select tenant_id, plan_id, created_at from tenants;

alter table tenants
    add column next_plan_id text references plans (plan_id),
    add column next_plan_at timestamptz,
    add check ((next_plan_id is null) = (next_plan_at is null));
create index tenants_next_plan on tenants (next_plan_at) where next_plan_id is not null;

create function plan_history_started() returns trigger language plpgsql as $$
begin
    insert into plan_history (tenant_id, plan_id, started_at)
        values (new.tenant_id, new.plan_id, new.created_at);
    return new;
end $$;
create trigger tenants_plan_started after insert on tenants
    for each row execute function plan_history_started();

create function plan_history_changed() returns trigger language plpgsql as $$
begin
    insert into plan_history (tenant_id, plan_id, started_at)
        values (new.tenant_id, new.plan_id,
                case when new.plan_id = old.next_plan_id then least(old.next_plan_at, now()) else now() end);
    return new;
end $$;
create trigger tenants_plan_changed after update of plan_id on tenants
    for each row when (old.plan_id is distinct from new.plan_id)
    execute function plan_history_changed();
