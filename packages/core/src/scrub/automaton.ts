/**
 * An Aho–Corasick automaton over bytes, flattened into typed arrays. State 0 is the root.
 * Transitions are sparse (a state lists only the bytes it has children for), so memory grows with
 * the patterns' total length, not 256 times it; the root alone has a full table, which doubles
 * as the first-byte filter that lets a scan skip text that starts no pattern.
 *
 * @example
 * ```ts
 * const automaton: Automaton = buildAutomaton(searchSet(['sk-test-123']))
 * automaton.maxDepth // the longest form, in bytes
 * ```
 */
export interface Automaton {
  /** Next state from the root for each byte; 0 where no pattern starts with that byte. */
  readonly root: Int32Array
  /**
   * A bitmap of the 65,536 byte pairs (`first << 8 | second`) some pattern starts with (all
   * pairs of a first byte that is a pattern by itself). Text is mostly letters, and with base64
   * and hex forms nearly every letter starts some pattern; two bytes rule out almost all of
   * those false starts at the cost of one 8 KiB table per automaton.
   */
  readonly pairs: Uint32Array
  /** Edges of state `s` are `edgeStart[s]` up to `edgeStart[s + 1]`. */
  readonly edgeStart: Int32Array
  readonly edgeByte: Uint8Array
  readonly edgeTarget: Int32Array
  /** The state for the longest proper suffix of this state's string that is a trie node. */
  readonly fail: Int32Array
  /**
   * How many bytes a stream must hold back in this state: the length of the longest suffix of
   * this state's string that a pattern can still grow from (a node with children). A state that
   * just completed a pattern holds back nothing more than a pattern that may overlap its end.
   */
  readonly hold: Int32Array
  /** Length of the longest pattern that ends this state's string, 0 if none. */
  readonly match: Int32Array
  /** The longest pattern, in bytes. */
  readonly maxDepth: number
}

/**
 * Builds the automaton for `patterns` (non-empty byte strings): a trie, then failure links by
 * breadth-first search. Patterns are expected to form a minimal set (see `searchSet`), but the
 * automaton is correct for any set: `match` follows failure links, so a pattern that ends inside
 * a longer one is reported too.
 *
 * @example
 * ```ts
 * const automaton = buildAutomaton([utf8('sk-test-123'), utf8('c2stdGVzdC0xMj')])
 * scan(automaton, utf8('key=sk-test-123'), 0, (end, length) => console.log(end - length, end))
 * ```
 */
export function buildAutomaton(patterns: readonly Uint8Array[]): Automaton {
  const children: Map<number, number>[] = [new Map()]
  const depths = [0]
  const ends = [0]
  for (const pattern of patterns) {
    let state = 0
    for (const byte of pattern) {
      let next = children[state]!.get(byte)
      if (next === undefined) {
        next = children.length
        children.push(new Map())
        depths.push(depths[state]! + 1)
        ends.push(0)
        children[state]!.set(byte, next)
      }
      state = next
    }
    if (state !== 0) ends[state] = pattern.length
  }

  const states = children.length
  const fail = new Int32Array(states)
  const match = new Int32Array(states)
  const hold = new Int32Array(states)
  const queue = [0]
  for (let head = 0; head < queue.length; head++) {
    const state = queue[head]!
    for (const [byte, child] of children[state]!) {
      let f = fail[state]!
      while (f !== 0 && !children[f]!.has(byte)) f = fail[f]!
      const target = children[f]!.get(byte)
      fail[child] = target !== undefined && target !== child ? target : 0
      match[child] = ends[child]! || match[fail[child]!]!
      // Breadth-first order has already set hold for the failure target, which is shallower.
      hold[child] = children[child]!.size > 0 ? depths[child]! : hold[fail[child]!]!
      queue.push(child)
    }
  }

  const root = new Int32Array(256)
  const pairs = new Uint32Array(2048)
  for (const [byte, child] of children[0]!) {
    root[byte] = child
    const seconds =
      match[child] !== 0 ? Array.from({ length: 256 }, (_, second) => second) : children[child]!.keys()
    for (const second of seconds) {
      const pair = (byte << 8) | second
      pairs[pair >>> 5]! |= 1 << (pair & 31)
    }
  }
  const edgeStart = new Int32Array(states + 1)
  for (let s = 0; s < states; s++) edgeStart[s + 1] = edgeStart[s]! + children[s]!.size
  const edgeByte = new Uint8Array(edgeStart[states]!)
  const edgeTarget = new Int32Array(edgeStart[states]!)
  for (let s = 0; s < states; s++) {
    let e = edgeStart[s]!
    for (const [byte, child] of children[s]!) {
      edgeByte[e] = byte
      edgeTarget[e++] = child
    }
  }
  let maxDepth = 0
  for (const pattern of patterns) maxDepth = Math.max(maxDepth, pattern.length)
  return { root, pairs, edgeStart, edgeByte, edgeTarget, fail, hold, match, maxDepth }
}
