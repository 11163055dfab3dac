import { describe, expect, it } from 'vitest'
import {
  type Env,
  type EnvVariableDoc,
  envError,
  formatEnvHelp,
  formatEnvTable,
  parseBoolean,
  parseEnum,
  parseInteger,
  parseNonNegativeInt,
  parsePort,
  parsePositiveInt,
  parseSecondsAsMs,
  parseUrl,
  quoteEnvValue,
  readRaw,
  readSpecificOrGeneral,
  readString,
  redactUrl,
} from '../../src/config/env-parsers.js'
import { ValidationError } from '../../src/errors.js'
import { envFailure as expectEnvFailure } from '../support/validation.js'

/** Runs `fn`, expects an ERR_INVALID_ENV ValidationError on `field`, and returns its message. */
const envFailure = (fn: () => unknown, field: string) =>
  expectEnvFailure(fn, field, { prefixed: true })

const V = 'VAR'

describe('absent and empty values', () => {
  const parsers = {
    readString,
    readRaw,
    parseBoolean,
    parseNonNegativeInt: (e: Record<string, string>, n: string) => parseNonNegativeInt(e, n),
    parsePositiveInt: (e: Record<string, string>, n: string) => parsePositiveInt(e, n),
    parsePort,
    parseSecondsAsMs: (e: Record<string, string>, n: string) => parseSecondsAsMs(e, n),
    parseUrl: (e: Record<string, string>, n: string) => parseUrl(e, n),
    parseEnum: (e: Record<string, string>, n: string) => parseEnum(e, n, ['a', 'b']),
  }
  for (const [name, parse] of Object.entries(parsers)) {
    it(`${name} reads absent and empty as undefined`, () => {
      expect(parse({}, V)).toBeUndefined()
      expect(parse({ [V]: '' }, V)).toBeUndefined()
    })
  }
  it('whitespace-only counts as unset for trimmed readers, but not for readRaw', () => {
    expect(readString({ [V]: '  \t' }, V)).toBeUndefined()
    expect(parseBoolean({ [V]: ' ' }, V)).toBeUndefined()
    expect(parsePort({ [V]: ' ' }, V)).toBeUndefined()
    expect(readRaw({ [V]: ' ' }, V)).toBe(' ')
  })
  it('readString trims, readRaw does not', () => {
    expect(readString({ [V]: '  x y ' }, V)).toBe('x y')
    expect(readRaw({ [V]: ' pass ' }, V)).toBe(' pass ')
  })
  it('reads only the named variable', () => {
    expect(parseBoolean({ OTHER: 'true' }, V)).toBeUndefined()
    expect(parseBoolean({ OTHER: 'true', [V]: 'no' }, V)).toBe(false)
  })
})

describe('parseBoolean', () => {
  it.each([
    ['true', true],
    ['TRUE', true],
    [' True ', true],
    ['1', true],
    ['yes', true],
    ['YES', true],
    ['on', true],
    ['On', true],
    ['false', false],
    ['FALSE', false],
    ['0', false],
    ['no', false],
    ['No', false],
    ['off', false],
    ['OFF\n', false],
  ])('%j → %s', (value, expected) => {
    expect(parseBoolean({ [V]: value }, V)).toBe(expected)
  })
  it.each(['ture', 'y', 'n', '2', '-1', 'enabled', 'true false', '01', 'null'])(
    'rejects %j naming the variable and the accepted words',
    (value) => {
      const message = envFailure(() => parseBoolean({ FLAG: value }, 'FLAG'), 'FLAG')
      expect(message).toContain(JSON.stringify(value))
      expect(message).toContain('true/false')
      expect(message).toContain('on/off')
    },
  )
})

