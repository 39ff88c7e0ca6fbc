import { GenerateOptions } from '../options/generateOptions';

/**
 * One frame of a video stylization as a plain, serialisable description (it can be queued or sent to a worker):
 * the input frame as an image file, the condition image of a ControlNet if any, and the generation options shared
 * by every frame (the same seed: the same initial noise for every frame).
 */
export interface FrameJob {
  index: number;
  frame: string;
  control?: string;
  options: Partial<GenerateOptions>;
}

/**
 * The jobs of a video: one per frame with the shared options, the frame as init image when `img2img` (the motion
 * kept by starting each frame from its noised input), and its ControlNet condition image when `controls` are given.
 */
export function frameJobs(
  frames: string[],
  options: Partial<GenerateOptions>,
  how: { img2img: boolean; controls?: string[] },
): FrameJob[] {
  return frames.map((frame, index) => {
    const control = how.controls?.[index];
    return {
      index,
      frame,
      ...(control ? { control } : {}),
      options: {
        ...options,
        num: 1,
        ...(how.img2img ? { initImage: frame } : {}),
        ...(control ? { control } : {}),
      },
    };
  });
}
