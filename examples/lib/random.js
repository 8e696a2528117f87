// Helpers seed 001 calls but never defines: randomBetween and weightedRandom.

/** A random number in [min, max) (seconds for `sleep(randomBetween(1, 5))`). */
export function randomBetween(min, max) {
  return min + Math.random() * (max - min);
}

/** A random integer in [min, max], both included. */
export function randomIntBetween(min, max) {
  return Math.floor(min + Math.random() * (max - min + 1));
}

/** A random element of a non-empty array. */
export function randomItem(items) {
  return items[Math.floor(Math.random() * items.length)];
}

/**
 * One of `items` picked with probability proportional to its `weight`
 * (seed 001: `{ weight: 0.4, fn: browseProducts }`; seed 004 uses whole
 * numbers that need not add up to 100). Returns the item itself.
 */
export function weightedRandom(items) {
  const total = items.reduce((sum, it) => sum + it.weight, 0);
  if (!(total > 0)) throw new Error('weightedRandom: the weights must add up to more than 0');
  let r = Math.random() * total;
  for (const it of items) {
    r -= it.weight;
    if (r < 0) return it;
  }
  return items[items.length - 1];
}
