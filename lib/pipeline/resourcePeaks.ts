import * as tf from '@tensorflow/tfjs';

/** The highest tfjs tensor memory and process resident set seen at the moments `sample()` is called. */
export class ResourcePeaks {
  private tensorBytes = tf.memory().numBytes;
  private rssBytes = process.memoryUsage().rss;

  sample(): void {
    this.tensorBytes = Math.max(this.tensorBytes, tf.memory().numBytes);
    this.rssBytes = Math.max(this.rssBytes, process.memoryUsage().rss);
  }

  get peaks(): { peakTensorBytes: number; peakRssBytes: number } {
    return { peakTensorBytes: this.tensorBytes, peakRssBytes: this.rssBytes };
  }
}
