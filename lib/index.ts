export * as tf from '@tensorflow/tfjs';
export * from './backend';
export * from './schedule';
export * from './samplers';
export * from './ode';
export * from './adjoint';
export { SafetensorsFile } from './io/safetensors';
export type { SafetensorsDtype, SafetensorsEntry } from './io/safetensors';
export { TorchCheckpointFile } from './io/torchCheckpoint';
export { openTensorFile } from './io/tensorFile';
export type { TensorFile } from './io/tensorFile';
export type { TensorDtype } from './io/tensorDtype';
export { readAestheticHead } from './losses/aestheticHead';
export type { AestheticHead } from './losses/aestheticHead';
export { SyntheticEpsNet, DEFAULT_SYNTHETIC_EPS_NET } from './models/syntheticEpsNet';
export type { SyntheticEpsNetOptions } from './models/syntheticEpsNet';
export { runAdjointBench, formatAdjointBenchTable, DEFAULT_ADJOINT_BENCH } from './bench/adjointBench';
export type { AdjointBenchOptions, AdjointBenchRow } from './bench/adjointBench';
export { measurePeakBytes, syncOnTensor } from './bench/peakMemory';
export { loadPipeline, Pipeline } from './pipeline/pipeline';
export type {
  PipelineOptions,
  GenerateResult,
  GenerateCallbacks,
  GenerateRunOptions,
} from './pipeline/pipeline';
export { DEFAULT_GENERATE_OPTIONS, STYLE_PRESET, LOSS_KINDS } from './pipeline/generateOptions';
export type { GenerateOptions, LossKind } from './pipeline/generateOptions';
export { LatentDenoiser } from './pipeline/latentDenoiser';
export { PixelDenoiser } from './pipeline/pixelDenoiser';
export type { Denoiser, EpsPrediction } from './pipeline/denoiser';
export { SeededNoise } from './pipeline/seededNoise';
export { runGuidedSampling, guidedStep } from './guidance/guidedSampling';
export type { StepRecord, GuidedSamplingRun } from './guidance/guidedSampling';
export { GUIDANCE_METHODS, parseStepCountSchedule, parseWindow } from './guidance/guidanceSettings';
export type { GuidanceMethod, GuidanceSettings, StepCount } from './guidance/guidanceSettings';
export { createStyleLoss } from './losses/styleLoss';
export { createClipScoreLoss } from './losses/clipScoreLoss';
export { createObjectLoss } from './losses/objectLoss';
export { createFaceIdLoss } from './losses/faceIdLoss';
export { createAestheticLoss } from './losses/aestheticLoss';
export { createClassifierLoss, createClassifierStyleLoss } from './losses/classifierLoss';
export { weightedSum } from './losses/imageLoss';
export type { ImageLoss } from './losses/imageLoss';
export { StableDiffusionModels } from './models/stableDiffusionModels';
export { ClipModel } from './models/clipModel';
export { ArcfaceModel } from './models/arcfaceModel';
export { ImageClassifier } from './models/imageClassifier';
export { PixelDiffusionModel } from './models/pixelDiffusionModel';
export { ClipTokenizer } from './models/clipTokenizer';
export { readImageFile, imageFileToTensor, writeImageFile, encodeImage } from './io/imageFile';
export { writeImageGrid } from './io/writeImageGrid';
export type { ImageGridFileOptions } from './io/writeImageGrid';
export { imageGrid, captionLines } from './io/imageGrid';
export type { GridCell } from './io/imageGrid';
export { formatLoss } from './io/formatLoss';
export { readPngText, withPngText } from './io/pngText';
export { formatParameters, parseParameters } from './io/generationParameters';
export type { RecordedGeneration } from './io/generationParameters';
