import type { ThroughputRow } from '../scenarios/throughput.js'
import type { BenchReport } from './write-reports.js'

/**
 * One chart: requests per second of every 50-connection row as horizontal bars, labelled with
 * p99 and the ratio to the Node ceiling, and the headline invalidation figures underneath.
 */
const WIDTH = 900
const BAR_HEIGHT = 26
const LEFT = 190
const RIGHT = 250

export function renderSvg(report: BenchReport): string {
  const throughput = report.results.throughput
  const rows = throughput !== undefined && !('error' in throughput) ? throughput.rows.filter((r) => r.connections > 1) : []
  const ceiling = rows.find((r) => r.name === 'node-ceiling')?.rps
  const max = Math.max(1, ...rows.map((r) => r.rps))
  const bars = rows.map((row, i) => bar(row, i, max, ceiling)).join('\n')
  const notes = footnotes(report)
  const height = 60 + rows.length * (BAR_HEIGHT + 8) + notes.length * 20 + 20
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="12" y="24" font-size="16" font-weight="bold">cdc-cache-proxy benchmark ${escape(report.startedAt.toISOString().slice(0, 16))}: ticket list, 50 connections, req/s</text>`,
    bars,
    ...notes.map((note, i) => `<text x="12" y="${60 + rows.length * (BAR_HEIGHT + 8) + 16 + i * 20}">${escape(note)}</text>`),
    '</svg>',
  ].join('\n') + '\n'
}

function bar(row: ThroughputRow, index: number, max: number, ceiling: number | undefined): string {
  const y = 44 + index * (BAR_HEIGHT + 8)
  const width = Math.max(1, ((WIDTH - LEFT - RIGHT) * row.rps) / max)
  const colour = row.name.startsWith('proxy') ? '#2f6fdf' : row.name.startsWith('nginx') ? '#2e9e4f' : row.name === 'node-ceiling' ? '#8a8a8a' : '#d08a2c'
  const ratioText = ceiling ? `, ${(row.rps / ceiling).toFixed(2)}× ceiling` : ''
  return [
    `<text x="${LEFT - 8}" y="${y + 17}" text-anchor="end">${escape(row.name)}</text>`,
    `<rect x="${LEFT}" y="${y}" width="${width.toFixed(1)}" height="${BAR_HEIGHT}" fill="${colour}"/>`,
    `<text x="${LEFT + width + 6}" y="${y + 17}">${Math.round(row.rps)} req/s, p99 ${row.latencyMs.p99.toFixed(1)} ms${ratioText}</text>`,
  ].join('\n')
}

function footnotes(report: BenchReport): string[] {
  const notes: string[] = []
  const { latency, scaling, mix } = report.results
  if (latency !== undefined && !('error' in latency)) {
    for (const r of latency.rates) notes.push(`commit→invalidation at ${r.targetRate}/s: p50 ${r.fromCommitReturnMs.p50} ms, p99 ${r.fromCommitReturnMs.p99} ms, max ${r.fromCommitReturnMs.max} ms`)
  }
  if (scaling !== undefined && !('error' in scaling)) notes.push(`invalidate one tag, ${scaling.points.map((p) => `${p.entries.toLocaleString('en')} entries: p50 ${p.invalidateMs.p50} ms`).join(' vs ')} (ratio ${scaling.ratioP50})`)
  if (mix !== undefined && !('error' in mix)) {
    const ratios = Object.entries(mix.byRoute).map(([route, r]) => `${route} ${r.hitRatio}`).join(', ')
    notes.push(`realistic mix hit ratios: ${ratios}; offload ${mix.upstreamOffload}; stale reads beyond bound: ${mix.staleReads.staleBeyondBound}`)
  }
  return notes
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}
