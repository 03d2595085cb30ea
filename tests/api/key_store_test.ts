import assert from "node:assert/strict";
import { KeyStore } from "../../api/key_store.ts";

const NOW_MS = 1_700_000_000_000;

/** Runs `fn` with a fresh temporary directory, removed afterwards. */
async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "key_store_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.chmod(dir, 0o700).catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
}

async function modeOf(path: string): Promise<number> {
  return (await Deno.stat(path)).mode! & 0o777;
}

/** Writes `text` as the store's file with mode 0o600, as an operator or old version might. */
async function writeKeyFile(dir: string, text: string): Promise<void> {
  const path = `${dir}/keys.json`;
  await Deno.writeTextFile(path, text, { mode: 0o600 });
  await Deno.chmod(path, 0o600);
}

/** A valid file with users 1 and 2 and one key each, parsed for tampering. */
async function validDoc(dir: string): Promise<Record<string, unknown>> {
  const store = await KeyStore.open(dir);
  for (let i = 0; i < 2; i++) {
    const userId = await store.createUser(NOW_MS);
    await store.createKey(userId, NOW_MS);
  }
  return JSON.parse(await Deno.readTextFile(`${dir}/keys.json`));
}

async function assertOpenRefused(dir: string, pattern: RegExp): Promise<void> {
  const before = await Deno.readTextFile(`${dir}/keys.json`);
  await assert.rejects(KeyStore.open(dir), (e: Error) => {
    assert.match(e.message, new RegExp(`${dir}/keys\\.json`));
    assert.match(e.message, pattern);
    return true;
  });
  assert.equal(await Deno.readTextFile(`${dir}/keys.json`), before, "a bad file is left alone");
}

Deno.test("an empty store writes nothing until its first mutation", async () => {
  await withTempDir(async (dir) => {
    const store = await KeyStore.open(`${dir}/data`);
    assert.equal(store.userCount, 0);
    assert.deepEqual(store.userIds(), []);
    assert.equal(await modeOf(`${dir}/data`), 0o700);
    await assert.rejects(Deno.stat(`${dir}/data/keys.json`), Deno.errors.NotFound);
    await store.createUser(NOW_MS);
    assert.equal((await Deno.stat(`${dir}/data/keys.json`)).isFile, true);
  });
});

Deno.test("users and keys are found again after reopening", async () => {
  await withTempDir(async (dir) => {
    const store = await KeyStore.open(dir);
    const alice = await store.createUser(NOW_MS);
    const bob = await store.createUser(NOW_MS + 1);
    const k1 = await store.createKey(alice, NOW_MS + 2);
    const k2 = await store.createKey(alice, NOW_MS + 3);
    const k3 = await store.createKey(bob, NOW_MS + 4);

    const again = await KeyStore.open(dir);
    assert.equal(again.userCount, 2);
    assert.deepEqual(again.userIds(), [alice, bob]);
    assert.equal(again.hasUser(alice), true);
    assert.equal(again.hasUser(bob + 1), false);
    assert.deepEqual(again.keysOf(alice), [k1.apiKey, k2.apiKey]);
    assert.deepEqual(again.keysOf(bob), [k3.apiKey]);
    assert.deepEqual(again.lookup(k1.apiKey), { userId: alice, secret: k1.secret });
    assert.deepEqual(again.lookup(k2.apiKey), { userId: alice, secret: k2.secret });
    assert.deepEqual(again.lookup(k3.apiKey), { userId: bob, secret: k3.secret });
    assert.equal(again.lookup("0".repeat(32)), undefined);
  });
});

Deno.test("created keys are random lowercase hex: 32 chars for the key, 64 for the secret", async () => {
  await withTempDir(async (dir) => {
    const store = await KeyStore.open(dir);
    const userId = await store.createUser(NOW_MS);
    const a = await store.createKey(userId, NOW_MS);
    const b = await store.createKey(userId, NOW_MS);
    for (const k of [a, b]) {
      assert.match(k.apiKey, /^[0-9a-f]{32}$/);
      assert.match(k.secret, /^[0-9a-f]{64}$/);
      assert.equal(k.secret.includes(k.apiKey), false);
    }
    assert.notEqual(a.apiKey, b.apiKey);
    assert.notEqual(a.secret, b.secret);
  });
});

