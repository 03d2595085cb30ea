/** The engine's periodic full audit (EngineOptions.auditEveryCommands). */

import assert from "node:assert/strict";
import { InvariantError } from "../../domain/assert.ts";
import { Engine } from "../../domain/engine.ts";
import { symbolSpec } from "../../domain/market_config.ts";

Deno.test("the periodic audit runs checkInvariants every N commands and throws on a broken invariant", () => {
  const e = new Engine({
    assets: [
      { id: 1, name: "BASE", decimals: 2, displayDecimals: 2 },
      { id: 2, name: "QUOTE", decimals: 2, displayDecimals: 2 },
    ],
    symbols: [
      symbolSpec({ id: 0, name: "BASE_QUOTE", baseAssetId: 1, quoteAssetId: 2, priceDecimals: 0 }),
    ],
    auditEveryCommands: 2,
  });
  e.apply({ type: "deposit", userId: 1, assetId: 2, amountUnits: 1000 });
  e.apply({ type: "deposit", userId: 1, assetId: 1, amountUnits: 1000 });
  // Corrupt the ledger behind the engine's back: the next audited command must throw.
  e.ledger.fees[2] += 1;
  e.apply({ type: "deposit", userId: 1, assetId: 1, amountUnits: 1 }); // command 3: no audit
  assert.throws(
    () => e.apply({ type: "deposit", userId: 1, assetId: 1, amountUnits: 1 }), // command 4
    (err: unknown) => err instanceof InvariantError && /asset 2/.test(err.message),
  );
});
