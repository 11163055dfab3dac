/**
 * The vocabulary the seed builds its catalog from: a two-level category tree whose leaves know
 * what they sell and at what prices, plus the words product names, descriptions, users and
 * reviews are made of. Plain data, kept apart from the seeding logic.
 */

export interface LeafCategory {
  readonly name: string
  readonly slug: string
  /** What a product of this category is called: "Headphones", "Skillet"... */
  readonly nouns: readonly string[]
  /** Price range in whole currency units. */
  readonly price: readonly [min: number, max: number]
}

export interface TopCategory {
  readonly name: string
  readonly slug: string
  readonly children: readonly LeafCategory[]
}

/** A leaf category; `nouns` is a `|`-separated list, so each leaf fits on one line. */
function leaf(name: string, slug: string, price: [number, number], nouns: string): LeafCategory {
  return { name, slug, price, nouns: nouns.split('|') }
}

/** A space-separated list of words, so long lists stay short on the page. */
function words(list: string): readonly string[] {
  return list.split(' ')
}

export const CATEGORY_TREE: readonly TopCategory[] = [
  {
    name: 'Audio',
    slug: 'audio',
    children: [
      leaf('Headphones', 'headphones', [19, 449], 'Headphones|Earbuds|Headset'),
      leaf('Speakers', 'speakers', [29, 899], 'Speaker|Soundbar|Subwoofer'),
      leaf('Microphones', 'microphones', [9, 349], 'Microphone|Mic Arm|Pop Filter'),
    ],
  },
  {
    name: 'Computing',
    slug: 'computing',
    children: [
      leaf('Laptops', 'laptops', [299, 2999], 'Laptop|Ultrabook|Chromebook'),
      leaf('Keyboards', 'keyboards', [15, 249], 'Keyboard|Keypad|Wrist Rest'),
      leaf('Monitors', 'monitors', [89, 1499], 'Monitor|Display|Monitor Arm'),
      leaf('Storage', 'storage', [9, 599], 'SSD|Hard Drive|USB Stick'),
    ],
  },
  {
    name: 'Home & Kitchen',
    slug: 'home-kitchen',
    children: [
      leaf('Cookware', 'cookware', [19, 399], 'Skillet|Saucepan|Dutch Oven'),
      leaf('Coffee', 'coffee', [15, 1299], 'Coffee Grinder|French Press|Espresso Machine'),
      leaf('Lighting', 'lighting', [12, 299], 'Desk Lamp|Floor Lamp|Light Strip'),
    ],
  },
  {
    name: 'Outdoors',
    slug: 'outdoors',
    children: [
      leaf('Camping', 'camping', [25, 699], 'Tent|Sleeping Bag|Camping Stove'),
      leaf('Cycling', 'cycling', [9, 249], 'Bike Light|Helmet|Bike Lock'),
      leaf('Hiking', 'hiking', [9, 349], 'Backpack|Trekking Poles|Water Bottle'),
    ],
  },
  {
    name: 'Books',
    slug: 'books',
    children: [
      leaf('Fiction', 'fiction', [6, 39], 'Novel|Story Collection'),
      leaf('Technology', 'technology', [19, 89], 'Programming Guide|Handbook'),
      leaf('Cooking', 'cooking', [12, 59], 'Cookbook|Baking Book'),
    ],
  },
  {
    name: 'Toys & Games',
    slug: 'toys-games',
    children: [
      leaf('Board Games', 'board-games', [9, 119], 'Board Game|Card Game'),
      leaf('Puzzles', 'puzzles', [5, 79], 'Jigsaw Puzzle|Puzzle Cube'),
      leaf('Building Sets', 'building-sets', [15, 399], 'Building Set|Robot Kit'),
    ],
  },
]

/** Invented brands, so search has something to find: `?q=nimbus`. */
export const BRANDS = words(
  'Aurora Nimbus Vertex Juniper Cobalt Summit Harbor Ember Atlas Willow Quartz ' +
    'Meridian Lumen Orchid Falcon Tundra',
)

export const ADJECTIVES = words(
  'Compact Wireless Classic Premium Portable Smart Eco Pro Mini Deluxe Rugged ' +
    'Silent Vintage Ultralight Modular Essential',
)

export const FEATURES = [
  'with a two-year warranty',
  'made from recycled materials',
  'with USB-C charging',
  'in a walnut finish',
  'designed in Copenhagen',
  'with a lifetime repair programme',
  'tested for ten thousand hours',
  'that folds flat for travel',
  'with a matte ceramic coating',
  'in three colours',
] as const

export const TAGS = words(
  'bestseller new eco gift-idea limited sale premium budget handmade refurbished ' +
    'bundle staff-pick',
)

export const FIRST_NAMES = words(
  'Ada Grace Alan Edsger Barbara Donald Margaret Ken Radia Tim Frances Linus Hedy ' +
    'John Katherine Dennis',
)

export const LAST_NAMES = words(
  'Lovelace Hopper Turing Dijkstra Liskov Knuth Hamilton Thompson Perlman ' +
    'Berners-Lee Allen Torvalds Lamarr Backus Johnson Ritchie',
)

/** Review texts by rating (index 0 is one star). */
export const REVIEW_BODIES: readonly (readonly string[])[] = [
  ['Broke within a week.', 'Not as described, sent it back.', 'Would not buy again.'],
  ['Disappointing for the price.', 'Works, but feels cheap.', 'Arrived late and scratched.'],
  ['Does the job.', 'Average, nothing special.', 'Fine once you get used to it.'],
  ['Very good, one small flaw.', 'Solid and well made.', 'Happy with it, fast delivery.'],
  ['Excellent, exactly what I needed.', 'Best purchase this year.', 'Superb quality, buy it.'],
]
