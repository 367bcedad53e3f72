import { readFile } from 'node:fs/promises';
import { UsageError } from './cli-error.js';
import { evaluate, TemplateError } from './intrinsics.js';
import { parseJsonText } from './json-text.js';
import type { SamFunction } from './sam-functions.js';
import { isRecord, type SamTemplate } from './template.js';

/**
 * The variables of a SAM CLI `--env-vars` file for one function: `Parameters` (every function),
 * overridden by the object under any of `ids` (its logical id, its name), as `sam local invoke`
 * reads it (docs: "Locally invoke Lambda functions with AWS SAM", Environment variable file).
 */
export async function readEnvVarsFile(file: string, ids: readonly string[]): Promise<Record<string, string>> {
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read the --env-vars file ${file}: ${error.code ?? 'read error'}`);
  });
  const document = parseJsonText(text, `the --env-vars file ${file}`);
  if (!isRecord(document)) throw new UsageError(`the --env-vars file ${file} must hold an object: {"Parameters": {...}} or {"FunctionLogicalId": {...}}`);
  const variables: Record<string, string> = {};
  for (const key of ['Parameters', ...ids]) {
    const entry = document[key];
    if (entry === undefined) continue;
    if (!isRecord(entry)) throw new UsageError(`${file}: ${key} must be an object of variables`);
    for (const [name, value] of Object.entries(entry)) {
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        throw new UsageError(`${file}: ${key}.${name} must be a string, a number or a boolean`);
      }
      variables[name] = String(value);
    }
  }
  const unmatched = Object.keys(document).filter((key) => key !== 'Parameters' && !ids.includes(key));
  if (Object.keys(variables).length === 0 && unmatched.length > 0) {
    throw new UsageError(`${file} has variables for ${unmatched.join(', ')} but none for this function (${ids.join(' or ')}) or Parameters`);
  }
  return variables;
}

/** What the template's variables of a function evaluate to locally, and which could not. */
export interface TemplateVariables {
  readonly values: Readonly<Record<string, string>>;
  /** Variables left unset: name and why (never a value). */
  readonly skipped: ReadonlyArray<{ readonly name: string; readonly reason: string }>;
}

/**
 * The function's Environment.Variables as `sam local invoke` takes them: parameters at their
 * defaults, pseudo parameters and `refs` (local stand-ins of the template's resources);
 * a variable whose value depends on anything else is left unset.
 */
export function templateVariables(template: SamTemplate, fn: SamFunction, refs: Readonly<Record<string, string>>): TemplateVariables {
  const parameterDefaults: Record<string, string> = {};
  const parameters = isRecord(template.document.Parameters) ? template.document.Parameters : {};
  for (const [name, parameter] of Object.entries(parameters)) {
    const value = isRecord(parameter) ? parameter.Default : undefined;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') parameterDefaults[name] = String(value);
  }
  const context = {
    template,
    refs: { 'AWS::Region': 'us-east-1', 'AWS::AccountId': '123456789012', 'AWS::Partition': 'aws', 'AWS::StackName': 'local', 'AWS::URLSuffix': 'amazonaws.com', ...parameterDefaults, ...refs },
  };
  const values: Record<string, string> = {};
  const skipped: Array<{ name: string; reason: string }> = [];
  if (fn.variables === undefined) return { values, skipped: [{ name: 'Environment.Variables', reason: 'it is an intrinsic function' }] };
  for (const [name, value] of fn.variables) {
    try {
      const result = evaluate(value, context, `${fn.logicalId}.Environment.Variables.${name}`);
      if (typeof result === 'string' || typeof result === 'number' || typeof result === 'boolean') values[name] = String(result);
      else skipped.push({ name, reason: 'it is not a string' });
    } catch (error) {
      if (!(error instanceof TemplateError)) throw error;
      skipped.push({ name, reason: error.message });
    }
  }
  return { values, skipped };
}
