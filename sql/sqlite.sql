-- SQLite schema of the storage port (persistence/storage_port.ts), applied at every start
-- by persistence/sqlite_store.ts; every statement is idempotent (IF NOT EXISTS).
--
-- It mirrors the seed's (zero_x_infinity) TDengine super tables `orders`, `trades` and
-- `balances`, with their column names where they carry the same meaning (`price`, `qty`,
-- `filled_qty`, `avail`, `frozen`, `symbol_id`, `user_id`, `asset_id`, `cid`), plus
-- `candles` (the seed's stream-fed `klines`: `open`, `high`, `low`, `close`, `volume`,
-- `quote_volume`, `trade_count`, tag `intv`). Deviations from the seed, and why:
--   * Amounts are INTEGER units (prices in ticks), as in the seed's BIGINT UNSIGNED
--     columns; the adapter only stores non-negative integers ≤ 2^53 - 1 (JS numbers).
--   * Times are INTEGER milliseconds since the epoch (the seed's `ts` is a microsecond
--     TIMESTAMP set by NOW at insert time: two rows in one microsecond overwrite each
--     other there, and a replayed row gets a new time). Here the time is the exchange's.
--   * Enumerations are TEXT ('BUY', 'PARTIALLY_FILLED', ...) instead of TINYINT codes:
--     self-describing, checked below, a few bytes more per row.
--   * orders: one row per stored version, keyed (order_id, version), so a re-delivered
--     version is stored once and `order(id)` reads the highest version. Settlement stores
--     the latest state of each order per batch (persistence/store_rows.ts), so states an
--     order passed through within one batch are not all kept.
--   * trades: one row per trade, keyed by trade_id, naming maker and taker (the seed writes
--     one row per party with `order_id`, `user_id`, `side`, `fee`, `role`); a user's trades
--     are found through two indexes, as maker and as taker.
--   * balances: one `version` (the seed has `lock_version` and `settle_version`), keyed
--     (user_id, asset_id, version).
-- CHECKs on enumerations are written with OR, not IN: SQLite builds an IN list into a
-- temporary b-tree once per statement execution, here once per inserted row (-30 % rows/s).
-- Tables are STRICT (a non-integer in an INTEGER column is an error, never a silent REAL)
-- and, except trades (whose INTEGER PRIMARY KEY is the rowid), WITHOUT ROWID: the primary
-- key is the only copy of the row.

PRAGMA user_version = 2;

CREATE TABLE IF NOT EXISTS orders (
  order_id         INTEGER NOT NULL,
  version          INTEGER NOT NULL,
  user_id          INTEGER NOT NULL,
  symbol_id        INTEGER NOT NULL,
  side             TEXT    NOT NULL CHECK (side = 'BUY' OR side = 'SELL'),
  order_type       TEXT    NOT NULL CHECK (order_type = 'LIMIT' OR order_type = 'MARKET'),
  time_in_force    TEXT    NOT NULL CHECK (time_in_force = 'GTC' OR time_in_force = 'IOC'
                                          OR time_in_force = 'FOK'),
  price            INTEGER NOT NULL, -- ticks; 0 for market orders
  qty              INTEGER NOT NULL, -- base units; 0 for a market buy by quote amount
  quote_qty        INTEGER NOT NULL, -- budget of a market buy by quote amount, else 0
  filled_qty       INTEGER NOT NULL,
  quote_filled_qty INTEGER NOT NULL,
  status           TEXT    NOT NULL CHECK (status = 'NEW' OR status = 'PARTIALLY_FILLED'
                     OR status = 'FILLED' OR status = 'CANCELED' OR status = 'REJECTED'
                     OR status = 'EXPIRED'),
  cid              TEXT,
  created_ms       INTEGER NOT NULL, -- when the order was accepted
  updated_ms       INTEGER NOT NULL, -- when this version was produced
  -- Version 2 (added last, where ALTER TABLE puts them on a version-1 file):
  post_only        INTEGER NOT NULL DEFAULT 0 CHECK (post_only = 0 OR post_only = 1),
  stp              TEXT    NOT NULL DEFAULT 'NONE' CHECK (stp = 'NONE' OR stp = 'EXPIRE_TAKER'
                     OR stp = 'EXPIRE_MAKER' OR stp = 'EXPIRE_BOTH'),
  PRIMARY KEY (order_id, version)
) STRICT, WITHOUT ROWID;

-- A user's orders, newest first; the key ends with (order_id, version) (the primary key),
-- so the first entry met for an order in a descending scan is its latest version.
CREATE INDEX IF NOT EXISTS orders_by_user ON orders (user_id, created_ms, order_id);

CREATE TABLE IF NOT EXISTS trades (
  trade_id       INTEGER PRIMARY KEY, -- the rowid: appends in id order, stored once
  symbol_id      INTEGER NOT NULL,
  price          INTEGER NOT NULL, -- ticks
  qty            INTEGER NOT NULL, -- base units
  quote_qty      INTEGER NOT NULL, -- quote units
  taker_side     TEXT    NOT NULL CHECK (taker_side = 'BUY' OR taker_side = 'SELL'),
  maker_order_id INTEGER NOT NULL,
  taker_order_id INTEGER NOT NULL,
  maker_user_id  INTEGER NOT NULL,
  taker_user_id  INTEGER NOT NULL,
  buyer_fee      INTEGER NOT NULL, -- base units, paid by the buyer
  seller_fee     INTEGER NOT NULL, -- quote units, paid by the seller
  ts_ms          INTEGER NOT NULL
) STRICT;

-- Index keys end with the rowid (trade_id), so (ts_ms, trade_id) orders every scan.
CREATE INDEX IF NOT EXISTS trades_by_maker ON trades (maker_user_id, ts_ms);
CREATE INDEX IF NOT EXISTS trades_by_taker ON trades (taker_user_id, ts_ms);
CREATE INDEX IF NOT EXISTS trades_by_symbol ON trades (symbol_id, ts_ms);

CREATE TABLE IF NOT EXISTS balances (
  user_id  INTEGER NOT NULL,
  asset_id INTEGER NOT NULL,
  version  INTEGER NOT NULL,
  avail    INTEGER NOT NULL, -- units
  frozen   INTEGER NOT NULL, -- units held for open orders
  ts_ms    INTEGER NOT NULL,
  PRIMARY KEY (user_id, asset_id, version) -- also serves "latest version per asset"
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS candles (
  symbol_id              INTEGER NOT NULL,
  intv                   TEXT    NOT NULL, -- '1s' ... '1M'
  open_ms                INTEGER NOT NULL,
  close_ms               INTEGER NOT NULL,
  open                   INTEGER NOT NULL, -- ticks
  high                   INTEGER NOT NULL,
  low                    INTEGER NOT NULL,
  close                  INTEGER NOT NULL,
  volume                 INTEGER NOT NULL, -- base units
  quote_volume           INTEGER NOT NULL,
  trade_count            INTEGER NOT NULL,
  taker_buy_volume       INTEGER NOT NULL,
  taker_buy_quote_volume INTEGER NOT NULL,
  closed                 INTEGER NOT NULL CHECK (closed = 0 OR closed = 1),
  PRIMARY KEY (symbol_id, intv, open_ms) -- a rewrite replaces the row
) STRICT, WITHOUT ROWID;
