/**
 * The notify source, for servers without logical replication: a row trigger on each of the
 * schema's tables sends the old and new row (`to_jsonb`, as texts) with `pg_notify` (delivered at
 * commit, never for a rolled-back transaction), a statement trigger says when a table is
 * truncated, and one consumer `LISTEN`s. PostgreSQL keeps no notice for a session that is not
 * listening, so every (re)connection starts by invalidating every cached read: what changed
 * while no one listened is unknown.
 */
import type pg from 'pg'
import { ChangeSet, type RowChange, type TableMap, type TableName } from './row-changes.js'
import { type FeedSink, type FeedSource, newClient, q, table } from './source.js'

/** What the source needs from the feed. */
export interface NotifySourceParams {
  readonly clientConfig: pg.ClientConfig
  readonly channel: string
  /** The schema the trigger function is created in. */
  readonly schema: string
  readonly map: TableMap
  readonly maxRowsPerModel: number
  readonly sink: FeedSink
}

/** A notice longer than this (PostgreSQL's limit is 8000 bytes) names its table only. */
const MAX_NOTICE = 7900

/** The trigger function: one notice per row, or per table for a truncate or a row too big. */
function functionSql(schema: string, channel: string): string {
  const head = `'x', txid_current(), 's', TG_TABLE_SCHEMA, 't', TG_TABLE_NAME`
  const image = (row: string) =>
    `(SELECT jsonb_object_agg(key, value) FROM jsonb_each_text(to_jsonb(${row})))`
  return `CREATE OR REPLACE FUNCTION ${q(schema)}.${q(`${channel}_notify`)}() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE notice text;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    notice := json_build_object(${head}, 'op', 'table')::text;
  ELSE
    notice := json_build_object(${head}, 'op', lower(TG_OP),
      'old', CASE WHEN TG_OP <> 'INSERT' THEN ${image('OLD')} END,
      'new', CASE WHEN TG_OP <> 'DELETE' THEN ${image('NEW')} END)::text;
    IF octet_length(notice) > ${MAX_NOTICE} THEN
      notice := json_build_object(${head}, 'op', 'table')::text;
    END IF;
  END IF;
  PERFORM pg_notify(TG_ARGV[0], notice);
  RETURN NULL;
END $fn$`
}

/**
 * Creates the trigger function and, on each table that lacks them, the triggers (named after
 * the channel). Tables the database does not have (a model not migrated yet) are skipped.
 */
export async function installTriggers(
  client: pg.Client,
  params: Pick<NotifySourceParams, 'channel' | 'schema' | 'map'>,
): Promise<void> {
  const { channel, schema, map } = params
  const fn = `${q(schema)}.${q(`${channel}_notify`)}`
  await client.query(functionSql(schema, channel))
  for (const name of map.tables()) {
    const { rows } = await client.query<{ exists: boolean; triggers: string[] | null }>(
      `SELECT to_regclass($1) IS NOT NULL AS exists,
              (SELECT array_agg(tgname::text) FROM pg_trigger WHERE tgrelid = to_regclass($1)) AS triggers`,
      [table(name)],
    )
    if (!rows[0]?.exists) continue
    const triggers = rows[0].triggers ?? []
    if (!triggers.includes(channel)) {
      await client.query(
        `CREATE TRIGGER ${q(channel)} AFTER INSERT OR UPDATE OR DELETE ON ${table(name)}
         FOR EACH ROW EXECUTE FUNCTION ${fn}('${channel}')`,
      )
    }
    if (!triggers.includes(`${channel}_truncate`)) {
      await client.query(
        `CREATE TRIGGER ${q(`${channel}_truncate`)} AFTER TRUNCATE ON ${table(name)}
         FOR EACH STATEMENT EXECUTE FUNCTION ${fn}('${channel}')`,
      )
    }
  }
}

