import { readFileSync } from 'node:fs'

/**
 * Summarizes a V8 .cpuprofile (node --cpu-prof): self and total time per function, and self
 * time per package, as shares of the busy (non-idle) time.
 */
interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly children?: readonly number[]
}
interface CpuProfile { readonly nodes: readonly ProfileNode[]; readonly samples: readonly number[]; readonly timeDeltas: readonly number[]; readonly startTime: number; readonly endTime: number }

/**
 * The part of the profile to summarize, in wall-clock ms before the profile's end (the
 * process's exit): the measured load run, without the start-up, the warm-up and the drain.
 */
export interface ProfileWindow { readonly fromEndMs: number; readonly toEndMs: number }

export interface FrameShare { readonly frame: string; readonly percent: number }
export interface ProfileSummary {
  readonly busyMs: number
  readonly idlePercent: number
  readonly topSelf: FrameShare[]
  readonly topTotal: FrameShare[]
  readonly byPackage: FrameShare[]
}

const IDLE = new Set(['(idle)', '(root)', '(program)'])

export function summarizeCpuProfile(file: string, top = 15, window?: ProfileWindow): ProfileSummary {
  const { profile, byId, self } = readSelfTimes(file, window)
  const all = [...self.values()].reduce((a, b) => a + b, 0)
  const idle = [...self].filter(([id]) => IDLE.has(byId.get(id)?.callFrame.functionName ?? '')).reduce((a, [, ms]) => a + ms, 0)
  const busy = all - idle
  const share = (entries: Iterable<[string, number]>): FrameShare[] => [...entries]
    .filter(([frame]) => !IDLE.has(frame))
    .sort((a, b) => b[1] - a[1]).slice(0, top)
    .map(([frame, ms]) => ({ frame, percent: Math.round((ms / busy) * 1000) / 10 }))
  return {
    busyMs: Math.round(busy), idlePercent: Math.round((idle / all) * 1000) / 10,
    topSelf: share(sumBy(self, byId, frameName)),
    topTotal: share(totalTimes(profile, byId, self)),
    byPackage: share(sumBy(self, byId, packageOf)),
  }
}

/** Self time in ms per function (all of them, idle left out), for comparing two profiles. */
export function selfTimes(file: string, window?: ProfileWindow): Map<string, number> {
  const { byId, self } = readSelfTimes(file, window)
  const out = sumBy(self, byId, frameName)
  for (const frame of IDLE) out.delete(frame)
  return out
}

/** Self time in ms per profile node, counting only the samples within the window. */
function readSelfTimes(file: string, window: ProfileWindow | undefined) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map<number, number>()
  const [from, to] = window ? [profile.endTime - window.fromEndMs * 1000, profile.endTime - window.toEndMs * 1000] : [-Infinity, Infinity]
  let at = profile.startTime
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0
    at += delta
    if (at >= from && at <= to) self.set(id, (self.get(id) ?? 0) + delta / 1000)
  })
  return { profile, byId, self }
}

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame
  if (url === '') return functionName || '(anonymous)'
  const short = url.replace(/^file:\/\//, '').replace(/^.*node_modules\//, '').replace(/^.*\/dist\//, 'dist/')
  return `${functionName || '(anonymous)'} ${short}:${lineNumber + 1}`
}

function packageOf(node: ProfileNode): string {
  const { url, functionName } = node.callFrame
  if (url === '') return functionName.startsWith('(') ? functionName : 'native/builtin'
  if (url.startsWith('node:')) return 'node core'
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1]
  if (pkg !== undefined) return pkg
  return url.includes('/dist/') ? 'cdc-cache-proxy (dist)' : url
}

function sumBy(self: Map<number, number>, byId: Map<number, ProfileNode>, key: (n: ProfileNode) => string): Map<string, number> {
  const out = new Map<string, number>()
  for (const [id, ms] of self) {
    const node = byId.get(id)
    if (node !== undefined) out.set(key(node), (out.get(key(node)) ?? 0) + ms)
  }
  return out
}

/** Inclusive time per frame; a frame that recurses is counted once per stack. */
function totalTimes(profile: CpuProfile, byId: Map<number, ProfileNode>, self: Map<number, number>): Map<string, number> {
  const out = new Map<string, number>()
  const visit = (id: number, onPath: ReadonlySet<string>): number => {
    const node = byId.get(id)
    if (node === undefined) return 0
    const name = frameName(node)
    const path = new Set(onPath).add(name)
    let total = self.get(id) ?? 0
    for (const child of node.children ?? []) total += visit(child, path)
    if (!onPath.has(name)) out.set(name, (out.get(name) ?? 0) + total)
    return total
  }
  const root = profile.nodes[0]
  if (root !== undefined) visit(root.id, new Set())
  return out
}
