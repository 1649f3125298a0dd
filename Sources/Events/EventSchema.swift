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
        Migration(version: 3, name: "akis_append_event: one way to append, for postgres-nio and libpq callers", sql: { _ in
            """
            -- Appends one event to its topic's chain inside the caller's transaction and returns its
            -- sequence number: locks the topic's head until the transaction ends (so a topic's
            -- sequence numbers follow commit order), chains the event (SHA-256 over the previous
            -- hash, the sequence number as 8 bytes big-endian, and the envelope), moves the head,
            -- and notifies akis_events at commit. Callers append several events topic by topic, in
            -- topic order, so that two transactions never wait on each other crosswise.
            CREATE FUNCTION akis_append_event(p_topic text, p_event_id uuid, p_event_type text, p_partition_key text,
                                              p_occurred_at timestamptz, p_envelope bytea) RETURNS bigint
            LANGUAGE plpgsql AS $$
            DECLARE
                v_seq bigint;
                v_hash bytea;
            BEGIN
                SELECT head_seq + 1, head_hash INTO v_seq, v_hash FROM event_chain WHERE topic = p_topic FOR UPDATE;
                IF NOT FOUND THEN
                    RAISE EXCEPTION 'no event chain for topic %', p_topic USING ERRCODE = 'invalid_parameter_value';
                END IF;
                v_hash := sha256(v_hash || int8send(v_seq) || p_envelope);
                INSERT INTO event_store (topic, seq, event_id, event_type, partition_key, occurred_at, envelope, hash)
                VALUES (p_topic, v_seq, p_event_id, p_event_type, p_partition_key, p_occurred_at, p_envelope, v_hash);
                UPDATE event_chain SET head_seq = v_seq, head_hash = v_hash WHERE topic = p_topic;
                PERFORM pg_notify('akis_events', p_topic);
                RETURN v_seq;
            END $$;
            """
        }),
        Migration(version: 4, name: "kafka_market_positions: where the Kafka market lane resumes", sql: { _ in
            """
            -- Per feed: the highest sequence number the Kafka market lane had delivered (every tick
            -- of the feed before it acknowledged by the brokers), and that tick's exchange time
            -- (NULL when the lane started from the store's checkpoint, whose time it does not know).
            CREATE TABLE kafka_market_positions (
                feed smallint PRIMARY KEY,
                seq bigint NOT NULL,
                exchange_time timestamptz,
                updated_at timestamptz NOT NULL DEFAULT now()
            );
            """
        }),
    ]
}
