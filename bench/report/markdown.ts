import type { BenchResults, Failed } from '../scenarios/index.js'
import type { PairedLatency } from '../scenarios/miss-latency.js'
import type { ProfileDifference, ProfileResult } from '../scenarios/profiles.js'
import type { ThroughputResult } from '../scenarios/throughput.js'
import type { BenchReport } from './write-reports.js'

/** The run as tables a person reads at a glance; the JSON next to it has everything. */
export function renderMarkdown(report: BenchReport): string {
  const { results } = report
  const minutes = ((report.finishedAt.getTime() - report.startedAt.getTime()) / 60_000).toFixed(1)
  return [
    `# Benchmark run ${report.startedAt.toISOString()}`,
    `\`npm run bench\` took ${minutes} min. Machine: ${report.machine.cpuCount} × ${report.machine.cpuModel}, ${report.machine.memoryGiB} GiB, ` +
      `load average at start ${report.machine.loadAverageAtStart.join(' / ')}; Node ${report.machine.node}, Postgres ${report.machine.postgres}, ` +
      `Redis ${report.machine.redis}, nginx ${report.machine.nginx ?? 'absent'}, wrk ${report.machine.wrk ?? 'absent'}. ${report.machine.pinning}.`,
    section('1. Throughput and latency', results.throughput, throughputTables),
    section('1b. What a MISS adds at 1 connection, alternating with the upstream', results.miss, missTable),
    section('2. Commit-to-invalidation latency', results.latency, latencyTable),
    section('3. Invalidation time vs number of entries', results.scaling, scalingTable),
    section('4. Realistic mix', results.mix, mixTables),
    section('5. Memory', results.memory, memoryTable),
    section('Profiles', results.profile, profileTables),
    section('Soak', results.soak, soakTables),
    section('Capacity (docs/scaling.md)', results.capacity, capacityTables),
  ].join('\n\n') + '\n'
}

function section<T extends object>(title: string, result: T | Failed | undefined, render: (r: T) => string[]): string {
  if (result === undefined) return `## ${title}\n\nnot run`
  if ('error' in result) return `## ${title}\n\nFAILED: ${result.error}`
  return [`## ${title}`, ...render(result)].join('\n\n')
}

function table(header: readonly string[], rows: readonly (readonly (string | number | null | undefined)[])[]): string {
  const line = (cells: readonly (string | number | null | undefined)[]): string => `| ${cells.map((c) => (c === null || c === undefined ? '–' : String(c))).join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n')
}

const x = (value: number | null | undefined): string => (value === null || value === undefined ? '–' : `${value.toFixed(2)}×`)

function throughputTables(t: ThroughputResult): string[] {
  const rps = (name: string) => t.rows.find((r) => r.name === name)?.rps
  const [ceiling, nginx] = [rps('node-ceiling'), rps('nginx-hit')]
  const rows = t.rows.map((r) => [
    r.name, r.connections, r.rps.toFixed(0), r.latencyMs.p50, r.latencyMs.p90, r.latencyMs.p99,
    ceiling ? x(r.rps / ceiling) : null, nginx ? x(r.rps / nginx) : null,
    r.cpu ? `${r.cpu.serverPercent}% / ${r.cpu.serverUsPerRequest} µs` : '', r.cpu ? `${r.cpu.cpuBusyPercent}%` : '',
    r.non2xx + r.socketErrors, r.xcache ? Object.entries(r.xcache).map(([k, v]) => `${k}: ${v}`).join(', ') : '', r.description,
  ])
  return [
    `\`GET ${t.path}\`, ${t.payloadBytes} bytes of JSON, wrk 1 thread. Latencies in ms. Server CPU: the server process's CPU time over the run (100% = one CPU) and per request; CPU busy: the server CPU's busy share, by anything.`,
    table(['scenario', 'conns', 'req/s', 'p50', 'p90', 'p99', '× Node ceiling', '× nginx', 'server CPU / per request', 'CPU busy', 'errors', 'X-Cache (proxy metrics)', 'what'], rows),
    table(['ratio', 'value'], Object.entries(t.ratios).map(([k, v]) => [k, v])),
    ...(t.alternating ? [
      `HIT and the Node ceiling side by side in alternating ${t.alternating.secondsPerRun} s runs (ceiling, HIT, HIT, ceiling per round; both processes up, one loaded at a time). ` +
        `**Median ratio: ${t.alternating.medianRatio}.**`,
      table(['round', 'HIT req/s', 'ceiling req/s', 'ratio'], t.alternating.rounds.map((r, i) => [i + 1, r.hit, r.ceiling, r.ratio])),
    ] : []),
  ]
}

