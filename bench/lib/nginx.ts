import { spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { BenchContext } from './context.js'
import { findFreePort } from './ports.js'
import { spawnProcess } from './processes.js'
import { waitUntilAnswering, type RunningServer } from './servers.js'

/** nginx's version if `nginx` is on the PATH (nginx-light will do), else undefined. */
export function nginxVersion(): string | undefined {
  const result = spawnSync('nginx', ['-v'], { encoding: 'utf8' })
  if (result.status !== 0) return undefined
  return /nginx\/(\S+)/.exec(result.stderr ?? '')?.[1] ?? 'unknown'
}

/**
 * What a user would otherwise deploy: nginx proxy_cache, one worker pinned to the server
 * CPU, keyed on the tenant header and the URI (it cannot verify a JWT), keep-alive to the
 * upstream, no access log. It runs in the foreground and is stopped by its master's pid.
 */
export async function startNginx(ctx: BenchContext, upstreamUrl: string): Promise<RunningServer> {
  const dir = join(ctx.tmpDir, 'nginx')
  for (const sub of ['', 'cache', 'temp']) mkdirSync(join(dir, sub), { recursive: true })
  const port = await findFreePort()
  const confFile = join(dir, 'nginx.conf')
  writeFileSync(confFile, makeNginxConf(dir, port, new URL(upstreamUrl).host))
  chmodSync(ctx.tmpDir, 0o755)
  const process = spawnProcess({
    name: 'nginx', command: 'nginx', args: ['-p', dir, '-c', confFile, '-g', 'daemon off;'],
    cpus: ctx.settings.serverCpu, logFile: join(ctx.tmpDir, 'nginx.log'),
  })
  ctx.cleanup.push('stop nginx', () => process.stop())
  const url = `http://127.0.0.1:${port}`
  await waitUntilAnswering(url, process)
  return { url, process }
}

function makeNginxConf(dir: string, port: number, upstreamHost: string): string {
  return `
user root;
worker_processes 1;
error_log ${dir}/error.log warn;
pid ${dir}/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/temp/body;
  proxy_temp_path ${dir}/temp/proxy;
  fastcgi_temp_path ${dir}/temp/fastcgi;
  uwsgi_temp_path ${dir}/temp/uwsgi;
  scgi_temp_path ${dir}/temp/scgi;
  proxy_cache_path ${dir}/cache levels=1:2 keys_zone=bench:16m max_size=2g inactive=30m use_temp_path=off;
  upstream api { server ${upstreamHost}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://api;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache bench;
      proxy_cache_key "$http_x_tenant_id$request_uri";
      proxy_cache_valid 200 5m;
      proxy_cache_lock on;
      add_header X-Cache $upstream_cache_status;
    }
  }
}
`
}
