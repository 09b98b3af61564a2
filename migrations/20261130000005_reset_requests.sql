-- Password-reset requests a web process answered before looking the account up (so a
-- known and an unknown address are answered alike), kept until a web process has done
-- the work: a request survives a restart or a database blip. No tenant is known yet.
-- A row holds the address only until it is handled (seconds).
create table password_reset_requests (
    request_id   uuid        primary key,
    email        text        not null,
    attempts     integer     not null default 0,
    requested_at timestamptz not null default now()
);
create index password_reset_requests_requested_at on password_reset_requests (requested_at);
