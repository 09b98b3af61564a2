-- Billing's ledger: plans, and invoices and credit notes as Saudi VAT and ZATCA want them.
-- An issued invoice is never changed: the database refuses UPDATE and DELETE on
-- `invoices` and `invoice_lines` (a correction is a credit note); what changes later
-- (paid, credited) lives in `invoice_states`. Numbers are gapless per kind and year
-- (`invoice_counters`, bumped in the issuing transaction: a rollback gives the number
-- back); the ZATCA chain (ICV, PIH) runs across every document (`invoice_chain`, one
-- row, locked by each issue, which also serialises issuers). Invoices reference the
-- tenant without cascade: they outlive an account deletion (6 years) with the buyer's
-- details as printed.

create table plans (
    plan_id        text        primary key,
    name_en        text        not null,
    name_ar        text        not null,
    price_halalas  bigint      not null check (price_halalas >= 0),
    ai_replies     integer     not null check (ai_replies >= 0),
    numbers        integer     not null check (numbers >= 0),
    seats          integer     not null check (seats >= 1),
    -- Models a tenant on this plan may choose (within the operator's OPENAI_MODELS);
    -- empty: the operator's default only.
    models         text[]      not null default '{}',
    position       integer     not null
);
insert into plans (plan_id, name_en, name_ar, price_halalas, ai_replies, numbers, seats, position) values
    ('trial',   'Trial',   'تجربة',   0,     100,   1, 2,  1),
    ('starter', 'Starter', 'أساسية', 9900,  1000,  1, 3,  2),
    ('pro',     'Pro',     'احترافية', 29900, 10000, 3, 10, 3);

create table invoice_counters (
    kind  text    not null check (kind in ('invoice', 'credit_note')),
    year  integer not null,
    last  bigint  not null,
    primary key (kind, year)
);

create table invoice_chain (
    only_row   boolean primary key default true check (only_row),
    icv        bigint  not null,
    last_hash  text    not null
);
insert into invoice_chain (icv, last_hash)
    values (0, 'NWZlY2ViNjZmZmM4NmYzOGQ5NTI3ODZjNmQ2OTZjNzljMmRiYzIzOWRkNGU5MWI0NjcyOWQ3M2EyN2ZiNTdlOQ==');

create table invoices (
    invoice_id      uuid        primary key,
    tenant_id       uuid        not null references tenants (tenant_id),
    kind            text        not null check (kind in ('invoice', 'credit_note')),
    number          text        not null unique,
    -- The period billed (the Riyadh calendar month), for invoices.
    period_start    date,
    -- The invoice a credit note reverses.
    credits         uuid        references invoices (invoice_id),
    issued_at       timestamptz not null,
    seller_name     text        not null,
    seller_vat      text        not null,
    seller_address  text        not null,
    buyer_name      text        not null,
    buyer_email     text        not null,
    currency        text        not null default 'SAR' check (currency = 'SAR'),
    subtotal        bigint      not null,
    vat             bigint      not null,
    total           bigint      not null check (total = subtotal + vat),
    qr              text        not null,
    uuid            uuid        not null unique,
    icv             bigint      not null unique,
    pih             text        not null,
    hash            text        not null,
    check ((kind = 'invoice') = (period_start is not null)),
    check ((kind = 'credit_note') = (credits is not null))
);
-- One invoice per tenant and period, one credit note per invoice.
create unique index invoices_period on invoices (tenant_id, period_start) where kind = 'invoice';
create unique index invoices_credited on invoices (credits) where kind = 'credit_note';
create index invoices_tenant on invoices (tenant_id, issued_at desc);

create table invoice_lines (
    invoice_id      uuid    not null references invoices (invoice_id),
    line_no         integer not null,
    description_ar  text    not null,
    description_en  text    not null,
    quantity        integer not null check (quantity > 0),
    unit_halalas    bigint  not null,
    amount_halalas  bigint  not null check (amount_halalas = quantity * unit_halalas),
    primary key (invoice_id, line_no)
);

create table invoice_states (
    invoice_id  uuid        primary key references invoices (invoice_id),
    status      text        not null default 'open' check (status in ('open', 'paid', 'credited')),
    paid_at     timestamptz,
    updated_at  timestamptz not null default now()
);

create function invoices_are_immutable() returns trigger language plpgsql as $$
begin
    raise exception '% is immutable once issued: % is refused (issue a credit note)', tg_table_name, tg_op
        using errcode = 'insufficient_privilege';
end $$;
create trigger invoices_immutable before update or delete or truncate on invoices
    for each statement execute function invoices_are_immutable();
create trigger invoice_lines_immutable before update or delete or truncate on invoice_lines
    for each statement execute function invoices_are_immutable();
