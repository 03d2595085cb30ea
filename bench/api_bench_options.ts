/**
 * The API bench's command-line options (see bench/api_bench.ts), checked: an unknown
 * option or a bad value stops the bench with a message naming it.
 */

export const API_BENCH_SCENARIOS = ["http", "latency", "ws"] as const;
export type ApiBenchScenario = typeof API_BENCH_SCENARIOS[number];

export interface ApiBenchOptions {
  seconds: number;
  runs: number;
  connections: number;
  rate: number;
  wsRate: number;
  wsClients: number;
  dataDirParent: string | undefined;
  only: ApiBenchScenario[];
  /** Which run to profile, if any. */
  profile: "http" | "latency" | undefined;
  /** V8 flags for the exchange server (an experiment: GC settings, say). */
  serverV8Flags: string[];
}

const KNOWN = [
  "seconds",
  "runs",
  "only",
  "connections",
  "rate",
  "ws-rate",
  "ws-clients",
  "data-dir",
  "profile",
  "diagnose",
  "server-v8-flags",
  "json",
];

/** The options in `args`. Throws an Error naming the first unknown or invalid one. */
export function parseApiBenchOptions(args: readonly string[]): ApiBenchOptions {
  for (const a of args) {
    const name = a.replace(/^--/, "").split("=")[0];
    if (!a.startsWith("--") || !KNOWN.includes(name)) {
      throw new Error(`Unknown argument "${a}"; options: ${KNOWN.map((k) => `--${k}`).join(" ")}`);
    }
  }
  const text = (name: string): string | undefined => {
    const arg = args.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
    if (arg === undefined) return undefined;
    return arg.length > name.length + 2 ? arg.slice(name.length + 3) : "";
  };
  const positive = (name: string, fallback: number): number => {
    const t = text(name);
    if (t === undefined) return fallback;
    const v = Number(t);
    if (!Number.isFinite(v) || v <= 0) {
      throw new Error(`Invalid option --${name}: must be a positive number, received "${t}"`);
    }
    return v;
  };
  const only = (text("only") ?? API_BENCH_SCENARIOS.join(",")).split(",");
  for (const o of only) {
    if (!(API_BENCH_SCENARIOS as readonly string[]).includes(o)) {
      throw new Error(
        `Invalid option --only: "${o}" is not one of ${API_BENCH_SCENARIOS.join(", ")}`,
      );
    }
  }
  const profile = text("profile");
  if (profile !== undefined && !["", "http", "latency"].includes(profile)) {
    throw new Error(`Invalid option --profile: use http or latency, received "${profile}"`);
  }
  return {
    seconds: positive("seconds", 5),
    runs: Math.round(positive("runs", 3)),
    connections: Math.round(positive("connections", 128)),
    rate: positive("rate", 5_000),
    wsRate: positive("ws-rate", 1_000),
    wsClients: Math.round(positive("ws-clients", 100)),
    dataDirParent: text("data-dir") || undefined,
    only: only as ApiBenchScenario[],
    profile: profile === undefined ? undefined : profile === "latency" ? "latency" : "http",
    serverV8Flags: (text("server-v8-flags") ?? "").split(",").filter((f) => f !== ""),
  };
}
