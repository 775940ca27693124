/** What a placement constraint can look at: the planner's node facts and the API's nodes alike. */
export interface ConstraintTarget {
  id: string;
  hostname: string;
  role: string;
  labels: Record<string, string>;
}

/** Evaluates a simple placement constraint; undefined when it is not one we understand. */
export function matchConstraint(constraint: string, node: ConstraintTarget): boolean | undefined {
  const m = /^\s*node\.(hostname|role|id|labels\.([^=!\s]+))\s*(==|!=)\s*(.+?)\s*$/.exec(constraint);
  if (!m) return undefined;
  const [, field, label, op, want] = m;
  let actual: string | undefined;
  if (field === 'hostname') actual = node.hostname;
  else if (field === 'role') actual = node.role;
  else if (field === 'id') actual = node.id;
  else actual = node.labels[label!];
  return op === '==' ? actual === want : actual !== want;
}
