-- job_errors.kind gains 'lost': a job claimed for a live worker whose claim's answer
-- never reached it (the connection cut between the claim's commit and its reply); the
-- worker's own heartbeat puts it back.
comment on column job_errors.kind is
    'transient | rate_limited | permanent | crashed | abandoned | interrupted | undecodable | lost';
