/** The progress bar redraws one line in place and ends it once. */

import assert from "node:assert/strict";
import { ProgressBar } from "../../replay/progress_bar.ts";

Deno.test("the progress bar redraws in place and ends its line on finish", () => {
  const chunks: string[] = [];
  const dec = new TextDecoder();
  const sink = {
    writeSync(p: Uint8Array): number {
      chunks.push(dec.decode(p));
      return p.length;
    },
  };
  const bar = new ProgressBar("replay", sink);
  bar.update(0, 200);
  bar.update(100, 200);
  bar.update(200, 200);
  bar.finish();
  bar.finish();
  assert.equal(chunks.length, 4);
  assert.ok(chunks.slice(0, 3).every((c) => c.startsWith("\rreplay [")));
  assert.match(chunks[1], /\[#{15}\.{15}\] {2}50% 100\/200 /);
  assert.match(chunks[2], /\[#{30}\] 100% 200\/200 /);
  assert.equal(chunks[3], "\n");
});

Deno.test("a bar that never drew writes nothing on finish", () => {
  let writes = 0;
  const bar = new ProgressBar("replay", {
    writeSync: (p: Uint8Array) => {
      writes++;
      return p.length;
    },
  });
  bar.finish();
  assert.equal(writes, 0);
});
