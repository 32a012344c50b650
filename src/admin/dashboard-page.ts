/**
 * The dashboard: one self-contained page, no build chain. The admin token is taken from the
 * URL fragment (#token=..., never sent to a server or a log) or a login form, and kept in
 * memory only (no cookie, no storage).
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cdc-cache-proxy</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 0; color: #1b1f24; background: #f6f8fa; }
  header { background: #24292f; color: #fff; padding: .8rem 1.2rem; display: flex; gap: 1rem; align-items: baseline; }
  header h1 { font-size: 1.1rem; margin: 0; }
  main { padding: 1rem 1.2rem; display: grid; gap: 1rem; grid-template-columns: repeat(auto-fit, minmax(16rem, 1fr)); }
  section { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: .8rem 1rem; }
  h2 { font-size: .95rem; margin: 0 0 .5rem; color: #57606a; }
  .big { font-size: 1.8rem; font-weight: 600; }
  table { border-collapse: collapse; width: 100%; font-size: .9rem; }
  th, td { text-align: left; padding: .2rem .4rem; border-bottom: 1px solid #eaeef2; }
  .wide { grid-column: 1 / -1; }
  .bad { color: #cf222e; } .good { color: #1a7f37; }
  form { padding: 2rem; }
</style>
</head>
<body>
<header><h1>cdc-cache-proxy</h1><span id="state" role="status" aria-live="polite">not connected</span></header>
<form id="login" hidden>
  <label for="token">Admin token</label>
  <input id="token" type="password" autocomplete="off" required>
  <button type="submit">Open dashboard</button>
  <p id="login-error" class="bad" role="alert"></p>
</form>
<main id="board" hidden>
  <section><h2>Requests per second</h2><div class="big" id="rps">-</div></section>
  <section><h2>Hit ratio (all routes)</h2><div class="big" id="hit-ratio">-</div></section>
  <section><h2>Upstream offload</h2><div class="big" id="offload">-</div><div>requests not sent upstream</div></section>
  <section><h2>Invalidations per second</h2><div class="big" id="ips">-</div></section>
  <section><h2>Commit to purge (avg)</h2><div class="big" id="c2p">-</div></section>
  <section><h2>Watermark age</h2><div class="big" id="watermark">-</div><div id="leader">-</div><ul id="drift" class="bad" aria-label="config drift"></ul></section>
  <section class="wide"><h2>Routes</h2>
    <table><thead><tr><th scope="col">route</th><th scope="col">hit ratio</th><th scope="col">HIT</th><th scope="col">MISS</th><th scope="col">BYPASS</th><th scope="col">STALE</th></tr></thead><tbody id="routes"></tbody></table>
  </section>
  <section class="wide"><h2>Last 50 invalidations</h2>
    <table><thead><tr><th scope="col">time</th><th scope="col">tables</th><th scope="col">tags</th><th scope="col">commit to purge</th><th scope="col">LSN</th></tr></thead><tbody id="invalidations"></tbody></table>
  </section>
</main>
<script>
(() => {
  let token = ''
  let previous = null
  const $ = (id) => document.getElementById(id)
  const pct = (x) => (x === null || Number.isNaN(x) ? '-' : (100 * x).toFixed(1) + '%')
  const cell = (text) => { const td = document.createElement('td'); td.textContent = text; return td }
  const row = (cells) => { const tr = document.createElement('tr'); cells.forEach((c) => tr.appendChild(cell(c))); return tr }

  async function poll() {
    const res = await fetch('/stats', { headers: { authorization: 'Bearer ' + token } })
    if (res.status === 401) { showLogin('wrong token'); return }
    const s = await res.json()
    render(s)
    previous = { at: Date.now(), s }
    setTimeout(() => poll().catch(() => setTimeout(poll, 2000)), 1000)
  }

  function totals(byRoute) {
    let t = { HIT: 0, MISS: 0, BYPASS: 0, STALE: 0 }
    for (const r of Object.values(byRoute)) for (const k of Object.keys(t)) t[k] += r[k] || 0
    return t
  }

  function render(s) {
    const t = totals(s.byRoute)
    const all = t.HIT + t.MISS + t.BYPASS + t.STALE
    if (previous) {
      const secs = (Date.now() - previous.at) / 1000
      const p = totals(previous.s.byRoute)
      $('rps').textContent = ((all - (p.HIT + p.MISS + p.BYPASS + p.STALE)) / secs).toFixed(1)
      $('ips').textContent = ((s.invalidations - previous.s.invalidations) / secs).toFixed(1)
    }
    $('hit-ratio').textContent = pct(all ? (t.HIT + t.STALE) / all : null)
    $('offload').textContent = pct(all ? 1 - s.upstreamFetches / all : null)
    $('c2p').textContent = s.commitToPurgeAvgMs === null ? '-' : s.commitToPurgeAvgMs.toFixed(1) + ' ms'
    const age = s.watermark === null ? null : (s.now - s.watermark) / 1000
    if (s.freshnessBoundMs === null) { $('watermark').textContent = 'n/a'; $('watermark').className = 'big' } else {
      $('watermark').textContent = age === null ? 'unknown' : age.toFixed(1) + ' s'
      $('watermark').className = 'big ' + (age !== null && age * 1000 <= s.freshnessBoundMs ? 'good' : 'bad')
    }
    $('leader').textContent = s.replication ? 'replication: ' + s.replication.state : 'replication: off (TTL only)'
    const drift = $('drift'); drift.replaceChildren()
    for (const line of driftLines(s.replication)) { const li = document.createElement('li'); li.textContent = line; drift.appendChild(li) }
    $('state').textContent = 'live, updated ' + new Date().toLocaleTimeString()
    const routes = $('routes'); routes.replaceChildren()
    for (const [name, r] of Object.entries(s.byRoute)) {
      const n = (r.HIT || 0) + (r.MISS || 0) + (r.BYPASS || 0) + (r.STALE || 0)
      routes.appendChild(row([name, pct(n ? ((r.HIT || 0) + (r.STALE || 0)) / n : null), r.HIT || 0, r.MISS || 0, r.BYPASS || 0, r.STALE || 0]))
    }
    const inv = $('invalidations'); inv.replaceChildren()
    for (const i of s.recentInvalidations) inv.appendChild(row([new Date(i.at).toLocaleTimeString(), i.tables.join(', '), i.tagCount, i.commitToPurgeMs === null ? '-' : i.commitToPurgeMs + ' ms', i.lsn]))
  }

  /** Where the config and the database disagree (the tables' rules no longer fit the schema): fix invalidation.tables. */
  function driftLines(replication) {
    if (!replication) return []
    const columns = (replication.missingRuleColumns || []).map((d) => d.table + ': no column ' + d.missingColumns.join(', ') + ' (rules widened)')
    const tables = (replication.tableDrift || []).map((d) => d.kind === 'renamed' ? d.table + ' renamed to ' + d.renamedTo
      : d.kind === 'missing' ? d.table + ': missing' : d.table + ': no rule names it, each change purges everything')
    return [...columns, ...tables]
  }

  function showLogin(message) {
    $('board').hidden = true; $('login').hidden = false; $('login-error').textContent = message || ''; $('token').focus()
  }

  $('login').addEventListener('submit', (e) => { e.preventDefault(); start($('token').value) })
  function start(t) { token = t; $('login').hidden = true; $('board').hidden = false; poll().catch((e) => showLogin(String(e))) }

  const fromFragment = new URLSearchParams(location.hash.slice(1)).get('token')
  if (fromFragment) { history.replaceState(null, '', location.pathname); start(fromFragment) } else showLogin()
})()
</script>
</body>
</html>
`
