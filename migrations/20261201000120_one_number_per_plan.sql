-- A business connects one WhatsApp number (whatsapp_connections allows one live row
-- per tenant), so no plan may sell more: Pro listed 3. The check keeps a plan from promising
-- numbers the product cannot connect until several numbers per business are built.
update plans set numbers = 1 where numbers > 1;
alter table plans add constraint plans_numbers_connectable check (numbers <= 1);
