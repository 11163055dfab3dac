/**
 * Offset pagination: the `page` and `pageSize` query parameters and the envelope every list
 * answers with, shaped as `QueryPatterns.paginate` shapes it.
 */
import { pageEnvelope } from '../../../src/database/index.js'
import { wholeNumber } from './schemas.js'

/** `page` and `pageSize` of a paginated list, from the query string. */
export const pageQuery = {
  page: wholeNumber(1, 100_000, { text: true }).default(1),
  pageSize: wholeNumber(1, 100, { text: true }).default(20),
}

export interface PageRequest {
  readonly page: number
  readonly pageSize: number
}

/** The rows to skip and take for a page. */
export function pageWindow({ page, pageSize }: PageRequest) {
  return { skip: (page - 1) * pageSize, take: pageSize }
}

/** The page envelope every list returns: `QueryPatterns.paginate`'s. */
export function paginated<T>(data: T[], total: number, { page, pageSize }: PageRequest) {
  return pageEnvelope(data, total, page, pageSize)
}
