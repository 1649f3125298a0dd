import Store

/// The auth module's tables (module `auth` in `akis_schema_migrations`). The reference keeps
/// verification and refresh tokens in Redis with a TTL; here they are rows whose expiry is checked
/// on every read and which the maintenance service removes once expired.
enum AuthSchema {
    static let migrations: [Migration] = [
        Migration(version: 1, name: "users, refresh tokens, email verifications, mail outbox", sql: { _ in
            """
            CREATE TABLE auth_users (
                id uuid PRIMARY KEY,
                email text NOT NULL,
                -- IdentityKey.of(email) and of(username): what uniqueness and look-ups compare.
                email_key text NOT NULL CONSTRAINT auth_users_email_key UNIQUE,
                username text NOT NULL,
                username_key text NOT NULL CONSTRAINT auth_users_username_key UNIQUE,
                password_hash text NOT NULL,
                first_name text,
                last_name text,
                tckn text CONSTRAINT auth_users_tckn_digits CHECK (tckn ~ '^[1-9][0-9]{10}$'),
                level text NOT NULL DEFAULT 'basic' CONSTRAINT auth_users_level CHECK (level IN ('basic', 'pro')),
                roles text[] NOT NULL DEFAULT ARRAY['user'],
                registration_source text NOT NULL DEFAULT 'web',
                email_verified_at timestamptz,
                disabled_at timestamptz,
                failed_logins integer NOT NULL DEFAULT 0,
                locked_until timestamptz,
                last_login timestamptz,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now()
            );
            -- Refresh tokens by their SHA-256; a family is one login and every token rotated from it.
            CREATE TABLE auth_refresh_tokens (
                token_hash bytea PRIMARY KEY CONSTRAINT auth_refresh_tokens_hash_length CHECK (length(token_hash) = 32),
                family uuid NOT NULL,
                user_id uuid NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
                issued_at timestamptz NOT NULL DEFAULT now(),
                expires_at timestamptz NOT NULL,
                -- Set when rotated: presenting it again is reuse, and revokes the family.
                used_at timestamptz,
                revoked_at timestamptz
            );
            CREATE INDEX auth_refresh_tokens_family ON auth_refresh_tokens (family);
            CREATE INDEX auth_refresh_tokens_expires ON auth_refresh_tokens (expires_at);
            CREATE TABLE auth_email_verifications (
                token_hash bytea PRIMARY KEY CONSTRAINT auth_email_verifications_hash_length CHECK (length(token_hash) = 32),
                user_id uuid NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
                expires_at timestamptz NOT NULL,
                used_at timestamptz
            );
            CREATE INDEX auth_email_verifications_expires ON auth_email_verifications (expires_at);
            -- A mail waiting for the mail consumer, by the event that asked for it: the link's
            -- token lives only here, never in the event (which goes to Kafka), and only until sent.
            CREATE TABLE auth_mail_outbox (
                event_id uuid PRIMARY KEY,
                recipient text NOT NULL,
                subject text NOT NULL,
                body text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now()
            );
            """
        }),
    ]
}
