import assert from "node:assert/strict";
import { loadOrCreateAdminToken, tokenMatches } from "../../api/admin_token.ts";

/** Runs `fn` with a fresh temporary directory, removed afterwards. */
async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "admin_token_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function writeTokenFile(dir: string, text: string, mode = 0o600): Promise<void> {
  const path = `${dir}/admin_token`;
  await Deno.writeTextFile(path, text, { mode });
  await Deno.chmod(path, mode);
}

Deno.test("a token is created once and read back the same afterwards", async () => {
  await withTempDir(async (dir) => {
    const first = await loadOrCreateAdminToken(dir);
    assert.equal(first.created, true);
    assert.equal(first.source, "created");
    assert.match(first.token, /^[0-9a-f]{64}$/);

    const second = await loadOrCreateAdminToken(dir);
    assert.deepEqual(second, { token: first.token, created: false, source: "file" });
    await assert.rejects(Deno.stat(`${dir}/admin_token.tmp`), Deno.errors.NotFound);
  });
});

Deno.test("two created tokens in different directories differ", async () => {
  await withTempDir(async (dir) => {
    const a = await loadOrCreateAdminToken(`${dir}/a`);
    const b = await loadOrCreateAdminToken(`${dir}/b`);
    assert.notEqual(a.token, b.token);
  });
});

Deno.test("the created token file has mode 0o600 in a directory of mode 0o700", async () => {
  await withTempDir(async (dir) => {
    await loadOrCreateAdminToken(`${dir}/data`);
    assert.equal((await Deno.stat(`${dir}/data/admin_token`)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(`${dir}/data`)).mode! & 0o777, 0o700);
  });
});

Deno.test("a given token wins over the file and writes nothing", async () => {
  await withTempDir(async (dir) => {
    const given = "operator-chosen-token-42";
    assert.deepEqual(await loadOrCreateAdminToken(dir, given), {
      token: given,
      created: false,
      source: "given",
    });
    assert.deepEqual([...Deno.readDirSync(dir)], [], "no file written");

    await writeTokenFile(dir, "token-from-the-file-0001\n");
    assert.equal((await loadOrCreateAdminToken(dir, given)).token, given);
    assert.equal(await Deno.readTextFile(`${dir}/admin_token`), "token-from-the-file-0001\n");
  });
});

Deno.test("an empty given token falls back to the file", async () => {
  await withTempDir(async (dir) => {
    const r = await loadOrCreateAdminToken(dir, "");
    assert.equal(r.source, "created");
  });
});

Deno.test("a given token that is too short is refused without quoting it", async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(loadOrCreateAdminToken(dir, "short-secret"), (e: Error) => {
      assert.match(e.message, /12 characters, fewer than 16/);
      assert.equal(e.message.includes("short-secret"), false);
      return true;
    });
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  });
});

Deno.test("a given token with spaces or non-ASCII characters is refused", async () => {
  await withTempDir(async (dir) => {
    for (const bad of ["has a space in it!!", "tab\tseparated-token", "naïve-token-value-x"]) {
      await assert.rejects(loadOrCreateAdminToken(dir, bad), /printable ASCII without spaces/);
    }
    await assert.rejects(loadOrCreateAdminToken(dir, "x".repeat(1025)), /more than 1024/);
  });
});

Deno.test("the file's token is read without one trailing newline", async () => {
  await withTempDir(async (dir) => {
    await writeTokenFile(dir, "token-from-the-file-0001\n");
    assert.equal((await loadOrCreateAdminToken(dir)).token, "token-from-the-file-0001");
    await writeTokenFile(dir, "token-from-the-file-0002");
    assert.equal((await loadOrCreateAdminToken(dir)).token, "token-from-the-file-0002");
  });
});

Deno.test("a token file readable by group or others is refused with a chmod hint", async () => {
  await withTempDir(async (dir) => {
    await writeTokenFile(dir, "token-from-the-file-0001\n", 0o644);
    await assert.rejects(loadOrCreateAdminToken(dir), (e: Error) => {
      assert.match(e.message, /chmod 600/);
      assert.match(e.message, new RegExp(`${dir}/admin_token`));
      assert.equal(e.message.includes("token-from-the-file"), false);
      return true;
    });
    assert.equal(
      await Deno.readTextFile(`${dir}/admin_token`),
      "token-from-the-file-0001\n",
      "the file is not replaced",
    );
  });
});

Deno.test("an empty token file is refused, not replaced", async () => {
  await withTempDir(async (dir) => {
    for (const text of ["", "\n"]) {
      await writeTokenFile(dir, text);
      await assert.rejects(loadOrCreateAdminToken(dir), /admin_token" is empty/);
      assert.equal(await Deno.readTextFile(`${dir}/admin_token`), text);
    }
  });
});

Deno.test("a token file holding a too-short token is refused", async () => {
  await withTempDir(async (dir) => {
    await writeTokenFile(dir, "abc\n");
    await assert.rejects(loadOrCreateAdminToken(dir), /3 characters, fewer than 16/);
  });
});

Deno.test("tokenMatches is true only for the identical token", () => {
  const token = "a".repeat(32) + "b".repeat(32);
  assert.equal(tokenMatches(token, token), true);
  assert.equal(tokenMatches(token, "a".repeat(32) + "b".repeat(31) + "c"), false);
  assert.equal(tokenMatches(token, "c" + token.slice(1)), false);
});

Deno.test("tokenMatches returns false for different lengths without throwing", () => {
  const token = "0123456789abcdef";
  assert.equal(tokenMatches(token, token.slice(0, -1)), false);
  assert.equal(tokenMatches(token, token + "0"), false);
  assert.equal(tokenMatches(token, ""), false);
  // Same string length, different byte length in UTF-8.
  assert.equal(tokenMatches("é", "e"), false);
});
