import * as fs from 'fs';
import * as path from 'path';
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { readImageFile } from '../../lib/io/imageFile';
import { declaredImageSize } from '../../lib/io/imageHeader';
import { makeTempDir } from '../helpers/tempDir';

describe('image sizes are read from the header before an image is decoded', () => {
  test('PNG and JPEG headers give the declared size', () => {
    const png = PNG.sync.write(new PNG({ width: 7, height: 5 }));
    expect(declaredImageSize(png)).toEqual({ width: 7, height: 5 });
    const rgba = Buffer.alloc(9 * 4 * 4, 128);
    const jpg = jpeg.encode({ data: rgba, width: 9, height: 4 }, 90).data;
    expect(declaredImageSize(jpg)).toEqual({ width: 9, height: 4 });
    expect(declaredImageSize(Buffer.from('not an image'))).toBeNull();
  });

  test('a small file that declares 30000x30000 pixels is refused at once, naming the file', () => {
    const dir = makeTempDir('image-header');
    const file = path.join(dir, 'bomb.png');
    const bytes = PNG.sync.write(new PNG({ width: 4, height: 4 }));
    bytes.writeUInt32BE(30000, 16);
    bytes.writeUInt32BE(30000, 20);
    fs.writeFileSync(file, bytes);
    const start = Date.now();
    expect(() => readImageFile(file)).toThrow(`${file}: declares 30000x30000 pixels, more than sag decodes`);
    expect(Date.now() - start).toBeLessThan(1000);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
