import {
  MAX_WEBGPU_ATTENTION_HEAD_DIM,
  WEBGPU_ATTENTION_VARIABLE,
  setWebgpuAttentionPolicy,
  webgpuAttentionKernelRuns,
  webgpuAttentionPolicy,
} from '../../lib/kernels/attentionWebgpuKernels';

const GIB = 2 ** 30;
// SD v1.5's first self-attention at batch 2 (CFG): 64x64 latents (1 GiB of probabilities), 96x96 (5.3 GiB).
const sd512 = { batch: 2, queries: 4096, keys: 4096, heads: 8, headDim: 40 };
const sd768 = { batch: 2, queries: 9216, keys: 9216, heads: 8, headDim: 40 };

describe("when webgpu's attention kernels run", () => {
  test('primitive: only where the probabilities would not fit one storage binding', () => {
    expect(webgpuAttentionKernelRuns(sd512, 2 * GIB, 'primitive')).toBe(false);
    expect(webgpuAttentionKernelRuns(sd768, 2 * GIB, 'primitive')).toBe(true);
    expect(webgpuAttentionKernelRuns(sd512, 128 * 2 ** 20, 'primitive')).toBe(true);
  });

  test('kernel (the default): wherever a head fits a thread, and beyond the binding whatever the head', () => {
    expect(webgpuAttentionKernelRuns(sd512, 2 * GIB, 'kernel')).toBe(true);
    const vae = { batch: 1, queries: 4096, keys: 4096, heads: 1, headDim: 512 };
    expect(vae.headDim).toBeGreaterThan(MAX_WEBGPU_ATTENTION_HEAD_DIM);
    expect(webgpuAttentionKernelRuns(vae, 2 * GIB, 'kernel')).toBe(false);
    expect(webgpuAttentionKernelRuns(vae, 32 * 2 ** 20, 'kernel')).toBe(true);
  });

  test(`$${WEBGPU_ATTENTION_VARIABLE} sets the policy; anything else than kernel or primitive is an error`, () => {
    const saved = process.env[WEBGPU_ATTENTION_VARIABLE];
    try {
      delete process.env[WEBGPU_ATTENTION_VARIABLE];
      expect(webgpuAttentionPolicy()).toBe('kernel');
      process.env[WEBGPU_ATTENTION_VARIABLE] = 'primitive';
      expect(webgpuAttentionPolicy()).toBe('primitive');
      setWebgpuAttentionPolicy('kernel');
      expect(webgpuAttentionPolicy()).toBe('kernel');
      setWebgpuAttentionPolicy(null);
      process.env[WEBGPU_ATTENTION_VARIABLE] = 'always';
      expect(() => webgpuAttentionPolicy()).toThrow(
        "$SAG_WEBGPU_ATTENTION: expected 'kernel' or 'primitive', got 'always'",
      );
    } finally {
      setWebgpuAttentionPolicy(null);
      if (saved === undefined) delete process.env[WEBGPU_ATTENTION_VARIABLE];
      else process.env[WEBGPU_ATTENTION_VARIABLE] = saved;
    }
  });
});