Deno.test("keysOf returns api keys and never secrets", async () => {
  await withTempDir(async (dir) => {
    const store = await KeyStore.open(dir);
    const userId = await store.createUser(NOW_MS);
    assert.deepEqual(store.keysOf(userId), []);
    const k = await store.createKey(userId, NOW_MS);
    const listed = store.keysOf(userId);
    assert.deepEqual(listed, [k.apiKey]);
    listed.push("tampered");
    assert.deepEqual(store.keysOf(userId), [k.apiKey], "the returned array is a copy");
    assert.deepEqual(store.keysOf(userId + 1), []);
  });
});

Deno.test("a revoked key stays revoked after reopening", async () => {
  await withTempDir(async (dir) => {
    const store = await KeyStore.open(dir);
    const userId = await store.createUser(NOW_MS);
    const kept = await store.createKey(userId, NOW_MS);
    const revoked = await store.createKey(userId, NOW_MS);
    assert.equal(await store.revokeKey(revoked.apiKey), true);
    assert.equal(store.lookup(revoked.apiKey), undefined);
    assert.equal(await store.revokeKey(revoked.apiKey), false, "a second revoke finds nothing");

    const again = await KeyStore.open(dir);
    assert.equal(again.lookup(revoked.apiKey), undefined);
    assert.deepEqual(again.lookup(kept.apiKey), { userId, secret: kept.secret });
    assert.deepEqual(again.keysOf(userId), [kept.apiKey]);
  });
});

Deno.test("revoking an unknown key returns false and writes nothing", async () => {
  await withTempDir(async (dir) => {
    const store = await KeyStore.open(dir);
    assert.equal(await store.revokeKey("f".repeat(32)), false);
    await assert.rejects(Deno.stat(`${dir}/keys.json`), Deno.errors.NotFound);
  });
});

Deno.test("user ids start at 1 and keep increasing across reopening", async () => {
  await withTempDir(async (dir) => {
    const store = await KeyStore.open(dir);
    assert.equal(await store.createUser(NOW_MS), 1);
    assert.equal(await store.createUser(NOW_MS), 2);
    const again = await KeyStore.open(dir);
    assert.equal(await again.createUser(NOW_MS), 3);
    const third = await KeyStore.open(dir);
    assert.deepEqual(third.userIds(), [1, 2, 3]);
    assert.equal(await third.createUser(NOW_MS), 4);
  });
});

Deno.test("keys.json is written with mode 0o600", async () => {
  await withTempDir(async (dir) => {
    const store = await KeyStore.open(dir);
    const userId = await store.createUser(NOW_MS);
    assert.equal(await modeOf(`${dir}/keys.json`), 0o600);
    await store.createKey(userId, NOW_MS);
    assert.equal(await modeOf(`${dir}/keys.json`), 0o600);
    await assert.rejects(Deno.stat(`${dir}/keys.json.tmp`), Deno.errors.NotFound);
  });
});

Deno.test("the tmp file has mode 0o600, even when a wider leftover tmp file existed", async () => {
  await withTempDir(async (dir) => {
    const store = await KeyStore.open(dir);
    const userId = await store.createUser(NOW_MS);
    await store.createKey(userId, NOW_MS);
    // A leftover tmp from a crash, world-readable; and keys.json replaced by a directory so
    // that the rename fails and the tmp file stays behind for inspection.
    await Deno.writeTextFile(`${dir}/keys.json.tmp`, "leftover", { mode: 0o644 });
    await Deno.chmod(`${dir}/keys.json.tmp`, 0o644);
    await Deno.rename(`${dir}/keys.json`, `${dir}/keys.json.bak`);
    await Deno.mkdir(`${dir}/keys.json`);
    await assert.rejects(store.createKey(userId, NOW_MS));
    assert.equal(await modeOf(`${dir}/keys.json.tmp`), 0o600);
    assert.equal(store.keysOf(userId).length, 1, "memory unchanged after the failed rename");
  });
});