describe('integers', () => {
  it('parses plain digits, ignoring surrounding whitespace and leading zeros', () => {
    expect(parseNonNegativeInt({ [V]: '0' }, V)).toBe(0)
    expect(parseNonNegativeInt({ [V]: ' 42 ' }, V)).toBe(42)
    expect(parseNonNegativeInt({ [V]: '007' }, V)).toBe(7)
    expect(parsePositiveInt({ [V]: '1' }, V)).toBe(1)
    expect(parseInteger({ [V]: String(Number.MAX_SAFE_INTEGER) }, V)).toBe(Number.MAX_SAFE_INTEGER)
  })
  it.each(['-1', '+1', '1.5', '1e3', '0x10', '12abc', 'abc', '1_000', '1 000', 'Infinity', 'NaN'])(
    'rejects %j',
    (value) => {
      const message = envFailure(() => parseNonNegativeInt({ N: value }, 'N'), 'N')
      expect(message).toContain(JSON.stringify(value))
      expect(message).toContain('integer >= 0')
    },
  )
  it('rejects numbers beyond MAX_SAFE_INTEGER rather than rounding them', () => {
    envFailure(() => parseInteger({ N: '9007199254740993' }, 'N'), 'N')
  })
  it('parsePositiveInt rejects 0 and names the unit', () => {
    const message = envFailure(() => parsePositiveInt({ N: '0' }, 'N', 'ms'), 'N')
    expect(message).toContain('integer >= 1')
    expect(message).toContain('(ms)')
  })
  it('parseInteger applies both bounds', () => {
    expect(parseInteger({ N: '5' }, 'N', { min: 5, max: 10 })).toBe(5)
    expect(parseInteger({ N: '10' }, 'N', { min: 5, max: 10 })).toBe(10)
    expect(envFailure(() => parseInteger({ N: '4' }, 'N', { min: 5, max: 10 }), 'N')).toContain(
      'from 5 to 10',
    )
    envFailure(() => parseInteger({ N: '11' }, 'N', { min: 5, max: 10 }), 'N')
  })
})

describe('parsePort', () => {
  it('accepts 1 to 65535', () => {
    expect(parsePort({ P: '1' }, 'P')).toBe(1)
    expect(parsePort({ P: '6379' }, 'P')).toBe(6379)
    expect(parsePort({ P: '65535' }, 'P')).toBe(65_535)
  })
  it.each(['0', '65536', '-1', '63 79', 'redis', '6379.0'])('rejects %j', (value) => {
    const message = envFailure(() => parsePort({ REDIS_PORT: value }, 'REDIS_PORT'), 'REDIS_PORT')
    expect(message).toContain('from 1 to 65535')
  })
})

describe('parseSecondsAsMs', () => {
  it('converts whole seconds to ms', () => {
    expect(parseSecondsAsMs({ S: '3600' }, 'S')).toBe(3_600_000)
    expect(parseSecondsAsMs({ S: '1' }, 'S')).toBe(1000)
  })
  it('rejects 0 by default, accepts it when min is 0', () => {
    expect(envFailure(() => parseSecondsAsMs({ S: '0' }, 'S'), 'S')).toContain('seconds')
    expect(parseSecondsAsMs({ S: '0' }, 'S', 0)).toBe(0)
  })
  it('rejects fractions and values whose ms would not be a safe integer', () => {
    envFailure(() => parseSecondsAsMs({ S: '1.5' }, 'S'), 'S')
    envFailure(() => parseSecondsAsMs({ S: String(Number.MAX_SAFE_INTEGER) }, 'S'), 'S')
    const max = Math.floor(Number.MAX_SAFE_INTEGER / 1000)
    expect(parseSecondsAsMs({ S: String(max) }, 'S')).toBe(max * 1000)
  })
})

