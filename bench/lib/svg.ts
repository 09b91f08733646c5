/**
 * Hand-written SVG bar charts (no chart library: the service's dependencies stay
 * untouched, D17). Horizontal bars, one per item, optional groups of bars
 * (e.g. p50 and p99 side by side), value labels at the bar ends, and an
 * optional dashed goal line.
 */

export interface Bar {
  readonly label: string;
  /** One value per series; NaN or null draws "n/a". */
  readonly values: readonly (number | null)[];
  readonly note?: string;
}

export interface BarChart {
  readonly title: string;
  readonly unit: string;
  readonly series: readonly string[];
  readonly bars: readonly Bar[];
  /** A vertical dashed line at this value, labelled. */
  readonly goal?: { readonly value: number; readonly label: string };
}

const COLOURS = ["#3b6ea8", "#e07b39", "#5a9e5a", "#a34f8e"];

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return "n/a";
  const abs = Math.abs(x);
  if (abs >= 1000) return Math.round(x).toLocaleString("en-US");
  if (abs >= 100) return x.toFixed(0);
  if (abs >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

export function renderBarChart(chart: BarChart): string {
  const labelWidth = 230;
  const plotWidth = 460;
  const valueWidth = 150;
  const barHeight = 16;
  const barGap = 4;
  const groupGap = 14;
  const top = 48;
  const legendHeight = chart.series.length > 1 ? 22 : 0;
  const width = labelWidth + plotWidth + valueWidth;
  const groupHeight = chart.series.length * (barHeight + barGap) - barGap;
  const height = top + legendHeight + chart.bars.length * (groupHeight + groupGap) + 24;
  const finite = chart.bars.flatMap((b) => b.values).filter((v): v is number => v !== null && Number.isFinite(v));
  const max = Math.max(...finite, chart.goal?.value ?? 0, 1e-9);
  const scale = (v: number) => (v / max) * plotWidth;

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  out.push(`<text x="12" y="22" font-size="15" font-weight="bold">${escapeXml(chart.title)}</text>`);
  out.push(`<text x="12" y="38" fill="#555">${escapeXml(chart.unit)}</text>`);
  if (legendHeight) {
    chart.series.forEach((name, i) => {
      const x = labelWidth + i * 120;
      out.push(`<rect x="${x}" y="${top - 2}" width="12" height="12" fill="${COLOURS[i % COLOURS.length]}"/>`);
      out.push(`<text x="${x + 16}" y="${top + 8}">${escapeXml(name)}</text>`);
    });
  }
  let y = top + legendHeight;
  for (const bar of chart.bars) {
    out.push(`<text x="${labelWidth - 8}" y="${y + groupHeight / 2 + 4}" text-anchor="end">${escapeXml(bar.label)}</text>`);
    bar.values.forEach((value, i) => {
      const by = y + i * (barHeight + barGap);
      if (value === null || !Number.isFinite(value)) {
        out.push(`<text x="${labelWidth + 4}" y="${by + barHeight - 4}" fill="#888">${escapeXml(bar.note ?? "n/a")}</text>`);
        return;
      }
      const w = Math.max(1, scale(value));
      out.push(`<rect x="${labelWidth}" y="${by}" width="${w.toFixed(1)}" height="${barHeight}" fill="${COLOURS[i % COLOURS.length]}"/>`);
      out.push(`<text x="${labelWidth + w + 6}" y="${by + barHeight - 4}">${escapeXml(formatNumber(value))}${i === 0 && bar.note ? ` ${escapeXml(bar.note)}` : ""}</text>`);
    });
    y += groupHeight + groupGap;
  }
  if (chart.goal) {
    const gx = labelWidth + scale(chart.goal.value);
    out.push(`<line x1="${gx.toFixed(1)}" y1="${top + legendHeight - 6}" x2="${gx.toFixed(1)}" y2="${y - groupGap + 6}" stroke="#c0392b" stroke-dasharray="5,4" stroke-width="1.5"/>`);
    out.push(`<text x="${gx.toFixed(1)}" y="${y + 8}" fill="#c0392b" text-anchor="middle">${escapeXml(chart.goal.label)}</text>`);
  }
  out.push(`<line x1="${labelWidth}" y1="${top + legendHeight - 6}" x2="${labelWidth}" y2="${y - groupGap + 6}" stroke="#333"/>`);
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}
