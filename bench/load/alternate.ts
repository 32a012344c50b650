#!/usr/bin/env node
import { Agent, request } from 'node:http'
import { writeFileSync } from 'node:fs'
import { summarize } from '../lib/stats.js'

/**
 * A load generator for one question: how much latency does a proxy add to a request?
 * It sends the same request to the upstream and to each target in turn, one at a time, on
 * one keep-alive connection each: A, B1, A, B2, A, B3, A, B1... and times each from the first
 * byte written to the last byte read. Every target is paired with the upstream request just
 * before it, so all of them see the same client, the same minutes and the same noise, and the
 * difference of a pair is what that target adds over A.
 *
 *   --a URL             the upstream (base URL)
 *   --b URL             a target (base URL); repeat for several, measured side by side
 *   --path P            path and query of every request
 *   --authorization V   Authorization header (optional)
 *   --unique NONCE      every request gets its own URL (&_bench=NONCE-n), at every target
 *   --seconds S --warmup S --out FILE
 */
interface Args { a: string; b: string[]; path: string; authorization: string; unique: string; seconds: number; warmup: number; out: string }

function parseArgs(argv: readonly string[]): Args {
  const get = (name: string, fallback?: string): string => {
    const i = argv.indexOf(`--${name}`)
    const value = i >= 0 ? argv[i + 1] : fallback
    if (value === undefined) throw new Error(`--${name} is required`)
    return value
  }
  const targets = argv.flatMap((arg, i) => (arg === '--b' && argv[i + 1] !== undefined ? [argv[i + 1] as string] : []))
  if (targets.length === 0) throw new Error('--b is required')
  return { a: get('a'), b: targets, path: get('path'), authorization: get('authorization', ''), unique: get('unique', ''), seconds: Number(get('seconds', '10')), warmup: Number(get('warmup', '2')), out: get('out') }
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
  const agentFor = () => new Agent({ keepAlive: true, maxSockets: 1 })
  const upstream = agentFor()
  const targets = args.b.map((base) => ({ base, agent: agentFor(), pairs: [] as [number, number][] }))
  const sep = args.path.includes('?') ? '&' : '?'
  let n = 0
  const pathOf = () => (args.unique ? `${args.path}${sep}_bench=${args.unique}-${++n}` : args.path)
  let sent = 0 // requests sent to each target, the warm-up's included: what the targets' CPU time over the run is divided by
  const run = async (seconds: number, keep: boolean) => {
    const until = Date.now() + seconds * 1000
    while (Date.now() < until) {
      for (const target of targets) {
        const a = await timedGet(upstream, args.a, pathOf(), args.authorization)
        const b = await timedGet(target.agent, target.base, pathOf(), args.authorization)
        if (keep) target.pairs.push([a, b])
      }
      sent++
    }
  }
  await run(args.warmup, false)
  await run(args.seconds, true)
  const results = targets.map(({ base, pairs }) => ({
    base, pairs: pairs.length, a: summarize(pairs.map(([x]) => x)), b: summarize(pairs.map(([, y]) => y)), addedMedian: summarize(pairs.map(([x, y]) => y - x)).p50,
  }))
  writeFileSync(args.out, JSON.stringify({ sent, targets: results }))
  upstream.destroy()
  for (const target of targets) target.agent.destroy()
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exitCode = 1
})
