-- Hand-off to a person: what the customer is told when a person takes over (empty: a
-- bilingual default), and the business's own phrases that ask for a person (one per
-- line, beside the built-in Arabic and English ones).
alter table bot_settings
    add column handoff_message text not null default '',
    add column handoff_phrases text not null default '';
