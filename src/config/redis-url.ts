/** The forms store.redis (and each of store.redisCluster's seeds, TCP only) takes. */
export const REDIS_URL = /^rediss?:\/\/[^\s]+$/

/** One Redis beside the proxy, on its Unix socket: an absolute path, and ?db=N as in redis-cli's -n. No TCP stack on each round trip. */
export const REDIS_SOCKET_URL = /^unix:\/\/(\/[^\s?]+)(?:\?db=(\d+))?$/
