/** The embedded digit model's noise schedule: DDPM's 1000-step linear betas (diffusers scheduler_config.json). */
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
