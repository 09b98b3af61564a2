-- Inbound media (voice notes, images, videos, documents, stickers): the bytes downloaded
-- from Meta, and what the AI understood of them (a voice note's transcript, an image's
-- description). One row per media message, tenant-owned, deleted with its message (a
-- customer's deletion, the account's purge). Bytes stay in Postgres: at most
-- MEDIA_MAX_MB each, so a business's storage grows with the media its customers send
-- (a voice note is ~10-50 KB a minute, a photo 100-300 KB) and shrinks when they go.
create table media (
    tenant_id   uuid        not null,
    message_id  uuid        not null,
    -- Meta's media id (downloadable for 30 days) and what the message said it is.
    media_id    text        not null,
    kind        text        not null check (kind in ('audio', 'image', 'video', 'document', 'sticker')),
    mime_type   text,
    status      text        not null default 'pending' check (status in ('pending', 'ready', 'failed')),
    bytes       bytea,
    byte_size   integer,
    -- The transcript (audio) or description (image); null when not asked or not possible.
    understood  text,
    -- Why it could not be downloaded or understood (a class, never content).
    failure     text,
    attempts    integer     not null default 0,
    created_at  timestamptz not null default now(),
    finished_at timestamptz,
    primary key (tenant_id, message_id),
    foreign key (tenant_id, message_id) references messages (tenant_id, message_id) on delete cascade
);
