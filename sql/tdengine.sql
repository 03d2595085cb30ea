-- TDengine schema of the storage port (persistence/storage_port.ts), applied at every
-- start by persistence/tdengine_store.ts through the REST interface; every statement is
-- idempotent (IF NOT EXISTS). Needs TDengine 3.3.0.0 or later (composite primary keys).
--
-- The adapter runs the statements one by one, in this order: the CREATE DATABASE against
-- /rest/sql, the rest against /rest/sql/<database>. It puts the configured database name
-- in place of `trading` (the seed's) in the CREATE DATABASE line; the super tables are
-- named without a database prefix. Statements end with a semicolon at the end of a line.
--
-- It is the seed's (zero_x_infinity) database and its `orders`, `trades` and `balances`
-- super tables with their tags (`symbol_id`; `user_id`, `asset_id`) and column names where
-- they carry the same meaning, plus `candles` (the seed's stream-fed `klines`). Deviations
-- from the seed, and why:
--
--   * WAL_FSYNC_PERIOD 0. With WAL_LEVEL 2 alone TDengine fsyncs its WAL every 3,000 ms
--     (the default period), so a write it acknowledged can vanish in a power loss. 0 makes
--     it fsync before it answers: a batch the adapter saw succeed is durable, as the
--     settlement checkpoints that follow it assume.
--   * A second primary-key column (composite key) in orders, trades and balances. The
--     seed keys a row by its timestamp alone, set by NOW at insert time: two rows with the
--     same microsecond in one subtable overwrite each other (a burst of trades in one
--     symbol does that), and a retried batch writes its rows again with new times. Here
--     the timestamp is the exchange's own time of the row (deterministic on replay), and
--     rows are keyed (ts, trade_id), (ts, row_key = "<order_id>.<version>") and
--     (ts, version): two different rows never share a key, and the same row written twice
--     lands on its own key, so a retried batch stores every row once.
--   * orders: one row per stored version (version, time_in_force, quote_qty,
--     quote_filled_qty, created_ms, updated_ms, post_only and stp added). `ts` is the
--     version's time.
--   * trades: one row per trade naming maker and taker (the seed writes one row per party
--     with order_id, user_id, side, fee, role); fees are the buyer's (base) and the
--     seller's (quote). ts_ms repeats `ts` in milliseconds for reading back.
--   * balances: one `version` (the seed has lock_version and settle_version).
--   * candles: subtable per (symbol, interval), `ts` the open time (open_ms repeats it in
--     milliseconds); a later write of the same candle lands on the same timestamp and
--     replaces it, as the port requires.
--   * Enumerations are TINYINT UNSIGNED codes as in the seed, spelled out here:
--       side, taker_side: 0 BUY, 1 SELL; order_type: 0 LIMIT, 1 MARKET;
--       time_in_force: 0 GTC, 1 IOC, 2 FOK;
--       status: 0 NEW, 1 PARTIALLY_FILLED, 2 FILLED, 3 CANCELED, 4 REJECTED, 5 EXPIRED;
--       stp: 0 NONE, 1 EXPIRE_TAKER, 2 EXPIRE_MAKER, 3 EXPIRE_BOTH.
--   * Amounts are BIGINT UNSIGNED units as in the seed; the adapter writes only integers
--     up to 2^53 - 1 and refuses, naming the column, to read back a larger one.
--   * Subtable names: o_<symbol_id>, t_<symbol_id>, b_<user_id>_<asset_id> and
--     k_<symbol_id>_<interval index 0..15> (table names are case-insensitive, and the
--     intervals 1m and 1M differ only in case).

CREATE DATABASE IF NOT EXISTS trading KEEP 365d DURATION 10d BUFFER 256 WAL_LEVEL 2 WAL_FSYNC_PERIOD 0 PRECISION 'us';

CREATE STABLE IF NOT EXISTS orders (
  ts               TIMESTAMP,
  row_key          VARCHAR(40) PRIMARY KEY,
  order_id         BIGINT UNSIGNED,
  version          BIGINT UNSIGNED,
  user_id          BIGINT UNSIGNED,
  side             TINYINT UNSIGNED,
  order_type       TINYINT UNSIGNED,
  time_in_force    TINYINT UNSIGNED,
  price            BIGINT UNSIGNED,
  qty              BIGINT UNSIGNED,
  quote_qty        BIGINT UNSIGNED,
  filled_qty       BIGINT UNSIGNED,
  quote_filled_qty BIGINT UNSIGNED,
  status           TINYINT UNSIGNED,
  cid              NCHAR(64),
  created_ms       BIGINT,
  updated_ms       BIGINT,
  post_only        BOOL,
  stp              TINYINT UNSIGNED
) TAGS (symbol_id INT UNSIGNED);

CREATE STABLE IF NOT EXISTS trades (
  ts             TIMESTAMP,
  trade_id       BIGINT UNSIGNED PRIMARY KEY,
  price          BIGINT UNSIGNED,
  qty            BIGINT UNSIGNED,
  quote_qty      BIGINT UNSIGNED,
  taker_side     TINYINT UNSIGNED,
  maker_order_id BIGINT UNSIGNED,
  taker_order_id BIGINT UNSIGNED,
  maker_user_id  BIGINT UNSIGNED,
  taker_user_id  BIGINT UNSIGNED,
  buyer_fee      BIGINT UNSIGNED,
  seller_fee     BIGINT UNSIGNED,
  ts_ms          BIGINT
) TAGS (symbol_id INT UNSIGNED);

CREATE STABLE IF NOT EXISTS balances (
  ts      TIMESTAMP,
  version BIGINT UNSIGNED PRIMARY KEY,
  avail   BIGINT UNSIGNED,
  frozen  BIGINT UNSIGNED,
  ts_ms   BIGINT
) TAGS (user_id BIGINT UNSIGNED, asset_id INT UNSIGNED);

CREATE STABLE IF NOT EXISTS candles (
  ts                     TIMESTAMP,
  open_ms                BIGINT,
  close_ms               BIGINT,
  open                   BIGINT UNSIGNED,
  high                   BIGINT UNSIGNED,
  low                    BIGINT UNSIGNED,
  close                  BIGINT UNSIGNED,
  volume                 BIGINT UNSIGNED,
  quote_volume           BIGINT UNSIGNED,
  trade_count            BIGINT UNSIGNED,
  taker_buy_volume       BIGINT UNSIGNED,
  taker_buy_quote_volume BIGINT UNSIGNED,
  closed                 BOOL
) TAGS (symbol_id INT UNSIGNED, intv VARCHAR(4));
