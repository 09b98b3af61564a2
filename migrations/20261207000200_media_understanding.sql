-- Media understanding is the business's choice (#29): a customer's voice note or photo is
-- sent to the model provider (transcribed, described) only when the owner turned it on in
-- the bot settings. Off for every business until its owner does: the policy promises the
-- model provider conversation snippets, not whole recordings and pictures.
alter table bot_settings add column media_understanding boolean not null default false;
