/** Architecture of the embedded pixel-space diffusion UNet (shared by training and graph emission). */
export interface PixelUnetSpec {
  imageChannels: number;
  /** Channels per resolution level (level l works at size / 2^l). */
  channels: number[];
  /** Levels that add a single-head self-attention after their resnet. */
  attentionLevels: number[];
  groups: number;
  /** Width of the time embedding MLP. */
  timeEmbedding: number;
}

export const EMBEDDED_UNET_SPEC: PixelUnetSpec = {
  imageChannels: 1,
  channels: [24, 32, 48],
  attentionLevels: [2],
  groups: 8,
  timeEmbedding: 128,
};

export const GROUP_NORM_EPS = 1e-5;
