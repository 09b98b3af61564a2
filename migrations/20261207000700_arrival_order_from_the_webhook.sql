-- A message's place in its conversation (`messages.seq`) is taken when its webhook event is
-- stored (before the webhook answers 200), no longer when a worker stores the message: two
-- messages of one customer processed by two workers at once, or the later one in an earlier
-- batch, keep the order in which they reached Mujibak. Events stored before this migration
-- have none; their messages number themselves as before.
alter table inbound_events add column if not exists seq bigint;
alter table inbound_events alter column seq set default nextval('messages_seq');
