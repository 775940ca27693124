/** "1 node", "2 nodes", "1 retry", "3 retries": a count with its noun in the right number. */
export function countOf(n: number, singular: string, pluralForm = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : pluralForm}`;
}
