// `malloc-lab export` against a real process (test/fixtures/phased-target.mjs):
// scrape http://127.0.0.1:PORT/metrics with fetch, check names, types and values
// against what the target did, and that the server is loopback-only, stops with
// its target, and reports what another user may not read. Through dist/cli.js.
import { networkInterfaces } from 'node:os';
import { describe, expect, it } from 'vitest';

import { status } from '../lib/bridge/procfs.js';
import { MiB } from '../lib/infra/units.js';
import { cliHarness, asNobody, canRunAsNobody } from './fixtures/cli-harness.js';
import { scrapeText, startExporter } from './fixtures/exporter.js';

const ALLOCATION = 64 * MiB;

const { children, startTarget, cli } = cliHarness([
  'dist/cli.js',
  'dist/commands/export.js',
  'dist/integrations/prometheus.js',
  'dist/index.js',
]);

interface Exposition {
  help: Map<string, string>;
  type: Map<string, string>;
  samples: Map<string, { labels: string; value: number }>;
  comments: string[];
}

/** The text format, strictly: every sample line is name{labels} value; HELP and TYPE precede it. */
function parseExposition(text: string): Exposition {
  const result: Exposition = { help: new Map(), type: new Map(), samples: new Map(), comments: [] };
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.slice(0, -1).split('\n')) {
    let match: RegExpExecArray | null;
    if ((match = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line))) result.help.set(match[1]!, match[2]!);
    else if ((match = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (gauge|counter|untyped)$/.exec(line)))
      result.type.set(match[1]!, match[2]!);
    else if (line.startsWith('#')) result.comments.push(line);
    else if ((match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line))) {
      expect(result.type.has(match[1]!), `TYPE before ${match[1]}`).toBe(true);
      expect(result.samples.has(match[1]!), `${match[1]} twice`).toBe(false);
      result.samples.set(match[1]!, { labels: match[2] ?? '', value: Number(match[3]) });
    } else {
      throw new Error(`not exposition format: ${JSON.stringify(line)}`);
    }
  }
  return result;
}

async function scrape(url: string): Promise<Exposition> {
  return parseExposition(await scrapeText(url));
}

const external = Object.values(networkInterfaces())
  .flat()
  .find((address) => address !== undefined && address.family === 'IPv4' && !address.internal);

