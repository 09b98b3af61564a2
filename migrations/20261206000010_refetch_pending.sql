-- Moyasar's invoice callback carries no secret: it may only ask for one refetch of an
-- invoice at a time. Set when a callback queues the refetch, cleared when the refetch
-- runs; a mark older than ten minutes (a lost job) lets a callback queue another.
alter table invoice_states add column refetch_queued_at timestamptz;
