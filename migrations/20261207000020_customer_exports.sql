-- A data export of one WhatsApp customer (the business honouring its customer's access
-- request): the same rows, files and format as an account export, only the customer's.
-- The contact may be erased afterwards; the export row stays as the record that it was made.
alter table exports add column contact_id uuid;
