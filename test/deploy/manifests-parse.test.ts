import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { parse, parseAllDocuments } from 'yaml'
import { loadConfigText } from '../../src/config/load-config.js'

/**
 * docker-compose.yml and deploy/kubernetes cannot run here (no Docker engine, no cluster), so
 * their structure is checked instead: they parse as YAML, wire what the proxy needs, expose
 * only what they should, and carry the same config as config/helpdesk.yaml.
 */
const ROOT = join(import.meta.dirname, '..', '..')
const K8S_DIR = join(ROOT, 'deploy', 'kubernetes')
const CONFIG_TEXT = readFileSync(join(ROOT, 'config', 'helpdesk.yaml'), 'utf8')

/** The ${VARS} of config/helpdesk.yaml that have no default: the proxy cannot load without them. */
const REQUIRED_VARS = [...CONFIG_TEXT.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1] as string)

// YAML documents of any shape, indexed freely by the assertions.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = Record<string, any>

function readYaml(path: string): Doc {
  return parse(readFileSync(path, 'utf8'), { uniqueKeys: true, prettyErrors: true }) as Doc
}

function readK8sDocs(): Doc[] {
  return readdirSync(K8S_DIR).filter((f) => f.endsWith('.yaml')).flatMap((file) =>
    parseAllDocuments(readFileSync(join(K8S_DIR, file), 'utf8')).map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`)
      return { ...(doc.toJS() as Doc), __file: file }
    }))
}

function ofKind(docs: Doc[], kind: string): Doc[] {
  return docs.filter((doc) => doc['kind'] === kind)
}

t.test('the config requires the variables the deployments set', async (t) => {
  t.same([...REQUIRED_VARS].sort(), ['ADMIN_TOKEN', 'DATABASE_URL', 'JWT_SECRET', 'PORT', 'UPSTREAM_URL'])
})

t.test('docker-compose.yml: Postgres with logical WAL, the proxy after Redis, Postgres and its setup', async (t) => {
  const compose = readYaml(join(ROOT, 'docker-compose.yml'))
  const services = compose['services'] as Doc
  t.same(Object.keys(services).sort(), ['helpdesk-api', 'postgres', 'proxy', 'proxy-setup', 'redis'])
  t.match(services['postgres'].image, /^postgres:15/)
  const pgCommand = services['postgres'].command as string[]
  t.equal(pgCommand[pgCommand.indexOf('wal_level=logical') - 1], '-c', 'postgres runs with -c wal_level=logical')
  t.match(services['redis'].image, /^redis:7/)
  const proxy = services['proxy']
  t.match(proxy.depends_on, {
    redis: { condition: 'service_healthy' },
    postgres: { condition: 'service_healthy' },
    'proxy-setup': { condition: 'service_completed_successfully' },
  })
  t.match(services['proxy-setup'].depends_on, { postgres: { condition: 'service_healthy' }, 'helpdesk-api': { condition: 'service_healthy' } })
  for (const name of ['proxy', 'proxy-setup']) {
    for (const variable of REQUIRED_VARS) t.ok(variable in services[name].environment, `${name} sets ${variable}`)
  }
  t.equal(proxy.environment.UPSTREAM_URL, 'http://helpdesk-api:8000', 'the proxy forwards to the API service')
  t.equal(proxy.environment.REDIS_URL, 'redis://redis:6379')
  t.ok((proxy.ports as string[]).includes('127.0.0.1:9091:9091'), 'the admin port is published on loopback only')
})

t.test('docker-compose.yml: the --config path points into the mounted config directory', async (t) => {
  const services = readYaml(join(ROOT, 'docker-compose.yml'))['services'] as Doc
  for (const name of ['proxy', 'proxy-setup']) {
    const command = services[name].command as string[]
    const configPath = command[command.indexOf('--config') + 1] ?? ''
    const mount = (services[name].volumes as string[]).map((v) => v.split(':')).find(([, target]) => configPath.startsWith(`${target}/`))
    t.ok(mount, `${name}: ${configPath} is inside a mounted volume`)
    const [source = '', target = ''] = mount ?? []
    t.ok(existsSync(join(ROOT, source, configPath.slice(target.length))), `${name}: the mounted file exists in the repository`)
  }
})

t.test('kubernetes: every file parses and names its resource; kustomization lists them all', async (t) => {
  const docs = readK8sDocs()
  const resources = docs.filter((doc) => doc['kind'] !== 'Kustomization')
  for (const doc of resources) {
    t.match(doc, { apiVersion: String, kind: String, metadata: { name: String } }, doc['__file'])
  }
  const kustomization = ofKind(docs, 'Kustomization')[0]
  t.same([...(kustomization?.['resources'] as string[])].sort(), [...new Set(resources.map((doc) => doc['__file'] as string))].sort())
})

t.test('kubernetes: the proxy is a sidecar of the app, probed on its admin port', async (t) => {
  const docs = readK8sDocs()
  const deployments = ofKind(docs, 'Deployment')
  t.equal(deployments.length, 1)
  const pod = deployments[0]?.['spec'].template.spec
  t.equal(pod.containers.length, 2, 'app and proxy in one pod')
  const proxy = pod.containers.find((c: Doc) => (c['args'] as string[] | undefined)?.[0] === 'start')
  t.ok(proxy, 'one container runs `start`')
  t.same(proxy.ports, [{ name: 'http', containerPort: 8080 }, { name: 'admin', containerPort: 9091 }])
  for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) t.equal(proxy[probe]?.httpGet?.port, 'admin', probe)
  // Readiness must not follow Redis or replication health: the proxy fails open through both.
  t.equal(proxy.readinessProbe.httpGet.path, '/healthz')
  t.equal(proxy.livenessProbe.httpGet.path, '/healthz')
  const app = pod.containers.find((c: Doc) => c !== proxy)
  t.ok(app?.readinessProbe, 'the app container has its own readiness probe (the upstream half of pod readiness)')
  const env = new Map((proxy.env as Doc[]).map((e) => [e['name'], e]))
  for (const variable of REQUIRED_VARS) t.ok(env.has(variable), `the proxy container sets ${variable}`)
  for (const secret of ['JWT_SECRET', 'ADMIN_TOKEN', 'DATABASE_URL']) {
    t.ok(env.get(secret)?.['valueFrom']?.secretKeyRef, `${secret} comes from a Secret`)
  }
  t.equal(pod.securityContext.runAsNonRoot, true)
})

t.test('kubernetes: config from the ConfigMap (same as config/helpdesk.yaml), secrets from the Secret', async (t) => {
  const docs = readK8sDocs()
  const configMap = ofKind(docs, 'ConfigMap')[0]
  t.equal(configMap?.['data']['config.yaml'], CONFIG_TEXT, 'the ConfigMap carries config/helpdesk.yaml verbatim')
  const secretKeys = new Set(Object.keys(ofKind(docs, 'Secret')[0]?.['stringData'] ?? {}))
  for (const workload of [...ofKind(docs, 'Deployment'), ...ofKind(docs, 'Job')]) {
    const pod = workload['spec'].template.spec
    const configVolume = (pod.volumes as Doc[]).find((v) => v['configMap'])
    t.equal(configVolume?.['configMap'].name, configMap?.['metadata'].name, `${workload['__file']} mounts the ConfigMap`)
    for (const container of pod.containers as Doc[]) {
      for (const ref of ((container['env'] ?? []) as Doc[]).map((e) => e['valueFrom']?.secretKeyRef).filter(Boolean)) {
        t.ok(secretKeys.has(ref.key), `${workload['__file']} ${container['name']}: secret key ${ref.key} exists`)
      }
    }
  }
})

t.test('kubernetes: the Service exposes the proxy port only', async (t) => {
  const docs = readK8sDocs()
  const service = ofKind(docs, 'Service')[0]
  const ports = service?.['spec'].ports as Doc[]
  t.same(ports.map((p) => p['targetPort']), ['http'])
  t.notOk(ports.some((p) => p['port'] === 9091 || p['targetPort'] === 9091 || p['targetPort'] === 'admin'), 'no admin port')
  const podLabels = ofKind(docs, 'Deployment')[0]?.['spec'].template.metadata.labels
  t.match(podLabels, service?.['spec'].selector, 'the selector matches the pods')
})

t.test('deploy/compose/redis-cluster.yml: three cluster nodes without full coverage, and the proxy pointed at them', async (t) => {
  const base = readYaml(join(ROOT, 'docker-compose.yml'))['services'] as Doc
  const override = readYaml(join(ROOT, 'deploy', 'compose', 'redis-cluster.yml'))['services'] as Doc
  const nodes = Object.keys(override).filter((name) => name.startsWith('redis-node-'))
  t.equal(nodes.length, 3)
  for (const name of nodes) {
    const command = override[name].command as string[]
    t.equal(command[command.indexOf('--cluster-require-full-coverage') + 1], 'no', `${name}: the other slots keep answering while a master is down`)
    t.equal(command[command.indexOf('--cluster-enabled') + 1], 'yes')
  }
  for (const service of ['proxy', 'proxy-setup']) {
    t.ok(base[service], `${service} exists in docker-compose.yml`)
    const env = { ...base[service].environment, ...override[service].environment } as Record<string, string>
    t.equal(env['REDIS_URL'], '', `${service}: one Redis off`)
    t.equal(env['REDIS_CLUSTER']?.split(',').length, 3, `${service}: the three seed nodes`)
    const loaded = loadConfigText(CONFIG_TEXT, 'helpdesk.yaml', env)
    t.ok(loaded.ok && loaded.config.store.kind === 'redis-cluster', `${service}: config/helpdesk.yaml selects the cluster store with that environment`)
    t.match(override[service].depends_on, { 'redis-cluster-create': { condition: 'service_completed_successfully' } })
  }
})
