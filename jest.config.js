/** Jest in ESM mode: the @actions/* packages are ESM-only. */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }]
  },
  testMatch: ['**/test/**/*.test.ts'],
  // fetches and builds llama.cpp once per machine when missing; says which packages are missing
  globalSetup: '<rootDir>/test/global-setup.js',
  testTimeout: 120000,
  verbose: false,
  // Coverage of src/ as the in-process tests run it, the scenario suites included (the cases that
  // spawn dist/index.js are not counted): a one-line summary per npm test.
  collectCoverage: true,
  collectCoverageFrom: ['src/**/*.ts'],
  coverageReporters: ['text-summary']
}
