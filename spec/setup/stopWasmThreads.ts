import { stopThreadedWasm } from '../../lib/backend';

// Jest loads the library afresh for every test file in the same process; without this, each file's threaded wasm
// backend would leave its 8 pthread workers (and ~100 MB) behind until the whole run ends.
afterAll(stopThreadedWasm);
