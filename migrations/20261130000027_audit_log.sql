-- The audit log: one row per sensitive action (an owner's or member's sign-in, password
-- and email changes, connection changes, team changes; staff and system actions such as
-- a key rotation). Append-only: the database refuses UPDATE, DELETE and TRUNCATE, even
-- of no rows. No foreign keys: the rows outlive the tenant and user they name (the
-- privacy policy keeps audit records after an account is deleted). Rows hold ids and
-- action details, never message text, passwords, tokens or email addresses.
create table audit_log (
    audit_id   bigint      generated always as identity primary key,
    at         timestamptz not null default now(),
    -- The tenant acted on; null for actions on no tenant (a key rotation).
    tenant_id  uuid,
    actor_kind text        not null check (actor_kind in ('user', 'staff', 'system')),
    -- The user (actor_kind 'user') or staff member's token id (actor_kind 'staff').
    actor_id   text,
    action     text        not null,
    detail     jsonb       not null default '{}'
);
create index audit_log_tenant_at on audit_log (tenant_id, at desc);
create index audit_log_at on audit_log (at desc);

create function audit_log_is_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'audit_log is append-only: % is refused', tg_op using errcode = 'insufficient_privilege';
end $$;
create trigger audit_log_append_only before update or delete or truncate on audit_log
    for each statement execute function audit_log_is_append_only();
