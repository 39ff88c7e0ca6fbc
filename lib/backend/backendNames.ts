import { InvalidOptionError } from '../options/invalidOption';
export const BACKEND_CHOICES = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export function parseBackendChoice(value: string): BackendChoice {
  if ((BACKEND_CHOICES as readonly string[]).includes(value)) return value as BackendChoice;
  throw new InvalidOptionError('backend', `expected one of ${BACKEND_CHOICES.join(', ')}, got '${value}'`);
}
