/** Jest global set-up of `npm run test:unit` (jest.unit.config.js): nothing fetched or built. */
export { unitSetup as default } from './global-setup.js'
