export * as tf from '@tensorflow/tfjs';
export * from './backend';
export * from './schedule';
export * from './samplers';
export * from './ode';
export * from './adjoint';
export * from './kernels';
export { SafetensorsFile } from './io/safetensors';
export type { SafetensorsDtype, SafetensorsEntry } from './io/safetensors';
export { TorchCheckpointFile } from './io/torchCheckpoint';
export { openTensorFile } from './io/tensorFile';
export type { TensorFile } from './io/tensorFile';
export type { TensorDtype } from './io/tensorDtype';
export { readAestheticHead } from './losses/aestheticHeadFile';
export type { AestheticHead } from './losses/aestheticHead';
export { SyntheticEpsNet, DEFAULT_SYNTHETIC_EPS_NET } from './models/syntheticEpsNet';
export type { SyntheticEpsNetOptions } from './models/syntheticEpsNet';
export { runAdjointBench, formatAdjointBenchTable, DEFAULT_ADJOINT_BENCH } from './bench/adjointBench';
export type { AdjointBenchOptions, AdjointBenchRow } from './bench/adjointBench';
export { measurePeakBytes, syncOnTensor } from './bench/peakMemory';
export { loadPipeline, Pipeline } from './pipeline/pipeline';
export { Generator } from './pipeline/generation';
export type { GeneratorModels } from './pipeline/generation';
export type { PreviewRequest, StepPreview } from './pipeline/stepPreview';
export { namedOptionImages } from './pipeline/optionImages';
export type { OptionImageReader } from './pipeline/optionImages';
export type { ModelFiles } from './io/modelFiles';
export { urlModelFiles } from './io/urlModelFiles';
export { directoryModelFiles } from './io/directoryModelFiles';
export { startPageServer } from './serve/pageServer';
export type {
  PipelineOptions,
  GenerateResult,
  GenerateCallbacks,
  GenerateRunOptions,
} from './pipeline/pipeline';
export {
  DEFAULT_GENERATE_OPTIONS,
  GENERATE_OPTION_NAMES,
  GENERATE_OPTION_SPECS,
} from './options/generateOptions';
export type { GenerateOptions, GenerateOptionName } from './options/generateOptions';
export type { OptionSpec } from './options/optionSpec';
export { InvalidOptionError } from './options/invalidOption';
export { resolveGenerateOptions } from './options/resolveGenerateOptions';
export { generateOptionsFromJson, generateOptionsToJson } from './options/optionsJson';
export { STYLE_PRESET, styleWindowFor } from './options/stylePreset';
export { LOSS_KINDS } from './options/lossOptions';
export type { LossKind, LossWeights, GuidanceTarget } from './options/lossOptions';
export type { StepCount } from './options/stepCountOption';
export type { GuidanceWindow } from './options/windowOption';
export type { ImageSize } from './options/sizeOption';
export { LatentDenoiser } from './pipeline/latentDenoiser';
export { PixelDenoiser } from './pipeline/pixelDenoiser';
export { embeddedModelDir } from './pipeline/embeddedModels';
export type { Denoiser, EpsPrediction } from './guidance/denoiser';
export { SeededNoise } from './samplers/seededNoise';
export { runGuidedSampling, guidedStep } from './guidance/guidedSampling';
export type { StepRecord, GuidedSamplingRun } from './guidance/guidedSampling';
export { GUIDANCE_METHODS, stepCountSchedule } from './guidance/guidanceSettings';
export type { GuidanceMethod, GuidanceSettings } from './guidance/guidanceSettings';
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
export { ControlNetModel, residualFeeds } from './models/controlNetModel';
export type { ControlResiduals } from './models/controlNetModel';
export type { LatentControl } from './pipeline/latentDenoiser';
export type { PerImageInputs } from './pipeline/initialSample';
export { readVideoFrames, framePaths } from './video/videoFrames';
export type { VideoFrames, FrameSelection } from './video/videoFrames';
export { writeGif, writeFfmpegVideo } from './video/writeVideo';
export { findFfmpeg } from './video/ffmpeg';
export { flicker } from './video/flicker';
export { frameJobs } from './video/frameJob';
export type { FrameJob } from './video/frameJob';
export { stylizeFrames } from './video/stylizeVideo';
export type { StylizedFrame, StylizeFramesOptions } from './video/stylizeVideo';
export { digitDemoFrames } from './video/digitDemo';
export { evaluateEstimates } from './eval/estimateEvaluation';
export type {
  EstimateEvaluation,
  EstimateEvaluationOptions,
  EstimateEvaluationRow,
} from './eval/estimateEvaluation';
export { runGuidanceGrid, readGuidanceGrid, writeGridOverview } from './eval/guidanceEvaluation';
export type { GuidanceRunOptions } from './eval/guidanceEvaluation';
export { gridCells } from './eval/guidanceGrid';
export type { GuidanceGridSpec, GuidanceCell } from './eval/guidanceGrid';
export type { GuidanceCellResult } from './eval/guidanceCell';
export { parseGuidanceMethod, parseGuidanceMethods } from './eval/guidanceMethodSpec';
export type { GuidanceMethodSpec } from './eval/guidanceMethodSpec';
export { summarizeGuidanceGrid } from './eval/guidanceSummary';
export type { GuidanceSummaryRow } from './eval/guidanceSummary';
export { guidancePlots } from './eval/guidancePlots';
export { featureStatistics, frechetDistance } from './eval/frechetDistance';
export type { FeatureStatistics } from './eval/frechetDistance';
export { loadRealFeatures } from './eval/realFeatures';
export { bootstrapMean, clusteredBootstrapMean } from './eval/sampleStatistics';
export type { MeanWithInterval } from './eval/sampleStatistics';
export type { NetworkCalls } from './guidance/countingDenoiser';
export { RunFailedError } from './runFailure';
