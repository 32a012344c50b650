import net from 'node:net'

/**
 * A TCP relay in front of a shared server (Postgres) that can play that server's restart for
 * one client without touching the server: `cut()` resets every relayed connection and
 * refuses new ones (the port is closed), `restore()` listens again on the same port.
 */
export interface TcpGate {
  readonly port: number
  cut(): Promise<void>
  restore(): Promise<void>
  close(): Promise<void>
}

export async function startTcpGate(target: { host: string; port: number }): Promise<TcpGate> {
  const sockets = new Set<net.Socket>()
  let server: net.Server | undefined
  let port = 0

  async function listen(): Promise<void> {
    const next = net.createServer((client) => {
      const upstream = net.connect(target.port, target.host)
      sockets.add(client).add(upstream)
      client.pipe(upstream)
      upstream.pipe(client)
      const end = () => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream) }
      client.on('error', end).on('close', end)
      upstream.on('error', end).on('close', end)
    })
    await new Promise<void>((resolve, reject) => { next.once('error', reject); next.listen(port, '127.0.0.1', () => resolve()) })
    port = (next.address() as net.AddressInfo).port
    server = next
  }

  async function stopListening(): Promise<void> {
    const current = server
    server = undefined
    for (const socket of sockets) socket.resetAndDestroy()
    sockets.clear()
    if (current) await new Promise<void>((resolve) => current.close(() => resolve()))
  }

  await listen()
  return {
    get port() { return port },
    cut: stopListening,
    restore: listen,
    close: stopListening,
  }
}
