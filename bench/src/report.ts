import type { Machine } from './machine.js';
import type { BenchResults, Metric, Section } from './results.js';
import { ratioOfMedians, summarize } from './stats.js';

function num(value: number, digits: number): string {
  if (!Number.isFinite(value)) return '–';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function cell(metric: Metric, subject: string): string {
  const values = metric.rounds[subject];
  if (values === undefined || values.length === 0) return '';
  const s = summarize(values);
  if (s.min === s.max) return num(s.median, metric.digits);
  return `${num(s.median, metric.digits)} (${num(s.min, metric.digits)}–${num(s.max, metric.digits)})`;
}

function ratioCell(metric: Metric, peer: string): string {
  const ours = metric.rounds.ours;
  const theirs = metric.rounds[peer];
  if (ours === undefined || theirs === undefined || ours.length === 0 || theirs.length === 0) return '';
  const ratio = ratioOfMedians(ours, theirs);
  // Small ratios keep two significant digits rather than rounding to 0.00.
  const digits = ratio > 0 && ratio < 0.1 ? Math.min(6, 1 - Math.floor(Math.log10(ratio))) : 2;
  return `${num(ratio, digits)}×`;
}

/** Header and rows of a section's table: median (min–max) per subject, then ours/peer. */
function tableOf(section: Section): { header: string[]; rows: string[][] } {
  const peers = section.subjects.slice(1).filter((s) => s.ratio !== false);
  const header = [
    'metric',
    ...section.subjects.map((s) => s.label),
    ...peers.map((p) => `ours/${p.id}`),
  ];
  const rows = section.metrics.map((metric) => [
    `${metric.title} [${metric.unit}, ${metric.better} is better]`,
    ...section.subjects.map((s) => cell(metric, s.id)),
    ...peers.map((p) => ratioCell(metric, p.id)),
  ]);
  return { header, rows };
}

function roundsOf(section: Section): number {
  return Math.max(0, ...section.metrics.flatMap((m) => Object.values(m.rounds).map((r) => r.length)));
}

/** "5 rounds", "15 spawns": what the median and min–max of the section are taken over. */
function repetitionsOf(section: Section): string {
  const n = roundsOf(section);
  const unit = section.repetitions === 'spawns' ? 'spawn' : 'round';
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

/** The plain-text table printed at the end of a run. */
export function textReport(results: BenchResults): string {
  const lines: string[] = [];
  lines.push(machineLine(results.machine, results.loadAverageAtEnd));
  for (const section of results.sections) {
    const { header, rows } = tableOf(section);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    const line = (cells: string[]): string =>
      cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
    lines.push('', `${section.title} — median (min–max) of ${repetitionsOf(section)}`);
    lines.push(line(header));
    lines.push(widths.map((w) => '-'.repeat(w)).join('  '));
    for (const row of rows) lines.push(line(row));
  }
  if (results.targets.length > 0) {
    lines.push('', 'Targets');
    for (const t of results.targets) lines.push(`  [${t.holds ? 'holds' : 'MISSED'}] ${t.target}: ${t.measured}`);
  }
  lines.push('', `Wall time of the measurements: ${num(results.wallSeconds, 0)} s`);
  return lines.join('\n');
}

function machineLine(machine: Machine, loadAtEnd: number): string {
  return (
    `${machine.cpuModel}, ${machine.cores} cores, ${num(machine.memoryGiB, 1)} GiB, Node ${machine.node} (${machine.platform}), ` +
    `${machine.date}; load average ${num(machine.loadAverageAtStart, 2)} at start, ${num(loadAtEnd, 2)} at end`
  );
}

function md(text: string): string {
  return text.replaceAll('|', '\\|');
}

/** The markdown of a run: what the README's "Performance" section shows. */
export function markdownReport(results: BenchResults): string {
  const { machine } = results;
  const out: string[] = [];
  out.push('## Performance', '');
  out.push(
    `Measured by \`pnpm bench\` (bench/README.md) in one run on one machine: ${machine.cpuModel}, ${machine.cores} cores, ` +
      `Node ${machine.node}, ${machine.date.slice(0, 10)}. Load average ${num(machine.loadAverageAtStart, 2)} at the start and ` +
      `${num(results.loadAverageAtEnd, 2)} at the end; the measurements took ${num(results.wallSeconds, 0)} s. ` +
      'Each cell is the median over the rounds (the cold start: over the spawns), with the lowest and highest in parentheses; ' +
      'subjects alternate within every round, in an order that rotates from round to round. Ratios are ours ÷ peer, of the medians.',
  );
  for (const section of results.sections) {
    const { header, rows } = tableOf(section);
    out.push('', `### ${section.title}`, '');
    out.push(`${section.repetitions === 'spawns' ? `${repetitionsOf(section)} per subject` : repetitionsOf(section)} after a warm-up.`, '');
    out.push(`| ${header.map(md).join(' | ')} |`);
    out.push(`|${header.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`);
    for (const row of rows) out.push(`| ${row.map(md).join(' | ')} |`);
    out.push('');
    for (const subject of section.subjects) out.push(`- **${subject.label}**: ${subject.how}.`);
    for (const note of section.notes) out.push(`- ${note}`);
  }
  if (results.targets.length > 0) {
    out.push('', '### Targets', '', '| target | this run | holds |', '| --- | --- | --- |');
    for (const t of results.targets) out.push(`| ${md(t.target)} | ${md(t.measured)} | ${t.holds ? 'yes' : '**no**'} |`);
  }
  out.push(
    '',
    `Machine: ${machine.cpuModel}, ${machine.cores} cores, ${num(machine.memoryGiB, 1)} GiB, Node ${machine.node} (${machine.platform}); run started ${machine.date}.`,
    '',
  );
  return out.join('\n');
}
