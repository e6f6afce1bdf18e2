import { runCalsync } from './bootstrap/run-calsync.js';

void runCalsync();
