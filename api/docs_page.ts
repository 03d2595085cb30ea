/**
 * `GET /docs`: a readable API reference, rendered on the server from the same OpenAPI
 * document as /openapi.json (so it cannot drift from what the server validates), plus
 * what OpenAPI does not say: how to sign, the envelope, error codes, WebSocket topics.
 */

import { RejectCode } from "../domain/reject_codes.ts";
import { ApiCode } from "./api_errors.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

/** The HTML page for the OpenAPI document `doc`. */
export function renderDocsPage(doc: Json): string {
  const sections: string[] = [];
  const paths = Object.entries(doc.paths ?? {}) as [string, Json][];
  const groups: [string, (p: string) => boolean][] = [
    ["Public market data", (p) => p.startsWith("/api/v1/") && PUBLIC.has(p)],
    ["Private (signed)", (p) => p.startsWith("/api/v1/") && !PUBLIC.has(p)],
    ["Admin (Authorization: Bearer &lt;admin token&gt;)", (p) => p.startsWith("/admin/")],
  ];
  for (const [title, inGroup] of groups) {
    const rows: string[] = [];
    for (const [path, ops] of paths) {
      if (!inGroup(path)) continue;
      for (const [method, op] of Object.entries(ops) as [string, Json][]) {
        rows.push(endpoint(doc, method.toUpperCase(), path, op));
      }
    }
    sections.push(`<h2>${title}</h2>${rows.join("")}`);
  }
  const codes = [
    ...Object.entries(ApiCode).map(([name, code]) => [code, name]),
    ...Object.entries(RejectCode).map(([name, code]) => [code, name]),
  ].map(([code, name]) => `<tr><td>${code}</td><td>${name}</td></tr>`).join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(doc.info?.title ?? "API")}</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
code,pre{font:13px ui-monospace,monospace;background:#f4f4f4;border-radius:3px}
pre{padding:.6rem;overflow:auto} code{padding:0 .2rem}
.ep{border-top:1px solid #ddd;padding:.6rem 0} .m{font-weight:700;display:inline-block;width:4.5rem}
table{border-collapse:collapse} td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}
</style></head><body>
<h1>${esc(doc.info?.title ?? "API")}</h1>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). Every answer is
<code>{"code": 0, "msg": "ok", "data": ...}</code>; an error has a non-zero <code>code</code>, a
<code>msg</code> saying what is wrong, and no <code>data</code>. Prices and quantities are decimal
strings; enums are SCREAMING_CASE; times are ms since the epoch.</p>
<h2>Signing</h2>
<p>Private endpoints need <code>X-API-KEY</code>, <code>X-TIMESTAMP</code> (ms, within the
server's window, 5 s by default) and <code>X-SIGNATURE</code> = lowercase hex
HMAC-SHA256(secret, timestamp + METHOD + path_with_query + raw_body). Each signature is
accepted once. Each key is rate limited (429 with <code>Retry-After</code>).</p>
<pre>ts=$(date +%s%3N); body='{"symbol":"BTC_USDT","side":"BUY","type":"LIMIT","price":"50000","qty":"0.01"}'
sig=$(printf '%s' "$ts"POST/api/v1/create_order"$body" | openssl dgst -sha256 -hmac "$SECRET" | cut -d' ' -f2)
curl -H "X-API-KEY: $KEY" -H "X-TIMESTAMP: $ts" -H "X-SIGNATURE: $sig" \\
     -H 'content-type: application/json' -d "$body" http://127.0.0.1:8080/api/v1/create_order</pre>
${sections.join("\n")}
<h2>WebSocket <code>/ws</code></h2>
<p>Send <code>{"op":"subscribe","args":["trades.BTC_USDT","depth.BTC_USDT"]}</code>,
<code>{"op":"unsubscribe","args":[...]}</code>, <code>{"op":"ping"}</code>. Public topics:
<code>trades.&lt;SYMBOL&gt;</code>, <code>depth.&lt;SYMBOL&gt;</code> (a snapshot, then diffs whose
<code>update_id</code> increases by one: a gap means a missed message),
<code>kline.&lt;interval&gt;.&lt;SYMBOL&gt;</code>, <code>ticker.&lt;SYMBOL&gt;</code>. Private topics
<code>orders</code>, <code>user_trades</code>, <code>balances</code> after
<code>{"op":"login","args":{"api_key":..,"timestamp":..,"signature":..}}</code>, signed as a
<code>GET /ws</code> request with an empty body. A connection that reads too slowly is closed
with code 4000 and a reason.</p>
<h2>Error codes</h2><table><tr><th>code</th><th>name</th></tr>${codes}</table>
</body></html>`;
}

const PUBLIC = new Set([
  "/api/v1/depth",
  "/api/v1/klines",
  "/api/v1/public_trades",
  "/api/v1/ticker",
  "/api/v1/exchange_info",
  "/api/v1/time",
]);

function endpoint(doc: Json, method: string, path: string, op: Json): string {
  const params = (op.parameters ?? []).map((p: Json) =>
    `<li><code>${esc(p.name)}</code> (${p.in}${p.required ? ", required" : ""})${
      p.schema?.description ? `: ${esc(p.schema.description)}` : ""
    }</li>`
  );
  const body = op.requestBody?.content?.["application/json"]?.schema;
  const fields = body === undefined ? [] : schemaFields(doc, body);
  return `<div class="ep"><span class="m">${method}</span><code>${esc(path)}</code> ${
    esc(op.summary ?? "")
  }${params.length > 0 ? `<ul>${params.join("")}</ul>` : ""}${
    fields.length > 0 ? `<ul>${fields.join("")}</ul>` : ""
  }</div>`;
}

function schemaFields(doc: Json, schema: Json): string[] {
  const s = schema.$ref !== undefined ? resolve(doc, schema.$ref) : schema;
  const required = new Set<string>(s?.required ?? []);
  return Object.entries(s?.properties ?? {}).map(([name, p]: [string, Json]) => {
    const type = p.enum ? p.enum.join(" | ") : p.type ?? "";
    return `<li><code>${esc(name)}</code> ${esc(String(type))}${
      required.has(name) ? " (required)" : ""
    }${p.description ? `: ${esc(p.description)}` : ""}</li>`;
  });
}

function resolve(doc: Json, ref: string): Json {
  return ref.replace(/^#\//, "").split("/").reduce((o: Json, k) => o?.[k], doc);
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
