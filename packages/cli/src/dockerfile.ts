/**
 * The handler named by a Dockerfile's last `CMD` (the one Docker uses): the first element of
 * the exec form (`CMD ["app.handler"]`) or the first word of the shell form. `undefined` when
 * there is no `CMD` or it cannot be read.
 */
export function handlerFromDockerfile(text: string): string | undefined {
  let command: string | undefined;
  for (const instruction of instructions(text)) {
    const match = /^CMD\s+(.*)$/is.exec(instruction);
    if (match !== null) command = match[1]!.trim();
  }
  if (command === undefined || command === '') return undefined;
  if (command.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(command);
      return Array.isArray(parsed) && typeof parsed[0] === 'string' && parsed[0] !== '' ? parsed[0] : undefined;
    } catch {
      // Docker runs a malformed exec form as a shell command; that names no handler we can use.
      return undefined;
    }
  }
  return command.split(/\s+/)[0];
}

/** Instructions with comments dropped and `\` line continuations joined. */
function instructions(text: string): string[] {
  const result: string[] = [];
  let current = '';
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    current += line;
    if (current.trim() !== '') result.push(current.trim());
    current = '';
  }
  if (current.trim() !== '') result.push(current.trim());
  return result;
}
