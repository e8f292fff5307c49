import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'certs/dev/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // The web client runs in the browser as a plain ES module, without a build step.
    files: ['gateway/http/client/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(
        [
          'window', 'document', 'location', 'history', 'navigator', 'WebSocket', 'RTCPeerConnection',
          'MediaStream', 'AudioContext', 'URLSearchParams', 'setTimeout', 'clearTimeout',
        ].map((name) => [name, 'readonly']),
      ),
    },
  },
);
