import type { BenchReport } from './write-reports.js'
export function renderSvg(_report: BenchReport): string {
  return '<svg xmlns="http://www.w3.org/2000/svg"/>'
}
