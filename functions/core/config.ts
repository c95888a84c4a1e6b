/**
 * Configuration is read from the environment once, loudly: a missing variable is an error that
 * names it, never a silent default.
 */
export function getStringFromEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    throw new Error(`${name} environment variable is not set`);
  }
  return value;
}

export function getIntegerFromEnv(name: string, env: NodeJS.ProcessEnv = process.env): number {
  const text = getStringFromEnv(name, env);
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new Error(`${name} environment variable must be a whole number, got "${text}"`);
  }
  return value;
}
