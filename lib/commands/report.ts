/**
 * `malloc-lab report <file.json | -> [--html FILE]`: what run --json, explain --json
 * or compare --json wrote, shown again: as the command printed it, or as one
 * self-contained HTML page.
 */
import { readFileSync, writeFileSync } from 'node:fs';

import { renderResultHtml, renderResultText, resultKind } from '../report/html/any.js';
import { eachArgument, usageError as usageErrorOf } from './arguments.js';
import type { Output } from './output.js';

const usageError = (message: string) => usageErrorOf('report', message);

export function parseReportArguments(argv: string[]): { input: string; html: string | null } {
  let input: string | undefined;
  let html: string | null = null;
  eachArgument('report', argv, (token, next) => {
    if (token === '--html') html = next();
    else if (token.startsWith('-') && token !== '-')
      throw usageError(`unknown option ${token} (report takes <file.json | -> [--html FILE] [--width N])`);
    else if (input !== undefined) throw usageError(`takes one file, received ${input} and ${token}`);
    else input = token;
  });
  if (input === undefined)
    throw usageError('give the JSON file that run --json, explain --json or compare --json wrote (- reads stdin)');
  return { input, html };
}

export function reportCommand(argv: string[], out: Output): number {
  const { input, html } = parseReportArguments(argv);
  let text: string;
  try {
    text = readFileSync(input === '-' ? 0 : input, 'utf8');
  } catch (error) {
    throw usageError(`cannot read ${input}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw usageError(`${input} is not JSON: ${(error as Error).message}`);
  }
  let result;
  try {
    result = resultKind(value, input === '-' ? 'stdin' : input);
  } catch (error) {
    throw usageError((error as Error).message);
  }
  if (html === null) {
    out.print(renderResultText(result, { width: out.width, colours: out.colours }));
    return 0;
  }
  writeFileSync(html, renderResultHtml(result));
  out.print(`report written to ${html}`);
  return 0;
}