function latencyTable(l: NonNullable<Exclude<BenchResults['latency'], Failed>>): string[] {
  return [
    'From the writer\'s commit return to Redis executing the stamp DEL (keyspace notification); ms.',
    table(['target commits/s', 'achieved', 'commits', 'p50', 'p99', 'max', 'p50 / p99 from statement time', 'proxy-reported mean', 'unobserved'],
      l.rates.map((r) => [r.targetRate, r.achievedRate, r.commits, r.fromCommitReturnMs.p50, r.fromCommitReturnMs.p99, r.fromCommitReturnMs.max,
        `${r.fromStatementMs.p50} / ${r.fromStatementMs.p99}`, r.proxyReportedMeanMs, r.unobserved])),
  ]
}

function scalingTable(s: NonNullable<Exclude<BenchResults['scaling'], Failed>>): string[] {
  return [
    table(['entries with the tag', 'invalidateTags p50 ms', 'p99 ms', 'mean ms', 'sampled entries invalidated'],
      s.points.map((p) => [p.entries.toLocaleString('en'), p.invalidateMs.p50, p.invalidateMs.p99, p.invalidateMs.mean, p.sampledEntriesInvalidated])),
    `Ratio largest/smallest: p50 ${x(s.ratioP50)}, mean ${x(s.ratioMean)}. Fill rate ${s.fillRatePerSec} entries/s.`,
  ]
}

function mixTables(m: NonNullable<Exclude<BenchResults['mix'], Failed>>): string[] {
  const s = m.staleReads
  return [
    `${m.readRatePerSec} reads/s offered for ${m.measuredSec} s after warm-up (${m.reads} sent, ${m.readsSkipped} skipped at the in-flight cap, ${m.readErrors} errors); ` +
      `writes/s ${JSON.stringify(m.writeRatesPerSec)} (achieved ${m.writes.achievedPerSec}/s: ${m.writes.ticket} ticket, ${m.writes.attendance} attendance, ${m.writes.person} person updates).`,
    table(['route', 'requests', 'hit ratio', 'hit ratio, last 60 s', 'X-Cache and Cache-Status detail'], Object.entries(m.byRoute).map(([route, r]) => [route, r.requests, r.hitRatio, r.lastMinuteHitRatio ?? '–', Object.entries(r.xcache).map(([k, v]) => `${k}: ${v}`).join(', ')])),
    `Hit ratio per 10 s window: ${Object.entries(m.hitRatioByWindow).map(([route, w]) => `${route} ${w.join(' → ')}`).join('; ')}.`,
    `Upstream offload (requests served from the cache): **${m.upstreamOffload}**. Proxy-reported upstream fetches: ${m.proxyReported.upstreamFetches}.`,
    `Stale reads (ticket versions checked against commit history, bound ${s.boundMs} ms): **${s.staleBeyondBound} beyond the bound**, ${s.staleWithinBound} within it, ` +
      `${s.readsChecked} reads / ${s.ticketsChecked} ticket rows checked, oldest stale read ${s.maxStaleAgeMs} ms.`,
    table(['X-Cache', 'count', 'p50 ms', 'p99 ms'], Object.entries(m.latencyMsByXCache).map(([k, v]) => [k, v.count, v.p50, v.p99])),
  ]
}

function memoryTable(m: NonNullable<Exclude<BenchResults['memory'], Failed>>): string[] {
  return [table(['figure', 'value'], [
    ['entries (written by the proxy)', `${m.entries.toLocaleString('en')} (${m.entriesWrittenByProxy.toLocaleString('en')})`],
    ['ticket-list body bytes', m.bodyBytes],
    ['Redis used_memory growth per entry', m.redisBytesPerEntry],
    ['MEMORY USAGE per entry key (sampled)', m.memoryUsagePerEntryKey],
    ['stamp keys', m.stampKeys],
    ['proxy RSS idle / after its fill / peak (MiB)', `${m.proxyRssMiB.idle} / ${m.proxyRssMiB.afterFill} / ${m.proxyRssMiB.peak}`],
    ['proxy miss+store rate vs a static origin (req/s)', m.fillRatePerSec],
  ])]
}

