/**
 * The config file's JSON schema: structure and types only. Values with a grammar of their
 * own (durations, sizes, templates, path patterns) are checked while compiling, with the
 * same path-and-reason errors. Unknown keys are errors (additionalProperties: false).
 */
const duration = { type: ['string', 'number'], format: 'duration' }
const size = { type: ['string', 'number'], format: 'size' }
const nonEmpty = { type: 'string', minLength: 1 }
const stringList = { type: 'array', items: nonEmpty }
const port = { type: 'integer', minimum: 0, maximum: 65535 }

const route = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'path', 'ttl', 'scope'],
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z0-9_.-]+$' },
    path: nonEmpty,
    ttl: duration,
    scope: { enum: ['tenant', 'user'] },
    tags: stringList,
    query: stringList,
    ignoreQuery: stringList,
    methods: { type: 'array', items: { enum: ['GET', 'HEAD'] }, minItems: 1 },
    statuses: { type: 'array', items: { type: 'integer', minimum: 200, maximum: 599 }, minItems: 1 },
    vary: stringList,
    honourClientNoCache: { type: 'boolean' },
    staleWhileRevalidate: duration,
    staleIfError: duration,
    serveInvalidatedOnError: { type: 'boolean' },
    coalesceWait: duration,
    maxEntrySize: size,
  },
}

const jwt = {
  type: 'object',
  additionalProperties: false,
  properties: {
    secret: nonEmpty,
    publicKey: nonEmpty,
    algorithms: { type: 'array', items: { type: 'string' }, minItems: 1 },
    claims: {
      type: 'object',
      additionalProperties: false,
      properties: { tenant: nonEmpty, user: nonEmpty },
    },
    issuer: nonEmpty,
    audience: nonEmpty,
    clockTolerance: duration,
    requireExpiry: { type: 'boolean' },
    requiredClaims: { type: 'array', items: nonEmpty, minItems: 1 },
    require: { type: 'object', minProperties: 1, additionalProperties: { type: ['string', 'number', 'boolean'] } },
  },
}

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['upstream', 'listen', 'identity', 'routes'],
  properties: {
    upstream: nonEmpty,
    preserveHost: { type: 'boolean' },
    trustedProxies: { type: 'array', items: nonEmpty },
    upstreamTimeout: duration,
    listen: {
      type: 'object',
      additionalProperties: false,
      required: ['port'],
      properties: { host: nonEmpty, port },
    },
    store: {
      type: 'object',
      additionalProperties: false,
      properties: {
        redis: { type: 'string' },
        // A list of seed nodes, or one comma-separated string (so that one environment variable can carry it).
        redisCluster: { anyOf: [{ type: 'string' }, { type: 'array', items: nonEmpty }] },
        keyPrefix: { type: 'string' },
        timeout: duration,
        maxEntrySize: size,
        compression: { enum: ['gzip', 'none'] },
        l1: {
          type: 'object',
          additionalProperties: false,
          properties: { enabled: { type: 'boolean' }, maxEntries: { type: 'integer', minimum: 1 }, maxSize: size, maxAge: duration },
        },
        compressAbove: size,
        memory: {
          type: 'object',
          additionalProperties: false,
          properties: { maxEntries: { type: 'integer', minimum: 1 }, maxSize: size },
        },
      },
    },
    identity: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      maxProperties: 1,
      properties: {
        jwt,
        header: {
          type: 'object',
          additionalProperties: false,
          required: ['tenant'],
          properties: { tenant: nonEmpty, user: nonEmpty },
        },
      },
    },
    routes: { type: 'array', items: route },
    invalidation: {
      type: 'object',
      additionalProperties: false,
      required: ['database', 'slot', 'publication', 'tables'],
      properties: {
        database: nonEmpty,
        slot: { type: 'string', pattern: '^[a-z0-9_]{1,63}$' },
        publication: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]{0,62}$' },
        tables: { type: 'object', minProperties: 1, additionalProperties: stringList },
        freshnessBound: duration,
        heartbeatInterval: duration,
        maxRowsPerTable: { type: 'integer', minimum: 1 },
      },
    },
    admin: {
      type: 'object',
      additionalProperties: false,
      required: ['port', 'token'],
      properties: { host: nonEmpty, port, token: { type: 'string', minLength: 16 } },
    },
    log: {
      type: 'object',
      additionalProperties: false,
      properties: { level: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] } },
    },
  },
} as const
