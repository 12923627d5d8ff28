/** Types of global-setup-unit.js: npm run test:unit's global set-up. */
export { unitSetup as default } from './global-setup.js'