Deno.test("a keys.json readable by group or others is refused with a chmod hint", async () => {
  await withTempDir(async (dir) => {
    const store = await KeyStore.open(dir);
    await store.createUser(NOW_MS);
    for (const mode of [0o644, 0o640, 0o604]) {
      await Deno.chmod(`${dir}/keys.json`, mode);
      await assert.rejects(KeyStore.open(dir), (e: Error) => {
        assert.match(e.message, /chmod 600/);
        assert.match(e.message, new RegExp(`${dir}/keys\\.json`));
        assert.match(e.message, new RegExp(`0o${mode.toString(8)}`));
        return true;
      });
    }
    await Deno.chmod(`${dir}/keys.json`, 0o600);
    assert.equal((await KeyStore.open(dir)).userCount, 1);
  });
});

Deno.test("a truncated keys.json is refused naming the file", async () => {
  await withTempDir(async (dir) => {
    const text = JSON.stringify(await validDoc(dir));
    await writeKeyFile(dir, text.slice(0, text.length >> 1));
    await assertOpenRefused(dir, /not valid JSON/);
  });
});

Deno.test("an empty keys.json is refused naming the file", async () => {
  await withTempDir(async (dir) => {
    await writeKeyFile(dir, "");
    await assertOpenRefused(dir, /not valid JSON/);
  });
});

Deno.test("a keys.json whose top level is not an object is refused", async () => {
  await withTempDir(async (dir) => {
    await writeKeyFile(dir, "[]");
    await assertOpenRefused(dir, /not a JSON object/);
  });
});

Deno.test("a keys.json with another format_version is refused", async () => {
  await withTempDir(async (dir) => {
    const doc = await validDoc(dir);
    for (const v of [2, 0, "1", null]) {
      await writeKeyFile(dir, JSON.stringify({ ...doc, format_version: v }));
      await assertOpenRefused(dir, /format_version must be 1/);
    }
    const { format_version: _, ...withoutVersion } = doc;
    await writeKeyFile(dir, JSON.stringify(withoutVersion));
    await assertOpenRefused(dir, /format_version must be 1/);
  });
});

Deno.test("a keys.json with a duplicate api key is refused", async () => {
  await withTempDir(async (dir) => {
    const doc = await validDoc(dir);
    const keys = doc.keys as Record<string, unknown>[];
    keys[1] = { ...keys[1], api_key: keys[0].api_key };
    await writeKeyFile(dir, JSON.stringify(doc));
    await assertOpenRefused(dir, /appears twice/);
  });
});

Deno.test("a keys.json with a key of an unknown user is refused", async () => {
  await withTempDir(async (dir) => {
    const doc = await validDoc(dir);
    (doc.keys as Record<string, unknown>[])[0].user_id = 99;
    await writeKeyFile(dir, JSON.stringify(doc));
    await assertOpenRefused(dir, /unknown user_id 99/);
  });
});

Deno.test("a keys.json with a duplicate user id is refused", async () => {
  await withTempDir(async (dir) => {
    const doc = await validDoc(dir);
    const users = doc.users as Record<string, unknown>[];
    users[1] = { ...users[1], user_id: users[0].user_id };
    await writeKeyFile(dir, JSON.stringify(doc));
    await assertOpenRefused(dir, /user_id 1 appears twice/);
  });
});

