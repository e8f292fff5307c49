/** A configuration value that cannot be used; `key` is the dotted config key (or `config` for the file itself). */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly key: string;

  constructor(key: string, problem: string) {
    super(`${key}: ${problem}`);
    this.key = key;
  }
}
