import { createServer } from 'node:net'

/**
 * A port to listen on: `preferred` when it is free (so the printed commands are the familiar
 * 8080/9091 on most machines), else one the OS picks. Another process may take it before we
 * bind it; for a demo that race is acceptable, and the bind then fails loudly.
 */
export async function findFreePort(preferred?: number): Promise<number> {
  if (preferred !== undefined && await canListen(preferred)) return preferred
  return listenOnce(0)
}

async function canListen(port: number): Promise<boolean> {
  try {
    await listenOnce(port)
    return true
  } catch {
    return false
  }
}

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      const address = server.address()
      const bound = typeof address === 'object' && address !== null ? address.port : port
      server.close(() => resolve(bound))
    })
  })
}