Deno.test("a keys.json with ill-typed fields is refused naming the field", async () => {
  await withTempDir(async (dir) => {
    const base = await validDoc(dir);
    // Each case breaks the parsed JSON in one place, whatever its shape.
    // deno-lint-ignore no-explicit-any
    const cases: [(doc: any) => void, RegExp][] = [
      [(d) => (d.next_user_id = 0), /next_user_id must be a positive safe integer/],
      [(d) => (d.next_user_id = 2), /user_id 2 is not below next_user_id 2/],
      [(d) => (d.users = {}), /users is not an array/],
      [(d) => (d.keys = null), /keys is not an array/],
      [(d) => (d.users[0] = 7), /users\[0\] is not an object/],
      [(d) => (d.users[0].user_id = -1), /users\[0\]\.user_id must be a positive/],
      [(d) => (d.users[0].user_id = 1.5), /users\[0\]\.user_id must be a positive/],
      [(d) => (d.users[1].created_ms = "now"), /users\[1\]\.created_ms must be/],
      [(d) => (d.keys[0].api_key = "ABC"), /keys\[0\]\.api_key must be 32 lowercase hex/],
      [(d) => (d.keys[0].secret = 5), /keys\[0\]\.secret must be 64 lowercase hex/],
      [(d) => (d.keys[1].user_id = "2"), /keys\[1\]\.user_id must be a positive/],
      [(d) => (d.keys[1].created_ms = -5), /keys\[1\]\.created_ms must be/],
    ];
    for (const [tamper, pattern] of cases) {
      const doc = structuredClone(base);
      tamper(doc);
      await writeKeyFile(dir, JSON.stringify(doc));
      await assertOpenRefused(dir, pattern);
    }
  });
});

Deno.test("a secret that is invalid in the file is not quoted in the error", async () => {
  await withTempDir(async (dir) => {
    const doc = await validDoc(dir);
    (doc.keys as Record<string, unknown>[])[0].secret = "s3cr3t-VALUE";
    await writeKeyFile(dir, JSON.stringify(doc));
    await assert.rejects(KeyStore.open(dir), (e: Error) => !e.message.includes("s3cr3t-VALUE"));
  });
});

Deno.test("maxUsers refuses the next user with a clear error and changes nothing", async () => {
  await withTempDir(async (dir) => {
    const store = await KeyStore.open(dir, { maxUsers: 2 });
    await store.createUser(NOW_MS);
    await store.createUser(NOW_MS);
    const before = await Deno.readTextFile(`${dir}/keys.json`);
    await assert.rejects(store.createUser(NOW_MS), /holds 2 users, the limit maxUsers is 2/);
    assert.deepEqual(store.userIds(), [1, 2]);
    assert.equal(await Deno.readTextFile(`${dir}/keys.json`), before);
    // A file holding more users than the bound is refused on open, not truncated.
    await assert.rejects(KeyStore.open(dir, { maxUsers: 1 }), /2 users, more than maxUsers 1/);
  });
});

Deno.test("maxKeysPerUser refuses the next key with a clear error and changes nothing", async () => {
  await withTempDir(async (dir) => {
    const store = await KeyStore.open(dir, { maxKeysPerUser: 2 });
    const userId = await store.createUser(NOW_MS);
    const other = await store.createUser(NOW_MS);
    await store.createKey(userId, NOW_MS);
    await store.createKey(userId, NOW_MS);
    const keysBefore = store.keysOf(userId);
    const fileBefore = await Deno.readTextFile(`${dir}/keys.json`);
    await assert.rejects(
      store.createKey(userId, NOW_MS),
      /user 1 already has 2 keys, the limit maxKeysPerUser is 2/,
    );
    assert.deepEqual(store.keysOf(userId), keysBefore);
    assert.equal(await Deno.readTextFile(`${dir}/keys.json`), fileBefore);
    // The bound is per user, and revoking frees a slot.
    await store.createKey(other, NOW_MS);
    await store.revokeKey(keysBefore[0]);
    await store.createKey(userId, NOW_MS);
    assert.equal(store.keysOf(userId).length, 2);
  });
});

Deno.test("a key for an unknown user is refused naming the user", async () => {
  await withTempDir(async (dir) => {
    const store = await KeyStore.open(dir);
    await store.createUser(NOW_MS);
    await assert.rejects(store.createKey(42, NOW_MS), /unknown user 42/);
    assert.deepEqual(store.keysOf(42), []);
  });
});

