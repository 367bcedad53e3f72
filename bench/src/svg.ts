import type { BenchResults, Metric, Section } from './results.js';
import { summarize } from './stats.js';

// Ours always first and always the same blue; peers in greys and muted colours.
const PALETTE = ['#2563eb', '#6b7280', '#b0b7c3', '#d97706', '#059669'];

const WIDTH = 860;
const LABEL_WIDTH = 190;
const BAR_AREA = 540;
const BAR_HEIGHT = 16;
const BAR_GAP = 4;
const METRIC_GAP = 26;

function esc(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

function num(value: number, digits: number): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** One metric: a bar per subject at its median, scaled to the largest max, with a min–max whisker. */
function metricBlock(section: Section, metric: Metric, top: number): { svg: string; height: number } {
  const present = section.subjects
    .map((subject, index) => ({ subject, index, values: metric.rounds[subject.id] ?? [] }))
    .filter((entry) => entry.values.length > 0);
  const scaleMax = Math.max(...present.map((e) => summarize(e.values).max), Number.MIN_VALUE);
  const parts: string[] = [];
  parts.push(
    `<text x="12" y="${top + 12}" class="metric">${esc(metric.title)} — ${esc(metric.unit)}, ${metric.better} is better</text>`,
  );
  let y = top + 20;
  for (const { subject, index, values } of present) {
    const s = summarize(values);
    const width = Math.max(1, (s.median / scaleMax) * BAR_AREA);
    const x0 = LABEL_WIDTH;
    const colour = PALETTE[index % PALETTE.length] ?? '#888';
    parts.push(`<text x="${LABEL_WIDTH - 8}" y="${y + BAR_HEIGHT - 4}" class="label" text-anchor="end">${esc(subject.label)}</text>`);
    parts.push(`<rect x="${x0}" y="${y}" width="${width.toFixed(1)}" height="${BAR_HEIGHT}" fill="${colour}" rx="2"/>`);
    if (s.max > s.min) {
      const a = x0 + (s.min / scaleMax) * BAR_AREA;
      const b = x0 + (s.max / scaleMax) * BAR_AREA;
      const mid = y + BAR_HEIGHT / 2;
      parts.push(
        `<path d="M${a.toFixed(1)} ${mid}H${b.toFixed(1)}M${a.toFixed(1)} ${mid - 4}V${mid + 4}M${b.toFixed(1)} ${mid - 4}V${mid + 4}" class="whisker"/>`,
      );
    }
    const labelX = x0 + Math.max(width, (s.max / scaleMax) * BAR_AREA) + 6;
    parts.push(`<text x="${labelX.toFixed(1)}" y="${y + BAR_HEIGHT - 4}" class="value">${esc(num(s.median, metric.digits))}</text>`);
    y += BAR_HEIGHT + BAR_GAP;
  }
  return { svg: parts.join('\n'), height: y - top + METRIC_GAP - BAR_GAP };
}

/** A bar chart of every metric of the run: medians, whiskers from the lowest to the highest round. */
export function svgChart(results: BenchResults): string {
  const blocks: string[] = [];
  let y = 36;
  for (const section of results.sections) {
    blocks.push(`<text x="12" y="${y}" class="section">${esc(section.title)}</text>`);
    y += 14;
    for (const metric of section.metrics) {
      const block = metricBlock(section, metric, y);
      blocks.push(block.svg);
      y += block.height;
    }
    y += 14;
  }
  const { machine } = results;
  const footer = `${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, ${machine.date.slice(0, 10)} — pnpm bench`;
  blocks.push(`<text x="12" y="${y}" class="foot">${esc(footer)}</text>`);
  const height = y + 14;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">`,
    '<style>',
    '.section{font-size:15px;font-weight:600;fill:#111827}',
    '.metric{font-size:12px;fill:#374151}',
    '.label{font-size:12px;fill:#374151}',
    '.value{font-size:11px;fill:#111827}',
    '.foot{font-size:11px;fill:#6b7280}',
    '.whisker{stroke:#111827;stroke-width:1;fill:none}',
    '</style>',
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="12" y="18" class="foot">Medians of the rounds; whiskers span the lowest and highest round.</text>`,
    ...blocks,
    '</svg>',
    '',
  ].join('\n');
}
