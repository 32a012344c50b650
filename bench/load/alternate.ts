#!/usr/bin/env node
import { Agent, request } from 'node:http'
import { writeFileSync } from 'node:fs'
import { summarize } from '../lib/stats.js'

/**
 * A load generator for one question: how much latency does the proxy add to a request?
 * It sends the same request to two targets in strict alternation, one at a time, on one
 * keep-alive connection each (A, B, A, B...), and times each from the first byte written to
 * the last byte read. Both targets see the same client, the same moment and the same noise,
 * so the difference of a pair is what B adds over A.
 *
 *   --a URL --b URL     the two targets (base URLs)
 *   --path P            path and query of every request
 *   --authorization V   Authorization header (optional)
 *   --unique NONCE      every request gets its own URL (&_bench=NONCE-n), at both targets
 *   --seconds S --warmup S --out FILE
 */
interface Args { a: string; b: string; path: string; authorization: string; unique: string; seconds: number; warmup: number; out: string }

function parseArgs(argv: readonly string[]): Args {
  const get = (name: string, fallback?: string): string => {
    const i = argv.indexOf(`--${name}`)
    const value = i >= 0 ? argv[i + 1] : fallback
    if (value === undefined) throw new Error(`--${name} is required`)
    return value
  }
  return { a: get('a'), b: get('b'), path: get('path'), authorization: get('authorization', ''), unique: get('unique', ''), seconds: Number(get('seconds', '10')), warmup: Number(get('warmup', '2')), out: get('out') }
}

function timedGet(agent: Agent, base: string, path: string, authorization: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint()
    const req = request(base + path, { agent, headers: authorization ? { authorization } : {} }, (res) => {
      res.on('data', () => {})
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`${base}${path} answered ${res.statusCode}`))
        else resolve(Number(process.hrtime.bigint() - started) / 1e6)
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2))
  const agents = { a: new Agent({ keepAlive: true, maxSockets: 1 }), b: new Agent({ keepAlive: true, maxSockets: 1 }) }
  const sep = args.path.includes('?') ? '&' : '?'
  let n = 0
  const pathOf = () => (args.unique ? `${args.path}${sep}_bench=${args.unique}-${++n}` : args.path)
  const pairs: [number, number][] = []
  let sent = 0 // pairs sent, the warm-up's included: what the targets' CPU time over the run is divided by
  const run = async (seconds: number, keep: boolean) => {
    const until = Date.now() + seconds * 1000
    while (Date.now() < until) {
      const a = await timedGet(agents.a, args.a, pathOf(), args.authorization)
      const b = await timedGet(agents.b, args.b, pathOf(), args.authorization)
      sent++
      if (keep) pairs.push([a, b])
    }
  }
  await run(args.warmup, false)
  await run(args.seconds, true)
  const a = summarize(pairs.map(([x]) => x))
  const b = summarize(pairs.map(([, y]) => y))
  const added = summarize(pairs.map(([x, y]) => y - x))
  writeFileSync(args.out, JSON.stringify({ pairs: pairs.length, sent, a, b, addedMedian: added.p50 }))
  agents.a.destroy()
  agents.b.destroy()
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exitCode = 1
})
