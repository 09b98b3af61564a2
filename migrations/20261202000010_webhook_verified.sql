-- When Meta last verified the connection's webhook URL (the GET handshake with our verify
-- token): the settings page's setup checklist shows it, so an owner knows the callback URL
-- and token were pasted right before any customer writes.
alter table whatsapp_connections add column webhook_verified_at timestamptz;
