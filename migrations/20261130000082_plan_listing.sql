-- Plans an owner can see and choose. Load-test and other internal plans are unlisted.
alter table plans add column listed boolean not null default true;