describe('parseUrl', () => {
  const redis = { protocols: ['redis', 'rediss'] } as const
  it('returns the URL as written (trimmed), not normalised', () => {
    expect(parseUrl({ U: ' redis://localhost:6379 ' }, 'U', redis)).toBe('redis://localhost:6379')
    expect(parseUrl({ U: 'https://x.upstash.io' }, 'U')).toBe('https://x.upstash.io')
    expect(parseUrl({ U: 'rediss://user:pw@h:6380/2' }, 'U', redis)).toBe(
      'rediss://user:pw@h:6380/2',
    )
  })
  it.each(['localhost:6379', 'http://localhost:6379', 'redis//localhost', 'not a url', '6379'])(
    'rejects %j for redis:// or rediss://',
    (value) => {
      const message = envFailure(
        () => parseUrl({ REDIS_URL: value }, 'REDIS_URL', redis),
        'REDIS_URL',
      )
      expect(message).toContain('redis:// or rediss://')
    },
  )
  it('rejects a URL without a host unless told otherwise', () => {
    expect(envFailure(() => parseUrl({ U: 'redis:///0' }, 'U', redis), 'U')).toContain('no host')
    expect(parseUrl({ U: 'file:///tmp/x' }, 'U', { requireHost: false })).toBe('file:///tmp/x')
  })
  it('never puts the password of a rejected URL in the message', () => {
    const message = envFailure(
      () => parseUrl({ U: 'http://user:hunter2@host:6379' }, 'U', redis),
      'U',
    )
    expect(message).not.toContain('hunter2')
    expect(message).toContain('***')
    const unparsable = envFailure(() => parseUrl({ U: 'redis://u:hunter2@ho st' }, 'U', redis), 'U')
    expect(unparsable).not.toContain('hunter2')
  })
})

describe('redactUrl and quoteEnvValue', () => {
  it('redacts only the password', () => {
    expect(redactUrl('redis://u:secret@h:1/0')).toBe('redis://u:***@h:1/0')
    expect(redactUrl('redis://h:1')).toBe('redis://h:1')
  })
  it.each(['pa/ss', 'p@ss', 'p#ss', 'p?ss', '123/x', 'a:b@c/d'])(
    'never shows a password written unencoded: %s',
    (password) => {
      for (const scheme of ['redis', 'postgresql']) {
        const redacted = redactUrl(`${scheme}://user:${password}@db.internal:6379/0`)
        expect(redacted).not.toContain(password)
        expect(redacted).toContain('@db.internal:6379/0')
      }
    },
  )
  it('quotes with JSON and shortens long values', () => {
    expect(quoteEnvValue('a b\t')).toBe('"a b\\t"')
    const long = quoteEnvValue('x'.repeat(500))
    expect(long.length).toBeLessThan(100)
    expect(long).toContain('…')
  })
})

describe('parseEnum', () => {
  const levels = ['short', 'medium', 'long'] as const
  it('matches case-insensitively and returns the canonical spelling', () => {
    expect(parseEnum({ S: 'short' }, 'S', levels)).toBe('short')
    expect(parseEnum({ S: ' MEDIUM ' }, 'S', levels)).toBe('medium')
    expect(parseEnum({ S: 'Long' }, 'S', levels)).toBe('long')
  })
  it('rejects other words, listing the allowed ones', () => {
    const message = envFailure(() => parseEnum({ S: 'forever' }, 'S', levels), 'S')
    expect(message).toContain('"forever"')
    expect(message).toContain('short, medium, long')
  })
})

