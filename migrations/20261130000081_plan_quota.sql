-- Plan limits: each tenant is on a plan (new ones on the trial); AI replies are counted
-- per Riyadh calendar month when Meta accepts them (a failed send costs the business
-- nothing), and the owner is warned at 80 % and at 100 %, once each per month.
alter table tenants add column plan_id text not null default 'trial' references plans (plan_id);

-- A reply the model wrote (not the away, fallback or welcome message, not a person's).
alter table messages add column generated boolean not null default false;

create table ai_usage_monthly (
    tenant_id    uuid        not null references tenants (tenant_id) on delete cascade,
    -- The first day of the Riyadh month.
    month        date        not null,
    replies      integer     not null default 0,
    warned_80_at  timestamptz,
    warned_100_at timestamptz,
    primary key (tenant_id, month)
);