/** Drops the triggers (found by name, on whatever tables carry them) and their function. */
export async function removeTriggers(
  client: pg.Client,
  params: Pick<NotifySourceParams, 'channel' | 'schema'>,
): Promise<void> {
  const { channel, schema } = params
  const { rows } = await client.query<{ trigger: string; table: string }>(
    'SELECT tgname AS trigger, tgrelid::regclass::text AS table FROM pg_trigger WHERE tgname = ANY($1)',
    [[channel, `${channel}_truncate`]],
  )
  for (const row of rows) await client.query(`DROP TRIGGER ${q(row.trigger)} ON ${row.table}`)
  await client.query(`DROP FUNCTION IF EXISTS ${q(schema)}.${q(`${channel}_notify`)}()`)
}

export class NotifySource implements FeedSource {
  readonly #params: NotifySourceParams
  #client: pg.Client | undefined
  #batch: ChangeSet | undefined
  #flushing: Promise<void> = Promise.resolve()
  /** The transactions whose notices are in `#batch`. */
  readonly #transactions = new Set<unknown>()
  #stopped = false

  constructor(params: NotifySourceParams) {
    this.#params = params
  }

  async run(): Promise<void> {
    const client = await newClient(this.#params.clientConfig)
    this.#client = client
    const closed = new Promise<void>((resolve, reject) => {
      client.on('error', reject)
      client.on('end', () =>
        this.#stopped ? resolve() : reject(new Error('notify connection closed')),
      )
    })
    // Handled here too: the connection may fail before `await closed` is reached.
    closed.catch(() => {})
    await client.connect()
    await installTriggers(client, this.#params)
    client.on('notification', (notice) => this.#notice(notice.payload))
    await client.query(`LISTEN ${q(this.#params.channel)}`)
    // Listening from here on: what changed before is unknown.
    await this.#params.sink.applyAll('the notify listener (re)connected')
    await closed
    await this.#flushing
  }

  async stop(): Promise<void> {
    this.#stopped = true
    await this.#client?.end().catch(() => {})
  }

  /** One notice, added to the batch invalidated when the event loop next turns. */
  #notice(payload: string | undefined): void {
    const parsed = parseNotice(payload)
    if (parsed === undefined) return // not one of the triggers' (anyone may NOTIFY the channel)
    const { notice, xid } = parsed
    let batch = this.#batch
    const transactions = this.#transactions
    if (batch === undefined) {
      batch = new ChangeSet(this.#params.map, this.#params.maxRowsPerModel)
      this.#batch = batch
      transactions.clear()
      // Notices of one transaction arrive together at its commit: one turn of the loop takes in
      // all that have arrived, and is invalidated once, after the batch before it.
      setImmediate(() => {
        this.#batch = undefined
        for (const _ of transactions) batch!.committed(undefined)
        this.#flushing = this.#flushing.then(() => this.#params.sink.apply(batch!))
        this.#flushing.catch((error: Error) => this.#client?.emit('error', error))
      })
    }
    transactions.add(xid)
    if (notice.kind === 'table') batch.truncated([notice])
    else batch.row(notice)
  }
}

type Notice = RowChange | (TableName & { kind: 'table' })

type Image = Record<string, string | null>

/**
 * A trigger's notice and its transaction's id, checked field by field: the channel is open to
 * any session.
 */
function parseNotice(payload: string | undefined): { notice: Notice; xid: unknown } | undefined {
  if (payload === undefined || payload.length > 8000) return undefined
  let value: unknown
  try {
    value = JSON.parse(payload)
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null) return undefined
  const { x, s, t, op, old, new: after } = value as Record<string, unknown>
  if (typeof s !== 'string' || typeof t !== 'string') return undefined
  const name = { schema: s, table: t }
  const xid = typeof x === 'number' || typeof x === 'string' ? x : undefined
  if (op === 'table') return { notice: { ...name, kind: 'table' }, xid }
  if (op !== 'insert' && op !== 'update' && op !== 'delete') return undefined
  const image = (row: unknown): Image | undefined => {
    if (typeof row !== 'object' || row === null || Array.isArray(row)) return undefined
    for (const v of Object.values(row)) if (v !== null && typeof v !== 'string') return undefined
    return row as Image
  }
  const change: RowChange = {
    ...name,
    kind: op,
    old: image(old),
    new: image(after),
    oldComplete: true,
  }
  if (op !== 'delete' && change.new === undefined) return undefined
  if (op !== 'insert' && change.old === undefined) return undefined
  return { notice: change, xid }
}
