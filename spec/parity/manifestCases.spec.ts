import { defineModelParityCases } from './modelCases';

defineModelParityCases();
