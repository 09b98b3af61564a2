-- When a message reached Mujibak, on our clock (`created_at` of an inbound message is
-- Meta's timestamp: whole seconds, and as old as Meta's retries make it, which can be
-- days). What the customer said since the last reply is decided by arrival.
alter table messages add column received_at timestamptz;
update messages set received_at = created_at;
-- clock_timestamp(), not now(): a message whose transaction waited for a reply holding
-- its conversation is stamped after that reply.
alter table messages alter column received_at set default clock_timestamp(),
                     alter column received_at set not null;
