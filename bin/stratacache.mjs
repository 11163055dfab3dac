#!/usr/bin/env node
// stratacache's command line: operations on a database's change feed.
//
//   stratacache change-feed status   the slot's lag, whether a consumer is connected
//   stratacache change-feed remove   drops the slot, the publication and the notify triggers
//
// The connection comes from --url or DIRECT_DATABASE_URL; names default as the feed's do
// (stratacache_<namespace>), or are given with --slot, --publication, --channel, --schema and
// --namespace.
import { parseArgs } from 'node:util'

const USAGE = `usage: stratacache change-feed <status|remove> [--url URL] [--namespace NS]
       [--slot NAME] [--publication NAME] [--channel NAME] [--schema NAME]`

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string' },
    namespace: { type: 'string' },
    slot: { type: 'string' },
    publication: { type: 'string' },
    channel: { type: 'string' },
    schema: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
})
const [topic, command] = positionals
if (values.help || topic !== 'change-feed' || !['status', 'remove'].includes(command)) {
  console.error(USAGE)
  process.exit(values.help ? 0 : 2)
}
const { changeFeedStatus, removeChangeFeed } = await import('../dist/prisma/index.js')
const { url, ...names } = values
const options = { ...names, ...(url === undefined ? {} : { connectionString: url }) }
try {
  const result =
    command === 'remove' ? await removeChangeFeed(options) : await changeFeedStatus(options)
  console.log(JSON.stringify(result, null, 2))
} catch (error) {
  console.error(`stratacache change-feed ${command}: ${error.message}`)
  process.exit(1)
}