Deno.test("invalid options and timestamps are refused stating the value", async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(KeyStore.open(dir, { maxUsers: 0 }), /maxUsers .* received 0/);
    await assert.rejects(KeyStore.open(dir, { maxKeysPerUser: 1.5 }), /received 1\.5/);
    const store = await KeyStore.open(dir);
    await assert.rejects(store.createUser(-1), /nowMs .* received -1/);
    await assert.rejects(store.createUser(Number.NaN), /received NaN/);
    assert.equal(store.userCount, 0);
  });
});

Deno.test("concurrent createUser calls get distinct ids and all persist", async () => {
  await withTempDir(async (dir) => {
    const store = await KeyStore.open(dir);
    const count = 25;
    const ids = await Promise.all(
      Array.from({ length: count }, (_, i) => store.createUser(NOW_MS + i)),
    );
    assert.deepEqual(
      [...ids].sort((a, b) => a - b),
      Array.from({ length: count }, (_, i) => i + 1),
    );
    const keys = await Promise.all(ids.map((id) => store.createKey(id, NOW_MS)));
    const again = await KeyStore.open(dir);
    assert.equal(again.userCount, count);
    keys.forEach((k, i) =>
      assert.deepEqual(again.lookup(k.apiKey), { userId: ids[i], secret: k.secret })
    );
  });
});

Deno.test("a failed write rejects and leaves memory and disk unchanged", async () => {
  await withTempDir(async (dir) => {
    const store = await KeyStore.open(dir);
    const userId = await store.createUser(NOW_MS);
    const key = await store.createKey(userId, NOW_MS);
    const fileBefore = await Deno.readTextFile(`${dir}/keys.json`);

    // A directory where the tmp file must go makes opening it fail (works as root too,
    // where a read-only directory would not stop the write).
    await Deno.mkdir(`${dir}/keys.json.tmp`);
    await assert.rejects(store.createUser(NOW_MS));
    await assert.rejects(store.createKey(userId, NOW_MS));
    await assert.rejects(store.revokeKey(key.apiKey));

    assert.deepEqual(store.userIds(), [userId]);
    assert.deepEqual(store.keysOf(userId), [key.apiKey]);
    assert.deepEqual(store.lookup(key.apiKey), { userId, secret: key.secret });
    assert.equal(await Deno.readTextFile(`${dir}/keys.json`), fileBefore);

    // Once the obstacle is gone the store carries on, and no id was used up.
    await Deno.remove(`${dir}/keys.json.tmp`);
    assert.equal(await store.createUser(NOW_MS), userId + 1);
    assert.deepEqual((await KeyStore.open(dir)).userIds(), [userId, userId + 1]);
  });
});

Deno.test({
  name: "a read-only data directory makes the write fail and changes nothing",
  // Root writes into read-only directories; the test above covers that case.
  ignore: Deno.build.os === "windows" || await writesIgnoreModes(),
  fn: async () => {
    await withTempDir(async (dir) => {
      const store = await KeyStore.open(dir);
      await store.createUser(NOW_MS);
      const fileBefore = await Deno.readTextFile(`${dir}/keys.json`);
      await Deno.chmod(dir, 0o500);
      await assert.rejects(store.createUser(NOW_MS), Deno.errors.PermissionDenied);
      await Deno.chmod(dir, 0o700);
      assert.deepEqual(store.userIds(), [1]);
      assert.equal(await Deno.readTextFile(`${dir}/keys.json`), fileBefore);
    });
  },
});

/** True where a read-only directory can still be written (root): probed, not asked. */
async function writesIgnoreModes(): Promise<boolean> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.chmod(dir, 0o500);
    await Deno.writeTextFile(`${dir}/probe`, "x");
    return true;
  } catch {
    return false;
  } finally {
    await Deno.chmod(dir, 0o700);
    await Deno.remove(dir, { recursive: true });
  }
}
