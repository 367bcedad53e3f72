/**
 * `import()` for the runtime's own code. The bundled runtime runs as a script the launcher
 * compiles through V8's code cache (code-cache.ts), where an `import()` expression has no module
 * loader to call; the launcher hands over an `import()` of its own, which Node compiled.
 */
type Importer = (url: string) => Promise<unknown>;

let importer: Importer = (url) => import(url);

/** The launcher's `import()`, used from now on. */
export function setModuleImporter(next: Importer): void {
  importer = next;
}

/** Imports the module at file URL `url`. */
export function importModule(url: string): Promise<unknown> {
  return importer(url);
}
