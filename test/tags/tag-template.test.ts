import t from 'tap'
import { expandWithWildcards, parseTagTemplate, renderTag, widestTag } from '../../src/tags/tag-template.js'

function template(source: string) {
  const parsed = parseTagTemplate(source)
  if (!parsed.ok) throw new Error(parsed.reason)
  return parsed.template
}

t.test('templates render with escaped values', async (t) => {
  const tpl = template('tickets:{client_id}:{reporter_id}')
  t.equal(renderTag(tpl, (n) => ({ client_id: '42', reporter_id: '7' })[n]), 'tickets:42:7')
  t.equal(renderTag(tpl, (n) => ({ client_id: '4:2', reporter_id: '*' })[n]), 'tickets:4%3A2:%2A')
})

t.test('an unknown value widens the tag at that segment; never skips it', async (t) => {
  const tpl = template('tickets:{client_id}:{reporter_id}')
  t.equal(renderTag(tpl, (n) => (n === 'client_id' ? '42' : undefined)), 'tickets:42:*')
  t.equal(renderTag(tpl, () => undefined), 'tickets:*')
  t.equal(widestTag(tpl), 'tickets:*')
  t.equal(widestTag(template('{client_id}:x')), '*')
})

t.test('entries carry every wildcard a widened invalidation can produce', async (t) => {
  t.same(expandWithWildcards(['tickets:42:7', 'tickets:42']), ['tickets:42:7', 'tickets:42:*', 'tickets:*', 'tickets:42', '*'])
})

t.test('bad templates are refused with a reason', async (t) => {
  for (const bad of ['', 'a:{b c}', 'a:{b}{c}', 'a:*', 'x{y}', '@route:x']) t.notOk(parseTagTemplate(bad).ok, bad)
  t.ok(parseTagTemplate('x:{params.id}').ok)
})
