// `malloc-lab export --match`: one exporter for every matching process, as a
// sidecar or per-node exporter runs it. Services in a known state (with and
// without the agent) are scraped while others start and stop: each appears with
// its pid and comm labels, its explain classes and (with the agent) glibc's free
// bytes; one that exits vanishes, one that starts appears.
import { afterEach, describe, expect, it } from 'vitest';

import { containerIdOf } from '../lib/process/explain/cpus.js';
import { cliHarness } from './fixtures/cli-harness.js';
import { scrapeText, startExporter } from './fixtures/exporter.js';
import { startService, stopServices } from './fixtures/services.js';
import { MiB } from './helpers.js';

const { children, cli } = cliHarness(['dist/cli.js', 'dist/process/fleet.js']);
afterEach(stopServices);

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The exposition, strictly: HELP and TYPE once per name before its samples, samples name{labels} value. */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  const typed = new Set<string>();
  for (const line of text.trimEnd().split('\n')) {
    let match: RegExpExecArray | null;
    if ((match = /^# TYPE (\S+) gauge$/.exec(line))) {
      expect(typed.has(match[1]!), `TYPE ${match[1]} twice`).toBe(false);
      typed.add(match[1]!);
    } else if (line.startsWith('# HELP ') || line.startsWith('# malloc-lab:')) continue;
    else if ((match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\} (\S+)$/.exec(line))) {
      expect(typed.has(match[1]!), `TYPE before ${match[1]}`).toBe(true);
      const labels = Object.fromEntries(
        [...match[2]!.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((pair) => [pair[1]!, pair[2]!]),
      );
      samples.push({ name: match[1]!, labels, value: Number(match[3]) });
    } else throw new Error(`not exposition: ${line}`);
  }
  return samples;
}

async function scrape(url: string): Promise<Sample[]> {
  return parse(await scrapeText(url));
}

const value = (samples: Sample[], name: string, labels: Record<string, string>) =>
  samples.find(
    (sample) => sample.name === name && Object.entries(labels).every(([key, wanted]) => sample.labels[key] === wanted),
  )?.value;

const pidsIn = (samples: Sample[]) =>
  new Set(
    samples
      .filter((sample) => sample.name === 'malloclab_process_resident_bytes')
      .map((sample) => Number(sample.labels['pid'])),
  );

describe('malloc-lab export --match', () => {
  it('serves every matching process with its classes, and follows them as they start and stop', async () => {
    const tag = `fleet-${process.pid}-${Date.now()}`;
    const first = await startService([tag]);
    const second = await startService([tag, '--no-agent']);
    const exporter = await startExporter(children, ['--match', tag]);

    const one = await scrape(exporter.url);
    expect(pidsIn(one)).toEqual(new Set([first.pid, second.pid]));
    for (const service of [first, second]) {
      const labels = { pid: String(service.pid) };
      expect(
        one.find((sample) => sample.name === 'malloclab_process_resident_bytes' && sample.labels['pid'] === labels.pid)
          ?.labels['comm'],
      ).toBe('node');
      // The known state, by class: 4 × 8 MiB filled in thread arenas, a 32 MiB mmapped block.
      expect(
        value(one, 'malloclab_explain_class_resident_bytes', { ...labels, class: 'glibc-arenas' }),
      ).toBeGreaterThanOrEqual(0.95 * 32 * MiB);
      expect(
        value(one, 'malloclab_explain_class_resident_bytes', { ...labels, class: 'anonymous-mmap' }),
      ).toBeGreaterThanOrEqual(0.95 * 32 * MiB);
      expect(value(one, 'malloclab_explain_age_seconds', labels)).toBeLessThan(60);
      expect(value(one, 'malloclab_explain_glibc_arenas', labels)).toBeGreaterThanOrEqual(5);
      // Every class is there, so the series stay stable.
      expect(
        one.filter(
          (sample) => sample.name === 'malloclab_explain_class_resident_bytes' && sample.labels['pid'] === labels.pid,
        ),
      ).toHaveLength(9);
    }
    expect(value(one, 'malloclab_agent_up', { pid: String(first.pid) })).toBe(1);
    expect(value(one, 'malloclab_agent_up', { pid: String(second.pid) })).toBe(0);
    // The agent's figure: at least the 32 MiB of holes the service made.
    expect(value(one, 'malloclab_agent_glibc_free_bytes', { pid: String(first.pid) })).toBeGreaterThanOrEqual(
      0.95 * 32 * MiB,
    );
    expect(value(one, 'malloclab_agent_glibc_free_bytes', { pid: String(second.pid) })).toBeUndefined();

    // One starts, one exits: the next scrape follows.
    const third = await startService([tag]);
    second.stop();
    await new Promise((resolve) => second.child.once('exit', resolve));
    const two = await scrape(exporter.url);
    expect(pidsIn(two)).toEqual(new Set([first.pid, third.pid]));
    expect(
      value(two, 'malloclab_explain_class_resident_bytes', { pid: String(third.pid), class: 'glibc-arenas' }),
    ).toBeGreaterThanOrEqual(0.95 * 32 * MiB);
    expect(value(two, 'malloclab_process_resident_bytes', { pid: String(second.pid) })).toBeUndefined();

    // A regex matches on the whole command line (the other exporter's has the tag too).
    const byRegex = await startExporter(children, ['--match', `/agent-service\\.mjs ${tag}/`]);
    expect(pidsIn(await scrape(byRegex.url))).toEqual(new Set([first.pid, third.pid]));
  });

  it('bad --match arguments are usage errors', async () => {
    for (const [args, message] of [
      [['export', '--match', '/(/', '--port', '0'], 'is not a valid regular expression'],
      [['export', '--match', 'x', '--pid', '1', '--port', '0'], 'give --pid or --match, not both'],
      [['export', '--match', 'x', '--classes-every', 'soon', '--port', '0'], '--classes-every must be seconds'],
    ] as const) {
      const result = await cli([...args]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toContain(message);
    }
  });

  it('reads the container id from the cgroup paths docker, containerd, CRI-O and podman write', () => {
    const id = 'a'.repeat(12) + '0123456789abcdef'.repeat(3) + 'b'.repeat(4);
    expect(id).toHaveLength(64);
    for (const path of [
      `/docker/${id}`,
      `/system.slice/docker-${id}.scope`,
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-${id}.scope`,
      `/kubepods/burstable/pod1/${id}`,
      `/machine.slice/libpod-${id}.scope/container`,
      `/system.slice/crio-${id}.scope`,
    ]) {
      expect(containerIdOf([{ hierarchy: '0', controllers: [], path }]), path).toBe(id);
    }
    expect(
      containerIdOf([{ hierarchy: '0', controllers: [], path: '/user.slice/user-1000.slice/session-2.scope' }]),
    ).toBeNull();
  });
});
