-- The webhook's verify token is a secret (whoever knows it can answer Meta's handshake for
-- the number's webhook URL): it is sealed like the access token and app secret, bound to
-- the connection id. Rows from before this migration keep their plaintext until
-- `mujibak migrate` (the release phase, which has ENCRYPTION_KEYS) or `mujibak rotate-keys`
-- seals it and clears the plaintext column.
alter table whatsapp_connections
    add column verify_token_enc text,
    alter column verify_token drop not null,
    add constraint whatsapp_connections_verify_token_kept
        check (verify_token is not null or verify_token_enc is not null);
