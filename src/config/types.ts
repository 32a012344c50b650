import type { TagTemplate } from '../tags/tag-template.js'

/** The compiled, frozen configuration. Produced only by `loadConfig`; never mutated. */
export interface CompiledConfig {
  /** The file it came from (or a label such as "<inline>"), for error messages. */
  readonly source: string
  readonly upstream: URL
  readonly upstreamTimeoutMs: number
  /** The upstream gets the client's Host header (default); false: the upstream URL's host. */
  readonly preserveHost: boolean
  /** Peers (an ingress in front) whose X-Forwarded-Proto and -Host are believed, as configured. */
  readonly trustedProxies: readonly string[]
  /** Whether a peer address is one of trustedProxies; undefined when none is configured. */
  readonly isTrustedProxy: ((address: string) => boolean) | undefined
  readonly listen: { readonly host: string; readonly port: number }
  readonly store: StoreConfig
  readonly identity: IdentityConfig
  readonly routes: readonly CompiledRoute[]
  readonly invalidation: InvalidationConfig | undefined
  readonly admin: AdminConfig | undefined
  readonly logLevel: string
}

export type StoreConfig =
  | ({ readonly kind: 'redis'; readonly url: string; readonly timeoutMs: number } & CommonStoreConfig)
  | ({ readonly kind: 'redis-cluster'; readonly urls: readonly string[]; readonly timeoutMs: number } & CommonStoreConfig)
  | ({ readonly kind: 'memory'; readonly maxEntries: number; readonly maxBytes: number } & CommonStoreConfig)

export interface CommonStoreConfig {
  readonly keyPrefix: string
  readonly maxEntryBytes: number
  /** Bodies at least this large are stored gzip-compressed; Infinity = never. */
  readonly compressAboveBytes: number
  /** The in-process copy in front of Redis; undefined when off (always off for the memory store). */
  readonly l1: { readonly maxEntries: number; readonly maxBytes: number; readonly maxAgeMs: number } | undefined
}

export type IdentityConfig =
  | { readonly kind: 'jwt'; readonly jwt: JwtConfig }
  | { readonly kind: 'header'; readonly header: { readonly tenant: string; readonly user: string | undefined } }

export interface JwtConfig {
  /** HMAC secret for HS256/384/512, or a PEM public key for RS, PS, ES or EdDSA algorithms. */
  readonly key: string
  readonly keyKind: 'secret' | 'publicKey'
  readonly algorithms: readonly string[]
  readonly claims: { readonly tenant: string; readonly user: string }
  readonly issuer: string | undefined
  readonly audience: string | undefined
  /** Claims a token must carry with exactly these values (simplejwt's `token_type: access`). */
  readonly require: Readonly<Record<string, string | number | boolean>>
  /** A token must carry exp (default); false accepts tokens without it, as PyJWT does by default. */
  readonly requireExpiry: boolean
  /** Claims a token must carry, whatever their value (simplejwt's `jti`). */
  readonly requiredClaims: readonly string[]
  readonly clockToleranceSec: number
}

export type Scope = 'tenant' | 'user'

export interface CompiledRoute {
  readonly name: string
  readonly path: string
  readonly match: (pathname: string) => Record<string, string> | undefined
  readonly paramNames: readonly string[]
  readonly ttlMs: number
  readonly staleWhileRevalidateMs: number
  readonly staleIfErrorMs: number
  /** Stale-if-error may also serve an entry that an invalidation superseded (off by default). */
  readonly serveInvalidatedOnError: boolean
  /** How long concurrent misses for one key wait for the first one's response; 0 disables coalescing. */
  readonly coalesceWaitMs: number
  readonly scope: Scope
  readonly tags: readonly TagTemplate[]
  /** Allow-list of query parameters that form the key; undefined = all. */
  readonly query: readonly string[] | undefined
  /** Query parameters ignored for the key (glob patterns such as `utm_*`). */
  readonly ignoreQuery: (name: string) => boolean
  readonly methods: ReadonlySet<string>
  readonly statuses: ReadonlySet<number>
  /** Request headers always part of the key, in addition to those the upstream Varies on. */
  readonly vary: readonly string[]
  readonly honourClientNoCache: boolean
  readonly maxEntryBytes: number
}

export interface InvalidationConfig {
  readonly database: string
  readonly slot: string
  readonly publication: string
  readonly tables: readonly TableRule[]
  /** No cached response is served when the applied watermark is older than this. */
  readonly freshnessBoundMs: number
  readonly heartbeatIntervalMs: number
  /** Above this many rows in one transaction for one table, collapse to the table's widest tags. */
  readonly maxRowsPerTable: number
}

export interface TableRule {
  /** As written in the config, e.g. `y_helpdesk_ticket` or `hr.peoples`. */
  readonly name: string
  readonly schema: string
  readonly table: string
  readonly tags: readonly TagTemplate[]
}

export interface AdminConfig {
  readonly host: string
  readonly port: number
  readonly token: string
}
