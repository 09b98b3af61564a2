-- The prune job deletes raw webhook events older than INBOUND_RETENTION_DAYS that are done
-- with. A BRIN index on received_at (rows arrive in time order) finds them without a scan
-- and costs next to nothing on the webhook's insert path.
create index inbound_events_received_brin on inbound_events using brin (received_at);
