import * as tf from '@tensorflow/tfjs';

/** The process's resident set (0 in a browser, which does not tell). */
function residentBytes(): number {
  return typeof process !== 'undefined' && process.memoryUsage ? process.memoryUsage().rss : 0;
}

/** The highest tfjs tensor memory and process resident set seen at the moments `sample()` is called. */
export class ResourcePeaks {
  private tensorBytes = tf.memory().numBytes;
  private rssBytes = residentBytes();

  sample(): void {
    this.tensorBytes = Math.max(this.tensorBytes, tf.memory().numBytes);
    this.rssBytes = Math.max(this.rssBytes, residentBytes());
  }

  get peaks(): { peakTensorBytes: number; peakRssBytes: number } {
    return { peakTensorBytes: this.tensorBytes, peakRssBytes: this.rssBytes };
  }
}
