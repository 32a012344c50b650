import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { makeMetrics } from '../../src/metrics.js'

/**
 * The Grafana dashboard queries metrics by name and label; a renamed metric would leave a
 * panel silently empty. Every name and label in its queries must exist in the proxy's registry.
 */
const ROOT = join(import.meta.dirname, '..', '..')
const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy', 'grafana', 'cdc-cache-proxy.json'), 'utf8')) as {
  uid: string
  panels: { id: number; type: string; title: string; targets?: { expr: string }[] }[]
}
// Labels Prometheus adds to every series, and the histogram bucket label.
const SCRAPE_LABELS = new Set(['job', 'instance', 'le'])

async function registeredLabels(): Promise<Map<string, Set<string>>> {
  // prom-client keeps each metric's declared labels in `labelNames` (set by its Metric base
  // class); the JSON export lists only labels of series already observed.
  const metrics = makeMetrics().registry.getMetricsAsArray() as unknown as { name: string; labelNames?: string[] }[]
  return new Map(metrics.map((metric) => [metric.name, new Set(metric.labelNames ?? [])]))
}

function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b(ccp_[a-z_]+?)(?:_bucket|_sum|_count)?(?=[{[\s)])/g)].map((m) => m[1] as string)
}

function labelNames(expr: string): string[] {
  const grouped = [...expr.matchAll(/\bby \(([^)]*)\)/g)].flatMap((m) => (m[1] ?? '').split(',').map((s) => s.trim()))
  const matched = [...expr.matchAll(/[{,]\s*([a-z_]+)\s*(?:=~|!=|=)/g)].map((m) => m[1] as string)
  return [...grouped, ...matched].filter((label) => label !== '' && !SCRAPE_LABELS.has(label))
}

t.test('every metric and label the dashboard queries exists in the proxy', async (t) => {
  const labels = await registeredLabels()
  const targets = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr })))
  t.ok(targets.length >= 10, `${targets.length} queries`)
  for (const { panel, expr } of targets) {
    const names = metricNames(expr)
    t.ok(names.length > 0, `${panel}: queries a ccp_ metric`)
    for (const name of names) {
      const known = labels.get(name)
      t.ok(known, `${panel}: ${name} is registered`)
      for (const label of labelNames(expr)) t.ok(known?.has(label), `${panel}: ${name} has label ${label}`)
    }
  }
})

t.test('panels have unique ids and the dashboard a stable uid', async (t) => {
  const ids = dashboard.panels.map((panel) => panel.id)
  t.equal(new Set(ids).size, ids.length)
  t.equal(dashboard.uid, 'cdc-cache-proxy')
})
