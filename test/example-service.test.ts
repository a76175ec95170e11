// The README's comparison of examples/compare-service, smaller: the service
// starts under each configuration, prints its ready line, serves the seeded load
// without a failure, and is stopped --linger after the load; its requests
// exercise every route (orders, archives, logins).
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import { compareAllocators } from '../lib/compare/compare.js';
import { schemaErrors } from './fixtures/compare-harness.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const example = (file: string) => join(root, 'examples/compare-service', file);

describe('examples/compare-service', () => {
  it('serves the seeded load under glibc and jemalloc, each checked, each stopped after the linger', async () => {
    const result = await compareAllocators({
      command: [process.execPath, example('server.mjs')],
      configurations: ['glibc', 'jemalloc-release'],
      readyLine: /listening on (http:\/\/\S+)/,
      load: `"${process.execPath}" "${example('load.mjs')}" $MALLOC_LAB_READY_1 --requests 120 --concurrency 4`,
      lingerMs: 1000,
      durationMs: 120_000,
    });
    expect(schemaErrors(result)).toEqual([]);
    expect(result.summary.map((row) => [row.configuration, row.status])).toEqual([
      ['glibc', 'ok'],
      ['jemalloc-release', 'ok'],
    ]);
    for (const run of result.runs) {
      expect(run.exit.end).toBe('linger');
      expect(run.load).toMatchObject({ code: 0, stoppedByCompare: false });
      expect(run.load!.output.at(-1)).toMatch(
        /^120 requests in [\d.]+ s: \d+ orders, \d+ archives, \d+ logins; 0 failed$/,
      );
      expect(run.load!.output.at(-1)).not.toMatch(/ 0 (orders|archives|logins)/);
    }
    expect(result.runs[1]!.verification.processes[0]!.allocator).toBe('jemalloc');
  });
});