function missTable(m: NonNullable<Exclude<BenchResults['miss'], Failed>>): string[] {
  const row = (name: string, p: PairedLatency) => [name, p.pairs, `${p.upstreamMs.p50} / ${p.upstreamMs.p99}`, `${p.proxyMs.p50} / ${p.proxyMs.p99}`, p.addedP50Ms, p.addedMedianOfPairsMs, p.proxyCpuUsPerRequest ?? '', p.proxyRssMiB ?? '']
  const v = m.versusOtherBuild
  return [
    `One client (\`bench/load/alternate.ts\`, on the load CPU) sends the same request to the upstream and to each proxy in turn, one at a time ` +
      `(upstream, MISS, upstream, pass-through, upstream, floor, ...), ${m.seconds * 3} s in all; each proxy request is paired with the upstream request just before it. ` +
      'A new URL per request everywhere, so through the caching proxy every request is a full MISS. Latencies in ms, first byte written to last byte read. ' +
      "Proxy CPU: the proxy process's CPU time over the alternation (warm-up included) per request sent to it, its store work included; RSS after it.",
    table(['through', 'pairs', 'upstream p50 / p99', 'proxy p50 / p99', 'added at p50', 'median of paired differences', 'proxy CPU per request (µs)', 'proxy RSS (MiB)'],
      [row('proxy, MISS', m.miss), row('proxy, pass-through', m.passThrough), row('the proxy floor (node:http + undici, no framework, no cache)', m.floor)]),
    ...(v ? [`BENCH_COMPARE_CLI: ${v.thisCli ? `\`${v.thisCli}\` (BENCH_THIS_CLI)` : 'this build'}'s MISS against \`${v.otherCli}\`'s, two fresh proxies started and warmed alike, alternating ` +
      `twice, the other build first in each pair (${v.runs[0].upstreamMs.p50} ms there, ${v.runs[0].proxyMs.p50} ms here at p50), then this one first ` +
      `(${v.runs[1].proxyMs.p50} ms there, ${v.runs[1].upstreamMs.p50} ms here). This build minus the other, averaged over both orders: ` +
      `**${v.differenceP50Ms} ms** at p50, ${v.differenceMedianOfPairsMs} ms median of paired differences; CPU per MISS ${v.thisCpuUsPerMiss ?? '?'} µs here, ` +
      `${v.otherCpuUsPerMiss ?? '?'} µs there; RSS after ${v.thisRssMiB ?? '?'} MiB here, ${v.otherRssMiB ?? '?'} MiB there.`] : []),
  ]
}

function profileTables(p: NonNullable<Exclude<BenchResults['profile'], Failed>>): string[] {
  return [
    ...oneProfile('HIT, 50 connections', p.hit),
    ...(p.ceiling ? oneProfile('The Node ceiling, the HIT\'s load and bytes', p.ceiling) : []),
    ...(p.hitMinusCeiling ? differenceTable('HIT minus the Node ceiling', p.hitMinusCeiling) : []),
    ...oneProfile('MISS, 1 connection, a new URL per request', p.miss),
    ...(p.passThrough ? oneProfile('Pass-through, the MISS\'s load on a route not cached', p.passThrough) : []),
    ...(p.missMinusPassThrough ? differenceTable('MISS minus pass-through', p.missMinusPassThrough) : []),
  ]
}

function differenceTable(title: string, d: ProfileDifference): string[] {
  return [
    `### ${title}`,
    `Busy CPU per request: ${d.busyUsPerRequest} µs more. The functions whose self time per request grew most (profiler overhead included):`,
    table(['function (self time)', 'µs per request more'], d.largest.map((f) => [`\`${f.frame}\``, f.usPerRequest])),
  ]
}

function oneProfile(title: string, p: ProfileResult): string[] {
  const perRequest = (percent: number) => (Number.isFinite(p.busyUsPerRequest) ? Math.round(percent * p.busyUsPerRequest) / 100 : '')
  const shares = (items: readonly { frame: string; percent: number }[]) => items.map((i) => [`\`${i.frame}\``, `${i.percent}%`, perRequest(i.percent)])
  return [
    `### ${title}`,
    `\`${p.profileFile}\` (${p.rpsWhileProfiling} req/s while profiling). The measured run only (start-up, warm-up and drain left out): ` +
      `${p.idlePercent}% idle, ${p.busyUsPerRequest} µs busy per request (the profiler's overhead included). Shares of busy time.`,
    table(['package (self time)', 'share', 'µs per request'], shares(p.byPackage.slice(0, 10))),
    table(['function (self time)', 'share', 'µs per request'], shares(p.topSelf.slice(0, 12))),
    table(['function (total time)', 'share', 'µs per request'], shares(p.topTotal.slice(0, 12))),
  ]
}

function soakTables(s: NonNullable<Exclude<BenchResults['soak'], Failed>>): string[] {
  const routes = Object.entries(s.mix.byRoute).map(([route, r]) => `${route} ${r.hitRatio === null ? '–' : r.hitRatio.toFixed(2)}`).join(', ')
  return [
    `${s.seconds} s of the realistic mix through one proxy process: ${s.mix.reads} reads (${s.mix.readErrors} errors), ` +
      `hit ratio ${routes}, upstream offload ${s.mix.upstreamOffload === null ? '–' : s.mix.upstreamOffload.toFixed(2)}, ` +
      `stale reads beyond the bound: ${s.mix.staleReads.staleBeyondBound} of ${s.mix.staleReads.readsChecked} checked.`,
    table(['t (s)', 'RSS MiB', 'event-loop p99 ms', 'open fds', 'proxy Redis keys', 'Redis used MiB'],
      s.samples.map((x) => [x.atSec, x.rssMiB, x.eventLoopP99Ms, x.openFds, x.redisKeys, x.redisUsedMiB])),
  ]
}

function capacityTables(c: NonNullable<Exclude<BenchResults['capacity'], Failed>>): string[] {
  const s = c.settings
  const stores = [c.redis, ...('error' in c.cluster ? [] : [c.cluster])]
  const perOp = table(['store', 'op', 'ops', 'ops/s (one client)', 'p50 / p99 ms', 'Redis CPU µs/op', '1 core ⇒ ops/s', 'commandstats µs/op', 'client CPU µs/op', 'share per node', 'effective'],
    stores.flatMap((st) => st.phases.map((p) => [st.store, p.op, p.ops, p.opsPerSec, `${p.latencyMs.p50} / ${p.latencyMs.p99}`, p.redisCpuUsPerOp, p.impliedOpsPerRedisCore,
      p.commandUsPerOp, p.clientCpuUsPerOp, p.byNode.map((n) => n.shareOfCommands.toFixed(2)).join(' / '), p.effective])))
  const growth = table(['store', 'entries', 'tenants × users', 'entry keys', 'stamp keys (model)', 'lock keys', 'entry value B', 'MEMORY USAGE entry / user stamp B', 'used_memory per entry B', 'keys per node'],
    stores.map((st) => { const g = st.growth; return [st.store, g.entries, `${g.tenants} × ${g.users / g.tenants}`, g.entryKeys, `${g.stampKeys} (${g.stampKeysPredicted})`, g.lockKeys,
      g.entryValueBytes, `${g.memoryUsagePerEntryKey} / ${g.memoryUsagePerUserStampKey}`, g.usedMemoryPerEntry, Object.values(g.keysByNode).join(' / ')] }))
  return [
    `${s.tenants} tenants × ${s.usersPerTenant} users × ${s.variantsPerUser} variants, ${s.valueBytes}-byte bodies, concurrency ${s.concurrency}, ${s.seconds} s per timed phase. ` +
      `Load average ${c.loadAverage.before.join(' / ')} before, ${c.loadAverage.after.join(' / ')} after. Redis CPU is INFO cpu with each node's idle rate subtracted.`,
    perOp,
    growth,
    'error' in c.cluster ? `Cluster part FAILED: ${c.cluster.error}` : `Cluster: one client's background watermark poll costs the masters ${c.cluster.watermarkPollCpuMsPerSec} ms of CPU per second.`,
    'error' in c.consumer ? `Consumer part FAILED: ${c.consumer.error}` :
      `Replication consumer: a backlog of ${c.consumer.commits} one-row commits (${c.consumer.walBytes} bytes of WAL, written at ${c.consumer.writeCommitsPerSec}/s by one session) ` +
      `drained by one proxy in ${c.consumer.drainSeconds} s: **${c.consumer.drainCommitsPerSec} commits/s** (${c.consumer.spawnToCaughtUpSeconds} s from spawning the proxy; row changes the proxy counted: ${c.consumer.rowChangesApplied}).`,
  ]
}
