// Shared by the bench sections: A/B comparison by alternating samples, medians and quartiles.

/**
 * Compares `b` with `a` by alternating them sample by sample (A B B A ...), each sample being
 * `batch` sequential calls timed with the wall clock. On a shared, loaded machine most samples
 * run undisturbed and some are hit by preemption, so the MEDIAN sample is a stable estimate of
 * the undisturbed cost while means and totals are not; alternation makes load hit both alike.
 */
export async function alternating(a, b, samples) {
  const sample = async (side) => {
    const start = performance.now()
    for (let i = 0; i < side.batch; i++) await side.fn()
    return (performance.now() - start) / side.batch
  }
  for (let i = 0; i < 20; i++) {
    await sample(a)
    await sample(b)
  }
  const as = []
  const bs = []
  for (let i = 0; i < samples; i++) {
    if (i % 2 === 0) {
      as.push(await sample(a))
      bs.push(await sample(b))
    } else {
      bs.push(await sample(b))
      as.push(await sample(a))
    }
  }
  const quartiles = (list) => {
    const sorted = [...list].sort((x, y) => x - y)
    return {
      q1: sorted[Math.floor(sorted.length / 4)],
      median: sorted[Math.floor(sorted.length / 2)],
      q3: sorted[Math.floor((sorted.length * 3) / 4)],
    }
  }
  const qa = quartiles(as)
  const qb = quartiles(bs)
  return { a: qa, b: qb, ratio: qb.median / qa.median, ratioQ1: qb.q1 / qa.q1 }
}
