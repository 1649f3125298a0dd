import Store

/// The orders module's tables (module `orders` in `akis_schema_migrations`): the read model the
/// order events keep, updated in the transaction that appends them. Money is kuruş (bigint),
/// prices exact numerics, rates `Rate` units (10⁻¹⁰).
enum OrdersSchema {
    static let workingStatuses = "('PENDING_NEW', 'NEW', 'PARTIALLY_FILLED', 'PENDING_CANCEL', 'PENDING_REPLACE')"

    static let migrations: [Migration] = [
        Migration(version: 1, name: "accounts, orders, executions, positions, cash ledger", sql: { _ in
            """
            -- A user's paper account. cash is the trade-date balance (the sum of the user's cash
            -- ledger entries), settled_cash its settled part; reserved is what working buys hold.
            CREATE TABLE trading_accounts (
                user_id uuid PRIMARY KEY REFERENCES auth_users (id),
                cash bigint NOT NULL DEFAULT 0,
                settled_cash bigint NOT NULL DEFAULT 0,
                reserved bigint NOT NULL DEFAULT 0 CONSTRAINT trading_accounts_reserved CHECK (reserved >= 0),
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now(),
                -- Buying power (cash − reserved) is never negative: the last guard against overspending.
                CONSTRAINT trading_accounts_buying_power CHECK (cash >= reserved)
            );
            CREATE TABLE trading_orders (
                id uuid PRIMARY KEY,
                user_id uuid NOT NULL REFERENCES trading_accounts (user_id),
                client_order_id text,
                symbol text NOT NULL,
                side text NOT NULL CONSTRAINT trading_orders_side CHECK (side IN ('BUY', 'SELL')),
                order_type text NOT NULL CONSTRAINT trading_orders_type CHECK (order_type IN ('LIMIT', 'MARKET')),
                time_in_force text NOT NULL CONSTRAINT trading_orders_tif CHECK (time_in_force IN ('DAY', 'IOC', 'FOK')),
                quantity bigint NOT NULL CONSTRAINT trading_orders_quantity CHECK (quantity > 0),
                price numeric(20, 6),
                status text NOT NULL,
                filled_quantity bigint NOT NULL DEFAULT 0,
                filled_value bigint NOT NULL DEFAULT 0,
                -- What the order holds now: kuruş for a buy, shares for a sell; zero once it ends.
                reserved_cash bigint NOT NULL DEFAULT 0 CONSTRAINT trading_orders_reserved_cash CHECK (reserved_cash >= 0),
                reserved_shares bigint NOT NULL DEFAULT 0 CONSTRAINT trading_orders_reserved_shares CHECK (reserved_shares >= 0),
                -- The price a buy's reservation is counted at (a MARKET buy's upper limit at placement).
                reservation_price numeric(20, 6),
                -- The cost rates at placement: an order's costs never change under it.
                commission_rate bigint NOT NULL,
                bsmv_rate bigint NOT NULL,
                exchange_fee_rate bigint NOT NULL,
                broker text NOT NULL,
                broker_order_id text,
                reason text,
                -- How many changes the order has had (its events; the seq of its updates).
                seq integer NOT NULL,
                trading_day date NOT NULL,
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL,
                CONSTRAINT trading_orders_client_order_id UNIQUE (user_id, client_order_id),
                CONSTRAINT trading_orders_filled CHECK (filled_quantity BETWEEN 0 AND quantity)
            );
            CREATE INDEX trading_orders_by_user ON trading_orders (user_id, created_at DESC, id DESC);
            CREATE INDEX trading_orders_working ON trading_orders (user_id) WHERE status IN \(workingStatuses);
            CREATE TABLE trading_executions (
                broker text NOT NULL,
                execution_id text NOT NULL,
                order_id uuid NOT NULL REFERENCES trading_orders (id),
                user_id uuid NOT NULL,
                symbol text NOT NULL,
                side text NOT NULL,
                quantity bigint NOT NULL CONSTRAINT trading_executions_quantity CHECK (quantity > 0),
                price numeric(20, 6) NOT NULL,
                value bigint NOT NULL,
                commission bigint NOT NULL,
                bsmv bigint NOT NULL,
                exchange_fee bigint NOT NULL,
                executed_at timestamptz NOT NULL,
                value_date date NOT NULL,
                settled_at timestamptz,
                -- A fill is applied once: the broker's execution id is its key.
                PRIMARY KEY (broker, execution_id)
            );
            CREATE INDEX trading_executions_by_order ON trading_executions (order_id);
            CREATE INDEX trading_executions_unsettled ON trading_executions (value_date) WHERE settled_at IS NULL;
            CREATE TABLE trading_positions (
                user_id uuid NOT NULL REFERENCES trading_accounts (user_id),
                symbol text NOT NULL,
                shares bigint NOT NULL DEFAULT 0 CONSTRAINT trading_positions_shares CHECK (shares >= 0),
                -- Shares working sells hold: never more than are held.
                reserved_shares bigint NOT NULL DEFAULT 0,
                cost_basis bigint NOT NULL DEFAULT 0,
                realised bigint NOT NULL DEFAULT 0,
                PRIMARY KEY (user_id, symbol),
                CONSTRAINT trading_positions_reserved CHECK (reserved_shares BETWEEN 0 AND shares)
            );
            -- The double-entry cash ledger: every movement is a journal whose entries sum to zero;
            -- a user's cash_settled and cash_pending entries sum to trading_accounts.cash, and the
            -- cash_settled ones to settled_cash.
            CREATE TABLE trading_ledger (
                entry_id bigserial PRIMARY KEY,
                journal uuid NOT NULL,
                user_id uuid NOT NULL REFERENCES trading_accounts (user_id),
                account text NOT NULL CONSTRAINT trading_ledger_account
                    CHECK (account IN ('cash_settled', 'cash_pending', 'external', 'market', 'commission', 'bsmv', 'exchange_fee')),
                amount bigint NOT NULL,
                kind text NOT NULL CONSTRAINT trading_ledger_kind
                    CHECK (kind IN ('deposit', 'withdrawal', 'trade', 'commission', 'bsmv', 'exchange_fee', 'settlement')),
                order_id uuid,
                execution_id text,
                value_date date,
                created_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX trading_ledger_by_user ON trading_ledger (user_id, entry_id);
            """
        }),
    ]
}
