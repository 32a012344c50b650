import type { BenchReport } from './write-reports.js'
export function renderMarkdown(report: BenchReport): string {
  return '```json\n' + JSON.stringify(report.results, null, 2) + '\n```\n'
}
