// What the benchmark guests record: "NAME value" lines in $LAB_OUT/times (guest-sh BENCH_SH), one per run.

/** Every value recorded under each name, in order. */
export function collect(times: string): Record<string, number[]> {
  const acc: Record<string, number[]> = {};
  for (const line of times.trim().split('\n')) {
    const [k, v] = line.split(' ');
    if (k && v) (acc[k] ??= []).push(Number(v));
  }
  return acc;
}

/** The median of each name's values (of an even count, the higher middle one). */
export function summarize(times: string): Record<string, number> {
  const med: Record<string, number> = {};
  for (const [k, vs] of Object.entries(collect(times))) {
    const s = [...vs].sort((a, b) => a - b);
    med[k] = s[Math.floor(s.length / 2)]!;
  }
  return med;
}
