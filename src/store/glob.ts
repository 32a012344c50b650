/** Redis-style glob (`*`, `?`, `[abc]`, `\x`) compiled to a RegExp, for the memory store and config. */
export function globToRegExp(glob: string): RegExp {
  let out = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string
    if (c === '\\' && i + 1 < glob.length) out += escapeRegExp(glob[++i] as string)
    else if (c === '*') out += '.*'
    else if (c === '?') out += '.'
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1)
      if (end === -1) out += '\\['
      else {
        const body = glob.slice(i + 1, end).replace(/\\/g, '\\\\')
        out += body.startsWith('^') ? `[^${body.slice(1)}]` : `[${body}]`
        i = end
      }
    } else out += escapeRegExp(c)
  }
  return new RegExp(`^${out}$`, 's')
}

function escapeRegExp(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
}

/** Literal text inside a Redis glob (a key prefix, a tag): nothing in it matches more than itself. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => '\\' + c)
}
