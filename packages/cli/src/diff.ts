/** How a set of environment variables changes, by name only. */
export interface EnvironmentDiff {
  /** Names present after and not before, sorted. */
  readonly added: readonly string[];
  /** Names present in both whose value changes, sorted. */
  readonly changed: readonly string[];
  /** Names present before and not after, sorted. */
  readonly removed: readonly string[];
  /** How many names keep their value. */
  readonly unchanged: number;
}

/**
 * Compares two variable maps. Names in `alwaysChanged` count as changed when present in both
 * even if the values compare equal (a value about to be encrypted differs once written).
 */
export function diffEnvironment(
  before: Readonly<Record<string, string>>,
  after: Readonly<Record<string, string>>,
  alwaysChanged: ReadonlySet<string> = new Set(),
): EnvironmentDiff {
  const added: string[] = [];
  const changed: string[] = [];
  const removed: string[] = [];
  let unchanged = 0;
  for (const [name, value] of Object.entries(after)) {
    if (!Object.hasOwn(before, name)) added.push(name);
    else if (before[name] !== value || alwaysChanged.has(name)) changed.push(name);
    else unchanged += 1;
  }
  for (const name of Object.keys(before)) if (!Object.hasOwn(after, name)) removed.push(name);
  return { added: added.sort(), changed: changed.sort(), removed: removed.sort(), unchanged };
}

/** Whether the diff changes anything. */
export function hasChanges(diff: EnvironmentDiff): boolean {
  return diff.added.length + diff.changed.length + diff.removed.length > 0;
}

/**
 * The diff as lines (`+ NEW`, `~ CHANGED`, `- REMOVED`, `= N unchanged`): names only, never a
 * value. Names in `notes` get their note appended, e.g. `(KMS-encrypted)`.
 */
export function formatDiff(diff: EnvironmentDiff, notes: ReadonlyMap<string, string> = new Map()): string {
  const line = (mark: string, name: string): string => {
    const note = notes.get(name);
    return `${mark} ${name}${note === undefined ? '' : ` (${note})`}\n`;
  };
  return (
    diff.added.map((name) => line('+', name)).join('') +
    diff.changed.map((name) => line('~', name)).join('') +
    diff.removed.map((name) => line('-', name)).join('') +
    `= ${diff.unchanged} unchanged\n`
  );
}

/** One line of counts, e.g. `1 added, 2 changed, 0 removed, 5 unchanged`. */
export function summarizeDiff(diff: EnvironmentDiff): string {
  return `${diff.added.length} added, ${diff.changed.length} changed, ${diff.removed.length} removed, ${diff.unchanged} unchanged`;
}
