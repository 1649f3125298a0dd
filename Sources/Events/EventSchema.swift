import Store

/// The events module's tables (module `events` in `akis_schema_migrations`).
enum EventSchema {
    static let migrations: [Migration] = [
        Migration(version: 1, name: "event_store, one audit chain per topic", sql: { _ in
            """
            -- Append-only: each topic's events in the order they were appended (seq), each
            -- chained to the one before it (hash = SHA-256(previous hash, seq, envelope)).
            CREATE TABLE event_store (
                topic text NOT NULL,
                seq bigint NOT NULL CONSTRAINT event_store_seq_positive CHECK (seq > 0),
                event_id uuid NOT NULL CONSTRAINT event_store_event_id UNIQUE,
                event_type text NOT NULL,
                partition_key text NOT NULL,
                occurred_at timestamptz NOT NULL,
                appended_at timestamptz NOT NULL DEFAULT now(),
                envelope bytea NOT NULL,
                hash bytea NOT NULL CONSTRAINT event_store_hash_length CHECK (length(hash) = 32),
                PRIMARY KEY (topic, seq)
            );
            COMMENT ON COLUMN event_store.envelope IS 'the event as JSON (eventId, eventType, timestamp, version, data), the bytes hashed and published';
            -- Stored events are never changed: retention removes a topic's oldest ones, nothing else.
            CREATE FUNCTION akis_event_store_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'event_store is append-only: event % of % cannot be changed', OLD.seq, OLD.topic
                    USING ERRCODE = 'integrity_constraint_violation';
            END $$;
            CREATE TRIGGER event_store_append_only BEFORE UPDATE ON event_store
                FOR EACH ROW EXECUTE FUNCTION akis_event_store_append_only();

            -- Per topic: the chain's head (the last event appended; appends lock it, so a topic's
            -- events are chained one transaction at a time, in commit order) and its checkpoint
            -- (the last event retention removed: verification starts after it).
            CREATE TABLE event_chain (
                topic text PRIMARY KEY,
                head_seq bigint NOT NULL,
                head_hash bytea NOT NULL,
                checkpoint_seq bigint NOT NULL,
                checkpoint_hash bytea NOT NULL
            );
            INSERT INTO event_chain
            SELECT t, 0, decode(repeat('00', 32), 'hex'), 0, decode(repeat('00', 32), 'hex')
            FROM unnest(ARRAY['user-events', 'trading-events', 'market-events', 'notification-events', 'audit-events']) AS t;
            """
        }),
        Migration(version: 2, name: "event consumers: positions, applied events, dead letters", sql: { _ in
            """
            -- Per consumer and topic: the last event it handled (applied, or moved to the dead letters).
            CREATE TABLE event_consumer_positions (
                consumer text NOT NULL,
                topic text NOT NULL,
                position bigint NOT NULL DEFAULT 0,
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (consumer, topic)
            );
            -- The events each consumer applied, committed with what it did: a redelivered event is
            -- recognised by its id and not applied twice.
            CREATE TABLE event_consumer_applied (
                consumer text NOT NULL,
                event_id uuid NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (consumer, event_id)
            );
            -- Events a consumer failed on after its retries, with the error; `akis events dlq`.
            CREATE TABLE event_dead_letters (
                id bigserial PRIMARY KEY,
                consumer text NOT NULL,
                topic text NOT NULL,
                seq bigint NOT NULL,
                event_id uuid NOT NULL,
                event_type text NOT NULL,
                attempts int NOT NULL,
                error text NOT NULL,
                failed_at timestamptz NOT NULL DEFAULT now(),
                retry_requested boolean NOT NULL DEFAULT false,
                CONSTRAINT event_dead_letters_once UNIQUE (consumer, event_id)
            );
            """
        }),
    ]
}
