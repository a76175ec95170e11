/**
 * `malloc-lab explain … --html FILE` and `malloc-lab report explain.json --html FILE`:
 * an explain report as a page in the same frame as the runs: the process and its
 * settings, the verdict, where the RSS lives (the chart, the classes and their
 * evidence), glibc's arenas, and what this view cannot know.
 */
import { formatBytes } from '../../infra/units.js';
import * as check from '../../infra/validate.js';
import type { ExplainReport } from '../../process/explain/types.js';
import { commandLine } from '../../process/target.js';
import { renderExplainSvg } from '../explain-svg.js';
import { settingsLine, viewLine } from '../explain-text.js';
import { escapeHtml, facts, figure, renderPage, table } from './page.js';

const percent = (share: number) => `${(100 * share).toFixed(1)} %`;
const bytes = (value: number | null | undefined) => (value === null || value === undefined ? '–' : formatBytes(value));
const num = (text: string) => `<span class="num">${escapeHtml(text)}</span>`;
const list = (items: string[]) => `<ul>${items.map((item) => `<li>${escapeHtml(item)}</li>`).join('')}</ul>`;

function verdictSection(report: ExplainReport): string {
  const { verdict } = report;
  const parts = [`<p>${escapeHtml(verdict.summary)}</p>`];
  if (verdict.split !== null) {
    parts.push(
      table(
        'The resident set split by what holds it',
        ['part', 'bytes', 'share', 'basis'],
        verdict.split.map((part) => [
          escapeHtml(part.part),
          num(formatBytes(part.bytes)),
          num(percent(part.share)),
          escapeHtml(part.basis),
        ]),
      ),
    );
  }
  if (verdict.mechanisms.length > 0) {
    parts.push('<h3>Mechanisms</h3>');
    parts.push(
      `<ul>${verdict.mechanisms
        .map((mechanism) => {
          const holds = mechanism.holds === true ? 'yes' : mechanism.holds === false ? 'no' : 'this view cannot tell';
          return `<li><strong>${escapeHtml(mechanism.id)}</strong>: ${holds} — ${escapeHtml(mechanism.because)}</li>`;
        })
        .join('')}</ul>`,
    );
  }
  if (verdict.recommendations.length > 0) {
    parts.push('<h3>What would help</h3>', list(verdict.recommendations.map((recommendation) => recommendation.text)));
  }
  if (verdict.cannotKnow.length > 0) parts.push('<h3>What this view cannot know</h3>', list(verdict.cannotKnow));
  return parts.join('\n');
}

function classesSection(report: ExplainReport): string {
  const described = report.classes
    .filter((entry) => entry.residentBytes > 0)
    .map((entry) => `${entry.name} ${formatBytes(entry.residentBytes)} (${percent(entry.share)})`)
    .join(', ');
  const parts = [
    figure(renderExplainSvg(report), {
      id: 'explain-chart',
      title: `Where the ${formatBytes(report.totals.residentBytes)} resident set of pid ${report.pid} lives`,
      description: `Resident bytes by class: ${described || 'none'}.`,
    }),
    table(
      'Resident and reserved bytes by class',
      ['class', 'resident', 'share', 'reserved', 'regions'],
      report.classes.map((entry) => [
        escapeHtml(entry.name),
        num(formatBytes(entry.residentBytes)),
        num(percent(entry.share)),
        num(formatBytes(entry.reservedBytes)),
        num(String(entry.regionCount)),
      ]),
    ),
    '<h3>Why each class holds what it holds</h3>',
  ];
  for (const entry of report.classes) {
    if (entry.regionCount === 0 && entry.evidence.length <= 1) continue;
    parts.push(`<h4>${escapeHtml(entry.name)}</h4>`, list(entry.evidence));
  }
  return parts.join('\n');
}

