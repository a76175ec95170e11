// explain --json matches schema/explain-report.schema.json: real reports of a
// Node service with and without the agent, of a fresh-host program, and of a
// process another user may not read (denied); broken copies are refused.
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';

import { PAUSE_FD, startHeldRun } from '../lib/experiments/framework/held-run.js';
import { StepProgram } from '../lib/experiments/framework/program.js';
import { explainProcess } from '../lib/process/explain/explain.js';
import { EXPLAIN_REPORT_SCHEMA_PATH } from '../lib/process/explain/schema.js';
import type { ExplainReport } from '../lib/process/explain/types.js';
import { asNobody, canRunAsNobody, cliHarness } from './fixtures/cli-harness.js';
import { compileSchema } from './fixtures/schema.js';
import { startService, stopServices } from './fixtures/services.js';

const { cli, startTarget } = cliHarness(['dist/cli.js']);
afterAll(stopServices);

const validator = () => compileSchema(EXPLAIN_REPORT_SCHEMA_PATH, { formats: { 'date-time': true } });

/** The report as --json prints it (NaN becomes null). */
const asJson = (report: ExplainReport) => JSON.parse(JSON.stringify(report)) as ExplainReport;

function expectValid(report: unknown): void {
  const validate = validator();
  const valid = validate(report);
  expect(validate.errors ?? []).toEqual([]);
  expect(valid).toBe(true);
}

describe('explain --json matches schema/explain-report.schema.json', () => {
  it('the schema ships at the exported path', () => {
    expect(existsSync(EXPLAIN_REPORT_SCHEMA_PATH)).toBe(true);
  });

  it('a Node service with the agent, and without', async () => {
    const withAgent = await startService();
    const report = asJson(await explainProcess(withAgent.pid));
    expect(report.view).toBe('outside+agent');
    expectValid(report);
    const without = await startService(['--no-agent']);
    const outside = asJson(await explainProcess(without.pid));
    expect(outside.view).toBe('outside');
    expectValid(outside);
  });

  it('a fresh-host program, as the CLI prints it', async () => {
    const program = new StepProgram()
      .step('build', (s) =>
        s
          .threadStart(0)
          .onThread(0, (t) => t.malloc('a', 4096))
          .malloc('big', 1 << 20),
      )
      .step('hold', (s) => s.pause(PAUSE_FD));
    const run = startHeldRun(program, 'fresh');
    try {
      await run.reached('build');
      const result = await cli(['explain', String(run.pid), '--json']);
      expect(result.code).toBe(0);
      expectValid(JSON.parse(result.stdout));
    } finally {
      run.kill();
    }
  });

  it.skipIf(!canRunAsNobody)('a denied read', async () => {
    const target = await startTarget(['schema-denied']);
    const result = await cli(['explain', String(target.pid), '--json'], asNobody);
    const report = JSON.parse(result.stdout) as ExplainReport;
    expect(report.outcome).toBe('denied');
    expectValid(report);
  });

  it('rejects broken copies: an unknown class, an address that is not hex, a missing key, a share above 1', async () => {
    const target = await startTarget(['schema-broken']);
    const report = asJson(await explainProcess(target.pid, { agent: false }));
    const validate = validator();
    const broken = (change: (copy: ExplainReport) => void) => {
      const copy = structuredClone(report);
      change(copy);
      return copy;
    };
    const cases = {
      class: broken((copy) => ((copy.classes[0] as { name: string }).name = 'heap-ish')),
      address: broken((copy) => (copy.classes[0]!.regions[0]!.start = '12345')),
      missing: broken((copy) => delete (copy as Partial<ExplainReport>).verdict),
      share: broken((copy) => (copy.classes[0]!.share = 2)),
      extra: broken((copy) => ((copy as unknown as Record<string, unknown>)['surprise'] = 1)),
    };
    for (const [name, value] of Object.entries(cases))
      expect(validate(value), `${name} should be rejected`).toBe(false);
  });
});
