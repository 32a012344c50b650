import net from 'node:net'

/**
 * A TCP relay in front of Postgres that can go silent without closing anything: the
 * half-open connection a dead NAT or a frozen host leaves behind, which no error reveals.
 * Connections opened after `freeze()` relay normally.
 */
export interface TcpFreezer {
  readonly port: number
  /** Stops relaying on every open connection, in both directions, closing nothing. */
  freeze(): void
  close(): Promise<void>
}

export async function startTcpFreezer(target: { host: string; port: number }): Promise<TcpFreezer> {
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket }>()
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host)
    const pair = { client, upstream }
    pairs.add(pair)
    client.pipe(upstream)
    upstream.pipe(client)
    const end = () => { client.destroy(); upstream.destroy(); pairs.delete(pair) }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const frozen: net.Socket[] = []
  return {
    port: (server.address() as net.AddressInfo).port,
    freeze() {
      for (const { client, upstream } of pairs) {
        client.unpipe(upstream); upstream.unpipe(client)
        client.pause(); upstream.pause()
        // A frozen peer never answers and never closes: drop our side's close handlers too.
        client.removeAllListeners('close'); upstream.removeAllListeners('close')
        frozen.push(client, upstream)
      }
      pairs.clear()
    },
    async close() {
      for (const socket of frozen) socket.destroy()
      for (const { client, upstream } of pairs) { client.destroy(); upstream.destroy() }
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