describe('readSpecificOrGeneral', () => {
  const specific = { name: 'CACHE_TTL', read: (e: Env, n: string) => parsePositiveInt(e, n) }
  const general = {
    name: 'CACHE_DEFAULT_TTL',
    read: (e: Env, n: string) => parseSecondsAsMs(e, n),
  }

  it('returns whichever is set', () => {
    expect(readSpecificOrGeneral({}, specific, general)).toBeUndefined()
    expect(readSpecificOrGeneral({ CACHE_TTL: '5000' }, specific, general)).toBe(5000)
    expect(readSpecificOrGeneral({ CACHE_DEFAULT_TTL: '5' }, specific, general)).toBe(5000)
  })
  it('accepts both when they agree in the common unit', () => {
    expect(
      readSpecificOrGeneral({ CACHE_TTL: '5000', CACHE_DEFAULT_TTL: '5' }, specific, general),
    ).toBe(5000)
  })
  it('rejects a disagreement, on the specific variable, naming both and their values', () => {
    const message = envFailure(
      () => readSpecificOrGeneral({ CACHE_TTL: '5000', CACHE_DEFAULT_TTL: '6' }, specific, general),
      'CACHE_TTL',
    )
    expect(message).toContain('CACHE_DEFAULT_TTL')
    expect(message).toContain('"5000"')
    expect(message).toContain('"6"')
  })
  it('reports a bad value against its own variable before comparing', () => {
    envFailure(
      () => readSpecificOrGeneral({ CACHE_TTL: '5000', CACHE_DEFAULT_TTL: 'x' }, specific, general),
      'CACHE_DEFAULT_TTL',
    )
    envFailure(
      () => readSpecificOrGeneral({ CACHE_TTL: 'x', CACHE_DEFAULT_TTL: '5' }, specific, general),
      'CACHE_TTL',
    )
  })
  it('uses a custom equality and hides secret values', () => {
    const a = { name: 'A_TOKEN', read: readString }
    const b = { name: 'TOKEN', read: readString }
    const ci = { equals: (x: string, y: string) => x.toLowerCase() === y.toLowerCase() }
    expect(readSpecificOrGeneral({ A_TOKEN: 'Abc', TOKEN: 'aBC' }, a, b, ci)).toBe('Abc')
    const message = envFailure(
      () => readSpecificOrGeneral({ A_TOKEN: 'sekrit1', TOKEN: 'sekrit2' }, a, b, { secret: true }),
      'A_TOKEN',
    )
    expect(message).toContain('TOKEN')
    expect(message).not.toContain('sekrit')
  })
  it('works for booleans (a DATABASE_ENABLE_QUERY_CACHE / ENABLE_QUERY_CACHE pair)', () => {
    const s = { name: 'DATABASE_ENABLE_QUERY_CACHE', read: parseBoolean }
    const g = { name: 'ENABLE_QUERY_CACHE', read: parseBoolean }
    expect(
      readSpecificOrGeneral(
        { DATABASE_ENABLE_QUERY_CACHE: 'yes', ENABLE_QUERY_CACHE: 'true' },
        s,
        g,
      ),
    ).toBe(true)
    expect(readSpecificOrGeneral({ ENABLE_QUERY_CACHE: 'off' }, s, g)).toBe(false)
    envFailure(
      () =>
        readSpecificOrGeneral({ DATABASE_ENABLE_QUERY_CACHE: '1', ENABLE_QUERY_CACHE: '0' }, s, g),
      'DATABASE_ENABLE_QUERY_CACHE',
    )
  })
})

describe('envError', () => {
  it('builds an ERR_INVALID_ENV ValidationError on the variable', () => {
    const error = envError('X', 'is wrong')
    expect(error).toBeInstanceOf(ValidationError)
    expect(error.code).toBe('ERR_INVALID_ENV')
    expect(error.field).toBe('X')
    expect(error.message).toBe('X: is wrong')
  })
})

describe('formatEnvTable and formatEnvHelp', () => {
  const vars: EnvVariableDoc[] = [
    { name: 'A_VAR', meaning: 'does a | b', unit: 'ms', default: '10' },
    { name: 'LONGER_VAR', meaning: 'other', unit: '', default: '' },
  ]
  it('renders a Markdown table with escaped pipes', () => {
    expect(formatEnvTable(vars)).toBe(
      [
        '| variable | meaning | unit | default |',
        '| --- | --- | --- | --- |',
        '| `A_VAR` | does a \\| b | ms | 10 |',
        '| `LONGER_VAR` | other |  |  |',
      ].join('\n'),
    )
  })
  it('renders aligned help text', () => {
    expect(formatEnvHelp(vars)).toBe(
      ['  A_VAR       does a | b [ms; default: 10]', '  LONGER_VAR  other'].join('\n'),
    )
  })
})
