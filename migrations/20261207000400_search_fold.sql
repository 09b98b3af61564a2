-- The inbox search reads names and messages the way Saudis type them: both the text
-- searched and the words typed go through search_fold (Arabic letter forms unified:
-- alef forms to bare alef, alef maqsura to ya, ta marbuta to ha, hamza on waw and ya
-- to the bare letter; diacritics and tatweel dropped; lower case), so a name typed with
-- ha finds one written with ta marbuta. The trigram indexes follow the folded text (they
-- replace the raw ones).
create or replace function search_fold(t text) returns text language sql immutable parallel safe
    return regexp_replace(translate(lower(t), 'أإآٱىةؤئ', 'اااايهوي'), '[\u064B-\u065F\u0670\u0640]', '', 'g');

create index if not exists messages_body_fold_trgm on messages using gin (search_fold(body) gin_trgm_ops);
create index if not exists contacts_name_fold_trgm on contacts using gin (search_fold(name) gin_trgm_ops);
drop index if exists messages_body_trgm;
drop index if exists contacts_name_trgm;
