#!/usr/bin/env node
// Redis bytes per stored entry for the example API's ticket-list payload, with and without the
// proxy's gzip storage: `npm run build && node bench/entry-bytes.mjs` (REDIS_URL, default local).
// Uses the proxy's own entry builder and encoder; keys under a prefix of its own, deleted after.
import { Redis } from 'ioredis'
import { randomBytes } from 'node:crypto'
import { loadConfigText } from '../dist/config/load-config.js'
import { makeCachedResponse } from '../dist/request/make-cached-response.js'
import { encodeCachedResponse } from '../dist/request/cached-response.js'

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
const prefix = `ccp-bench-entry-bytes:${randomBytes(3).toString('hex')}:`
const config = loadConfigText('upstream: http://u\nlisten: { port: 0 }\nidentity: { jwt: { secret: s } }\nroutes:\n  - { name: tickets, path: /t/, ttl: 5m, scope: user }\n', 'inline', {})
if (!config.ok) throw new Error('config')
const route = config.config.routes[0]
// 20 tickets shaped like examples/helpdesk-api's list (nested reporter/assignee, text fields).
const payload = Buffer.from(JSON.stringify({ success: true, data: { count: 500, page: 1, results: Array.from({ length: 20 }, (_, i) => ({
  id: 1000 + i, title: `Printer on floor ${i % 7} does not print`, status: ['open', 'in_progress', 'resolved'][i % 3], priority: `P${1 + (i % 4)}`,
  description: 'Issue observed in the car park. Staff have been asked to avoid the area until it is fixed. The asset is tagged and logged.',
  reporter: { id: 10 + i, username: `user${i}`, first_name: 'Rohan', last_name: 'Larsen', email: `user${i}@client-1.example` },
  assigned_to: { id: 50 + (i % 5), username: `agent${i % 5}`, first_name: 'Ada', last_name: 'Okafor', email: `agent${i % 5}@client-1.example` },
  bu: { id: 3, name: 'Site 3' }, version: 1 + (i % 3), created_at: '2025-11-20T09:00:00Z', updated_at: '2025-11-21T10:30:00Z',
})) }, meta: { correlation_id: 'x' } }))
const headers = { 'content-type': 'application/json', vary: 'Accept', 'content-length': String(payload.length) }
for (const [label, threshold] of [['identity', Infinity], ['gzip', 1024]]) {
  const response = makeCachedResponse({ route, status: 200, headers, body: payload, now: Date.now(), stamps: ['a', 'b', 'c', 'd', 'e', 'f'], compressAboveBytes: threshold })
  const key = `${prefix}${label}`
  await redis.set(key, encodeCachedResponse(response), 'PX', 60_000)
  console.log(`${label}: body ${payload.length} B -> stored ${response.body.length} B; Redis MEMORY USAGE ${await redis.memory('USAGE', key)} B per entry`)
  await redis.del(key)
}
redis.disconnect()
