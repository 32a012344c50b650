import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { MachineInfo } from '../lib/machine.js'
import type { BenchSettings } from '../lib/settings.js'
import type { BenchResults } from '../scenarios/index.js'
import { renderMarkdown } from './markdown.js'
import { renderSvg } from './svg-chart.js'

export interface BenchReport {
  readonly startedAt: Date
  readonly finishedAt: Date
  readonly settings: BenchSettings
  readonly machine: MachineInfo
  readonly results: BenchResults
}

/** bench/results/<date>.json (everything), .md (the tables) and .svg (the chart). */
export function writeReports(stem: string, report: BenchReport): string[] {
  mkdirSync(dirname(stem), { recursive: true })
  const json = { ...report, settings: { ...report.settings, scenarios: [...report.settings.scenarios] } }
  writeFileSync(`${stem}.json`, JSON.stringify(json, null, 2) + '\n')
  writeFileSync(`${stem}.md`, renderMarkdown(report))
  writeFileSync(`${stem}.svg`, renderSvg(report))
  return [`${stem}.json`, `${stem}.md`, `${stem}.svg`]
}

/** 2025-11-28-1405: sortable, one file set per run. */
export function fileStem(date: Date): string {
  const iso = date.toISOString()
  return `${iso.slice(0, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}`
}
