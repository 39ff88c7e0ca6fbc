import * as fs from 'fs';
import * as path from 'path';
import { ManifestByFormat, SagFormat, SagManifest, validateSagManifest } from './sagManifest';

/** The format of a model directory's sag.json, or an error saying why it is not a converted model directory. */
export function sagManifestFormat(dir: string): SagFormat {
  return validateSagManifest(readManifestFile(dir), path.join(dir, 'sag.json')).format;
}

function readManifestFile(dir: string): unknown {
  const file = path.join(dir, 'sag.json');
  if (!fs.existsSync(dir)) throw new Error(`${dir}: model directory not found`);
  if (!fs.existsSync(file))
    throw new Error(`${dir}: not a converted model directory (no sag.json; run 'sag convert')`);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: not valid JSON (${(error as Error).message})`);
  }
}

/** Reads and validates a converted directory's sag.json for the given format. */
export function readSagManifest<F extends SagFormat>(dir: string, format: F): ManifestByFormat[F] {
  return validateSagManifest(readManifestFile(dir), path.join(dir, 'sag.json'), format);
}

/** Writes sag.json into `dir`, validated first so that no converter can write one its loader would refuse. */
export function writeSagManifest(dir: string, manifest: SagManifest): void {
  const file = path.join(dir, 'sag.json');
  validateSagManifest(manifest, file);
  fs.writeFileSync(file, JSON.stringify(manifest, null, 2));
}
