// The shop demo's HTTP API as the tests see it: a JSON client and the shapes they read.

// The shapes the tests read from the service's JSON (what they do not read is left out).
export interface ListItem {
  id: number
  price: string
  featured: boolean
  category: { slug: string }
}
export interface ProductPage {
  data: ListItem[]
  total: number
  hasNextPage: boolean
}
export interface ProductDetail {
  price: string
  category: { slug: string }
  inventory: { stock: number }
  reviews: { id: number; user: { name: string } }[]
  rating: { count: number }
}
export interface ErrorBody {
  error: string
  message: string
  issues: { field: string; message: string }[]
}
export interface Index {
  endpoints: { path: string }[]
}

export interface Reply<T> {
  readonly status: number
  readonly cache: string | null
  readonly body: T
}

/** A client for the service at `base`: JSON in, JSON (of the type the caller expects) out. */
export function client(base: () => string) {
  return async <T = ErrorBody>(
    method: string,
    path: string,
    body?: unknown,
    raw?: string,
  ): Promise<Reply<T>> => {
    const response = await fetch(`${base()}${path}`, {
      method,
      headers:
        body === undefined && raw === undefined ? {} : { 'content-type': 'application/json' },
      body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    })
    return {
      status: response.status,
      cache: response.headers.get('x-cache'),
      body: (await response.json()) as T,
    }
  }
}
