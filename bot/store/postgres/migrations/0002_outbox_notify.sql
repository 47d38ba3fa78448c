-- Wake the replica that posts to Slack (the leader, which LISTENs on earshot_outbox)
-- whenever any replica queues something, instead of waiting for its next poll.
CREATE FUNCTION earshot_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('earshot_outbox', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION earshot_outbox_notify();