function glibcSection(report: ExplainReport): string {
  const glibc = report.glibc!;
  const parts = [
    facts([
      ['version', glibc.version ?? 'unknown'],
      ['arenas', `${glibc.arenas.count ?? '?'} (counted by ${glibc.arenas.countedBy})`],
      ['arena cap', `${glibc.cap.value ?? '?'}: ${glibc.cap.note}`],
      ...(glibc.parameters === null
        ? []
        : ([
            [
              'thresholds',
              `mmap ${formatBytes(glibc.parameters.mmapThresholdBytes)} (${glibc.parameters.dynamicThreshold ? 'dynamic' : 'fixed by a setting'}), trim ${formatBytes(glibc.parameters.trimThresholdBytes)}`,
            ],
          ] as [string, string][])),
    ]),
  ];
  if (glibc.arenas.list.length > 0) {
    parts.push(
      table(
        "glibc's arenas",
        ['arena', 'heaps', 'reserved', 'resident', 'system', 'top', 'free', 'trimmable', 'threads'],
        glibc.arenas.list.map((arena) => [
          escapeHtml(arena.main ? 'main' : arena.index === null ? '?' : `#${arena.index}`),
          num(arena.main ? '[heap]' : String(arena.heaps.length)),
          num(formatBytes(arena.reservedBytes)),
          num(formatBytes(arena.residentBytes)),
          num(bytes(arena.systemBytes)),
          num(bytes(arena.topBytes)),
          num(bytes(arena.freeBytes)),
          num(bytes(arena.trimmableBytes)),
          num(arena.attachedThreads === null ? '–' : String(arena.attachedThreads)),
        ]),
      ),
    );
  }
  return parts.join('\n');
}

export function renderExplainHtml(report: ExplainReport): string {
  if (report === null || typeof report !== 'object' || typeof report.pid !== 'number' || !Array.isArray(report.classes))
    throw check.typeError(
      'renderExplainHtml',
      'report',
      'an explain report (from explainProcess or explain --json)',
      report,
    );
  const command =
    report.cmdline === null
      ? '?'
      : commandLine({ pid: report.pid, comm: report.comm ?? '?', cmdline: report.cmdline }, 200);
  const environment = facts([
    ['process', `pid ${report.pid}: ${command}`],
    ['read at', report.takenAt],
    ['view', viewLine(report).replace(/^view: /, '')],
    ['allocator', `${report.allocator.name} (${report.allocator.evidence})`],
    ['settings', settingsLine(report).replace(/^settings in force \(start-up environment\): /, '')],
    [
      'resident',
      `${formatBytes(report.totals.residentBytes)} in ${report.totals.mappings} mappings, ${formatBytes(report.totals.reservedBytes)} of address space`,
    ],
    ['threads', String(report.threads.count)],
    ['CPUs', `${report.cpus.online ?? '?'} online, ${report.cpus.affinity ?? '?'} in the affinity mask`],
  ]);
  const sections = [{ id: 'environment', title: 'The process', html: environment }];
  if (report.outcome === 'denied') {
    sections.push({
      id: 'verdict',
      title: 'Verdict',
      html: `<p>${escapeHtml(report.verdict.summary)}</p>${list(report.verdict.cannotKnow)}`,
    });
  } else {
    if (report.outcome === 'partial')
      sections.push({ id: 'partial', title: 'Partial', html: `<p>${escapeHtml(report.partialReason ?? '')}</p>` });
    sections.push({ id: 'verdict', title: 'Verdict', html: verdictSection(report) });
    sections.push({ id: 'classes', title: 'Where the RSS lives', html: classesSection(report) });
    if (report.glibc !== null) sections.push({ id: 'glibc', title: 'glibc', html: glibcSection(report) });
  }
  if (report.problems.length > 0) sections.push({ id: 'notes', title: 'Notes', html: list(report.problems) });
  return renderPage({
    title: `malloc-lab explain: pid ${report.pid}${report.comm ? ` (${report.comm})` : ''}`,
    lede: report.verdict.summary,
    sections,
  });
}
