export { EchoTarget } from './echo-target.js';
