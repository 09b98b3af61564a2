-- Dates shown in the Hijri (Umm al-Qura) calendar instead of the Gregorian one, per user.
alter table users add column calendar text not null default 'gregorian'
    check (calendar in ('gregorian', 'hijri'));
