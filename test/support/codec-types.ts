/**
 * Value classes registered with the codec, shared by the codec test files: importing this module
 * registers them (once per test file, as each file runs in a module graph of its own).
 */
import { registerType } from '../../src/cache/codec.js'

/** A mutable value class registered with a `clone`: copies must be independent instances. */
export class Money {
  constructor(
    public cents: bigint,
    public currency: string,
  ) {}
}
registerType<Money>({
  name: 'test.Money',
  is: (value): value is Money => value instanceof Money,
  serialize: (money) => [money.cents, money.currency],
  deserialize: (data) => {
    const [cents, currency] = data as [bigint, string]
    return new Money(cents, currency)
  },
  clone: (money) => new Money(money.cents, money.currency),
})

/** An immutable class registered without `clone`: the cache may share instances. */
export class Label {
  readonly text: string
  constructor(text: string) {
    this.text = text
    Object.freeze(this)
  }
}
registerType<Label>({
  name: 'test.Label',
  is: (value): value is Label => value instanceof Label,
  serialize: (label) => label.text,
  deserialize: (data) => new Label(data as string),
})
