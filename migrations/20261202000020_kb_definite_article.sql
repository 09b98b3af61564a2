-- The Arabic stemmer strips the definite article but then leaves a word's ending alone, so
-- "العجوة" and "عجوة" stemmed apart and a question with the article missed the passage
-- without it (found by `mujibak eval`). The article (ال, with و ب ف ك before it, and لل) is
-- now dropped from words of three letters or more before stemming, on both sides; the
-- stored search vectors are recomputed.
create or replace function kb_normalize(t text) returns text language sql immutable parallel safe
    return regexp_replace(
        regexp_replace(translate(lower(t), 'أإآٱىة', 'اااايه'), '[\u064B-\u065F\u0670\u0640]', '', 'g'),
        '(^|[^\u0621-\u064A])(و?[بفك]?ال|لل)([\u0621-\u064A]{3,})', '\1\3', 'g');

update knowledge_passages set body = body;
