#!/usr/bin/env node
import { failWith } from './cliErrors';
import { buildProgram } from './program';

buildProgram().parseAsync(process.argv).catch(failWith);
