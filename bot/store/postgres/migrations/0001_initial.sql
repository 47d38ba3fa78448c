-- Earshot's first schema. Each table keeps the whole document as JSON (the same shape
-- the TinyDB backend journals, so `store copy` and both backends agree on every field)
-- plus the columns its queries filter and sort on.

-- One row per counter: mention numbers come from here inside the insert's own statement,
-- so a refused insert (duplicate key) uses no number and none is ever reused.
CREATE TABLE counters (
    name  text PRIMARY KEY,
    value bigint NOT NULL
);
INSERT INTO counters (name, value) VALUES ('mentions', 0);

CREATE TABLE mentions (
    number        bigint PRIMARY KEY,
    key           text NOT NULL UNIQUE,
    fingerprint   text,                 -- NULL when empty
    urls          text[] NOT NULL,      -- url and every link's url (find_by_link)
    created_at    timestamptz NOT NULL,
    arrived_at    timestamptz NOT NULL, -- fetched_at, else created_at
    state         text,
    owner         text,
    department    text,
    slack_channel text,
    slack_ts      text,
    doc           json NOT NULL
);
CREATE INDEX mentions_fingerprint ON mentions (fingerprint, number)
    WHERE fingerprint IS NOT NULL;
CREATE INDEX mentions_urls ON mentions USING gin (urls);
CREATE INDEX mentions_created ON mentions (created_at, number);
-- The Slack side (docs/storage.md): the open queue per department, each owner's claims,
-- arrival time (App Home's counts) and the posted message (permalinks).
CREATE INDEX mentions_open ON mentions (department, created_at, number)
    WHERE owner IS NULL AND state IN ('new', 'escalated');
CREATE INDEX mentions_claimed ON mentions (owner, created_at, number)
    WHERE state = 'claimed';
CREATE INDEX mentions_arrived ON mentions (arrived_at);
CREATE INDEX mentions_slack_message ON mentions (slack_channel, slack_ts)
    WHERE slack_ts IS NOT NULL;

CREATE TABLE outbox (
    seq         bigserial UNIQUE,       -- enqueue order, for equal created_at
    id          text PRIMARY KEY,
    status      text NOT NULL,
    created_at  timestamptz,
    not_before  timestamptz,
    mention_key text,
    doc         json NOT NULL
);
CREATE INDEX outbox_active ON outbox (created_at NULLS FIRST, seq)
    WHERE status IN ('pending', 'sending');
CREATE INDEX outbox_mention ON outbox (mention_key);

CREATE TABLE events (
    id          bigserial PRIMARY KEY,
    mention_key text NOT NULL,
    at          timestamptz NOT NULL,
    doc         json NOT NULL
);
CREATE INDEX events_mention ON events (mention_key, at, id);
CREATE INDEX events_at ON events (at, id);

CREATE TABLE cursors (
    name  text PRIMARY KEY,
    value json
);

CREATE TABLE meta (
    name  text PRIMARY KEY,
    value json
);
