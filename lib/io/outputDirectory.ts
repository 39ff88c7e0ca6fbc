import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { packageVersion } from '../packageRoot';
import { fileErrorText } from './fileErrors';
import { makeDirectories } from './makeDirectories';
import { probeWritableFolder } from './writableFolder';

/**
 * The record sag writes last into every output folder it makes: what made it and which entries it holds. A folder
 * is complete once its record is in place, and `--overwrite` replaces only a folder whose record lists everything
 * in it, so nothing sag did not write is ever deleted.
 */
export const OUTPUT_RECORD = '.sag-output';

interface OutputRecord {
  writtenBy: 'sag';
  sagVersion: string;
  /** What made the folder, e.g. 'convert sd' or 'stylize-video'. */
  madeBy: string;
  createdAt: string;
  /** The folder's entries (names directly inside it), the record itself excepted. */
  entries: string[];
}

function readOutputRecord(dir: string): OutputRecord | null {
  try {
    const record = JSON.parse(fs.readFileSync(path.join(dir, OUTPUT_RECORD), 'utf8')) as OutputRecord;
    if (record?.writtenBy !== 'sag' || !Array.isArray(record.entries)) return null;
    if (!record.entries.every((e) => typeof e === 'string')) return null;
    return record;
  } catch {
    return null;
  }
}

function isInside(child: string, parent: string): boolean {
  const relative = path.relative(parent, child);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/** Why `target` (resolved) must never be replaced whatever it holds, or null. */
function protectedFolder(target: string): string | null {
  if (path.dirname(target) === target) return 'is the root of the file system';
  if (target === path.resolve(os.homedir())) return 'is your home folder';
  if (target === process.cwd()) return 'is the working folder';
  if (isInside(process.cwd(), target)) return 'holds the working folder';
  return null;
}

/** Why the existing non-empty folder `target` may not be replaced, or null when it is a complete folder sag wrote. */
function replaceRefusal(target: string): string | null {
  const record = readOutputRecord(target);
  if (!record)
    return `was not written by sag (it has no ${OUTPUT_RECORD} record, which sag writes into every output folder), so sag will not delete it: remove it yourself or choose another folder`;
  const listed = new Set(record.entries);
  const foreign = fs.readdirSync(target).filter((e) => e !== OUTPUT_RECORD && !listed.has(e));
  if (foreign.length > 0) {
    const named =
      foreign.slice(0, 3).join(', ') + (foreign.length > 3 ? ` and ${foreign.length - 3} more` : '');
    return `holds ${named}, which sag did not write, so sag will not replace it: move ${foreign.length > 1 ? 'them' : 'it'} away or choose another folder`;
  }
  return null;
}

/**
 * Checks, before any work, that sag may write the output folder `outDir`: it does not exist, is empty, or (with
 * `overwrite`) is a complete folder sag wrote holding nothing else; it is not a file, a link, the root, the home
 * folder, the working folder or one that holds it; and a folder can be created where it goes. Creates nothing.
 * Errors name `flag` and the user's path.
 */
export function checkOutputDirectory(flag: string, outDir: string, overwrite: boolean): void {
  const target = path.resolve(outDir);
  const fail = (why: string): never => {
    throw new Error(`${flag} ${outDir}: ${why}`);
  };
  const guard = protectedFolder(target);
  if (guard) fail(`${guard}; sag never replaces it`);
  let stat: fs.Stats | undefined;
  try {
    stat = fs.lstatSync(target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') fail(`cannot be read (${fileErrorText(error)})`);
  }
  if (stat?.isSymbolicLink()) fail('is a symbolic link; give the folder itself');
  if (stat && !stat.isDirectory())
    fail('is a file, expected a folder name (sag never replaces a file with a folder)');
  if (stat && fs.readdirSync(target).length > 0) {
    if (!overwrite) fail('already exists (pass --overwrite to replace a folder that sag wrote)');
    const refusal = replaceRefusal(target);
    if (refusal) fail(refusal);
  }
  try {
    probeWritableFolder(path.dirname(target));
  } catch (error) {
    fail(`cannot create a folder there (${fileErrorText(error)})`);
  }
}

/**
 * Runs `write` into a fresh hidden folder beside `outDir`, writes the output record last, and only then puts the
 * folder in place of `outDir` (an existing one is first renamed aside, then deleted), so a failed or killed run
 * never leaves an incomplete folder under `outDir`'s name. The same rules as `checkOutputDirectory` apply, checked
 * again here. `madeBy` says which command wrote it.
 */
export async function writeDirectoryAtomically<T>(
  flag: string,
  outDir: string,
  overwrite: boolean,
  madeBy: string,
  write: (tmpDir: string) => Promise<T> | T,
): Promise<T> {
  checkOutputDirectory(flag, outDir, overwrite);
  const target = path.resolve(outDir);
  const parent = path.dirname(target);
  const suffix = `${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  const tmp = path.join(parent, `.${path.basename(target)}.sag-tmp-${suffix}`);
  const aside = path.join(parent, `.${path.basename(target)}.sag-old-${suffix}`);
  const created = makeDirectories(parent);
  fs.mkdirSync(tmp);
  try {
    const result = await write(tmp);
    const record: OutputRecord = {
      writtenBy: 'sag',
      sagVersion: packageVersion(),
      madeBy,
      createdAt: new Date().toISOString(),
      entries: fs.readdirSync(tmp).sort(),
    };
    fs.writeFileSync(path.join(tmp, OUTPUT_RECORD), `${JSON.stringify(record, null, 2)}\n`);
    // The folder may have changed while the work ran: check once more right before replacing it.
    checkOutputDirectory(flag, outDir, overwrite);
    const replacing = fs.existsSync(target);
    if (replacing) fs.renameSync(target, aside);
    fs.renameSync(tmp, target);
    if (replacing) fs.rmSync(aside, { recursive: true, force: true });
    return result;
  } catch (error) {
    fs.rmSync(tmp, { recursive: true, force: true });
    for (const folder of created.reverse()) {
      try {
        fs.rmdirSync(folder);
      } catch {
        break; // no longer empty: something else was put there meanwhile
      }
    }
    throw error;
  }
}
