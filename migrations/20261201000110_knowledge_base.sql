-- A knowledge base per business: FAQ entries (a question and its answer) and pasted
-- documents (menus, price lists, policies), split into passages that Postgres full-text
-- search finds. The bot page's pasted knowledge text is indexed too (passages with no
-- entry). Before the model is asked, the passages that match the customer's question
-- are put in its prompt, not the whole knowledge.

-- Arabic as customers type it: one alef (أ إ آ ٱ → ا), ى → ي, ة → ه, no diacritics or
-- tatweel; lower-cased. Applied to passages and questions alike, so spelling variants
-- meet; the `arabic` configuration's stemmer then drops the article (التوصيل → توصيل).
create function kb_normalize(t text) returns text language sql immutable parallel safe
    return regexp_replace(translate(lower(t), 'أإآٱىة', 'اااايه'), '[\u064B-\u065F\u0670\u0640]', '', 'g');

-- A text's passages: paragraphs (split at blank lines), and each FAQ pair on its own (a
-- line starting with "Q:" or "س:" starts a passage).
create function kb_passages(t text) returns setof text language sql immutable parallel safe
begin atomic
    select btrim(p) from regexp_split_to_table(t, E'\\n\\s*\\n|\\n(?=[ \\t]*(?:Q:|q:|س:))') p
     where btrim(p) <> '';
end;

create table knowledge_entries (
    tenant_id  uuid        not null references tenants (tenant_id) on delete cascade,
    entry_id   uuid        not null unique,
    kind       text        not null check (kind in ('faq', 'document')),
    -- The question of an FAQ entry, the name of a document.
    title      text        not null check (length(title) between 1 and 300),
    -- The answer, or the document's text.
    body       text        not null check (length(body) between 1 and 50000),
    created_at timestamptz not null default now(),
    primary key (tenant_id, entry_id)
);

create extension if not exists btree_gin;

create table knowledge_passages (
    tenant_id  uuid   not null references tenants (tenant_id) on delete cascade,
    passage_id bigint generated always as identity,
    -- Null: a passage of the bot page's pasted knowledge text.
    entry_id   uuid,
    body       text   not null,
    search     tsvector generated always as
                 (to_tsvector('arabic', kb_normalize(body)) || to_tsvector('english', body)) stored,
    primary key (tenant_id, passage_id),
    foreign key (tenant_id, entry_id) references knowledge_entries (tenant_id, entry_id) on delete cascade
);
create index knowledge_passages_search on knowledge_passages using gin (tenant_id, search);
create index knowledge_passages_entry on knowledge_passages (tenant_id, entry_id);

-- The bot pages' knowledge text, as it stands.
insert into knowledge_passages (tenant_id, body)
select b.tenant_id, p from bot_settings b, kb_passages(b.knowledge) p;