describe('malloc-lab export --pid P --port 0', () => {
  it("serves the target's memory at /metrics, and the values follow what it does", async () => {
    const target = await startTarget(['--mib', '64']);
    const exporter = await startExporter(children, ['--pid', String(target.pid)]);
    expect(exporter.port).toBeGreaterThan(0);

    const before = await scrape(exporter.url);
    const truth = status(target.pid);
    for (const name of [
      'malloclab_process_resident_bytes',
      'malloclab_process_resident_anon_bytes',
      'malloclab_process_virtual_bytes',
      'malloclab_process_threads',
      'malloclab_smaps_pss_bytes',
      'malloclab_smaps_uss_bytes',
    ]) {
      expect(before.samples.get(name), name).toBeDefined();
      expect(before.type.get(name)).toBe('gauge');
      expect(before.help.get(name)!.length).toBeGreaterThan(10);
      expect(before.samples.get(name)!.labels).toBe(`{pid="${target.pid}"}`);
    }
    // Nothing about the exporter's own heap: glibc's counters are only readable inside a process.
    expect([...before.samples.keys()].some((name) => name.startsWith('malloclab_glibc_'))).toBe(false);
    expect(before.samples.get('malloclab_process_threads')!.value).toBe(truth.Threads);
    expect(Math.abs(before.samples.get('malloclab_process_resident_anon_bytes')!.value - truth.RssAnon)).toBeLessThan(
      4 * MiB,
    );
    expect(before.comments).toEqual([]);

    target.next();
    await target.waitFor(/^phase 1 allocated/);
    const after = await scrape(exporter.url);
    const rise = (name: string) => after.samples.get(name)!.value - before.samples.get(name)!.value;
    expect(rise('malloclab_process_resident_anon_bytes')).toBeGreaterThanOrEqual(0.9 * ALLOCATION);
    expect(rise('malloclab_smaps_uss_bytes')).toBeGreaterThanOrEqual(0.9 * ALLOCATION);
    expect(rise('malloclab_process_virtual_bytes')).toBeGreaterThanOrEqual(ALLOCATION);

    // Only GET/HEAD, only /metrics (and an index at /).
    expect((await fetch(exporter.url.replace('/metrics', '/nope'))).status).toBe(404);
    expect((await fetch(exporter.url, { method: 'POST', body: 'x' })).status).toBe(405);
    expect(await (await fetch(exporter.url.replace('/metrics', '/'))).text()).toContain('/metrics');

    exporter.child.kill('SIGTERM');
    expect(await exporter.closed).toBe(0);
    expect(exporter.stderr()).toContain('export: SIGTERM, stopping');
  });

  it.skipIf(external === undefined)(
    'is bound to loopback by default: another address of this machine refuses',
    async () => {
      const target = await startTarget();
      const exporter = await startExporter(children, ['--pid', String(target.pid)]);
      expect(exporter.url).toBe(`http://127.0.0.1:${exporter.port}/metrics`);
      await scrape(exporter.url);
      const error = await fetch(`http://${external!.address}:${exporter.port}/metrics`).then(
        () => null,
        (failure: Error & { cause?: { code?: string } }) => failure,
      );
      expect(error?.cause?.code).toBe('ECONNREFUSED');

      // The control: asked to listen everywhere, the same address answers (and the CLI warns).
      const open = await startExporter(children, ['--pid', String(target.pid), '--host', '0.0.0.0']);
      await scrape(`http://${external!.address}:${open.port}/metrics`);
      expect(open.stderr()).toContain('export: listening on 0.0.0.0: anyone who can reach it can read these metrics');
    },
  );

  it('stops by itself when the target exits', async () => {
    const target = await startTarget();
    const exporter = await startExporter(children, ['--pid', String(target.pid)]);
    await scrape(exporter.url);
    target.child.stdin!.end();
    await target.exited;
    const code = await Promise.race([
      exporter.closed,
      new Promise((resolve) => setTimeout(() => resolve('still running'), 4000)),
    ]);
    expect(code).toBe(0);
    expect(exporter.stderr()).toContain(`export: pid ${target.pid} exited, stopping`);
  });

  it.skipIf(!canRunAsNobody)('run as another user: serves status, leaves smaps_rollup out and says why', async () => {
    const target = await startTarget(); // owned by root
    const exporter = await startExporter(children, ['--pid', String(target.pid)], asNobody);
    const metrics = await scrape(exporter.url);
    expect(metrics.samples.get('malloclab_process_resident_bytes')!.value).toBeGreaterThan(0);
    expect(metrics.samples.has('malloclab_smaps_pss_bytes')).toBe(false);
    expect(metrics.comments.join('\n')).toMatch(/^# malloc-lab: smaps_rollup of pid \d+: .*permission denied/m);
    await scrape(exporter.url);
    exporter.child.kill('SIGTERM');
    await exporter.closed;
    // Said once on stderr, not once per scrape.
    expect(exporter.stderr().match(/permission denied/g)?.length).toBe(1);
  });

  it('a gone pid and bad arguments are clear errors', async () => {
    const target = await startTarget();
    target.child.stdin!.end();
    await target.exited;
    const gone = await cli(['export', '--pid', String(target.pid), '--port', '0']);
    expect(gone.code).toBe(1);
    expect(gone.stdout).toBe('');
    expect(gone.stderr.trim()).toBe(
      `malloc-lab: export: no process with pid ${target.pid} (it exited or never existed) [ENOENT]`,
    );

    for (const [args, message] of [
      [['export', '--port', '0'], '--pid <pid|name> is required'],
      [['export', '--pid', '1'], '--port N is required'],
      [['export', '--pid', '1', '--port', '70000'], '--port must be an integer from 0 to 65535'],
      [['export', '--pid', '1', '--port', '0', 'extra'], 'unknown argument "extra"'],
    ] as const) {
      const result = await cli([...args]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toContain(message);
    }
  });

  it('a port in use is a readable error', async () => {
    const target = await startTarget();
    const first = await startExporter(children, ['--pid', String(target.pid)]);
    const second = await cli(['export', '--pid', String(target.pid), '--port', String(first.port)]);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(
      `export: cannot listen on 127.0.0.1:${first.port}: the port is in use [EADDRINUSE]`,
    );
  });
});
