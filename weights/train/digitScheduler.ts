/**
 * The embedded digit model's noise schedule: DDPM's 1000-step linear betas (diffusers scheduler_config.json).
 * clip_sample stays off: clamping DDIM's x0 prediction removed speckle but lowered the evaluator's confidence
 * (measured on 100 samples: mean max-probability 0.892 -> 0.825).
 */
export const DIGIT_SCHEDULER_CONFIG = {
  _class_name: 'DDPMScheduler',
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: 'linear',
  prediction_type: 'epsilon',
  set_alpha_to_one: true,
  steps_offset: 0,
  clip_sample: false,
};
