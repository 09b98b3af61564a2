-- Saved answers the team sends by their shortcut ("/hours" in the reply box), and labels
-- on customers ("vip", "wholesale") to find them by.
create table quick_replies (
    tenant_id      uuid        not null references tenants (tenant_id) on delete cascade,
    quick_reply_id uuid        primary key,
    shortcut       text        not null check (shortcut ~ '^/[^\s/]{1,30}$'),
    body           text        not null check (length(body) between 1 and 4096),
    created_at     timestamptz not null default now()
);
create unique index quick_replies_shortcut on quick_replies (tenant_id, lower(shortcut));

alter table contacts add column labels text[] not null default '{}';
create index contacts_labels on contacts using gin (labels);
