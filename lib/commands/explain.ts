/**
 * `malloc-lab explain <pid|name> [--json] [--svg FILE] [--html FILE] [--no-agent]`: where a
 * running process's resident memory lives and why, from outside (and from its
 * agent when it has one). Needs no addon.
 */
import { writeFileSync } from 'node:fs';

import { explainProcess } from '../process/explain/explain.js';
import { renderExplainSvg } from '../report/explain-svg.js';
import { renderExplainText } from '../report/explain-text.js';
import { eachArgument, targetProcess, usageError as usageErrorOf } from './arguments.js';
import type { Output } from './output.js';

const usageError = (message: string) => usageErrorOf('explain', message);

export interface ExplainCommand {
  target: string;
  json: boolean;
  svg: string | null;
  html: string | null;
  agent: boolean;
}

export function parseExplainArguments(argv: string[]): ExplainCommand {
  let target: string | undefined;
  let json = false;
  let svg: string | null = null;
  let html: string | null = null;
  let agent = true;
  eachArgument('explain', argv, (token, next) => {
    if (token === '--json') json = true;
    else if (token === '--svg') svg = next();
    else if (token === '--html') html = next();
    else if (token === '--no-agent') agent = false;
    else if (token.startsWith('-'))
      throw usageError(
        `unknown option ${token} (explain takes <pid|name> [--json] [--svg FILE] [--html FILE] [--no-agent])`,
      );
    else if (target !== undefined) throw usageError(`takes one process, received ${target} and ${token}`);
    else target = token;
  });
  if (target === undefined) throw usageError('give the pid or name of the process to explain');
  return { target, json, svg, html, agent };
}

export async function explainCommand(argv: string[], out: Output): Promise<number> {
  const { warn } = out;
  const command = parseExplainArguments(argv);
  const pid = targetProcess('explain', command.target);
  const report = await explainProcess(pid, { agent: command.agent ? 'auto' : false });
  if (command.svg !== null) {
    writeFileSync(command.svg, renderExplainSvg(report));
    warn(`explain: wrote ${command.svg}`);
  }
  if (command.html !== null) {
    const { renderExplainHtml } = await import('../report/html/explain.js');
    writeFileSync(command.html, renderExplainHtml(report));
    warn(`explain: wrote ${command.html}`);
  }
  if (command.json) out.data(JSON.stringify(report, null, 2));
  else out.print(renderExplainText(report, { width: out.width }));
  if (report.outcome === 'denied') {
    if (command.json) warn(`explain: ${report.verdict.cannotKnow[0]}`);
    return 1;
  }
  return 0;
}
