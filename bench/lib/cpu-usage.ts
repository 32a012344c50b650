import { readFileSync, readdirSync } from 'node:fs'

/**
 * CPU time of the server under test during a measured run, from Linux /proc: what a ratio of
 * requests per second cannot show on a shared machine is whether the server was the
 * bottleneck (about 100% of its CPU) and what one request cost it. Sums the process and its
 * direct children (nginx's worker), all threads.
 */
export interface CpuSample { readonly processSeconds: number; readonly cpuBusy: number; readonly cpuTotal: number }

const TICKS_PER_SECOND = 100 // USER_HZ on Linux

export function sampleCpu(pid: number, cpu: string): CpuSample | undefined {
  try {
    return { processSeconds: processTreeSeconds(pid), ...cpuTicks(cpu) }
  } catch {
    return undefined
  }
}

export interface CpuUsage {
  /** The server's CPU time as a share of one CPU over the run (100 = one CPU fully busy). */
  readonly serverPercent: number
  /** The server's CPU time per request, in microseconds. */
  readonly serverUsPerRequest: number
  /** How busy the server's CPU was over the run, by anything (100 = no idle time). */
  readonly cpuBusyPercent: number
}

export function cpuUsage(before: CpuSample | undefined, after: CpuSample | undefined, seconds: number, requests: number): CpuUsage | undefined {
  if (!before || !after || seconds <= 0 || requests <= 0) return undefined
  const used = after.processSeconds - before.processSeconds
  const total = after.cpuTotal - before.cpuTotal
  return {
    serverPercent: Math.round((used / seconds) * 1000) / 10,
    serverUsPerRequest: Math.round((used / requests) * 1e7) / 10,
    cpuBusyPercent: total > 0 ? Math.round(((after.cpuBusy - before.cpuBusy) / total) * 1000) / 10 : NaN,
  }
}

/** utime + stime of a process (all its threads) plus those of its direct children. */
function processTreeSeconds(pid: number): number {
  let ticks = ownTicks(pid)
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === pid) continue
    const fields = statFields(Number(name))
    if (fields && Number(fields[1]) === pid) ticks += Number(fields[11]) + Number(fields[12])
  }
  return ticks / TICKS_PER_SECOND
}

function ownTicks(pid: number): number {
  const fields = statFields(pid)
  if (!fields) throw new Error(`no /proc/${pid}/stat`)
  return Number(fields[11]) + Number(fields[12])
}

/** Fields of /proc/<pid>/stat after the command name: [state, ppid, ..., utime at 11, stime at 12]. */
function statFields(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return text.slice(text.lastIndexOf(')') + 2).split(' ')
  } catch {
    return undefined
  }
}

function cpuTicks(cpu: string): { cpuBusy: number; cpuTotal: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`cpu${cpu} `))
  if (!line) throw new Error(`no cpu${cpu} in /proc/stat`)
  const values = line.trim().split(/\s+/).slice(1).map(Number)
  const idle = (values[3] ?? 0) + (values[4] ?? 0)
  const total = values.slice(0, 8).reduce((a, b) => a + b, 0)
  return { cpuBusy: total - idle, cpuTotal: total }
}
