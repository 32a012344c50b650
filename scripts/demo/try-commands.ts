/** The text the demo prints once everything runs: three commands that show the product working. */
export interface TryCommandsInput {
  readonly proxyUrl: string
  readonly adminUrl: string
  readonly adminToken: string
  readonly token: string
  readonly tenant: number
  readonly user: { readonly id: number; readonly username: string }
  readonly ticket: { readonly id: number; readonly title: string }
  readonly databaseUrl: string
  readonly psqlAvailable: boolean
  readonly storeDescription: string
}

export function formatTryCommands(input: TryCommandsInput): string {
  const url = '"$PROXY/api/v2/helpdesk/tickets/?limit=1"'
  const curl = `curl -s -D - ${url} -H "Authorization: Bearer $TOKEN"; echo`
  return [
    '',
    `Ready. Proxy ${input.proxyUrl} -> helpdesk API; store: ${input.storeDescription}.`,
    `Admin port: ${input.adminUrl}/ (token ${input.adminToken})`,
    '',
    'In another terminal:',
    '',
    `  export PROXY=${input.proxyUrl}`,
    `  export TOKEN=${input.token}   # tenant ${input.tenant}, user ${input.user.id} (${input.user.username})`,
    `  export DATABASE_URL='${input.databaseUrl}'`,
    '',
    '  # 1. MISS: the proxy fetches the ticket list from the API and stores it (X-Cache: MISS)',
    `  ${curl}`,
    '',
    '  # 2. HIT: the same request is answered from the cache (X-Cache: HIT, Age)',
    `  ${curl}`,
    '',
    `  # 3. Change ticket ${input.ticket.id} ("${input.ticket.title}") behind the proxy's back, then ask again:`,
    '  #    MISS with the new title and version, because the proxy read the change from the WAL',
    `  ${updateCommand(input)}`,
    `  ${curl}`,
    '',
    'Ctrl-C stops the proxy, the API and the database.',
    '',
  ].join('\n')
}

// Dollar quoting keeps the SQL free of single quotes, so the shell's single quotes hold it.
function updateCommand(input: TryCommandsInput): string {
  const sql = `UPDATE y_helpdesk_ticket SET title = $$Edited outside the proxy$$, version = version + 1, updated_at = now() WHERE id = ${input.ticket.id}`
  if (input.psqlAvailable) return `psql "$DATABASE_URL" -c '${sql}'`
  // No psql on a machine that has only Node: any client outside the proxy makes the point.
  return `node --input-type=module -e 'import pg from "pg"; const c = new pg.Client(process.env.DATABASE_URL); ` +
    `await c.connect(); console.log("UPDATE", (await c.query(\`${sql}\`)).rowCount); await c.end()'   # run from the project directory`
}
