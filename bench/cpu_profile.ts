/**
 * A V8 CPU profile of part of this process, through `node:inspector` (which Deno
 * supports in process: no `--inspect` flag, no second process), and a summary of it:
 * the share of samples in the garbage collector, the functions with the most self time,
 * self time by source file, and inclusive time of the functions of chosen folders (the
 * pipeline's stages). The raw profile can be written as a `.cpuprofile` file for Chrome
 * DevTools or speedscope.
 */

import inspector from "node:inspector";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

/** The profile as V8's `Profiler.stop` returns it. */
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A function (or file) and its share of the sampled time. */
export interface ProfileEntry {
  name: string;
  ms: number;
  share: number;
}

export interface ProfileSummary {
  sampledMs: number;
  gcShare: number;
  idleShare: number;
  topSelf: ProfileEntry[];
  byFile: ProfileEntry[];
  /** Inclusive time (GC excluded: V8 books it apart) of functions in the chosen folders. */
  topInclusive: ProfileEntry[];
}

/** A running profiler session; `stop()` ends it and returns the profile. */
export class CpuProfiler {
  private readonly session = new inspector.Session();

  private post<T>(method: string, params?: Record<string, unknown>): Promise<T> {
    return new Promise((resolve, reject) =>
      this.session.post(method, params ?? {}, (err: Error | null, result: unknown) => {
        if (err) reject(err);
        else resolve(result as T);
      })
    );
  }

  /** Starts sampling every `intervalUs` microseconds. */
  async start(intervalUs = 500): Promise<void> {
    this.session.connect();
    await this.post("Profiler.enable");
    await this.post("Profiler.setSamplingInterval", { interval: intervalUs });
    await this.post("Profiler.start");
  }

  async stop(): Promise<CpuProfile> {
    const { profile } = await this.post<{ profile: CpuProfile }>("Profiler.stop");
    await this.post("Profiler.disable");
    this.session.disconnect();
    return profile;
  }
}

function frameName(cf: CallFrame, root: string): string {
  const file = fileOf(cf, root);
  return `${cf.functionName || "(anonymous)"} ${file}${file === "" ? "" : `:${cf.lineNumber + 1}`}`;
}

function fileOf(cf: CallFrame, root: string): string {
  const i = cf.url.indexOf(root);
  if (i >= 0) return cf.url.slice(i + root.length);
  const nm = cf.url.indexOf("node_modules/");
  return nm >= 0 ? cf.url.slice(nm) : cf.url;
}

function top(map: Map<string, number>, total: number, n: number): ProfileEntry[] {
  return [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, us]) => ({ name, ms: us / 1000, share: us / total }));
}

/**
 * Summarizes `profile`. `root` is cut from script URLs (e.g. the repository's URL);
 * `folders` chooses the functions listed by inclusive time (e.g. ["actors/"]).
 */
export function summarizeProfile(
  profile: CpuProfile,
  root: string,
  folders: readonly string[],
  n = 20,
): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const c of node.children ?? []) parent.set(c, node.id);
  }
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  let total = 0;
  for (const us of selfUs.values()) total += us;
  const self = new Map<string, number>();
  const files = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let gcUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const cf = (byId.get(id) as ProfileNode).callFrame;
    if (cf.functionName === "(garbage collector)") gcUs += us;
    if (cf.functionName === "(idle)") idleUs += us;
    const name = frameName(cf, root);
    self.set(name, (self.get(name) ?? 0) + us);
    const file = fileOf(cf, root) || cf.functionName;
    files.set(file, (files.get(file) ?? 0) + us);
    const seen = new Set<string>();
    for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) {
      const f = (byId.get(x) as ProfileNode).callFrame;
      const file = fileOf(f, root);
      if (!folders.some((d) => file.startsWith(d))) continue;
      const k = frameName(f, root);
      if (seen.has(k)) continue; // recursion: count a sample once per function
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + us);
    }
  }
  return {
    sampledMs: total / 1000,
    gcShare: total === 0 ? 0 : gcUs / total,
    idleShare: total === 0 ? 0 : idleUs / total,
    topSelf: top(self, total, n),
    byFile: top(files, total, n),
    topInclusive: top(inclusive, total, n),
  };
}
