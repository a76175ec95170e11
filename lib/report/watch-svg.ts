/**
 * A small self-contained SVG line chart of a `malloc-lab watch` series: resident
 * memory (VmRSS, RssAnon, RssFile and VmHWM) over time, and the address space
 * (VmSize) in a panel of its own, since it is usually far larger. Same look as
 * report/svg.ts; output depends only on the result (no dates beyond the
 * result's own, no random ids).
 */
import type { WatchResult, WatchSample } from '../process/watch.js';
import { byteGrid, text, timePanel } from './chart-axes.js';
import { escapeXml, n, svgDocument } from './svg-document.js';

const WIDTH = 900;
const MARGIN = 24;
const AXIS_WIDTH = 70;

interface Line {
  field: keyof WatchSample;
  label: string;
  colour: string;
  dash?: string;
}

function panel(
  samples: WatchSample[],
  lines: Line[],
  title: string,
  note: string,
  top: number,
  plotHeight: number,
  seconds: number,
  fromZero: boolean,
): { svg: string; height: number } {
  const panelParts = timePanel(
    { left: MARGIN, top, width: WIDTH - 2 * MARGIN, axisWidth: AXIS_WIDTH, plotHeight },
    title,
    note,
    seconds,
  );
  const { plot, xOf } = panelParts;
  const parts = panelParts.parts;
  const values = lines.flatMap((line) => samples.map((sample) => sample[line.field]).filter(Number.isFinite));
  const grid = byteGrid(plot, values, fromZero);
  parts.push(...grid.parts);
  const yOf = grid.yOf;
  if (yOf === null) return { svg: parts.join('\n'), height: 22 + plotHeight + 22 };
  for (const line of lines) {
    let run: string[] = [];
    const flush = () => {
      if (run.length > 1) {
        parts.push(
          `<polyline points="${run.join(' ')}" fill="none" stroke="${line.colour}" stroke-width="${line.dash ? 1.5 : 2}" stroke-linejoin="round"${line.dash ? ` stroke-dasharray="${line.dash}"` : ''}><title>${escapeXml(line.label)}</title></polyline>`,
        );
      } else if (run.length === 1) {
        const [x, y] = run[0]!.split(',');
        parts.push(
          `<circle cx="${x}" cy="${y}" r="2.5" fill="${line.colour}"><title>${escapeXml(line.label)}</title></circle>`,
        );
      }
      run = [];
    };
    for (const sample of samples) {
      const value = sample[line.field];
      if (!Number.isFinite(value)) {
        flush();
        continue;
      }
      run.push(`${n(xOf(sample.t))},${n(yOf(value))}`);
    }
    flush();
  }
  return { svg: parts.join('\n'), height: 22 + plotHeight + 24 };
}

export function renderWatchSvg(result: WatchResult): string {
  const samples = result.samples;
  const seconds = Math.max(samples.at(-1)?.t ?? 0, result.elapsedMs, 1) / 1000;
  const body: string[] = [];
  let y = 30;
  const command =
    result.cmdline && result.cmdline.length > 0 ? result.cmdline.join(' ') : result.comm ? `[${result.comm}]` : '';
  body.push(text(MARGIN, y, `malloc-lab watch — pid ${result.pid}`, { 'font-size': 17, 'font-weight': 'bold' }));
  y += 18;
  if (command) {
    body.push(
      text(MARGIN, y, command.length > 130 ? `${command.slice(0, 129)}…` : command, {
        'font-size': 11,
        fill: '#374151',
      }),
    );
    y += 16;
  }
  const stop =
    result.stopped === 'exited'
      ? `the process exited after ${(result.elapsedMs / 1000).toFixed(1)} s`
      : result.stopped === 'duration'
        ? `stopped after ${(result.elapsedMs / 1000).toFixed(1)} s`
        : `interrupted after ${(result.elapsedMs / 1000).toFixed(1)} s`;
  body.push(
    text(MARGIN, y, `${samples.length} samples every ${result.intervalMs} ms from ${result.startedAt}; ${stop}`, {
      'font-size': 11,
      fill: '#6b7280',
    }),
  );
  y += 14;

  const resident: Line[] = [
    { field: 'VmRSS', label: 'VmRSS', colour: '#2563eb' },
    { field: 'RssAnon', label: 'RssAnon', colour: '#ea580c' },
    { field: 'RssFile', label: 'RssFile', colour: '#16a34a' },
    {
      field: 'VmHWM',
      label: result.peaks ? 'VmHWM: peak since the previous sample' : 'VmHWM: peak since the process started',
      colour: '#6b7280',
      dash: '5 3',
    },
  ];
  // Legend.
  y += 10;
  let x = MARGIN;
  for (const line of resident) {
    body.push(
      `<line x1="${n(x)}" y1="${n(y - 4)}" x2="${n(x + 26)}" y2="${n(y - 4)}" stroke="${line.colour}" stroke-width="2"${line.dash ? ` stroke-dasharray="${line.dash}"` : ''}/>`,
      text(x + 32, y, line.label, { 'font-size': 11, fill: '#374151' }),
    );
    x += 40 + line.label.length * 6.2 + 18;
  }
  y += 12;

  const top = panel(samples, resident, 'resident memory', 'from /proc/<pid>/status', y, 220, seconds, true);
  body.push(top.svg);
  y += top.height + 8;
  const bottom = panel(
    samples,
    [{ field: 'VmSize', label: 'VmSize', colour: '#7c3aed' }],
    'VmSize',
    'address space reserved',
    y,
    100,
    seconds,
    false,
  );
  body.push(bottom.svg);
  y += bottom.height;

  if (result.stopped === 'exited') {
    body.push(
      text(WIDTH - MARGIN, y, `pid ${result.pid} exited`, { 'font-size': 11, fill: '#b91c1c', 'text-anchor': 'end' }),
    );
    y += 6;
  }
  const height = Math.ceil(y + 12);
  return svgDocument(WIDTH, height, body);
}
